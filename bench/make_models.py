"""Random-weight models of realistic size for `npm run bench` (never committed).

usage: python3 bench/make_models.py bert OUT.onnx [vocab]
       python3 bench/make_models.py resnet50 OUT.onnx
       python3 bench/make_models.py perturb IN.onnx OUT.onnx SEED
       python3 bench/make_models.py gpt2 NO_PAST_DIR WITH_PAST_DIR

bert:     BERT-base shape (12 layers, d=768, 12 heads, FFN 3072), inputs input_ids,
          attention_mask, token_type_ids -> logits [B, T, vocab] (tied output embedding).
resnet50: ResNet-50 shape (bottlenecks 3-4-6-3, 25.6M parameters), input pixels
          [N, 3, 224, 224] -> embedding [N, 2048] (global average pool), logits [N, 1000].
gpt2:     GPT-2 small (12 layers, d=768, 12 heads, vocabulary 50,257) in the GPT class of
          $BIAS_GATE_SHARED/tools/make_gpt2_onnx.py (imported, not copied), seeded, with GPT-2's own
          initialisation. Writes NO_PAST_DIR/weights.pt (the state_dict, for bench/pytorch_crows.py),
          NO_PAST_DIR/model.onnx exported exactly as the shared tool does (input_ids, attention_mask ->
          logits) and WITH_PAST_DIR/model.onnx + config.json: the same weights in Optimum's with-past
          layout (as fixtures/generate/tiny_gpt2_onnx.py). The builder checks with torch that both
          forwards give the same logits, and that a prefix run plus a tail fed its past KV gives the
          logits of one pass over the whole sequence."""
import importlib.util
import json
import math
import os
import sys

import torch
import torch.nn as nn


