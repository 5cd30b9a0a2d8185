import type { GateConfig, GateRuleName } from '../config/types.ts';
import type { Interval, MetricSeries } from '../scores.ts';
import { percentileInterval } from '../stats/bootstrap.ts';

export type VerdictStatus = 'pass' | 'fail' | 'warn' | 'skipped';
export type OverallVerdict = 'pass' | 'warn' | 'fail';

/** The outcome of one rule of one gate, with everything a reader needs to check it. */
export interface Verdict {
  metric: string;
  rule: GateRuleName;
  threshold: number;
  level: 'fail' | 'warn';
  requireSignificant: boolean;
  status: VerdictStatus;
  /** One sentence: why this status. */
  reason: string;
  head: number | null;
  base: number | null;
  /** How the compared quantity reads: "|head| − |base|", "|head − 50| − |base − 50|". */
  quantity?: string;
  /** The quantity the rule compares with the threshold (e.g. |head| − |base|). */
  compared: number | null;
  /** Bootstrap interval of `compared`, when replicates exist. */
  interval: Interval | null;
  /** Where the gate stands in the config. */
  keyPath: string;
  line: number;
}

interface RuleDefinition {
  /** How `compared` is read in a reason: "|head| − |base|". */
  quantity: (metric: MetricSeries) => string;
  needsBase: boolean;
  /** The compared quantity from a head value and a base value. */
  compare: (metric: MetricSeries, head: number, base: number) => number;
  /** Upper bounds are violated above the threshold; lower bounds below it. */
  bound: 'upper' | 'lower';
}

const absoluteValue = (metric: MetricSeries, value: number) => (metric.magnitude ? Math.abs(value) : value);

/** DESIGN §4: absolute rules on the head, change rules against base. */
export const RULES: Record<GateRuleName, RuleDefinition> = {
  max: { quantity: (m) => (m.magnitude ? '|head|' : 'head'), needsBase: false, compare: (m, head) => absoluteValue(m, head), bound: 'upper' },
  min: { quantity: (m) => (m.magnitude ? '|head|' : 'head'), needsBase: false, compare: (m, head) => absoluteValue(m, head), bound: 'lower' },
  max_increase: { quantity: () => 'head − base', needsBase: true, compare: (_m, head, base) => head - base, bound: 'upper' },
  max_abs_increase: { quantity: () => '|head| − |base|', needsBase: true, compare: (_m, head, base) => Math.abs(head) - Math.abs(base), bound: 'upper' },
  max_decrease: { quantity: () => 'base − head', needsBase: true, compare: (_m, head, base) => base - head, bound: 'upper' },
  // "Less biased" is unambiguous in either direction as the distance to the unbiased value (DESIGN §3 "Deltas").
  max_bias_increase: {
    quantity: (m) => `|head − ${m.unbiasedValue ?? '?'}| − |base − ${m.unbiasedValue ?? '?'}|`,
    needsBase: true,
    compare: (m, head, base) => Math.abs(head - (m.unbiasedValue ?? Number.NaN)) - Math.abs(base - (m.unbiasedValue ?? Number.NaN)),
    bound: 'upper',
  },
  max_increase_pct: { quantity: () => '(head − base) / |base| · 100', needsBase: true, compare: (_m, head, base) => ((head - base) / Math.abs(base)) * 100, bound: 'upper' },
};

export interface GateOptions {
  /** Confidence of the bootstrap intervals used by `require_significant`. */
  confidence: number;
  /** Why there is no base, for skipped change rules ("the model is new in this pull request"). */
  noBaseReason: string;
}

/** Evaluates every rule of every gate against the metrics (DESIGN §1.4). Metric names were validated at config load. */
export function evaluateGates(gates: readonly GateConfig[], metrics: readonly MetricSeries[], options: GateOptions): Verdict[] {
  const byName = new Map(metrics.map((metric) => [metric.name, metric]));
  return gates.flatMap((gate) =>
    gate.rules.map(({ rule, threshold }) => {
      const metric = byName.get(gate.metric);
      if (!metric) throw new Error(`internal: metric ${gate.metric} was not scored`);
      return evaluateRule(gate, rule, threshold, metric, options);
    }),
  );
}

