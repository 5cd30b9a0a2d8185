import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LanguageBenchmark } from '../../src/language/benchmark.ts';
import { crowsPairsBenchmark, type CrowsResult } from '../../src/language/crows-pairs.ts';
import { parseCrowsPairs } from '../../src/language/datasets/crows-pairs.ts';
import { parseStereoSet } from '../../src/language/datasets/stereoset.ts';
import { describeScreen, screenedScore, type ScreenSettings } from '../../src/language/int8-screen.ts';
import { loadLanguageModel } from '../../src/language/model.ts';
import { stereoSetBenchmark, type StereoSetResult } from '../../src/language/stereoset.ts';
import type { LanguageModel, LanguageModelKind } from '../../src/language/types.ts';
import { directoryResultCache } from '../../src/artifacts/result-cache.ts';
import { runBiasGate } from '../../src/pipeline.ts';
import { renderJsonReport } from '../../src/report/json.ts';
import { renderText } from '../../src/report/text.ts';
import { createFixtureRepo } from '../fixture-repo.ts';
import { repoPath, sharedDirFor } from '../helpers.ts';
import { expectValidReport } from '../report-schema.ts';

/**
 * int8-screen outcomes equal float32 outcomes on every item of the fixture benchmarks, for every
 * fixture model. The calibration sample is kept small and the fall-back off, so the screen (not a
 * float32 fall-back) is what is tested: most items keep their int8 outcome.
 */
const SCREEN: ScreenSettings = { calibrationItems: 4, calibrationFraction: 0, safetyFactor: 3, floor: 1e-6, maxFloat32Fraction: 1, seed: 3 };
const OPTIONS = { convention: 'bias-bench' as const, batch: { batchSize: 16 } };

const MODELS: { directory: string; kind: LanguageModelKind }[] = [
  { directory: 'fixtures/language/causal/model', kind: 'causal' },
  { directory: 'fixtures/language/masked/model', kind: 'masked' },
  { directory: 'fixtures/language/gpt2-tiny/no-past', kind: 'causal' },
  { directory: 'fixtures/language/gpt2-tiny/with-past', kind: 'causal' },
];

const crowsOutcomes = (results: readonly CrowsResult[]) => results.map((r) => r.outcome);
const stereoSetOutcomes = (results: readonly StereoSetResult[]) =>
  results.map((r) => [r.stereotype > r.antiStereotype, r.stereotype > r.unrelated, r.antiStereotype > r.unrelated, Number.isFinite(r.stereotype + r.antiStereotype + r.unrelated)].join());

interface Opened {
  float32: LanguageModel;
  int8: LanguageModel;
}
const opened = new Map<string, Opened>();
async function open(directory: string, kind: LanguageModelKind): Promise<Opened> {
  let models = opened.get(directory);
  if (!models) {
    const absolute = repoPath(directory);
    models = {
      float32: await loadLanguageModel(absolute, directory, kind, { intraOpThreads: 1 }),
      int8: await loadLanguageModel(absolute, `${directory} (int8)`, kind, { intraOpThreads: 1, quantise: 'int8' }),
    };
    opened.set(directory, models);
  }
  return models;
}
afterAll(async () => {
  for (const { float32, int8 } of opened.values()) await Promise.all([float32.session.release(), int8.session.release()]);
});

async function expectSameOutcomes<Item, Result>(
  benchmark: LanguageBenchmark<Item, Result>,
  models: Opened,
  kind: LanguageModelKind,
  items: readonly Item[],
  outcomes: (results: readonly Result[]) => string[],
  label: string,
): Promise<void> {
  const float32 = await benchmark.score(models.float32, items, OPTIONS);
  const adapter = benchmark.screen!(kind, OPTIONS.convention);
  const { results, record } = await screenedScore(benchmark, adapter, { int8: async () => models.int8, float32: async () => models.float32 }, items, OPTIONS, SCREEN);
  console.log(`${label}: ${describeScreen(record)}; side error median ${record.calibrationError?.side.median.toExponential(2)}`);
  expect(outcomes(results)).toEqual(outcomes(float32));
  expect(record.items).toBe(items.length);
  expect(record.fellBack).toBe(false);
}

