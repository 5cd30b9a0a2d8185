import { seededRng } from '../stats/rng.ts';
import type { LanguageBenchmark, ScoreOptions } from './benchmark.ts';
import type { LanguageModel } from './types.ts';

/**
 * The exact int8 screen (config `language.precision: int8-screen`): every item is scored with a
 * dynamically quantised copy of the model (runtime/quantise-int8.ts), and every item whose int8
 * outcome could differ from float32's is scored again in float32, so each per-item outcome (a
 * CrowS-Pairs verdict, a StereoSet comparison) is the float32 model's.
 *
 * Why a margin decides it: an outcome is the sign of a margin, the difference of two side scores
 * (in log space). If the int8 margin is within B of the float32 margin, an int8 margin with
 * |margin| > B has the float32 sign (and is no tie). B is measured on each run: a fixed, seeded
 * sample of items is scored in float32 too (their float32 results are kept), and
 * B = safety factor × the largest |int8 margin − float32 margin| seen there, plus two rounding
 * steps of the score (masked CrowS rounds to 3 decimals: a rounded side can move by one step on
 * any change), at least a floor. The margin's own error is measured rather than bounded by twice
 * the side error: the two sentences of a pair share most tokens, so their int8 errors are
 * correlated and largely cancel (on GPT-2-small-shaped weights the largest margin error over 300
 * CrowS pairs was 0.69 nats against 2 × 0.55 for two independent sides).
 * Items with |margin| ≤ B, and items int8 could not score, are rescored in float32.
 * When calibration and rescoring together would cover more than {@link ScreenSettings.maxFloat32Fraction}
 * of the items the screen saves nothing: every item is scored in float32 and the record says so.
 *
 * The pure steps ({@link calibrationSample}, {@link sideErrors}, {@link marginErrors}, {@link screenBound},
 * {@link itemsToRescore}) are separate from {@link screenedScore}, which runs the models.
 */

/** `language.precision`: how language benchmarks are scored. */
export type LanguagePrecision = 'float32' | 'int8-screen';
export const LANGUAGE_PRECISIONS: readonly LanguagePrecision[] = ['float32', 'int8-screen'];

/** How a benchmark's results are screened: its side scores in log space and which of them are compared. */
export interface ScreenAdapter<Result> {
  /**
   * The side scores an outcome compares, in log space (a monotone map of the score, so comparisons
   * keep their outcome), or undefined when the result has no outcome to keep (skipped, not finite):
   * such an item is always rescored.
   */
  sides(result: Result): number[] | undefined;
  /** Index pairs [i, j] of {@link sides} whose order is an outcome: margin = sides[i] − sides[j]. */
  comparisons: readonly (readonly [number, number])[];
  /** The step the scores are rounded to (0: not rounded); a rounded score can move by one step on any change. */
  resolution: number;
}

/** The screen's constants; {@link DEFAULT_SCREEN} is what a run uses. */
export interface ScreenSettings {
  /** Items scored in float32 as well, to measure the int8 error: at least this many… */
  calibrationItems: number;
  /** …or this fraction of the items, whichever is more. */
  calibrationFraction: number;
  /** B = factor × the largest calibration margin error (+ 2 × resolution). */
  safetyFactor: number;
  /** Smallest margin bound; keeps exact int8 ties (margin 0) rescored even when E is 0. */
  floor: number;
  /** Above this fraction of items in float32 (calibration + rescored), score all in float32. */
  maxFloat32Fraction: number;
  /** Seed of the calibration sample. */
  seed: number;
}

/**
 * Safety factor 3: on GPT-2-small-shaped weights the largest margin error over 300 CrowS pairs was
 * 1.33× (bias-bench) and 1.28× (sum-logprob) the largest over the 64-item sample (README "Scale");
 * 3 leaves room for a heavier tail. Floor 1e-6: about float32's own batch-to-batch noise in a
 * log-probability, so exact int8 ties are always rescored.
 */
export const DEFAULT_SCREEN: ScreenSettings = { calibrationItems: 64, calibrationFraction: 0.05, safetyFactor: 3, floor: 1e-6, maxFloat32Fraction: 0.5, seed: 1 };

