import { describe, expect, it } from 'vitest';
import type { LanguageBenchmark } from '../../src/language/benchmark.ts';
import { crowsPairsBenchmark } from '../../src/language/crows-pairs.ts';
import {
  calibrationSample,
  describePrecision,
  itemsToRescore,
  marginErrors,
  mergeScreenRecords,
  screenBound,
  screenedScore,
  sideErrors,
  type ScreenAdapter,
  type ScreenSettings,
} from '../../src/language/int8-screen.ts';
import { stereoSetBenchmark } from '../../src/language/stereoset.ts';
import type { LanguageModel } from '../../src/language/types.ts';

/** A result with two side scores already in log space; NaN marks an item the model could not score. */
type Pair = { a: number; b: number; by?: 'int8' | 'float32' };
const pairAdapter: ScreenAdapter<Pair> = {
  sides: (result) => (Number.isFinite(result.a) && Number.isFinite(result.b) ? [result.a, result.b] : undefined),
  comparisons: [[0, 1]],
  resolution: 0,
};

describe('the screen, pure steps', () => {
  it('calibrationSample: seeded, distinct, ascending; all items when the sample is as large', () => {
    const sample = calibrationSample(100, 10, 7);
    expect(sample).toEqual(calibrationSample(100, 10, 7));
    expect(new Set(sample).size).toBe(10);
    expect(sample).toEqual([...sample].sort((x, y) => x - y));
    expect(sample.every((k) => k >= 0 && k < 100)).toBe(true);
    expect(calibrationSample(100, 10, 8)).not.toEqual(sample);
    expect(calibrationSample(5, 10, 7)).toEqual([0, 1, 2, 3, 4]);
  });

  it('sideErrors and marginErrors: |int8 − float32| per side and per comparison; unscored items left out', () => {
    const int8: Pair[] = [{ a: -1.0, b: -2.0 }, { a: -3.0, b: -3.5 }, { a: Number.NaN, b: 0 }];
    const float32: Pair[] = [{ a: -1.1, b: -2.05 }, { a: -3.0, b: -3.25 }, { a: -1, b: -1 }];
    expect(sideErrors(pairAdapter, int8, float32).map((e) => +e.toFixed(6))).toEqual([0.1, 0.05, 0, 0.25]);
    // Margins: int8 1.0 vs float32 0.95 (0.05); 0.5 vs 0.25 (0.25). Correlated side errors cancel in the first.
    expect(marginErrors(pairAdapter, int8, float32).map((e) => +e.toFixed(6))).toEqual([0.05, 0.25]);
  });

  it('screenBound: factor × largest margin error + two rounding steps, at least the floor', () => {
    expect(screenBound([0.01, 0.04, 0.02], { safetyFactor: 3, floor: 1e-6 })).toBeCloseTo(0.12, 12);
    expect(screenBound([0.01], { safetyFactor: 3, floor: 1e-6 }, 0.001)).toBeCloseTo(0.032, 12);
    expect(screenBound([], { safetyFactor: 3, floor: 1e-6 })).toBe(1e-6);
    expect(screenBound([0, 0], { safetyFactor: 3, floor: 1e-6 })).toBe(1e-6);
  });

  it('itemsToRescore: |margin| ≤ bound (ties included), and unscored items; the rest keep int8', () => {
    expect(itemsToRescore(pairAdapter, [{ a: 0.25, b: 0 }], 0.25)).toEqual([0]); // exactly on the bound: rescored
    const results: Pair[] = [
      { a: -1, b: -2 }, // margin 1: kept
      { a: -1, b: -1.05 }, // 0.05: within 0.1 → rescored
      { a: -1, b: -1 }, // tie: rescored
      { a: -1.2, b: -1 }, // −0.2: kept
      { a: Number.NaN, b: -1 }, // unscored: rescored
      { a: -1, b: -1.1001 }, // just over 0.1: kept
    ];
    expect(itemsToRescore(pairAdapter, results, 0.1)).toEqual([1, 2, 4]);
  });

  it('a StereoSet cluster is rescored when any of its three comparisons is within the bound', () => {
    const adapter = stereoSetBenchmark.screen!('causal', 'sum-logprob');
    const clusters = [
      { stereotype: -10, antiStereotype: -12, unrelated: -20 },
      { stereotype: -10, antiStereotype: -20, unrelated: -20.05 }, // anti vs unrelated: 0.05
      { stereotype: -10, antiStereotype: -12, unrelated: Number.NaN },
    ];
    expect(itemsToRescore(adapter, clusters, 0.1)).toEqual([1, 2]);
    // bias-bench scores are probabilities: compared by their logs.
    expect(stereoSetBenchmark.screen!('causal', 'bias-bench').sides({ stereotype: Math.E, antiStereotype: 1, unrelated: Math.exp(-2) })).toEqual([1, 0, -2]);
  });

  it('CrowS: masked scores are rounded to 3 decimals (resolution 0.001); a skipped pair has no sides', () => {
    expect(crowsPairsBenchmark.screen!('masked', 'bias-bench').resolution).toBe(0.001);
    expect(crowsPairsBenchmark.screen!('causal', 'bias-bench').resolution).toBe(0);
    expect(crowsPairsBenchmark.screen!('causal', 'bias-bench').sides({ outcome: 'skipped', reason: 'x' })).toBeUndefined();
    expect(crowsPairsBenchmark.screen!('causal', 'sum-logprob').sides({ more: -3, less: -4, outcome: 'stereotypical' })).toEqual([-3, -4]);
  });
});

