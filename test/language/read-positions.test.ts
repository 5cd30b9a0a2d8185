import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crowsSamplePairs, maskedSentenceIds } from '../../fixtures/generate/language-models.ts';
import { MASKED_TOKEN_IDS, byteIds } from '../../fixtures/generate/tokenizer-json.ts';
import { causalTokenLogProbs, maskedTokenLogProbs, nextTokenLogProbs } from '../../src/language/inference.ts';
import { causalTokenLogProbsSharingPrefixes } from '../../src/language/shared-prefixes.ts';
import { loadLanguageModel } from '../../src/language/model.ts';
import type { LanguageModel, MaskedQuery } from '../../src/language/types.ts';
import { createTempDir, repoPath } from '../helpers.ts';

/**
 * A masked model's graph is rewritten at load to project only the masked positions onto the
 * vocabulary (src/runtime/read-positions.ts). The scores must be the very same float32 values as
 * with the full projection: each model is opened twice, with and without the rewrite.
 * fixtures/language/bert-tiny comes from fixtures/generate/tiny_bert_onnx.py (a BERT-shaped
 * torch.onnx export: tied embedding through a Transpose node, and an nn.Linear decoder).
 */

const MODELS = ['fixtures/language/masked/model', 'fixtures/language/bert-tiny/tied', 'fixtures/language/bert-tiny/linear'];

/** Every position of sentences of very different lengths masked in turn, [CLS] and [SEP] included. */
const QUERIES: MaskedQuery[] = [
  ...crowsSamplePairs()
    .slice(0, 8)
    .flatMap((pair) => [pair.sentMore, pair.sentLess]),
  'a',
  'Kim was turned away at the bank because she was rich\n.',
].flatMap((text) => {
  const ids = maskedSentenceIds(text);
  return ids.map((target, position) => ({ ids: ids.map((id, k) => (k === position ? MASKED_TOKEN_IDS.mask : id)), position, target }));
});

describe.each(MODELS)('masked scores of %s with and without the read-position rewrite', (directory) => {
  let rewritten: LanguageModel;
  let full: LanguageModel;
  const messages: string[] = [];
  beforeAll(async () => {
    const log = (message: string) => messages.push(message);
    rewritten = await loadLanguageModel(repoPath(directory), directory, 'masked', { intraOpThreads: 1, log });
    full = await loadLanguageModel(repoPath(directory), directory, 'masked', { intraOpThreads: 1, log, readPositions: false });
  });
  afterAll(async () => {
    await rewritten?.session.release();
    await full?.session.release();
  });

  it('rewrites the graph (no logits output left) and reads the vocabulary size from the gathered logits', () => {
    expect(messages).toEqual([]);
    expect(rewritten.inputs).toMatchObject({ targets: false, readPositions: true });
    expect(rewritten.session.outputNames).not.toContain('logits');
    expect(full.inputs).toMatchObject({ targets: true, readPositions: false });
    expect(rewritten.vocabularySize).toBe(260);
    expect(full.vocabularySize).toBe(260);
  });

  it('gives bit-for-bit the same scores, batched or not', async () => {
    for (const batchSize of [1, 7, 32]) {
      const expected = await maskedTokenLogProbs(full, QUERIES, { batchSize });
      const scores = await maskedTokenLogProbs(rewritten, QUERIES, { batchSize });
      expect(scores.every(Number.isFinite)).toBe(true);
      expect(scores).toEqual(expected);
    }
  });
});

/**
 * A causal scorer reads every position of a row but its last (position i predicts token i + 1), and
 * none of its padding: the rewrite leaves those out of the projection, with the same float32 values.
 */
// (The causal bigram fixture's logits are a table lookup, not a projection: it keeps the full path.)
const CAUSAL_MODELS = ['fixtures/language/gpt2-tiny/no-past', 'fixtures/language/gpt2-tiny/with-past'];
const SENTENCES = [
  ...crowsSamplePairs()
    .slice(0, 10)
    .flatMap((pair) => [pair.sentMore, pair.sentLess]),
  'a',
  'Hi.',
  'Kim was turned away at the bank because she was rich\n.',
].map(byteIds);