/** What the screen did for one side of one benchmark (the report's `precision` record). */
export interface ScreenRecord {
  /** Items scored. */
  items: number;
  /** Items scored in float32 to measure the int8 error (their float32 results are kept). */
  calibrated: number;
  /** Items rescored in float32 because their int8 margin was within the bound (or int8 left them unscored). */
  rescored: number;
  /** The margin bound B (log space); null when every item was scored in float32 anyway. */
  bound: number | null;
  /**
   * The int8 error seen in calibration (log space): |int8 − float32| of each side score and of each
   * margin, largest and median; null when nothing was calibrated.
   */
  calibrationError: { side: { max: number; median: number }; margin: { max: number; median: number } } | null;
  /** Calibration and rescoring would have covered most items: everything was scored in float32. */
  fellBack: boolean;
}

/** `size` distinct indices of 0..count−1, seeded, ascending (all of them when size ≥ count). */
export function calibrationSample(count: number, size: number, seed: number): number[] {
  const all = Array.from({ length: count }, (_, k) => k);
  if (size >= count) return all;
  return seededRng(seed).shuffle(all).slice(0, size).sort((a, b) => a - b);
}

/** `measure(int8 sides, float32 sides)` for every item both runs scored, its finite values, item by item. */
function errorsOf<Result>(
  adapter: ScreenAdapter<Result>,
  int8: readonly Result[],
  float32: readonly Result[],
  measure: (a: readonly number[], b: readonly number[]) => number[],
): number[] {
  return int8.flatMap((result, k) => {
    const a = adapter.sides(result);
    const b = adapter.sides(float32[k]!);
    return a === undefined || b === undefined ? [] : measure(a, b).filter(Number.isFinite);
  });
}

/** |int8 − float32| of every side score both runs scored (finite on both sides), item by item. */
export function sideErrors<Result>(adapter: ScreenAdapter<Result>, int8: readonly Result[], float32: readonly Result[]): number[] {
  return errorsOf(adapter, int8, float32, (a, b) => a.map((value, side) => Math.abs(value - b[side]!)));
}

/** |int8 margin − float32 margin| of every comparison both runs scored, item by item. */
export function marginErrors<Result>(adapter: ScreenAdapter<Result>, int8: readonly Result[], float32: readonly Result[]): number[] {
  return errorsOf(adapter, int8, float32, (a, b) => adapter.comparisons.map(([i, j]) => Math.abs(a[i]! - a[j]! - (b[i]! - b[j]!))));
}

/** The margin bound B = factor × the largest margin error + 2 × resolution; at least `floor`. */
export function screenBound(marginErrors: readonly number[], settings: Pick<ScreenSettings, 'safetyFactor' | 'floor'>, resolution = 0): number {
  const largest = marginErrors.reduce((max, error) => Math.max(max, error), 0);
  return Math.max(settings.floor, settings.safetyFactor * largest + 2 * resolution);
}

/** Indices of `results` whose outcome int8 cannot be trusted with: a margin |m| ≤ bound, or no side scores. */
export function itemsToRescore<Result>(adapter: ScreenAdapter<Result>, results: readonly Result[], bound: number): number[] {
  const rescore: number[] = [];
  results.forEach((result, k) => {
    const sides = adapter.sides(result);
    if (sides === undefined || adapter.comparisons.some(([i, j]) => !(Math.abs(sides[i]! - sides[j]!) > bound))) rescore.push(k);
  });
  return rescore;
}