/**
 * A benchmark whose "model" is a table: float32 scores, and int8 scores = float32 + a known error per
 * item. Items record which model scored them, so the test sees what was rescored.
 */
function syntheticBenchmark(float32: Pair[], error: (k: number) => number): { benchmark: LanguageBenchmark<number, Pair>; models: { int8: () => Promise<LanguageModel>; float32: () => Promise<LanguageModel> }; calls: string[] } {
  const calls: string[] = [];
  const model = (name: string) => async () => ({ displayPath: name }) as LanguageModel;
  const benchmark = {
    name: 'crows_pairs',
    async score(m: LanguageModel, items: readonly number[]) {
      calls.push(`${m.displayPath}:${items.length}`);
      return items.map((k) => (m.displayPath === 'int8' ? { a: float32[k]!.a + error(k), b: float32[k]!.b, by: 'int8' as const } : { ...float32[k]!, by: 'float32' as const }));
    },
  } as unknown as LanguageBenchmark<number, Pair>;
  return { benchmark, models: { int8: model('int8'), float32: model('float32') }, calls };
}

const OPTIONS = { convention: 'bias-bench' as const, batch: { batchSize: 8 } };
const SETTINGS: ScreenSettings = { calibrationItems: 10, calibrationFraction: 0, safetyFactor: 3, floor: 1e-6, maxFloat32Fraction: 0.5, seed: 5 };

describe('screenedScore with synthetic margins', () => {
  // 100 items; float32 margins spread over [−2, 2]; int8 adds an error of at most 0.02 (alternating sign).
  const float32: Pair[] = Array.from({ length: 100 }, (_, k) => ({ a: -5 + (k - 49.5) / 25, b: -5 }));
  const error = (k: number) => (k % 2 === 0 ? 1 : -1) * 0.02 * ((k % 5) + 1) / 5;
  const items = Array.from({ length: 100 }, (_, k) => k);

  it('keeps int8 results outside the bound, float32 within it, and every outcome is float32s', async () => {
    const { benchmark, models, calls } = syntheticBenchmark(float32, error);
    const { results, record } = await screenedScore(benchmark, pairAdapter, models, items, OPTIONS, SETTINGS);
    const maxError = Math.max(...calibrationSample(100, 10, 5).map((k) => Math.abs(error(k))));
    expect(record.bound).toBeCloseTo(3 * maxError, 12);
    expect(record.calibrated).toBe(10);
    expect(record.fellBack).toBe(false);
    const sign = (r: Pair) => Math.sign(r.a - r.b);
    results.forEach((result, k) => {
      expect(sign(result)).toBe(sign(float32[k]!));
      // Rescored exactly where the int8 margin was within the bound (or in the calibration sample).
      const margin = Math.abs(float32[k]!.a + error(k) - float32[k]!.b);
      if (margin > record.bound! && !calibrationSample(100, 10, 5).includes(k)) expect(result.by).toBe('int8');
      if (margin <= record.bound!) expect(result.by).toBe('float32');
    });
    const rescored = results.filter((r, k) => r.by === 'float32' && !calibrationSample(100, 10, 5).includes(k)).length;
    expect(record.rescored).toBe(rescored);
    expect(calls).toEqual(['int8:100', 'float32:10', `float32:${rescored}`]);
    expect(record.calibrationError!.margin.max).toBeCloseTo(maxError, 12);
  });

  it('falls back to float32 for every item when calibration + rescoring would be most of them', async () => {
    // int8 errors as large as the margins: nearly everything is within the bound.
    const { benchmark, models } = syntheticBenchmark(float32, (k) => (k % 2 === 0 ? 2 : -2));
    const { results, record } = await screenedScore(benchmark, pairAdapter, models, items, OPTIONS, SETTINGS);
    expect(record.fellBack).toBe(true);
    expect(record.calibrated + record.rescored).toBe(100);
    expect(results.every((r) => r.by === 'float32')).toBe(true);
    expect(describePrecision({ mode: 'int8-screen', head: record, base: null }, false)).toContain('every item was scored in float32');
  });

  it('scores in float32 alone, without opening the int8 model, when the calibration sample would be most items', async () => {
    const { benchmark, models, calls } = syntheticBenchmark(float32.slice(0, 12), error);
    const { record } = await screenedScore(benchmark, pairAdapter, models, items.slice(0, 12), OPTIONS, SETTINGS);
    expect(calls).toEqual(['float32:12']);
    expect(record).toMatchObject({ items: 12, calibrated: 0, rescored: 12, bound: null, fellBack: true });
  });

  it('mergeScreenRecords sums counts and keeps the larger bound', () => {
    const a = { items: 10, calibrated: 2, rescored: 1, bound: 0.1, calibrationError: { side: { max: 0.05, median: 0.01 }, margin: { max: 0.03, median: 0.01 } }, fellBack: false };
    const b = { ...a, items: 5, rescored: 3, bound: 0.2 };
    expect(mergeScreenRecords(null, a)).toBe(a);
    expect(mergeScreenRecords(a, b)).toMatchObject({ items: 15, calibrated: 4, rescored: 4, bound: 0.2, fellBack: false });
  });
});
