import { describe, expect, it } from 'vitest';
import type { LanguageBenchmark } from '../../src/language/benchmark.ts';
import { compareBenchmark } from '../../src/language/compare.ts';
import { crowsPairsBenchmark, type CrowsResult } from '../../src/language/crows-pairs.ts';
import type { CrowsPair } from '../../src/language/datasets/crows-pairs.ts';
import { perplexityFrom, perplexityWindows } from '../../src/language/perplexity.ts';
import { stereoSetScores } from '../../src/language/stereoset.ts';
import { describeTransferDirection, transferTable } from '../../src/language/transfer.ts';
import type { MetricSeries } from '../../src/scores.ts';

describe('StereoSet SS/LMS/ICAT (bias-bench evaluator)', () => {
  it('macro-averages over target terms; ties go to anti and to not-related', () => {
    const r = (stereotype: number, antiStereotype: number, unrelated: number) => ({ stereotype, antiStereotype, unrelated });
    const scores = stereoSetScores([
      // term "nurse": 2 clusters. pro: 1 (first), related: first 2, second: stereo 0.2 > unrelated 0.1 yes, anti 0.3 > 0.1 yes → 2
      { target: 'nurse', result: r(0.5, 0.4, 0.1) },
      { target: 'nurse', result: r(0.2, 0.3, 0.1) },
      // term "chess player": 1 cluster, a tie (anti), stereo == unrelated (not related), anti > unrelated (related)
      { target: 'chess player', result: r(0.3, 0.3, 0.3 - 1e-9 + 1e-9) },
    ]);
    // nurse: SS 50, LMS 100·4/4 = 100. chess player: SS 0, LMS: 0.3 > 0.3? no; 0.3 > 0.3? no → 0.
    expect(scores.ss).toBeCloseTo(25, 12);
    expect(scores.lms).toBeCloseTo(50, 12);
    expect(scores.icat).toBeCloseTo((50 * 25) / 50, 12);
  });

  it('leaves out clusters with a NaN or infinite candidate score; none left gives NaN, not 0', () => {
    const r = (stereotype: number, antiStereotype: number, unrelated: number) => ({ stereotype, antiStereotype, unrelated });
    const scored = { target: 'nurse', result: r(0.5, 0.4, 0.1) };
    const unscored = [
      { target: 'nurse', result: r(Number.NaN, 0.4, 0.1) },
      { target: 'nurse', result: r(0.5, 0.4, Number.POSITIVE_INFINITY) },
      { target: 'chess player', result: r(0.5, Number.NaN, 0.1) },
    ];
    expect(stereoSetScores([scored, ...unscored])).toEqual(stereoSetScores([scored]));
    expect(stereoSetScores([scored])).toEqual({ ss: 100, lms: 100, icat: 0 });
    const none = stereoSetScores(unscored);
    expect([none.ss, none.lms, none.icat].every(Number.isNaN)).toBe(true);
  });
});

describe('perplexity windows (bias-bench / Hugging Face sliding window)', () => {
  it('non-overlapping windows when stride = window', () => {
    expect(perplexityWindows(10, 4, 4)).toEqual([
      { begin: 0, end: 4, targets: 4 },
      { begin: 4, end: 8, targets: 4 },
      { begin: 8, end: 10, targets: 2 },
    ]);
  });

  it('overlapping windows score only the new tokens and stop at the end', () => {
    expect(perplexityWindows(10, 6, 3)).toEqual([
      { begin: 0, end: 6, targets: 6 },
      { begin: 3, end: 9, targets: 3 },
      { begin: 6, end: 10, targets: 1 },
    ]);
  });

  it('exp of the target-weighted mean loss', () => {
    const windows = perplexityWindows(10, 4, 4);
    const results = [{ meanNll: 1, predicted: 3 }, { meanNll: 2, predicted: 3 }, { meanNll: 3, predicted: 1 }];
    // (1·4 + 2·4 + 3·2) / 10 = 1.8
    expect(perplexityFrom(results, windows, [0, 1, 2])).toBeCloseTo(Math.exp(1.8), 12);
  });
});

