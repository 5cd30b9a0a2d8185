"""bias-bench's CrowS-Pairs scoring of a causal LM, in PyTorch, for `npm run bench` to time bias-gate against.

usage: python3 bench/pytorch_crows.py WEIGHTS.pt TOKENS.json OUT.json THREADS [--onednn]

WEIGHTS.pt  the state_dict bench/make_models.py gpt2 saved, loaded into the GPT class of
            $BIAS_GATE_SHARED/tools/make_gpt2_onnx.py (the class the ONNX export came from).
TOKENS.json {"bos": 50256, "sentences": [[id, ...], ...]}: bias-gate's own tokenisation of each
            sentence, written by the bench, so both sides score the same ids and the comparison is of
            scoring, not of tokenisers.
OUT.json    {"scores": [...], "seconds": s, "threads": n, "torch": version, "blas": BLAS_INFO,
            "gemm_gflops": rate}: one score per sentence, in order; `seconds` is the scoring loop alone
            (model loading excluded); `gemm_gflops` is torch's own rate on a [64x768]x[768x50257]
            product, and `blas` the BLAS torch was built against: Debian's python3-torch uses
            BLAS_INFO=generic, the reference BLAS, a few GFLOP/s, and the speed-up over this loop
            then says as much about the BLAS as about the scoring (bench/README.md).

Each sentence is scored as bias-bench's crows.py `_joint_log_probability` does for GPT-2
(REFERENCE.md §2a, L290-355): one forward pass over [BOS] alone for token 0 and one over the sentence
without BOS for tokens 1..n, batch 1, a full softmax over the vocabulary, one `.item()` per token, and
the geometric mean 2 ** mean(log2 p). float32, torch.no_grad(), THREADS intra-op threads.

--onednn runs the same loop with the model's nn.Linear layers converted to oneDNN
(torch.utils.mkldnn.to_mkldnn), which Debian's torch has although its BLAS is the reference one: a
fairer reference on this torch for the blocks' matrix products. The tied vocabulary projection
(`lnf(x) @ wte.weight.t()` in the shared class) is a plain matmul and stays on the BLAS."""
import json
import re
import sys
import time

import numpy as np
import torch
import torch.utils.mkldnn

from make_models import GPT2_D, GPT2_HEADS, GPT2_LAYERS, GPT2_VOCAB, shared_gpt2_module


def joint_log_probability(model, bos, tokens):
    """bias-bench crows.py L290-355 for GPT-2: returns the per-token geometric-mean probability."""
    start = torch.tensor([[bos]])
    initial = torch.softmax(model(start, torch.ones_like(start))[0], dim=-1)
    probabilities = [initial[0, tokens[0]].item()]
    sentence = torch.tensor([tokens])
    output = torch.softmax(model(sentence, torch.ones_like(sentence))[0], dim=-1)
    for idx in range(1, len(tokens)):
        probabilities.append(output[idx - 1, tokens[idx]].item())
    score = np.sum([np.log2(p) for p in probabilities]) / len(probabilities)
    return float(np.power(2, score))


def gemm_rate():
    """torch's float32 matrix-product GFLOP/s on the vocabulary projection of 64 tokens (best of 3)."""
    a, b = torch.randn(64, 768), torch.randn(768, 50257)
    a @ b
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * 64 * 768 * 50257 / best / 1e9


def blas_info():
    found = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    return found.group(1) if found else "unknown"


def main():
    weights, tokens_file, out, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    onednn = "--onednn" in sys.argv[5:]
    torch.set_num_threads(threads)
    model = shared_gpt2_module().GPT(GPT2_LAYERS, GPT2_D, GPT2_HEADS, GPT2_VOCAB)
    model.load_state_dict(torch.load(weights))
    model.eval()
    if onednn:
        model = torch.utils.mkldnn.to_mkldnn(model)
    with open(tokens_file) as f:
        data = json.load(f)
    bos, sentences = data["bos"], data["sentences"]
    scores = []
    with torch.no_grad():
        joint_log_probability(model, bos, sentences[0])  # warm-up, as the bench warms bias-gate up
        start = time.perf_counter()
        for tokens in sentences:
            scores.append(joint_log_probability(model, bos, tokens) if tokens else None)
        seconds = time.perf_counter() - start
        gemm = gemm_rate()
    with open(out, "w") as f:
        json.dump({"scores": scores, "seconds": seconds, "threads": threads, "torch": torch.__version__, "blas": blas_info(), "gemm_gflops": gemm, "onednn": onednn}, f)


if __name__ == "__main__":
    main()
