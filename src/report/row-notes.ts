import { RULES, type Verdict, type VerdictStatus } from '../gate/evaluate.ts';
import type { Interval, MetricSize } from '../scores.ts';
import { formatInterval } from './summary.ts';

const SEVERITY: Record<VerdictStatus, number> = { fail: 3, warn: 2, pass: 1, skipped: 0 };

/** "8 pairs", "4 target terms (16 clusters)": what a language row's value is computed over. */
export function formatSize(size: MetricSize | null | undefined): string {
  if (!size) return '—';
  return `${size.n} ${size.unit}${size.detail ? ` (${size.detail})` : ''}`;
}

/** Images per set, from the reference-set record ("6/6/6 images (O/man/woman)"). */
export function setSizes(sets: readonly { name: string; images: number }[], names: readonly string[], labels: readonly string[]): string {
  const count = (name: string) => sets.find((set) => set.name === name)?.images;
  const counts = names.map(count);
  return counts.every((n) => n !== undefined) ? `${counts.join('/')} images (${labels.join('/')})` : '—';
}

/** The worst verdict of a metric (the one its row's status shows); undefined when no gate looks at it. */
export function worstVerdict(verdicts: readonly Verdict[], metric: string): Verdict | undefined {
  return verdicts.filter((v) => v.metric === metric).reduce<Verdict | undefined>((worst, v) => (worst === undefined || SEVERITY[v.status] > SEVERITY[worst.status] ? v : worst), undefined);
}

/**
 * Why a row's status is what it is, where the numbers beside it could seem to say otherwise: a pass
 * past the threshold (not significant), a failure judged on its interval and McNemar's p, or a
 * failure on the threshold alone (no significance required). Empty when the status speaks for itself.
 */
export function statusNote(verdict: Verdict | undefined, mcnemarP: number | null = null): string {
  if (!verdict || verdict.compared === null || !Number.isFinite(verdict.compared)) return '';
  const rule = RULES[verdict.rule];
  const past = rule.bound === 'upper' ? verdict.compared > verdict.threshold : verdict.compared < verdict.threshold;
  if (!past) return '';
  if (verdict.status === 'pass') return 'past the threshold, not significant';
  if (verdict.status === 'skipped') return '';
  if (!verdict.requireSignificant) return 'threshold only, significance not required';
  if (!verdict.interval) return 'significance not testable (no interval)';
  return rule.needsBase && mcnemarP !== null ? 'significant: interval and McNemar p' : 'significant: interval';
}

/** The interval a row shows beside its value: the gate's (of the quantity it tests) when gated, else `fallback` of `fallbackOf`. */
export function rowInterval(verdict: Verdict | undefined, fallback: Interval | null, fallbackOf: string): string {
  if (verdict?.interval) return `${formatInterval(verdict.interval)} of ${verdict.quantity ?? verdict.rule}`;
  return fallback ? `${formatInterval(fallback)} of ${fallbackOf}` : '—';
}
