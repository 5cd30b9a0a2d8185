import type { MetricSize } from '../scores.ts';
import type { LanguageBenchmark } from './benchmark.ts';
import { causalTokenLogProbs } from './inference.ts';

/** One evaluation window over the token stream. */
export interface PerplexityWindow {
  /** First token of the window. */
  begin: number;
  /** One past its last token. */
  end: number;
  /** How many of its last tokens are targets (end − previous end). */
  targets: number;
}

export interface PerplexityResult {
  /** Mean negative log-likelihood (nats) over the window's predicted targets. */
  meanNll: number;
  /** Tokens predicted (targets, less the window's first token, which nothing predicts). */
  predicted: number;
}

/**
 * The windows of bias-bench's perplexity loop (REFERENCE.md §2d, perplexity.py
 * L145-205, after Hugging Face's sliding-window recipe): windows of `window`
 * tokens every `stride` tokens; each window's targets are the tokens not
 * covered by the previous one; the loop ends at the window that reaches the end.
 */
export function perplexityWindows(tokenCount: number, window: number, stride: number): PerplexityWindow[] {
  const windows: PerplexityWindow[] = [];
  let previousEnd = 0;
  for (let begin = 0; begin < tokenCount; begin += stride) {
    const end = Math.min(begin + window, tokenCount);
    windows.push({ begin, end, targets: end - previousEnd });
    previousEnd = end;
    if (end === tokenCount) break;
  }
  return windows;
}

/**
 * Perplexity = exp(Σ meanNll_w · targets_w / Σ targets_w): bias-bench weights each
 * window's mean loss by its target count and divides by the token count, though
 * the first token of each window is never predicted (REFERENCE.md §2d).
 */
export function perplexityFrom(results: readonly PerplexityResult[], windows: readonly PerplexityWindow[], picks: readonly number[]): number {
  let weighted = 0;
  let tokens = 0;
  for (const index of picks) {
    weighted += results[index]!.meanNll * windows[index]!.targets;
    tokens += windows[index]!.targets;
  }
  return Math.exp(weighted / tokens);
}

/** A perplexity "item": a window of the tokenized text. */
export interface PerplexityItem extends PerplexityWindow {
  id: string;
  ids: readonly number[];
}

/** Language-modelling ability on held-out text: what debiasing must keep (DESIGN §3 "Perplexity"). */
export const perplexityBenchmark: LanguageBenchmark<PerplexityItem, PerplexityResult> = {
  name: 'perplexity',
  metricNames: ['perplexity'],
  biasMetrics: new Set(),

  async score(model, items, { batch }) {
    const logProbs = await causalTokenLogProbs(model, items.map((item) => item.ids), batch);
    return items.map((item, k) => {
      // logProbs[k][i − 1] is log P(token i); targets are the window's last `targets` tokens, token 0 excluded.
      const lp = logProbs[k]!;
      const firstTarget = Math.max(1, item.ids.length - item.targets);
      let nll = 0;
      for (let i = firstTarget; i < item.ids.length; i++) nll -= lp[i - 1]!;
      const predicted = item.ids.length - firstTarget;
      return { meanNll: predicted === 0 ? 0 : nll / predicted, predicted };
    });
  },

  metrics: (items, results, picks) => new Map([['perplexity', perplexityFrom(results, items, picks)]]),
  sizes: (items, results) => new Map<string, MetricSize>([['perplexity', { n: items.length, unit: 'windows', detail: `${results.reduce((sum, result) => sum + result.predicted, 0)} tokens predicted` }]]),
  stratum: () => 'text',
  pairedOutcomes: [],
  dumpItem: (item, base, head) => ({ benchmark: 'perplexity', id: item.id, begin: item.begin, end: item.end, targets: item.targets, base, head }),
  // A window with a NaN or infinite loss is not dropped (that would change what the text measures):
  // the perplexity is then NaN and fails its gates; the windows are listed so the report says why.
  skippedItems: (items, results) =>
    results.flatMap((result, k) => (Number.isFinite(result.meanNll) ? [] : [{ id: items[k]!.id, reason: 'the model gave a NaN or infinite log-probability' }])),
};
