import { formatNumber, type Verdict, type VerdictStatus } from '../gate/evaluate.ts';
import type { Interval, MetricSeries } from '../scores.ts';

/** Counts of verdicts by status, for headlines. */
export function countStatuses(verdicts: readonly Verdict[]): Record<VerdictStatus, number> {
  const counts: Record<VerdictStatus, number> = { fail: 0, warn: 0, pass: 0, skipped: 0 };
  for (const verdict of verdicts) counts[verdict.status]++;
  return counts;
}

/** "1 failed · 1 warning · 4 passed · 0 skipped" */
export function describeCounts(verdicts: readonly Verdict[]): string {
  const counts = countStatuses(verdicts);
  return `${counts.fail} failed · ${counts.warn} warning${counts.warn === 1 ? '' : 's'} · ${counts.pass} passed · ${counts.skipped} skipped`;
}

const SEVERITY: Record<VerdictStatus, number> = { fail: 3, warn: 2, pass: 1, skipped: 0 };

/** The worst status among the verdicts of one metric; undefined when no gate looks at it. */
export function metricStatus(verdicts: readonly Verdict[], metric: string): VerdictStatus | undefined {
  return verdicts.filter((v) => v.metric === metric).reduce<VerdictStatus | undefined>((worst, v) => (worst === undefined || SEVERITY[v.status] > SEVERITY[worst] ? v.status : worst), undefined);
}

/** A rule as a reader writes it: "max_abs_increase ≤ 0.02". */
export function describeRule(verdict: Verdict): string {
  const relation = verdict.rule === 'min' ? '≥' : '≤';
  return `${verdict.rule} ${relation} ${formatNumber(verdict.threshold)}${verdict.requireSignificant ? ' (significant)' : ''}`;
}

export function formatInterval(interval: Interval | null): string {
  return interval ? `[${formatOptional(interval.low)}, ${formatOptional(interval.high)}]` : '—';
}

export function formatOptional(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : formatNumber(value);
}

/** head − base, or null when there is no base. */
export function delta(metric: Pick<MetricSeries, 'head' | 'base'>): number | null {
  return metric.base === null ? null : metric.head - metric.base;
}

/** A signed number for gaps and deltas: "+0.012", "−0.004". */
export function formatSigned(value: number | null): string {
  if (value === null) return '—';
  const text = formatNumber(value);
  return value > 0 ? `+${text}` : text.replace(/^-/, '−');
}