describe('int8-screen outcomes equal float32 outcomes on every fixture item', () => {
  let crows: ReturnType<typeof parseCrowsPairs>['items'];
  let stereoSet: ReturnType<typeof parseStereoSet>['clusters'];
  beforeAll(async () => {
    crows = parseCrowsPairs(await readFile(repoPath('fixtures/language/benchmarks/crows_pairs_sample.csv'), 'utf8'), 'crows sample').items;
    stereoSet = parseStereoSet(await readFile(repoPath('fixtures/language/benchmarks/stereoset_sample.json'), 'utf8'), 'stereoset sample').clusters;
  });

  for (const { directory, kind } of MODELS) {
    it(`${directory}: CrowS-Pairs and StereoSet`, async () => {
      const models = await open(directory, kind);
      await expectSameOutcomes(crowsPairsBenchmark, models, kind, crows, crowsOutcomes, `${directory} crows`);
      await expectSameOutcomes(stereoSetBenchmark, models, kind, stereoSet, stereoSetOutcomes, `${directory} stereoset`);
    }, 60_000);
  }

  it('the int8 copy of gpt2-tiny is not the float32 model: its scores move (so the screen has something to do)', async () => {
    const models = await open('fixtures/language/gpt2-tiny/no-past', 'causal');
    const [a, b] = await Promise.all([crowsPairsBenchmark.score(models.float32, crows, OPTIONS), crowsPairsBenchmark.score(models.int8, crows, OPTIONS)]);
    const moved = a.filter((r, k) => r.outcome !== 'skipped' && (r as { more: number }).more !== (b[k] as { more: number }).more).length;
    expect(moved).toBeGreaterThan(crows.length / 2);
  });
});

const shared = sharedDirFor('int8-screen on the full CrowS-Pairs');

describe.skipIf(!shared)('int8-screen outcomes equal float32 on the full CrowS-Pairs (1,508 pairs), fixture models', () => {
  for (const { directory, kind } of MODELS) {
    it(directory, async () => {
      const items = parseCrowsPairs(await readFile(path.join(shared!, 'benchmarks/crows-pairs/crows_pairs_anonymized.csv'), 'utf8'), 'crows').items;
      expect(items).toHaveLength(1508);
      await expectSameOutcomes(crowsPairsBenchmark, await open(directory, kind), kind, items, crowsOutcomes, `${directory} full crows`);
    }, 300_000);
  }
});

describe('language.precision: int8-screen through the pipeline', () => {
  it('records the screen per side in report.json (valid against the schema) and in the text report; perplexity is not screened', async () => {
    const root = await createFixtureRepo();
    await writeFile(
      path.join(root, 'thresholds.yaml'),
      `version: 1
language:
  model: fixtures/language/causal/model
  kind: causal
  precision: int8-screen
  benchmarks:
    crows_pairs: { path: fixtures/language/benchmarks/crows_pairs_sample.csv }
    perplexity: { path: fixtures/language/benchmarks/perplexity_sample.txt, window: 128, stride: 96 }
  bootstrap: { resamples: 50 }
  seed: 2
`,
    );
    // One result-cache directory; a fresh handle per run, so each run's events are its own.
    const run = () => runBiasGate({ configFile: path.join(root, 'thresholds.yaml'), baseRoot: path.join(root, 'fixtures/base'), cacheDir: path.join(root, 'cache'), resultCache: directoryResultCache(path.join(root, 'results')) });
    const report = await run();
    const document = expectValidReport(renderJsonReport(report));
    const [crows, perplexity] = document.language.benchmarks;
    // The fixture sample (40 pairs) is smaller than twice the calibration sample (64): the screen
    // would save nothing, scores every pair in float32 without opening the int8 copy, and says so.
    const allFloat32 = { items: 40, calibrated: 0, rescored: 40, bound: null, calibrationError: null, fellBack: true };
    expect(crows.precision).toEqual({ mode: 'int8-screen', head: allFloat32, base: allFloat32 });
    expect(perplexity.precision).toBeUndefined();
    expect(renderText(report)).toContain('int8 screen (every outcome float32\'s): head 40 items, 0 calibrated, 40 rescored in float32; most items needed float32');
    // A second run reads the result cache: the screen's record says so instead of re-measuring.
    const again = expectValidReport(renderJsonReport(await run()));
    expect(again.language.benchmarks[0].precision).toEqual({ mode: 'int8-screen', head: null, base: null });
    expect(again.language.metrics).toEqual(document.language.metrics);
    // The precision is part of the cache key: a float32 run does not take the screened results.
    await writeFile(path.join(root, 'thresholds.yaml'), (await readFile(path.join(root, 'thresholds.yaml'), 'utf8')).replace('  precision: int8-screen\n', ''));
    const float32 = await run();
    expect(float32.cache.filter((event) => event.kind === 'language-crows_pairs' && event.event === 'hit')).toEqual([]);
    expect(float32.cache.filter((event) => event.kind === 'language-perplexity' && event.event === 'hit')).toHaveLength(2);
    expect(expectValidReport(renderJsonReport(float32)).language.benchmarks[0].precision).toBeUndefined();
  }, 120_000);
});