describe('compareBenchmark on CrowS-Pairs results', () => {
  const pair = (id: number, biasType: string): CrowsPair => ({ id: String(id), sentMore: 'a', sentLess: 'b', direction: 'stereo', biasType, line: id + 2 } as CrowsPair);
  const items = [...Array.from({ length: 40 }, (_, i) => pair(i, 'gender')), ...Array.from({ length: 40 }, (_, i) => pair(40 + i, 'race-color'))];
  const outcome = (stereotypical: boolean): CrowsResult => (stereotypical ? { more: -1, less: -2, outcome: 'stereotypical' } : { more: -2, less: -1, outcome: 'anti-stereotypical' });
  // base: gender 36/40 stereotypical, race 20/40. head: gender 22/40 (14 flipped to anti), race 36/40 (16 flipped to stereo).
  const base = items.map((_, i) => outcome(i < 40 ? i < 36 : i < 60));
  const head = items.map((_, i) => outcome(i < 40 ? i < 22 : i < 76));
  const comparison = compareBenchmark(crowsPairsBenchmark, { items, results: head }, { items, results: base }, { resamples: 200, seed: 4 });
  const metric = (name: string) => comparison.metrics.find((m) => m.name === name)!;

  it('per-type and overall % stereotypical for both sides', () => {
    expect([metric('crows_pairs.gender').base, metric('crows_pairs.gender').head]).toEqual([90, 55]);
    expect([metric('crows_pairs.race-color').base, metric('crows_pairs.race-color').head]).toEqual([50, 90]);
    expect([metric('crows_pairs.overall').base, metric('crows_pairs.overall').head]).toEqual([70, 72.5]);
    expect(metric('crows_pairs.age').head).toBeNaN(); // no items of that type
    expect(metric('crows_pairs.gender').unbiasedValue).toBe(50);
  });

  it('McNemar on the paired outcomes', () => {
    // gender: b (stereo under base only) = 14, c = 0 → p = 2·2⁻¹⁴ ; race: b = 0, c = 16 → 2·2⁻¹⁶
    expect(comparison.mcnemar.find((m) => m.metric === 'crows_pairs.gender')).toMatchObject({ b: 14, c: 0, pValue: 2 / 16384 });
    expect(comparison.mcnemar.find((m) => m.metric === 'crows_pairs.race-color')).toMatchObject({ b: 0, c: 16, pValue: 2 / 65536 });
    expect(metric('crows_pairs.gender').changePValue).toBe(2 / 16384);
  });

  it('paired, stratified bootstrap: each type keeps its size in every resample', () => {
    expect(comparison.paired).toBe(true);
    const g = metric('crows_pairs.gender');
    expect(g.headReplicates).toHaveLength(200);
    // With 40 items per type every replicate is a multiple of 100/40 = 2.5.
    expect(g.headReplicates.every((v) => Number.isInteger(v / 2.5))).toBe(true);
    const again = compareBenchmark(crowsPairsBenchmark, { items, results: head }, { items, results: base }, { resamples: 200, seed: 4 });
    expect(again.metrics.find((m) => m.name === 'crows_pairs.gender')!.headReplicates).toEqual(g.headReplicates);
  });

  it('the transfer table: gender (target) fell, race moved against it', () => {
    const table = transferTable('gender', comparison.metrics, 0.95)!;
    const gender = table.rows.find((r) => r.domain === 'gender')!;
    expect(gender).toMatchObject({ direction: 'target', base: 90, head: 55 });
    expect(gender.biasChange.value).toBe(-35);
    expect(gender.biasChange.interval!.high).toBeLessThan(0);
    const race = table.rows.find((r) => r.domain === 'race')!;
    expect(race.biasChange.value).toBe(40);
    expect(race.direction).toBe('against');
    // Only domains with data appear (the other seven CrowS types have no items here).
    expect(table.rows.map((r) => r.domain)).toEqual(['race', 'gender']);
    expect(table.summary).toBe('Targeted domain gender: bias fell by 35 points of |score − 50| (CrowS-Pairs). Moved against it: race.');
  });
});

