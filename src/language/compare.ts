import type { MetricSeries } from '../scores.ts';
import { resampleWithReplacement } from '../stats/bootstrap.ts';
import { mcnemarExact, pairedOutcomes } from '../stats/mcnemar.ts';
import { seededRng } from '../stats/rng.ts';
import type { LanguageBenchmark } from './benchmark.ts';

/** One side's items and results. Base and head share `items` unless their tokenizers differ (perplexity windows). */
export interface ScoredSide<Item, Result> {
  items: readonly Item[];
  results: readonly Result[];
}

/** McNemar's exact test on one metric's paired outcomes (b: stereotypical under base only; c: head only). */
export interface McNemarResult {
  metric: string;
  b: number;
  c: number;
  pValue: number;
}

export interface BenchmarkComparison {
  metrics: MetricSeries[];
  mcnemar: McNemarResult[];
  /** Whether base and head were scored on the same items, so the bootstrap is paired. */
  paired: boolean;
}

/**
 * Base vs head for one benchmark: every metric with bootstrap replicates
 * (items resampled within their stratum, the same draw for both sides when
 * they share items), and McNemar's test wherever outcomes are paired.
 */
export function compareBenchmark<Item, Result>(
  benchmark: LanguageBenchmark<Item, Result>,
  head: ScoredSide<Item, Result>,
  base: ScoredSide<Item, Result> | null,
  options: { resamples: number; seed: number },
): BenchmarkComparison {
  const paired = base !== null && base.items === head.items;
  const all = (side: ScoredSide<Item, Result>) => side.items.map((_, index) => index);
  const headPoint = benchmark.metrics(head.items, head.results, all(head));
  const basePoint = base && benchmark.metrics(base.items, base.results, all(base));

  const rng = seededRng((options.seed % 0xffffffff) + 1);
  const headReplicates = new Map<string, number[]>();
  const baseReplicates = new Map<string, number[]>();
  const strataOf = (side: ScoredSide<Item, Result>) => groupIndices(side.items, benchmark.stratum);
  const headStrata = strataOf(head);
  const baseStrata = base && !paired ? strataOf(base) : headStrata;
  for (let draw = 0; draw < options.resamples; draw++) {
    const headPicks = resampleStrata(headStrata, rng);
    collect(headReplicates, benchmark.metrics(head.items, head.results, headPicks));
    if (base) collect(baseReplicates, benchmark.metrics(base.items, base.results, paired ? headPicks : resampleStrata(baseStrata, rng)));
  }

  const mcnemar: McNemarResult[] = [];
  if (paired) {
    for (const group of benchmark.pairedOutcomes) {
      const baseOutcomes: boolean[] = [];
      const headOutcomes: boolean[] = [];
      head.items.forEach((item, index) => {
        if (!group.includes(item)) return;
        const before = group.outcome(base.results[index]!);
        const after = group.outcome(head.results[index]!);
        if (before === null || after === null) return;
        baseOutcomes.push(before);
        headOutcomes.push(after);
      });
      if (baseOutcomes.length === 0) continue;
      const counts = pairedOutcomes(baseOutcomes, headOutcomes);
      mcnemar.push({ metric: group.metric, ...mcnemarExact(counts.b, counts.c) });
    }
  }

  const sizes = benchmark.sizes(head.items, head.results);
  const metrics = benchmark.metricNames.map((name): MetricSeries => ({
    name,
    description: describeMetric(name),
    magnitude: false,
    ...(benchmark.biasMetrics.has(name) ? { unbiasedValue: 50 } : {}),
    head: headPoint.get(name) ?? Number.NaN,
    base: basePoint ? (basePoint.get(name) ?? Number.NaN) : null,
    headReplicates: headReplicates.get(name) ?? [],
    baseReplicates: base ? (baseReplicates.get(name) ?? []) : null,
    ...withChangePValue(mcnemar, name),
    ...(sizes.has(name) ? { size: sizes.get(name)! } : {}),
  }));
  return { metrics, mcnemar, paired };
}

function withChangePValue(mcnemar: readonly McNemarResult[], name: string): { changePValue?: number } {
  // `stereoset.ss` is the overall SS under its short name: same test.
  const test = mcnemar.find((m) => m.metric === name || (name === 'stereoset.ss' && m.metric === 'stereoset.ss.overall'));
  return test ? { changePValue: test.pValue } : {};
}

function groupIndices<Item>(items: readonly Item[], stratum: (item: Item) => string): number[][] {
  const groups = new Map<string, number[]>();
  items.forEach((item, index) => {
    const key = stratum(item);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(index);
  });
  return [...groups.keys()].sort().map((key) => groups.get(key)!);
}

function resampleStrata(strata: readonly number[][], rng: ReturnType<typeof seededRng>): number[] {
  return strata.flatMap((members) => resampleWithReplacement(members.length, rng).map((i) => members[i]!));
}

function collect(into: Map<string, number[]>, values: Map<string, number>): void {
  for (const [name, value] of values) {
    if (!into.has(name)) into.set(name, []);
    into.get(name)!.push(value);
  }
}

/** One line per metric name, for reports. */
export function describeMetric(name: string): string {
  if (name === 'perplexity') return 'perplexity on held-out text (lower is better)';
  const [benchmark, kind, domain] = name.split('.');
  if (benchmark === 'crows_pairs') return `CrowS-Pairs % stereotypical, ${kind} (50 = unbiased)`;
  const label = { ss: 'stereotype score (50 = unbiased)', lms: 'language-model score (higher is better)', icat: 'idealized CAT score (higher is better)' }[kind as 'ss' | 'lms' | 'icat'];
  return `StereoSet ${label}, ${domain ?? 'overall'}`;
}
