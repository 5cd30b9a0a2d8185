import { formatNumber } from '../gate/evaluate.ts';
import type { Estimate, MetricSeries } from '../scores.ts';
import { percentileInterval } from '../stats/bootstrap.ts';

/**
 * How a domain's bias moved relative to the targeted domain: `with`/`against` when both moved
 * clearly, `moved` when the domain moved clearly but the target did not (so there is no direction
 * to compare with), `unclear` when the domain itself shows no clear change.
 */
export type TransferDirection = 'target' | 'with' | 'against' | 'moved' | 'unclear';

/** One row of the transfer table: a domain's bias score under base and head. */
export interface TransferRow {
  domain: string;
  metric: string;
  base: number;
  head: number;
  /** |head − 50| − |base − 50|: negative means less biased. */
  biasChange: Estimate;
  /** McNemar p of the change, where outcomes are paired. */
  pValue: number | null;
  direction: TransferDirection;
}

export interface TransferTable {
  target: string;
  rows: TransferRow[];
  /** A plain sentence: did the other domains move with the target or against it? */
  summary: string;
}

/** CrowS-Pairs bias types under the domain names the transfer table uses. */
const CROWS_DOMAIN: Record<string, string> = { 'race-color': 'race' };

/**
 * The cross-domain transfer table (DESIGN §3 "Deltas and transfer"; Lu et al.
 * 2024): every domain's change in distance from 50 beside the target's. A
 * domain's change is clear when its bootstrap interval excludes 0 and, where
 * outcomes are paired, McNemar's p is below 1 − confidence (the test a
 * `require_significant` gate applies). A domain that changed clearly moved
 * "with" the target when the target also changed clearly with the same sign,
 * "against" it with the opposite sign, and is "moved" when the target did not
 * change clearly: a domain's own movement is reported whatever the target did.
 */
export function transferTable(target: string, metrics: readonly MetricSeries[], confidence: number): TransferTable | null {
  const rows: TransferRow[] = [];
  for (const metric of metrics) {
    const domain = domainOf(metric.name);
    // Domains without items (NaN) have nothing to say about transfer.
    if (domain === undefined || metric.base === null || metric.unbiasedValue === undefined || !Number.isFinite(metric.base) || !Number.isFinite(metric.head)) continue;
    const change = (head: number, base: number) => Math.abs(head - 50) - Math.abs(base - 50);
    const replicates = metric.baseReplicates && metric.baseReplicates.length === metric.headReplicates.length ? metric.headReplicates.map((h, r) => change(h, metric.baseReplicates![r]!)) : [];
    const [low, high] = replicates.length > 0 ? percentileInterval(replicates, confidence) : [Number.NaN, Number.NaN];
    rows.push({
      domain,
      metric: metric.name,
      base: metric.base,
      head: metric.head,
      biasChange: { value: change(metric.head, metric.base), interval: Number.isFinite(low) && Number.isFinite(high) ? { low, high } : null },
      pValue: metric.changePValue ?? null,
      direction: 'unclear',
    });
  }
  const targetRows = rows.filter((row) => row.domain === target);
  if (targetRows.length === 0) return null;
  const alpha = 1 - confidence;
  const targetClear = clearChange(targetRows[0]!, alpha);
  const targetSign = Math.sign(targetRows[0]!.biasChange.value);
  for (const row of rows) {
    if (row.domain === target) row.direction = 'target';
    else if (!clearChange(row, alpha)) row.direction = 'unclear';
    else if (!targetClear || targetSign === 0) row.direction = 'moved';
    else row.direction = Math.sign(row.biasChange.value) === targetSign ? 'with' : 'against';
  }
  return { target, rows, summary: summarise(target, targetRows[0]!, rows, alpha) };
}

function domainOf(metricName: string): string | undefined {
  const crows = /^crows_pairs\.(.+)$/.exec(metricName);
  if (crows && crows[1] !== 'overall') return CROWS_DOMAIN[crows[1]!] ?? crows[1];
  const stereoSet = /^stereoset\.ss\.(gender|profession|race|religion)$/.exec(metricName);
  return stereoSet ? stereoSet[1] : undefined;
}

/**
 * A change counts only when its interval excludes 0 (or, without an interval, when it is not 0)
 * and, where item outcomes are paired, McNemar's test rejects "nothing changed" at `alpha`.
 */
export function clearChange(row: Pick<TransferRow, 'biasChange' | 'pValue'>, alpha: number): boolean {
  const change: Estimate = row.biasChange;
  if (!Number.isFinite(change.value)) return false;
  if (row.pValue !== null && !(row.pValue < alpha)) return false;
  if (change.interval) return change.interval.low > 0 || change.interval.high < 0;
  return change.value !== 0;
}

/** How a transfer row reads in a report's "moved" column. */
export function describeTransferDirection(row: Pick<TransferRow, 'direction' | 'biasChange'>): string {
  const way = row.biasChange.value < 0 ? 'less biased' : 'more biased';
  switch (row.direction) {
    case 'target': return 'target';
    case 'with': return `with the target (${way})`;
    case 'against': return `against the target (${way})`;
    case 'moved': return `moved (${way}); target: no clear change`;
    case 'unclear': return 'no clear change';
  }
}

function summarise(target: string, targetRow: TransferRow, rows: readonly TransferRow[], alpha: number): string {
  const change = targetRow.biasChange.value;
  const source = targetRow.metric.startsWith('crows') ? 'CrowS-Pairs' : 'StereoSet';
  const movement = !Number.isFinite(change) || change === 0 ? 'did not change' : `${change < 0 ? 'fell' : 'rose'} by ${formatNumber(Math.abs(change))} points of |score − 50| (${source})`;
  const list = (direction: TransferDirection) => [...new Set(rows.filter((row) => row.direction === direction).map((row) => row.domain))];
  const parts = [`Targeted domain ${target}: bias ${movement}${clearChange(targetRow, alpha) || movement === 'did not change' ? '' : ', within noise'}.`];
  const withTarget = list('with');
  const against = list('against');
  const moved = list('moved');
  const unclear = list('unclear').filter((domain) => !withTarget.includes(domain) && !against.includes(domain) && !moved.includes(domain));
  if (withTarget.length > 0) parts.push(`Moved with it (cross-domain transfer): ${withTarget.join(', ')}.`);
  if (against.length > 0) parts.push(`Moved against it: ${against.join(', ')}.`);
  if (moved.length > 0) {
    const way = (domain: string) => (rows.find((row) => row.domain === domain && row.direction === 'moved')!.biasChange.value < 0 ? 'less biased' : 'more biased');
    parts.push(`Moved although the target did not clearly change: ${moved.map((domain) => `${domain} (${way(domain)})`).join(', ')}.`);
  }
  if (unclear.length > 0) parts.push(`No clear change: ${unclear.join(', ')}.`);
  return parts.join(' ');
}
