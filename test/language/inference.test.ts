import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  causalFixtureTable,
  causalNextTokenLogProbs,
  causalSentenceLogProbs,
  crowsSamplePairs,
  logSoftmax,
  maskedFixtureWeights,
  maskedPositionLogProbs,
  maskedSentenceIds,
} from '../../fixtures/generate/language-models.ts';
import { bigramLanguageModel } from '../../fixtures/generate/onnx-writer.ts';
import { normalValues } from '../../fixtures/generate/seeded.ts';
import { CAUSAL_VOCABULARY_SIZE, MASKED_TOKEN_IDS, byteIds, causalTokenizerConfig, causalTokenizerJson } from '../../fixtures/generate/tokenizer-json.ts';
import { causalTokenLogProbs, maskedTokenLogProbs, nextTokenLogProbs, planBatches } from '../../src/language/inference.ts';
import { loadLanguageModel } from '../../src/language/model.ts';
import type { LanguageModel, MaskedQuery } from '../../src/language/types.ts';
import { READ_LOG_PROBS_OUTPUT } from '../../src/runtime/read-positions.ts';
import { openModel } from '../../src/runtime/session.ts';
import { TARGET_LOG_PROBS_OUTPUT } from '../../src/runtime/token-log-probs.ts';
import { createTempDir, maxAbsDifference, repoPath } from '../helpers.ts';

/** `model` with a session that records each pass's input_ids shape and the outputs it asked for. */
function recording(model: LanguageModel): { model: LanguageModel; passes: number[][]; outputs: string[][] } {
  const passes: number[][] = [];
  const outputs: string[][] = [];
  const session = {
    ...model.session,
    run: (feeds: Parameters<LanguageModel['session']['run']>[0], names: readonly string[]) => {
      passes.push([...feeds.input_ids!.dims]);
      outputs.push([...names]);
      return model.session.run(feeds, names);
    },
  };
  return { model: { ...model, session }, passes, outputs };
}

/** A causal model directory in `dir` with the given model.onnx and the fixture's byte tokenizer. */
async function causalModelDirectory(dir: string, onnx: Uint8Array): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), onnx);
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(causalTokenizerJson()));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(causalTokenizerConfig()));
  return dir;
}

/** Sentences of very different lengths, in an order that is not sorted by length. */
const SENTENCES = [
  ...crowsSamplePairs()
    .slice(0, 12)
    .flatMap((pair) => [pair.sentMore, pair.sentLess]),
  'a',
  'Hi.',
  '',
  'The river rose.',
  'Kim was turned away at the bank because she was rich\n.',
  'Nobody trusted the atheist to keep the club\u2019s secret, and José said so twice, loudly, in the square.',
];

