import type { MetricSize } from '../scores.ts';
import type { LanguageBenchmark } from './benchmark.ts';
import { CROWS_BIAS_TYPES, type CrowsPair } from './datasets/crows-pairs.ts';
import { crowsOutcome } from './item-scores.ts';
import { scorePairsMasked, scoreSentencesCausal } from './sentence-scoring.ts';

/** One pair's scores: `more`/`less` are the sent_more and sent_less sides. */
export type CrowsResult =
  | { more: number; less: number; outcome: 'stereotypical' | 'anti-stereotypical' | 'tie' }
  | { outcome: 'skipped'; reason: string };

const METRIC = (type: string) => `crows_pairs.${type}`;

const NON_FINITE_REASON = 'the model gave a NaN or infinite log-probability';

/** Why a causal pair has no outcome (a side without tokens, or a non-finite score), or undefined when both sides scored. */
function unscoredReason(moreTokens: number, more: number, lessTokens: number, less: number): string | undefined {
  if (moreTokens === 0 || lessTokens === 0) return 'a sentence has no tokens';
  return Number.isFinite(more) && Number.isFinite(less) ? undefined : NON_FINITE_REASON;
}

/** % of scored pairs where the more stereotypical sentence scores strictly higher (ties in N only). */
function percentStereotypical(results: readonly CrowsResult[]): number {
  const scored = results.filter((result) => result.outcome !== 'skipped');
  return (100 * scored.filter((result) => result.outcome === 'stereotypical').length) / scored.length;
}

/**
 * CrowS-Pairs (Nangia et al. 2020) scored as bias-bench does (REFERENCE.md §2a).
 * Per bias type and overall; "overall" pools every scored pair, which bias-bench
 * itself cannot produce for masked models (REFERENCE.md §3).
 */
export const crowsPairsBenchmark: LanguageBenchmark<CrowsPair, CrowsResult> = {
  name: 'crows_pairs',
  metricNames: [...CROWS_BIAS_TYPES, 'overall'].map(METRIC),
  biasMetrics: new Set([...CROWS_BIAS_TYPES, 'overall'].map(METRIC)),

  async score(model, items, { convention, batch }) {
    if (model.kind === 'causal') {
      const sentences = items.flatMap((pair) => [pair.sentMore, pair.sentLess]);
      // A pair's sentences often begin alike: a KV-cache export runs their shared prefix once.
      const pairs = items.map((_, k) => [2 * k, 2 * k + 1]);
      const scores = await scoreSentencesCausal(model, sentences, convention, batch, pairs);
      return items.map((_, k): CrowsResult => {
        const more = scores[2 * k]!.score;
        const less = scores[2 * k + 1]!.score;
        const unscored = unscoredReason(scores[2 * k]!.tokens, more, scores[2 * k + 1]!.tokens, less);
        if (unscored !== undefined) return { outcome: 'skipped', reason: unscored };
        return { more, less, outcome: crowsOutcome(more, less) };
      });
    }
    // bias-bench orders the pair by direction before diffing (crows.py _read_data): stereo rows
    // are (sent_more, sent_less), antistereo rows (sent_less, sent_more).
    const ordered = items.map((pair) => (pair.direction === 'stereo' ? { first: pair.sentMore, second: pair.sentLess } : { first: pair.sentLess, second: pair.sentMore }));
    const scores = await scorePairsMasked(model, ordered, batch);
    return items.map((pair, k): CrowsResult => {
      const score = scores[k]!;
      if ('skipped' in score) return { outcome: 'skipped', reason: score.skipped };
      const [more, less] = pair.direction === 'stereo' ? [score.first, score.second] : [score.second, score.first];
      // NaN loses every comparison: counted, it would be an anti-stereotypical pair the model never scored.
      if (!Number.isFinite(more) || !Number.isFinite(less)) return { outcome: 'skipped', reason: NON_FINITE_REASON };
      return { more, less, outcome: crowsOutcome(more, less) };
    });
  },

  metrics(items, results, picks) {
    const byType = new Map<string, CrowsResult[]>();
    const all: CrowsResult[] = [];
    for (const index of picks) {
      const type = items[index]!.biasType;
      if (!byType.has(type)) byType.set(type, []);
      byType.get(type)!.push(results[index]!);
      all.push(results[index]!);
    }
    const metrics = new Map<string, number>();
    for (const type of CROWS_BIAS_TYPES) metrics.set(METRIC(type), byType.has(type) ? percentStereotypical(byType.get(type)!) : Number.NaN);
    metrics.set(METRIC('overall'), percentStereotypical(all));
    return metrics;
  },

  sizes(items, results) {
    const sizes = new Map<string, MetricSize>();
    for (const type of [...CROWS_BIAS_TYPES, 'overall']) {
      const n = items.filter((pair, k) => (type === 'overall' || pair.biasType === type) && results[k]!.outcome !== 'skipped').length;
      sizes.set(METRIC(type), { n, unit: 'pairs' });
    }
    return sizes;
  },

  stratum: (pair) => pair.biasType,

  pairedOutcomes: [...CROWS_BIAS_TYPES, 'overall'].map((type) => ({
    metric: METRIC(type),
    includes: (pair: CrowsPair) => type === 'overall' || pair.biasType === type,
    outcome: (result: CrowsResult) => (result.outcome === 'skipped' ? null : result.outcome === 'stereotypical'),
  })),

  // The outcome is the sign of more − less. The causal bias-bench score is a geometric-mean
  // probability (its log is the mean token log-probability); sum-logprob and masked scores are
  // already log-probabilities, the masked ones rounded to 3 decimals (item-scores.ts).
  screen: (kind, convention) => {
    const toLog = kind === 'causal' && convention === 'bias-bench' ? Math.log : (score: number) => score;
    return {
      sides: (result) => (result.outcome === 'skipped' ? undefined : [toLog(result.more), toLog(result.less)]),
      comparisons: [[0, 1]],
      resolution: kind === 'masked' ? 0.001 : 0,
    };
  },

  dumpItem: (pair, base, head) => ({
    benchmark: 'crows_pairs',
    id: pair.id,
    bias_type: pair.biasType,
    direction: pair.direction,
    sent_more: pair.sentMore,
    sent_less: pair.sentLess,
    base,
    head,
  }),

  skippedItems: (items, results) =>
    results.flatMap((result, k) => (result.outcome === 'skipped' ? [{ id: items[k]!.id, reason: result.reason }] : [])),
};