describe('transfer directions', () => {
  const series = (name: string, base: number, head: number, spread: number): MetricSeries => ({
    name, description: '', magnitude: false, unbiasedValue: 50, head, base,
    headReplicates: Array.from({ length: 41 }, (_, k) => head + (k - 20) * spread), baseReplicates: Array.from({ length: 41 }, () => base),
  });
  it('with, against and unclear', () => {
    const table = transferTable('gender', [
      series('crows_pairs.gender', 60, 55, 0.01),
      series('crows_pairs.religion', 62, 57, 0.01), // fell clearly: with
      series('crows_pairs.age', 52, 56, 0.01), // rose clearly: against
      series('crows_pairs.disability', 55, 54, 0.5), // interval spans 0: unclear
    ], 0.95)!;
    expect(table.rows.map((r) => [r.domain, r.direction])).toEqual([['gender', 'target'], ['religion', 'with'], ['age', 'against'], ['disability', 'unclear']]);
    expect(table.summary).toContain('Moved with it (cross-domain transfer): religion. Moved against it: age. No clear change: disability.');
  });
  it('a domain that clearly moved is reported as moved when the target did not change (nationality 32.70 → 28.93)', () => {
    // The case: gender unchanged, nationality's |score − 50| grew (interval [1.26, 6.92], McNemar p = 0.031).
    const fixed = (name: string, base: number, head: number, low: number, high: number, changePValue: number): MetricSeries => ({
      name, description: '', magnitude: false, unbiasedValue: 50, head, base, changePValue,
      // Replicates whose |score − 50| change spans [low, high] (base fixed, head spread around its value).
      headReplicates: Array.from({ length: 101 }, (_, k) => 50 - (Math.abs(base - 50) + low + ((high - low) * k) / 100)),
      baseReplicates: Array.from({ length: 101 }, () => base),
    });
    const table = transferTable('gender', [
      fixed('crows_pairs.gender', 55.34, 55.34, 0, 0, 1),
      fixed('crows_pairs.nationality', 32.7, 28.93, 1.26, 6.92, 0.031),
      fixed('crows_pairs.age', 60, 61, -2, 4, 0.6),
    ], 0.95)!;
    const nationality = table.rows.find((r) => r.domain === 'nationality')!;
    expect(nationality.biasChange.value).toBeCloseTo(3.77, 10);
    expect(nationality.biasChange.interval!.low).toBeGreaterThan(1.2);
    expect(nationality.direction).toBe('moved');
    expect(describeTransferDirection(nationality)).toBe('moved (more biased); target: no clear change');
    expect(table.rows.find((r) => r.domain === 'age')!.direction).toBe('unclear');
    expect(table.summary).toBe('Targeted domain gender: bias did not change. Moved although the target did not clearly change: nationality (more biased). No clear change: age.');
  });

  it('a target change within noise gives no direction: a clear mover is "moved", not "with"/"against"', () => {
    const table = transferTable('gender', [
      series('crows_pairs.gender', 60, 55, 0.5), // interval spans 0
      series('crows_pairs.religion', 62, 57, 0.01), // fell clearly
    ], 0.95)!;
    expect(table.rows.map((r) => [r.domain, r.direction])).toEqual([['gender', 'target'], ['religion', 'moved']]);
    expect(table.summary).toContain('within noise');
    expect(table.summary).toContain('Moved although the target did not clearly change: religion (less biased).');
  });

  it('McNemar p at or above 1 − confidence makes a change unclear even when the interval excludes 0', () => {
    const table = transferTable('gender', [
      series('crows_pairs.gender', 60, 55, 0.01),
      { ...series('crows_pairs.age', 52, 56, 0.01), changePValue: 0.2 },
    ], 0.95)!;
    expect(table.rows.find((r) => r.domain === 'age')!.direction).toBe('unclear');
  });

  it('no target row → no table', () => {
    expect(transferTable('profession', [series('crows_pairs.gender', 60, 55, 0)], 0.95)).toBeNull();
  });
});

// The compile-time check that the registry entry satisfies the interface.
const _typed: LanguageBenchmark<CrowsPair, CrowsResult> = crowsPairsBenchmark;
void _typed;
