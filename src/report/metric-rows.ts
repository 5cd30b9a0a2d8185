import type { Interval, MetricSeries, MetricSize } from '../scores.ts';
import { percentileInterval } from '../stats/bootstrap.ts';

/** What a report row shows for one metric. */
export interface MetricRow {
  name: string;
  base: number | null;
  head: number;
  /** head − base. */
  delta: number | null;
  /** Bootstrap interval of head − base (paired replicates), or of head alone when there is no base. */
  interval: Interval | null;
  /** |head − 50| − |base − 50| for bias scores. */
  biasChange: number | null;
  /** Bootstrap interval of `biasChange` (paired replicates): what a `max_bias_increase` gate tests. */
  biasChangeInterval: Interval | null;
  changePValue: number | null;
  /** What the head value is computed over (n). */
  size: MetricSize | null;
}

export function metricRow(metric: MetricSeries, confidence: number): MetricRow {
  const delta = metric.base === null ? null : metric.head - metric.base;
  const paired = metric.baseReplicates && metric.baseReplicates.length === metric.headReplicates.length && metric.headReplicates.length > 0;
  const samples = metric.base === null ? metric.headReplicates : paired ? metric.headReplicates.map((h, r) => h - metric.baseReplicates![r]!) : [];
  const [low, high] = samples.length > 0 ? percentileInterval(samples, confidence) : [Number.NaN, Number.NaN];
  const unbiased = metric.unbiasedValue;
  const biasSamples = unbiased !== undefined && metric.base !== null && paired ? metric.headReplicates.map((h, r) => Math.abs(h - unbiased) - Math.abs(metric.baseReplicates![r]! - unbiased)) : [];
  const [biasLow, biasHigh] = biasSamples.length > 0 ? percentileInterval(biasSamples, confidence) : [Number.NaN, Number.NaN];
  return {
    name: metric.name,
    base: metric.base,
    head: metric.head,
    delta,
    interval: Number.isFinite(low) && Number.isFinite(high) ? { low, high } : null,
    biasChange: metric.unbiasedValue === undefined || metric.base === null ? null : Math.abs(metric.head - metric.unbiasedValue) - Math.abs(metric.base - metric.unbiasedValue),
    biasChangeInterval: Number.isFinite(biasLow) && Number.isFinite(biasHigh) ? { low: biasLow, high: biasHigh } : null,
    changePValue: metric.changePValue ?? null,
    size: metric.size ?? null,
  };
}

/** The bootstrap interval of one model's value (the HTML report's whiskers); null without replicates. */
export function modelInterval(replicates: readonly number[] | null, confidence: number): Interval | null {
  if (!replicates || replicates.length === 0) return null;
  const [low, high] = percentileInterval(replicates, confidence);
  return Number.isFinite(low) && Number.isFinite(high) ? { low, high } : null;
}

/** The metrics a language table shows: every CrowS type and overall, SS per domain, overall LMS and ICAT, perplexity. */
export function isHeadlineLanguageMetric(name: string): boolean {
  return /^crows_pairs\./.test(name) || /^stereoset\.ss\.[a-z]+$/.test(name) || name === 'stereoset.lms.overall' || name === 'stereoset.icat.overall' || name === 'perplexity';
}

/** "CrowS-Pairs gender", "StereoSet SS race", "perplexity". */
export function languageMetricLabel(name: string): string {
  const crows = /^crows_pairs\.(.+)$/.exec(name);
  if (crows) return `CrowS-Pairs ${crows[1]}`;
  const stereoSet = /^stereoset\.(ss|lms|icat)\.(.+)$/.exec(name);
  if (stereoSet) return `StereoSet ${stereoSet[1]!.toUpperCase()} ${stereoSet[2]}`;
  return name;
}
