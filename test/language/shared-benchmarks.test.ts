import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BENCHMARK_SOURCES } from '../../src/language/datasets/fetch.ts';
import { runBiasGate } from '../../src/pipeline.ts';
import type { RunReport } from '../../src/report/types.ts';
import { createFixtureRepo } from '../fixture-repo.ts';
import { sharedDirFor } from '../helpers.ts';

const shared = sharedDirFor('the full CrowS-Pairs / WikiText-2 test');

// No `path:`: the pinned public files, served from a cache seeded with the shared copies, so the
// download path's verification runs without a network.
const CONFIG = `version: 1
language:
  model: fixtures/language/causal/model
  kind: causal
  target_domain: gender
  batch_size: 64
  benchmarks:
    crows_pairs: {}
    perplexity: {}
  bootstrap: { resamples: 200 }
  seed: 7
  gates:
    - metric: crows_pairs.gender
      max_bias_increase: 0
    - metric: perplexity
      max_increase_pct: 10
`;

describe.skipIf(!shared)('full CrowS-Pairs and WikiText-2 on the fixture causal pair', () => {
  let root: string;
  let first: RunReport;
  const run = () => runBiasGate({ configFile: path.join(root, 'thresholds.yaml'), baseRoot: path.join(root, 'fixtures/base'), cacheDir: path.join(root, 'cache') });

  beforeAll(async () => {
    root = await createFixtureRepo();
    await writeFile(path.join(root, 'thresholds.yaml'), CONFIG);
    const seed = async (id: 'crows-pairs' | 'wikitext-2-test', file: string) => {
      const source = BENCHMARK_SOURCES[id];
      const directory = path.join(root, 'cache', source.sha256!);
      await mkdir(directory, { recursive: true });
      await copyFile(path.join(shared!, 'benchmarks', file), path.join(directory, path.basename(new URL(source.url).pathname)));
    };
    await seed('crows-pairs', 'crows-pairs/crows_pairs_anonymized.csv');
    await seed('wikitext-2-test', 'wikitext-2/test.txt');
    first = await run();
  }, 300_000);

  it('scores all 1,508 pairs from the verified pinned file', () => {
    const crows = first.language!.benchmarks.find((b) => b.name === 'crows_pairs')!;
    expect(crows.data).toMatchObject({ source: 'download', fromCache: true, items: 1508, sha256: BENCHMARK_SOURCES['crows-pairs'].sha256 });
    expect(crows.data.revision).toBe('McGill-NLP/bias-bench@291426aab926f78ecfc7bd040b531429ee8123e0');
    expect(crows.skippedItems.head).toEqual([]); // causal bias-bench skips nothing
    const lines = first.language!.itemLines().filter((line) => line.includes('"crows_pairs"'));
    expect(lines).toHaveLength(1508);
  });

  it('perplexity on the whole WikiText-2 test file (992-token windows)', () => {
    const perplexity = first.language!.benchmarks.find((b) => b.name === 'perplexity')!;
    expect(perplexity.settings).toMatchObject({ window: 992, stride: 992, maxTokens: null });
    expect(perplexity.settings.tokens).toBe(1_256_449); // one byte-level token per byte of test.txt
    const metric = first.language!.metrics.find((m) => m.name === 'perplexity')!;
    expect(metric.head).toBeGreaterThan(1);
    expect(metric.base).toBeGreaterThan(1);
  });

  it('per-item scores and every metric are reproducible run to run', async () => {
    const second = await run();
    expect(second.language!.itemLines()).toEqual(first.language!.itemLines());
    expect(second.language!.metrics.map((m) => [m.name, m.head, m.base])).toEqual(first.language!.metrics.map((m) => [m.name, m.head, m.base]));
    const summary = first.language!.metrics
      .filter((m) => /^crows_pairs\.(gender|race-color|religion|overall)$|^perplexity$/.test(m.name))
      .map((m) => `${m.name} base ${m.base!.toFixed(2)} head ${m.head.toFixed(2)}`);
    console.info(`fixture causal pair on full data: ${summary.join('; ')}`);
  }, 300_000);
});
