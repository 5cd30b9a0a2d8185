import { cp, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLanguageModel } from '../../src/language/model.ts';
import { emptyPastFeeds, pastKeyValueInputs } from '../../src/language/past-key-values.ts';
import { runBiasGate } from '../../src/pipeline.ts';
import type { RunReport } from '../../src/report/types.ts';
import { READ_LOG_PROBS_OUTPUT } from '../../src/runtime/read-positions.ts';
import { createTempDir, inputErrorOf, repoPath } from '../helpers.ts';

/**
 * Models as users export them: fixtures/language/gpt2-tiny holds one tiny GPT-2 (random weights)
 * exported twice by fixtures/generate/tiny_gpt2_onnx.py, without a KV cache (`--task text-generation`)
 * and with one (Optimum's default: past_key_values.* inputs, position_ids, present.* outputs).
 * Fed an empty past, the with-past export must score every item as the no-past one does.
 */
const NO_PAST = 'fixtures/language/gpt2-tiny/no-past';
const WITH_PAST = 'fixtures/language/gpt2-tiny/with-past';
/** 1e-5 nats, the tolerance batching is held to. */
const TOLERANCE = 1e-5;

describe('loading a with-past export', () => {
  it('feeds an empty cache, position_ids, and still rewrites the graph to project only the positions read', async () => {
    const model = await loadLanguageModel(repoPath(WITH_PAST), WITH_PAST, 'causal');
    try {
      expect(model.inputs.positionIds).toBe(true);
      expect(model.inputs.readPositions).toBe(true);
      expect(model.session.outputNames).toContain(READ_LOG_PROBS_OUTPUT);
      expect(model.session.outputNames).toContain('present.1.value');
      expect(model.inputs.pastKeyValues).toEqual(
        ['0.key', '0.value', '1.key', '1.value'].map((suffix) => ({ name: `past_key_values.${suffix}`, heads: 2, headDim: 8 })),
      );
      expect(model.vocabularySize).toBe(257);
    } finally {
      await model.session.release();
    }
  });

  it('the no-past export has no cache inputs', async () => {
    const model = await loadLanguageModel(repoPath(NO_PAST), NO_PAST, 'causal');
    await model.session.release();
    expect(model.inputs.pastKeyValues).toBeUndefined();
    expect(model.inputs.positionIds).toBe(false);
  });
});

describe('past_key_values shapes', () => {
  const input = (shape: (number | string)[]) => ({ name: 'past_key_values.0.key', isTensor: true, type: 'float32', shape }) as const;

  it('come from the input shape when it fixes them, else from config.json', () => {
    expect(pastKeyValueInputs([input(['batch', 12, 'past', 64])], undefined, 'm')).toEqual([{ name: 'past_key_values.0.key', heads: 12, headDim: 64 }]);
    expect(pastKeyValueInputs([input(['batch', 'heads', 'past', 'dim'])], { n_head: 12, n_embd: 768 }, 'm')).toEqual([{ name: 'past_key_values.0.key', heads: 12, headDim: 64 }]);
    // Grouped-query attention (Llama-style config): the cache has num_key_value_heads heads.
    expect(pastKeyValueInputs([input(['b', 'h', 'p', 'd'])], { num_attention_heads: 32, num_key_value_heads: 8, hidden_size: 4096 }, 'm')).toEqual([
      { name: 'past_key_values.0.key', heads: 8, headDim: 128 },
    ]);
  });

  it('an InputError naming the model and the input when neither says', async () => {
    const error = await inputErrorOf(Promise.resolve().then(() => pastKeyValueInputs([input(['b', 'h', 'p', 'd'])], {}, 'models/lm')));
    expect(error.message).toMatch(/^models\/lm\/model\.onnx: input past_key_values\.0\.key does not fix its head count and head size, and config\.json does not give them/);
  });

  it('an empty past is float32 [batch, heads, 0, head_dim]', () => {
    const feeds = emptyPastFeeds([{ name: 'past_key_values.0.key', heads: 2, headDim: 8 }], 3);
    expect(feeds['past_key_values.0.key']!.dims).toEqual([3, 2, 0, 8]);
    expect(feeds['past_key_values.0.key']!.data).toHaveLength(0);
  });
});

/** A repository whose head has the with-past export at models/lm and whose base has the no-past export there. */
async function run(batchSize: number): Promise<RunReport> {
  const root = await createTempDir('bias-gate-with-past-');
  await mkdir(path.join(root, '.git'));
  await cp(repoPath(WITH_PAST), path.join(root, 'models/lm'), { recursive: true });
  await cp(repoPath(NO_PAST), path.join(root, 'base/models/lm'), { recursive: true });
  // The base's config is the policy in force, and its data paths are read in the base tree.
  for (const tree of ['', 'base']) await cp(repoPath('fixtures/language/benchmarks'), path.join(root, tree, 'benchmarks'), { recursive: true });
  const config = `version: 1
language:
  model: models/lm
  kind: causal
  batch_size: ${batchSize}
  benchmarks:
    crows_pairs: { path: benchmarks/crows_pairs_sample.csv }
    perplexity: { path: benchmarks/perplexity_sample.txt, window: 128, stride: 96 }
  bootstrap: { resamples: 50 }
  gates:
    - metric: perplexity
      max_increase_pct: 10
`;
  await writeFile(path.join(root, 'thresholds.yaml'), config);
  await writeFile(path.join(root, 'base/thresholds.yaml'), config);
  return runBiasGate({ configFile: path.join(root, 'thresholds.yaml'), baseRoot: path.join(root, 'base'), cacheDir: path.join(root, 'cache') });
}

type Item = { benchmark: string; base: Record<string, number> | null; head: Record<string, number> };
const items = (report: RunReport, benchmark: string): Item[] =>
  report.language!.itemLines().map((line) => JSON.parse(line) as Item).filter((item) => item.benchmark === benchmark);

describe.each([1, 8])('the same weights exported with and without a KV cache score the same (batch size %i)', async (batchSize) => {
  const report = await run(batchSize);

  it('CrowS-Pairs: every sentence score, head (with past) vs base (no past), within 1e-5 nats', () => {
    const pairs = items(report, 'crows_pairs').filter((item) => 'more' in item.head);
    expect(pairs.length).toBeGreaterThan(30);
    for (const { base, head } of pairs) {
      // Scores are geometric-mean probabilities; compare their logs (mean token log-probability, nats).
      expect(Math.abs(Math.log(head.more!) - Math.log(base!.more!))).toBeLessThanOrEqual(TOLERANCE);
      expect(Math.abs(Math.log(head.less!) - Math.log(base!.less!))).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it('perplexity: every window\'s mean NLL within 1e-5 nats, and the metric the same', () => {
    const windows = items(report, 'perplexity');
    expect(windows.length).toBeGreaterThan(1);
    for (const { base, head } of windows) expect(Math.abs(head.meanNll! - base!.meanNll!)).toBeLessThanOrEqual(TOLERANCE);
    const perplexity = report.language!.metrics.find((metric) => metric.name === 'perplexity')!;
    expect(Math.abs(Math.log(perplexity.head) - Math.log(perplexity.base!))).toBeLessThanOrEqual(TOLERANCE);
    expect(report.verdicts.map((verdict) => verdict.status)).toEqual(['pass']);
  });
});