describe.each(CAUSAL_MODELS)('causal scores of %s with and without the read-position rewrite', (directory) => {
  let rewritten: LanguageModel;
  let full: LanguageModel;
  beforeAll(async () => {
    rewritten = await loadLanguageModel(repoPath(directory), directory, 'causal', { intraOpThreads: 1 });
    full = await loadLanguageModel(repoPath(directory), directory, 'causal', { intraOpThreads: 1, readPositions: false });
  });
  afterAll(async () => {
    await rewritten?.session.release();
    await full?.session.release();
  });

  it('rewrites the graph and gives bit-for-bit the same log-probabilities, batched or not, and the same next-token distribution', async () => {
    expect(rewritten.inputs).toMatchObject({ targets: false, readPositions: true });
    expect(full.inputs).toMatchObject({ targets: true, readPositions: false });
    for (const batchSize of [1, 5, 32]) {
      const scores = await causalTokenLogProbs(rewritten, SENTENCES, { batchSize });
      expect(scores.flatMap((row) => [...row]).every(Number.isFinite)).toBe(true);
      expect(scores).toEqual(await causalTokenLogProbs(full, SENTENCES, { batchSize }));
    }
    expect(await nextTokenLogProbs(rewritten, [256, 72, 105])).toEqual(await nextTokenLogProbs(full, [256, 72, 105]));
  });

  it('shares prefixes (on a KV-cache export) with bit-for-bit the same values as without the rewrite', async () => {
    const pairs = SENTENCES.map((_, k) => k).filter((k) => k % 2 === 0 && k + 1 < SENTENCES.length).map((k) => [k, k + 1]);
    expect(await causalTokenLogProbsSharingPrefixes(rewritten, SENTENCES, pairs, { batchSize: 4 })).toEqual(
      await causalTokenLogProbsSharingPrefixes(full, SENTENCES, pairs, { batchSize: 4 }),
    );
  });
});

describe('a masked model whose weights are in an external data file', () => {
  it('is rewritten, reads its weights from beside the model, and scores as without the rewrite', async () => {
    // The tied BERT's word embedding (the projection's weight, through a Transpose) moved to word.bin.
    const source = repoPath('fixtures/language/bert-tiny/tied');
    const decoded = onnxProto.onnx.ModelProto.decode(await readFile(join(source, 'model.onnx')));
    const weights = decoded.graph!.initializer!.find((tensor) => tensor.name === 'word.weight')!;
    const dir = join(await createTempDir(), 'external');
    await mkdir(dir);
    await writeFile(join(dir, 'word.bin'), weights.rawData!);
    weights.rawData = new Uint8Array(0);
    weights.dataLocation = onnxProto.onnx.TensorProto.DataLocation.EXTERNAL;
    weights.externalData = [{ key: 'location', value: 'word.bin' }];
    await writeFile(join(dir, 'model.onnx'), onnxProto.onnx.ModelProto.encode(decoded).finish());
    for (const file of ['tokenizer.json', 'tokenizer_config.json']) await copyFile(join(source, file), join(dir, file));
    const external = await loadLanguageModel(dir, 'external', 'masked');
    const full = await loadLanguageModel(source, 'tied', 'masked', { readPositions: false });
    try {
      expect(external.inputs.readPositions).toBe(true);
      const queries = QUERIES.slice(0, 60);
      expect(await maskedTokenLogProbs(external, queries, { batchSize: 16 })).toEqual(await maskedTokenLogProbs(full, queries, { batchSize: 16 }));
    } finally {
      await external.session.release();
      await full.session.release();
    }
  });
});

describe('a masked graph the rewrite does not understand', () => {
  let model: LanguageModel;
  let plain: LanguageModel;
  const messages: string[] = [];
  beforeAll(async () => {
    // logits = Reshape(MatMul + Add, [0, 0, -1]): the same numbers, but not a head the rewrite knows.
    const source = repoPath('fixtures/language/masked/model');
    const decoded = onnxProto.onnx.ModelProto.decode(await readFile(join(source, 'model.onnx')));
    const graph = decoded.graph!;
    graph.node!.at(-1)!.output = ['scores'];
    graph.node!.push(onnxProto.onnx.NodeProto.create({ name: 'keep_shape', opType: 'Reshape', input: ['scores', 'keep'], output: ['logits'] }));
    const keep = BigInt64Array.of(0n, 0n, -1n);
    graph.initializer!.push(
      onnxProto.onnx.TensorProto.create({ name: 'keep', dims: [3], dataType: onnxProto.onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(keep.buffer) }),
    );
    const dir = join(await createTempDir(), 'reshaped');
    await mkdir(dir);
    await writeFile(join(dir, 'model.onnx'), onnxProto.onnx.ModelProto.encode(decoded).finish());
    for (const file of ['tokenizer.json', 'tokenizer_config.json']) await copyFile(join(source, file), join(dir, file));
    model = await loadLanguageModel(dir, 'models/bert', 'masked', { log: (message) => messages.push(message) });
    plain = await loadLanguageModel(source, 'masked', 'masked', { readPositions: false });
  });
  afterAll(async () => {
    await model?.session.release();
    await plain?.session.release();
  });

  it('is opened with the log-softmax over every position, and the reason logged', () => {
    expect(messages).toEqual([
      "models/bert/model.onnx: bias-gate's read-position projection not applied " +
        '(`logits` comes from Reshape node "keep_shape", not from a vocabulary projection (MatMul by a constant weight, then a bias)); opening the model without it',
    ]);
    expect(model.inputs).toMatchObject({ targets: true, readPositions: false });
    expect(model.session.outputNames).toContain('logits');
  });

  it('scores as before', async () => {
    const queries = QUERIES.slice(0, 40);
    expect(await maskedTokenLogProbs(model, queries, { batchSize: 16 })).toEqual(await maskedTokenLogProbs(plain, queries, { batchSize: 16 }));
  });
});