function evaluateRule(gate: GateConfig, rule: GateRuleName, threshold: number, metric: MetricSeries, options: GateOptions): Verdict {
  const definition = RULES[rule];
  const base: Verdict = {
    metric: gate.metric, rule, threshold, level: gate.level, requireSignificant: gate.requireSignificant,
    status: 'pass', reason: '', head: metric.head, base: metric.base, quantity: definition.quantity(metric), compared: null, interval: null,
    keyPath: gate.keyPath, line: gate.line,
  };
  if (definition.needsBase && metric.base === null) {
    return { ...base, status: 'skipped', reason: `no base value to compare with: ${options.noBaseReason}` };
  }
  const compared = definition.compare(metric, metric.head, metric.base ?? Number.NaN);
  const interval = comparedInterval(metric, definition, options.confidence);
  const quantity = definition.quantity(metric);
  const withVerdict = { ...base, compared, interval };
  const failStatus: VerdictStatus = gate.level === 'warn' ? 'warn' : 'fail';
  if (!Number.isFinite(compared)) {
    // A merge gate must not pass on a value it could not compute.
    return { ...withVerdict, status: failStatus, reason: `${quantity} could not be computed (undefined correlation, empty data or no item scored)` };
  }
  const violated = definition.bound === 'upper' ? compared > threshold : compared < threshold;
  const relation = definition.bound === 'upper' ? '≤' : '≥';
  const shown = `${quantity} = ${formatNumber(compared)}`;
  if (!violated) return { ...withVerdict, status: 'pass', reason: `${shown} ${relation} ${formatNumber(threshold)}` };
  if (gate.requireSignificant) {
    const significance = judgeSignificance(metric, definition, interval, threshold, options.confidence);
    if (!significance.significant) {
      return { ...withVerdict, status: 'pass', reason: `${shown} is past ${formatNumber(threshold)} but not significantly: ${significance.why}` };
    }
    return { ...withVerdict, status: failStatus, reason: `${shown} must be ${relation} ${formatNumber(threshold)}, and ${significance.why}` };
  }
  return { ...withVerdict, status: failStatus, reason: `${shown} must be ${relation} ${formatNumber(threshold)}` };
}

/** The bootstrap interval of the compared quantity, from paired replicates. */
function comparedInterval(metric: MetricSeries, definition: RuleDefinition, confidence: number): Interval | null {
  const heads = metric.headReplicates;
  if (heads.length === 0) return null;
  if (definition.needsBase && (!metric.baseReplicates || metric.baseReplicates.length !== heads.length)) return null;
  const samples = heads.map((head, r) => definition.compare(metric, head, metric.baseReplicates?.[r] ?? Number.NaN));
  const [low, high] = percentileInterval(samples, confidence);
  return Number.isFinite(low) && Number.isFinite(high) ? { low, high } : null;
}

function judgeSignificance(
  metric: MetricSeries,
  definition: RuleDefinition,
  interval: Interval | null,
  threshold: number,
  confidence: number,
): { significant: boolean; why: string } {
  const level = `${Math.round(confidence * 100)}%`;
  if (interval) {
    const beyond = definition.bound === 'upper' ? interval.low > threshold : interval.high < threshold;
    const text = `the ${level} interval [${formatNumber(interval.low)}, ${formatNumber(interval.high)}]`;
    if (!beyond) return { significant: false, why: `${text} includes it` };
    // Paired item outcomes allow an exact test of "did anything change at all"; a real increase needs both.
    if (definition.needsBase && metric.changePValue !== undefined) {
      const alpha = 1 - confidence;
      const p = formatNumber(metric.changePValue);
      return metric.changePValue < alpha
        ? { significant: true, why: `${text} lies entirely past it and McNemar's test gives p = ${p} < ${formatNumber(alpha)}` }
        : { significant: false, why: `${text} lies past it, but McNemar's test gives p = ${p} ≥ ${formatNumber(alpha)}` };
    }
    return { significant: true, why: `${text} lies entirely past it` };
  }
  if (!definition.needsBase && metric.headPValue !== undefined) {
    const alpha = 1 - confidence;
    const p = formatNumber(metric.headPValue);
    return metric.headPValue < alpha
      ? { significant: true, why: `the permutation test gives p = ${p} < ${formatNumber(alpha)}` }
      : { significant: false, why: `the permutation test gives p = ${p} ≥ ${formatNumber(alpha)}` };
  }
  // Without replicates significance cannot be shown; failing closed keeps the gate honest.
  return { significant: true, why: 'no bootstrap interval is available (bootstrap.resamples is 0), so the violation is taken as real' };
}

/** fail if any check fails, else warn if any warns, else pass. Skipped checks do not change the verdict. */
export function overallVerdict(verdicts: readonly Verdict[]): OverallVerdict {
  if (verdicts.some((v) => v.status === 'fail')) return 'fail';
  if (verdicts.some((v) => v.status === 'warn')) return 'warn';
  return 'pass';
}

/** Numbers in reasons and reports: 4 significant decimals, no exponent for ordinary values. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && Math.abs(value) < 1e-3) return value.toExponential(2);
  return Number(value.toFixed(4)).toString();
}
