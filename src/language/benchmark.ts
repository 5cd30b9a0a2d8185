import type { MetricSize } from '../scores.ts';
import type { ScreenAdapter } from './int8-screen.ts';
import type { BatchOptions, LanguageModel, LanguageModelKind, ScoringConvention } from './types.ts';

/** Options every benchmark scorer receives. */
export interface ScoreOptions {
  convention: ScoringConvention;
  batch: BatchOptions;
}

/** A paired test over item outcomes, for one metric (McNemar, DESIGN §3 "Uncertainty"). */
export interface PairedOutcomeGroup<Item, Result> {
  metric: string;
  includes: (item: Item) => boolean;
  /** The binary outcome of an item under one model, or null when it does not count (skipped). */
  outcome: (result: Result) => boolean | null;
}

/**
 * One benchmark, declared in one place (STYLE.md, after lm-evaluation-harness'
 * task registry): how an item is scored, how results aggregate into metrics,
 * and what an audited item looks like. The runner never special-cases one.
 */
export interface LanguageBenchmark<Item, Result> {
  /** Config key and metric prefix. */
  name: 'crows_pairs' | 'stereoset' | 'perplexity';
  /** Every metric this benchmark can produce (validates gates before any scoring). */
  metricNames: readonly string[];
  /** Metrics that measure bias with 50 as the unbiased value. */
  biasMetrics: ReadonlySet<string>;
  score(model: LanguageModel, items: readonly Item[], options: ScoreOptions): Promise<Result[]>;
  /** Metrics over the items at `picks` (all items, or a bootstrap resample). */
  metrics(items: readonly Item[], results: readonly Result[], picks: readonly number[]): Map<string, number>;
  /** What each metric is computed over (scored items only), for the report's n. */
  sizes(items: readonly Item[], results: readonly Result[]): Map<string, MetricSize>;
  /** Bootstrap resamples within strata (bias type, domain), so every group keeps its size. */
  stratum(item: Item): string;
  pairedOutcomes: readonly PairedOutcomeGroup<Item, Result>[];
  /** One line of `--dump-items`: the item and each side's scores. */
  dumpItem(item: Item, base: Result | null, head: Result): Record<string, unknown>;
  /**
   * How the int8 screen reads a result's outcome margins (int8-screen.ts); absent for a benchmark
   * whose metric is continuous (perplexity), which is always scored in float32.
   */
  screen?: (kind: LanguageModelKind, convention: ScoringConvention) => ScreenAdapter<Result>;
  /** Items that did not count, with reasons, per side. */
  skippedItems(items: readonly Item[], results: readonly Result[]): { id: string; reason: string }[];
}