function maximum(values: readonly number[]): number {
  return values.reduce((max, value) => Math.max(max, value), 0);
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The models one side is screened with; each opened on first use. */
export interface ScreenModels {
  int8: () => Promise<LanguageModel>;
  float32: () => Promise<LanguageModel>;
}

/**
 * Scores `items` with the int8 screen: int8 for all, float32 for the calibration sample and every
 * item within the bound. Returns the results (float32 outcomes throughout) and what was done.
 */
export async function screenedScore<Item, Result>(
  benchmark: LanguageBenchmark<Item, Result>,
  adapter: ScreenAdapter<Result>,
  models: ScreenModels,
  items: readonly Item[],
  options: ScoreOptions,
  settings: ScreenSettings = DEFAULT_SCREEN,
): Promise<{ results: Result[]; record: ScreenRecord }> {
  const count = items.length;
  const sampleSize = Math.max(settings.calibrationItems, Math.ceil(settings.calibrationFraction * count));
  const float32Of = async (indices: readonly number[]) => (indices.length === 0 ? [] : benchmark.score(await models.float32(), indices.map((k) => items[k]!), options));
  const allFloat32 = async (): Promise<{ results: Result[]; record: ScreenRecord }> => ({
    results: await float32Of(items.map((_, k) => k)),
    record: { items: count, calibrated: 0, rescored: count, bound: null, calibrationError: null, fellBack: true },
  });
  // The sample alone would be most of the items: nothing to gain from int8.
  if (sampleSize > settings.maxFloat32Fraction * count) return allFloat32();

  const int8 = await benchmark.score(await models.int8(), items, options);
  const sample = calibrationSample(count, sampleSize, settings.seed);
  const calibration = await float32Of(sample);
  const sampled = sample.map((k) => int8[k]!);
  const errors = marginErrors(adapter, sampled, calibration);
  const bound = screenBound(errors, settings, adapter.resolution);
  const inSample = new Set(sample);
  const rescore = itemsToRescore(adapter, int8, bound).filter((k) => !inSample.has(k));
  const side = sideErrors(adapter, sampled, calibration);
  const calibrationError = { side: { max: maximum(side), median: median(side) }, margin: { max: maximum(errors), median: median(errors) } };
  if (sample.length + rescore.length > settings.maxFloat32Fraction * count) {
    const rest = items.map((_, k) => k).filter((k) => !inSample.has(k));
    const results = [...int8];
    sample.forEach((k, j) => (results[k] = calibration[j]!));
    (await float32Of(rest)).forEach((result, j) => (results[rest[j]!] = result));
    return { results, record: { items: count, calibrated: sample.length, rescored: rest.length, bound, calibrationError, fellBack: true } };
  }
  const results = [...int8];
  sample.forEach((k, j) => (results[k] = calibration[j]!));
  (await float32Of(rescore)).forEach((result, j) => (results[rescore[j]!] = result));
  return { results, record: { items: count, calibrated: sample.length, rescored: rescore.length, bound, calibrationError, fellBack: false } };
}

/** Several calls' records (a benchmark scored in slices) as one. */
export function mergeScreenRecords(a: ScreenRecord | null, b: ScreenRecord): ScreenRecord {
  if (a === null) return b;
  const maxOf = (x: number | null, y: number | null) => (x === null ? y : y === null ? x : Math.max(x, y));
  return {
    items: a.items + b.items,
    calibrated: a.calibrated + b.calibrated,
    rescored: a.rescored + b.rescored,
    bound: maxOf(a.bound, b.bound),
    // Slices' medians do not combine into a median: the larger is kept, an upper figure.
    calibrationError:
      a.calibrationError && b.calibrationError
        ? {
            side: { max: Math.max(a.calibrationError.side.max, b.calibrationError.side.max), median: Math.max(a.calibrationError.side.median, b.calibrationError.side.median) },
            margin: { max: Math.max(a.calibrationError.margin.max, b.calibrationError.margin.max), median: Math.max(a.calibrationError.margin.median, b.calibrationError.margin.median) },
          }
        : (a.calibrationError ?? b.calibrationError),
    fellBack: a.fellBack || b.fellBack,
  };
}

/** One line on what the screen did: `1508 items, 76 calibrated, 112 rescored in float32 (bound 0.0123)`. */
export function describeScreen(record: ScreenRecord): string {
  const bound = record.bound === null ? '' : ` (margin bound ${record.bound.toPrecision(3)} nats, largest calibration margin error ${record.calibrationError!.margin.max.toPrecision(3)})`;
  const fallback = record.fellBack ? '; most items needed float32, so every item was scored in float32' : '';
  return `${record.items} items, ${record.calibrated} calibrated, ${record.rescored} rescored in float32${bound}${fallback}`;
}

/**
 * The report line of a benchmark's screen: `int8 screen: head 1508 items, 76 calibrated, …; base (cached)`;
 * undefined for a float32 run.
 */
export function describePrecision(precision: { mode: 'int8-screen'; head: ScreenRecord | null; base: ScreenRecord | null } | undefined, hasBase: boolean): string | undefined {
  if (precision === undefined) return undefined;
  const side = (role: string, record: ScreenRecord | null) => `${role} ${record === null ? 'not scored in this run (result cache or merged shards)' : describeScreen(record)}`;
  return `int8 screen (every outcome float32's): ${[side('head', precision.head), ...(hasBase ? [side('base', precision.base)] : [])].join('; ')}`;
}