class EncoderBlock(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln1 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.out = nn.Linear(4 * d, d)
        self.ln2 = nn.LayerNorm(d)

    def forward(self, x, bias):
        B, T, D = x.shape
        q, k, v = self.qkv(x).split(D, dim=2)
        q, k, v = (t.view(B, T, self.h, D // self.h).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(D // self.h) + bias
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, D)
        x = self.ln1(x + self.proj(y))  # post-LN, as BERT
        return self.ln2(x + self.out(nn.functional.gelu(self.fc(x))))


class Bert(nn.Module):
    def __init__(self, vocab, layers=12, d=768, h=12, positions=512):
        super().__init__()
        self.word = nn.Embedding(vocab, d)
        self.position = nn.Embedding(positions, d)
        self.segment = nn.Embedding(2, d)
        self.ln = nn.LayerNorm(d)
        self.blocks = nn.ModuleList([EncoderBlock(d, h) for _ in range(layers)])
        self.head = nn.Linear(d, d)
        self.head_ln = nn.LayerNorm(d)

    def forward(self, input_ids, attention_mask, token_type_ids):
        B, T = input_ids.shape
        pos = torch.arange(T).unsqueeze(0)
        x = self.ln(self.word(input_ids) + self.position(pos) + self.segment(token_type_ids))
        bias = (1.0 - attention_mask[:, None, None, :].float()) * -1e9
        for block in self.blocks:
            x = block(x, bias)
        x = self.head_ln(nn.functional.gelu(self.head(x)))
        return x @ self.word.weight.t()


class Bottleneck(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        cout = width * 4
        self.body = nn.Sequential(
            nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return torch.relu(self.body(x) + self.skip(x))


class ResNet50(nn.Module):
    def __init__(self):
        super().__init__()
        layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
        cin = 64
        for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            for i in range(blocks):
                layers.append(Bottleneck(cin, width, stride if i == 0 else 1))
                cin = width * 4
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(2048, 1000)

    def forward(self, pixels):
        embedding = self.features(pixels).mean(dim=(2, 3))
        return embedding, self.fc(embedding)


if __name__ == "__main__" and sys.argv[1] not in ("perturb", "gpt2"):
    kind, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    if kind == "bert":
        vocab = int(sys.argv[3]) if len(sys.argv) > 3 else 30522
        model = Bert(vocab).eval()
        ids = torch.randint(0, vocab, (2, 8))
        mask = torch.ones(2, 8, dtype=torch.long)
        torch.onnx.export(model, (ids, mask, torch.zeros_like(ids)), out,
                          input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
                          dynamic_axes={n: {0: "batch", 1: "seq"} for n in ("input_ids", "attention_mask", "token_type_ids", "logits")},
                          opset_version=14)
    elif kind == "resnet50":
        model = ResNet50().eval()
        torch.onnx.export(model, (torch.randn(2, 3, 224, 224),), out, input_names=["pixels"], output_names=["embedding", "logits"],
                          dynamic_axes={"pixels": {0: "batch"}, "embedding": {0: "batch"}, "logits": {0: "batch"}}, opset_version=14)
    else:
        raise SystemExit(__doc__)
    print("params", sum(p.numel() for p in model.parameters()))


def perturb(source, target, seed):
    """A copy of an ONNX model with its largest weight nudged: other bytes, the same cost.
    Base and head must differ so that a cached base and a scored head are measured."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load(source)
    largest = max(model.graph.initializer, key=lambda t: np.prod(t.dims))
    values = numpy_helper.to_array(largest).copy()
    values += np.random.default_rng(int(seed)).normal(0, 0.01, values.shape).astype(values.dtype)
    largest.CopyFrom(numpy_helper.from_array(values, largest.name))
    onnx.save(model, target)


if __name__ == "__main__" and sys.argv[1] == "perturb":
    perturb(sys.argv[2], sys.argv[3], sys.argv[4])


# ---------------------------------------------------------------- GPT-2 small, no-past and with-past
GPT2_LAYERS, GPT2_D, GPT2_HEADS, GPT2_VOCAB = 12, 768, 12, 50257


def shared_gpt2_module():
    """The shared exporter as a module: its GPT and Block classes are the model, so the bench and the
    PyTorch reference scorer (bench/pytorch_crows.py) run the very same architecture."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    shared = os.path.abspath(os.path.join(root, os.environ.get("BIAS_GATE_SHARED", "../shared")))
    spec = importlib.util.spec_from_file_location("make_gpt2_onnx", os.path.join(shared, "tools", "make_gpt2_onnx.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gpt2_initialise(model):
    """GPT-2's initialisation (Radford et al. 2019; HF GPT2PreTrainedModel._init_weights): N(0, 0.02)
    weights, zero biases. PyTorch's default N(0, 1) embedding, tied to the output, gives logits with a
    standard deviation near 28: float32 softmax then underflows to exactly 0 for almost every token, so
    bias-bench's softmax-then-log would read log 0 = -inf where a log-softmax is finite, and the PyTorch
    comparison would measure underflow instead of scoring."""
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, 0.0, 0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)


def block_with_past(block, x, bias, past_key, past_value):
    """The shared Block's forward with the past keys and values concatenated before the new ones
    (GPT-2's layer_past): the same weights, the same arithmetic as Block.forward when the past is empty."""
    B, T, D = x.shape
    q, k, v = block.qkv(block.ln1(x)).split(D, dim=2)
    q, k, v = (t.view(B, T, block.h, D // block.h).transpose(1, 2) for t in (q, k, v))
    k = torch.cat([past_key, k], dim=2)
    v = torch.cat([past_value, v], dim=2)
    att = (q @ k.transpose(-2, -1)) / math.sqrt(D // block.h) + bias
    y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, D)
    x = x + block.proj(y)
    return x + block.out(nn.functional.gelu(block.fc(block.ln2(x)))), k, v


class GPT2WithPast(nn.Module):
    """Optimum's text-generation-with-past signature over the shared GPT's weights: input_ids,
    attention_mask [batch, past + seq], position_ids, past_key_values.{i}.key/.value
    [batch, heads, past, head_dim] -> logits, present.{i}.key/.value."""

    def __init__(self, gpt):
        super().__init__()
        self.gpt = gpt

    def forward(self, input_ids, attention_mask, position_ids, *flat_past):
        B, T = input_ids.shape
        P = flat_past[0].shape[2]
        x = self.gpt.wte(input_ids) + self.gpt.wpe(position_ids)
        # Query t sits at absolute position P + t and sees keys 0 .. P + t that the mask keeps.
        causal = (torch.arange(P + T)[None, :] <= (torch.arange(T) + P)[:, None]).float()
        keep = causal[None, None, :, :] * attention_mask[:, None, None, :].float()
        bias = (1.0 - keep) * -1e9
        presents = []
        for i, block in enumerate(self.gpt.blocks):
            x, k, v = block_with_past(block, x, bias, flat_past[2 * i], flat_past[2 * i + 1])
            presents += [k, v]
        return (self.gpt.lnf(x) @ self.gpt.wte.weight.t(), *presents)


def check_same_logits(gpt, with_past):
    """Both forwards on the same ids: (1) an empty past gives the no-past logits; (2) a 5-token prefix
    run and the 7-token tail fed its presents give the logits of one pass over all 12 tokens."""
    head_dim = GPT2_D // GPT2_HEADS
    ids = torch.randint(0, GPT2_VOCAB, (2, 12))
    mask = torch.ones(2, 12, dtype=torch.long)
    positions = torch.arange(12)[None, :].expand(2, 12)
    empty = [torch.zeros(2, GPT2_HEADS, 0, head_dim)] * (2 * GPT2_LAYERS)
    reference = gpt(ids, mask)
    whole = with_past(ids, mask, positions, *empty)[0]
    prefix = with_past(ids[:, :5], mask[:, :5], positions[:, :5], *empty)
    tail = with_past(ids[:, 5:], mask, positions[:, 5:], *prefix[1:])[0]
    empty_past = (whole - reference).abs().max().item()
    split = (torch.cat([prefix[0], tail], dim=1) - reference).abs().max().item()
    scale = reference.abs().max().item()
    print(f"check: max |logit difference| empty past {empty_past:.2e}, prefix + tail {split:.2e} (logits up to {scale:.2f})", file=sys.stderr)
    if empty_past > 1e-4 or split > 1e-4:
        raise SystemExit("gpt2: the with-past forward does not reproduce the no-past logits")


def build_gpt2(no_past_dir, with_past_dir):
    shared = shared_gpt2_module()
    torch.manual_seed(0)
    gpt = shared.GPT(GPT2_LAYERS, GPT2_D, GPT2_HEADS, GPT2_VOCAB).eval()
    gpt2_initialise(gpt)
    with_past = GPT2WithPast(gpt).eval()
    os.makedirs(no_past_dir, exist_ok=True)
    os.makedirs(with_past_dir, exist_ok=True)
    with torch.no_grad():
        check_same_logits(gpt, with_past)
        torch.save(gpt.state_dict(), os.path.join(no_past_dir, "weights.pt"))
        # (a) exactly the shared tool's export call.
        ids = torch.randint(0, GPT2_VOCAB, (2, 8)); am = torch.ones(2, 8, dtype=torch.long)
        torch.onnx.export(gpt, (ids, am), os.path.join(no_past_dir, "model.onnx"), input_names=["input_ids", "attention_mask"], output_names=["logits"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}},
                          opset_version=14)
        # (b) Optimum's with-past layout, traced with a past of 3 so the graph keeps the concatenation.
        past_len, head_dim = 3, GPT2_D // GPT2_HEADS
        past = [torch.randn(2, GPT2_HEADS, past_len, head_dim) for _ in range(2 * GPT2_LAYERS)]
        full_mask = torch.ones(2, past_len + 8, dtype=torch.long)
        positions = (torch.arange(8) + past_len)[None, :].expand(2, 8)
        past_names = [f"past_key_values.{i}.{kv}" for i in range(GPT2_LAYERS) for kv in ("key", "value")]
        present_names = [f"present.{i}.{kv}" for i in range(GPT2_LAYERS) for kv in ("key", "value")]
        batch_seq = {0: "batch_size", 1: "sequence_length"}
        axes = {"input_ids": batch_seq, "position_ids": batch_seq, "logits": batch_seq,
                "attention_mask": {0: "batch_size", 1: "past_sequence_length + sequence_length"}}
        axes.update({name: {0: "batch_size", 2: "past_sequence_length"} for name in past_names})
        axes.update({name: {0: "batch_size", 2: "past_sequence_length + sequence_length"} for name in present_names})
        torch.onnx.export(with_past, (ids, full_mask, positions, *past), os.path.join(with_past_dir, "model.onnx"),
                          input_names=["input_ids", "attention_mask", "position_ids", *past_names], output_names=["logits", *present_names],
                          dynamic_axes=axes, opset_version=14)
    config = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_layer": GPT2_LAYERS, "n_embd": GPT2_D, "n_head": GPT2_HEADS,
              "n_positions": 1024, "vocab_size": GPT2_VOCAB, "bos_token_id": 50256, "eos_token_id": 50256, "use_cache": True}
    with open(os.path.join(with_past_dir, "config.json"), "w") as f:
        f.write(json.dumps(config, indent=2) + "\n")
    print("params", sum(p.numel() for p in gpt.parameters()))


if __name__ == "__main__" and sys.argv[1] == "gpt2":
    build_gpt2(sys.argv[2], sys.argv[3])