describe('causal inference on the bigram fixture', () => {
  let model: LanguageModel;
  const table = causalFixtureTable('head');
  const sequences = SENTENCES.map(byteIds);
  beforeAll(async () => {
    model = await loadLanguageModel(repoPath('fixtures/language/causal/model'), 'causal', 'causal');
  });
  afterAll(() => model?.session.release());

  it('gives log P(s[i] | s[<i]) = log_softmax(U[s[i−1]])[s[i]] for i ≥ 1, in the input order', async () => {
    const scores = await causalTokenLogProbs(model, sequences, { batchSize: 8 });
    const expected = sequences.map((ids) => causalSentenceLogProbs(table, ids));
    // The log-softmax runs in float32, as in bias-bench (torch fp32): agreement to float32 precision.
    expect(maxAbsDifference(scores, expected)).toBeLessThanOrEqual(1e-5);
    expect(scores.map((row) => row.length)).toEqual(sequences.map((ids) => Math.max(ids.length - 1, 0)));
  });

  it('gives the same scores with batch 1 and batch 32 (mixed lengths, right padding)', async () => {
    const one = await causalTokenLogProbs(model, sequences, { batchSize: 1 });
    const many = await causalTokenLogProbs(model, sequences, { batchSize: 32 });
    expect(maxAbsDifference(one, many)).toBeLessThanOrEqual(1e-5);
  });

  it('needs no pass for sequences of 0 or 1 tokens', async () => {
    const { model: counted, passes } = recording(model);
    const scores = await causalTokenLogProbs(counted, [[65], [], [66]], { batchSize: 4 });
    expect(scores.map((row) => row.length)).toEqual([0, 0, 0]);
    expect(passes).toEqual([]);
  });

  it('gives the full next-token distribution at the end of a prefix', async () => {
    const afterBos = await nextTokenLogProbs(model, [model.bosId!]);
    expect(afterBos.length).toBe(CAUSAL_VOCABULARY_SIZE);
    expect(maxAbsDifference([afterBos], [causalNextTokenLogProbs(table, 256)])).toBeLessThanOrEqual(1e-9);
    const afterPrefix = await nextTokenLogProbs(model, byteIds('The cat'));
    expect(maxAbsDifference([afterPrefix], [causalNextTokenLogProbs(table, 't'.charCodeAt(0))])).toBeLessThanOrEqual(1e-9);
    await expect(nextTokenLogProbs(model, [])).rejects.toThrow(RangeError);
  });

  it('keeps every pass within batchSize and maxBatchTokens, a longer sequence alone, and reports progress', async () => {
    const { model: counted, passes } = recording(model);
    const progress: [number, number][] = [];
    const options = { batchSize: 5, maxBatchTokens: 120, onBatch: (done: number, total: number) => progress.push([done, total]) };
    const scores = await causalTokenLogProbs(counted, sequences, options);
    for (const [rows, length] of passes) {
      expect(rows).toBeLessThanOrEqual(5);
      if (rows! > 1) expect(rows! * length!).toBeLessThanOrEqual(120);
    }
    // The 100-byte sentence is over the limit's half, so it runs alone.
    expect(passes[0]).toEqual([1, Buffer.byteLength(SENTENCES.at(-1)!)]);
    expect(progress.at(-1)).toEqual([sequences.length, sequences.length]);
    expect(progress.map(([done]) => done)).toEqual([...progress.map(([done]) => done)].sort((a, b) => a - b));
    expect(maxAbsDifference(scores, await causalTokenLogProbs(model, sequences, { batchSize: 32 }))).toBeLessThanOrEqual(1e-5);
  });

  it('rejects a target outside the vocabulary', async () => {
    await expect(causalTokenLogProbs(model, [[1, 300]], { batchSize: 1 })).rejects.toThrow(/token id 300 is outside the model's vocabulary of 257/);
  });

  it("never brings the logits back to JavaScript: the graph returns only the targets' log-probabilities", async () => {
    expect(model.inputs.targets).toBe(true);
    const { model: counted, outputs } = recording(model);
    await causalTokenLogProbs(counted, sequences, { batchSize: 8 });
    expect(outputs.length).toBeGreaterThan(1);
    expect(new Set(outputs.flat())).toEqual(new Set([TARGET_LOG_PROBS_OUTPUT]));
  });
});

describe('models whose graph cannot take the log-softmax nodes', () => {
  const table = causalFixtureTable('head');
  const sequences = SENTENCES.map(byteIds);
  const { onnx } = onnxProto;

  it('falls back to returning logits and a separate log-softmax session (opset 10 has no GatherElements), with a log line and the same scores', async () => {
    const decoded = onnx.ModelProto.decode(await readFile(repoPath('fixtures/language/causal/model/model.onnx')));
    decoded.opsetImport = [{ domain: '', version: 10 }];
    const dir = await causalModelDirectory(join(await createTempDir(), 'opset10'), onnx.ModelProto.encode(decoded).finish());
    const messages: string[] = [];
    const old = await loadLanguageModel(dir, 'models/old', 'causal', { log: (message) => messages.push(message) });
    const fused = await loadLanguageModel(repoPath('fixtures/language/causal/model'), 'causal', 'causal');
    try {
      expect(messages).toEqual([
        expect.stringMatching(/^models\/old\/model\.onnx: bias-gate's read-position projection not applied \(opset 10 is before 11\); opening the model without it$/),
        expect.stringMatching(/^models\/old\/model\.onnx: bias-gate's log-softmax nodes could not be added to the graph \(.*GatherElements.*\); running the model without them$/),
      ]);
      expect(old.inputs.targets).toBe(false);
      const { model: counted, outputs } = recording(old);
      const scores = await causalTokenLogProbs(counted, sequences, { batchSize: 8 });
      expect(new Set(outputs.flat())).toEqual(new Set(['logits']));
      expect(maxAbsDifference(scores, sequences.map((ids) => causalSentenceLogProbs(table, ids)))).toBeLessThanOrEqual(1e-5);
      // The same float32 nodes either way: identical numbers, not merely close ones.
      expect(maxAbsDifference(scores, await causalTokenLogProbs(fused, sequences, { batchSize: 8 }))).toBe(0);
    } finally {
      await old.session.release();
      await fused.session.release();
    }
  });

  it('adds the nodes to a model whose weights are in an external data file, found beside the model', async () => {
    const decoded = onnx.ModelProto.decode(await readFile(repoPath('fixtures/language/causal/model/model.onnx')));
    const weights = decoded.graph!.initializer!.find((tensor) => tensor.name === 'table')!;
    const dir = join(await createTempDir(), 'external');
    await mkdir(dir);
    await writeFile(join(dir, 'table.bin'), weights.rawData!);
    weights.rawData = new Uint8Array(0);
    weights.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    weights.externalData = [{ key: 'location', value: 'table.bin' }];
    const model = await loadLanguageModel(await causalModelDirectory(dir, onnx.ModelProto.encode(decoded).finish()), 'external', 'causal');
    try {
      expect(model.inputs.targets).toBe(true);
      const scores = await causalTokenLogProbs(model, sequences, { batchSize: 8 });
      expect(maxAbsDifference(scores, sequences.map((ids) => causalSentenceLogProbs(table, ids)))).toBeLessThanOrEqual(1e-5);
    } finally {
      await model.session.release();
    }
  });
});

describe('causal inference with position_ids', () => {
  const V = CAUSAL_VOCABULARY_SIZE;
  const table = Float64Array.from(normalValues('test bigram table', V * V), Math.fround);
  const positions = Float64Array.from(normalValues('test position table', 128 * V), Math.fround);
  let model: LanguageModel;
  beforeAll(async () => {
    const onnx = bigramLanguageModel({ table: Float32Array.from(table), positionTable: Float32Array.from(positions), vocabularySize: V });
    model = await loadLanguageModel(await causalModelDirectory(join(await createTempDir(), 'model'), onnx), 'positions', 'causal');
  });
  afterAll(() => model?.session.release());

  it('feeds positions 0..n−1 to every row, padded or not, in batches of 1 and 32', async () => {
    expect(model.inputs.positionIds).toBe(true);
    const sequences = SENTENCES.filter((text) => Buffer.byteLength(text) <= 128).map(byteIds);
    // logits at i = U[s[i]] + P[i]
    const expected = sequences.map((ids) =>
      Float64Array.from({ length: Math.max(ids.length - 1, 0) }, (_, i) => {
        const logits = Float64Array.from({ length: V }, (_, v) => table[ids[i]! * V + v]! + positions[i * V + v]!);
        return logSoftmax(logits)[ids[i + 1]!]!;
      }),
    );
    for (const batchSize of [1, 32]) {
      const scores = await causalTokenLogProbs(model, sequences, { batchSize });
      expect(maxAbsDifference(scores, expected)).toBeLessThanOrEqual(1e-5);
    }
  });
});

describe('masked inference on the neighbour fixture', () => {
  let model: LanguageModel;
  const weights = maskedFixtureWeights('head');
  /** Every position of every sentence masked in turn, [CLS] and [SEP] included. */
  const queries: MaskedQuery[] = SENTENCES.flatMap((text) => {
    const ids = maskedSentenceIds(text);
    return ids.map((target, position) => ({ ids: ids.map((id, k) => (k === position ? MASKED_TOKEN_IDS.mask : id)), position, target }));
  });
  beforeAll(async () => {
    model = await loadLanguageModel(repoPath('fixtures/language/masked/model'), 'masked', 'masked');
  });
  afterAll(() => model?.session.release());

  it('gives log P(target) at the masked position as the weights do, in the input order', async () => {
    const scores = await maskedTokenLogProbs(model, queries, { batchSize: 16 });
    const expected = queries.map(({ ids, position, target }) => maskedPositionLogProbs(weights, ids, position)[target]!);
    expect(maxAbsDifference([scores], [expected])).toBeLessThanOrEqual(1e-5);
  });

  it('gives the same scores with batch 1 and batch 32 (padding is masked out)', async () => {
    const one = await maskedTokenLogProbs(model, queries, { batchSize: 1 });
    const many = await maskedTokenLogProbs(model, queries, { batchSize: 32 });
    expect(maxAbsDifference([one], [many])).toBeLessThanOrEqual(1e-5);
  });

  it('keeps every pass within maxBatchTokens', async () => {
    const { model: counted, passes } = recording(model);
    const scores = await maskedTokenLogProbs(counted, queries, { batchSize: 64, maxBatchTokens: 256 });
    for (const [rows, length] of passes) expect(rows! * length!).toBeLessThanOrEqual(256);
    expect(passes.reduce((sum, [rows]) => sum + rows!, 0)).toBe(queries.length);
    expect(maxAbsDifference([scores], [await maskedTokenLogProbs(model, queries, { batchSize: 32 })])).toBeLessThanOrEqual(1e-5);
  });

  it('rejects a target outside the vocabulary', async () => {
    await expect(maskedTokenLogProbs(model, [{ ids: [257, 259, 258], position: 1, target: 300 }], { batchSize: 1 })).rejects.toThrow(
      /token id 300 is outside the model's vocabulary of 260/,
    );
  });

  it('reads only the masked positions, from the graph; a model without the nodes gives the same numbers', async () => {
    const { model: counted, outputs } = recording(model);
    const fused = await maskedTokenLogProbs(counted, queries, { batchSize: 16 });
    // The graph projects only the masked positions (read-positions.ts); test/language/read-positions.test.ts compares it with the full projection.
    expect(new Set(outputs.flat())).toEqual(new Set([READ_LOG_PROBS_OUTPUT]));
    const session = await openModel(repoPath('fixtures/language/masked/model/model.onnx'), 'masked/model.onnx');
    try {
      const plain: LanguageModel = { ...model, session, inputs: { ...model.inputs, targets: false, readPositions: false } };
      expect(maxAbsDifference([await maskedTokenLogProbs(plain, queries, { batchSize: 16 })], [fused])).toBe(0);
    } finally {
      await session.release();
    }
  });

  it('rejects a position outside the query', async () => {
    await expect(maskedTokenLogProbs(model, [{ ids: [257, 259, 258], position: 3, target: 65 }], { batchSize: 1 })).rejects.toThrow(
      /masked query 0: position 3 is outside its 3 tokens/,
    );
  });
});

describe('planBatches', () => {
  it('orders longest first, keeps ties in input order and fills up to batchSize', () => {
    expect(planBatches([3, 5, 3, 1, 5], { batchSize: 2 })).toEqual([[1, 4], [0, 2], [3]]);
  });

  it('caps rows × longest length at maxBatchTokens, a longer sequence alone', () => {
    expect(planBatches([10, 4, 4, 4, 30, 2], { batchSize: 8, maxBatchTokens: 12 })).toEqual([[4], [0], [1, 2, 3], [5]]);
  });

  it('rejects batch limits that are not positive integers', () => {
    expect(() => planBatches([1], { batchSize: 0 })).toThrow(/batchSize must be a positive integer, got 0/);
    expect(() => planBatches([1], { batchSize: 1, maxBatchTokens: 1.5 })).toThrow(/maxBatchTokens must be a positive integer, got 1.5/);
  });
});
