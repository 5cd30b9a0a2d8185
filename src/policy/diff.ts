import { RULES } from '../gate/evaluate.ts';
import type { BiasGateConfig, GateConfig, GateRuleName } from '../config/types.ts';
import type { PolicyChange } from './types.ts';

type Section = 'vision' | 'language';
const SECTIONS: readonly Section[] = ['vision', 'language'];

/** Config keys that name a model by its role; compared as paths, not as settings. */
const MODEL_KEYS: Record<Section, readonly string[]> = { vision: ['model', 'pretrained'], language: ['model'] };

/**
 * How the pull request's config differs from the base branch's, as a reviewer needs it:
 * sections added or removed, every gate rule added, removed, loosened or tightened (with
 * the direction judged by the rule's bound), model paths moved, and every other setting
 * that changes what is scored (item lists, benchmarks, preprocessing, seeds, resamples…).
 * Pure: the two configs in, the list out, in config order.
 */
export function diffPolicies(base: BiasGateConfig, head: BiasGateConfig): PolicyChange[] {
  const changes: PolicyChange[] = [];
  const baseRaw = asRecord(base.raw);
  const headRaw = asRecord(head.raw);
  for (const section of SECTIONS) {
    const before = base[section];
    const after = head[section];
    if (!before && !after) continue;
    if (!after) {
      changes.push({ kind: 'section-removed', key: section, base: `${before!.gates.length} gate(s)`, head: null });
      continue;
    }
    if (!before) {
      changes.push({ kind: 'section-added', key: section, base: null, head: `${after.gates.length} gate(s)` });
      continue;
    }
    changes.push(...diffGates(section, before.gates, after.gates));
    for (const key of MODEL_KEYS[section]) {
      const from = (before as unknown as Record<string, { repoRelative: string }>)[key]!.repoRelative;
      const to = (after as unknown as Record<string, { repoRelative: string }>)[key]!.repoRelative;
      if (from !== to) changes.push({ kind: 'model-moved', key: `${section}.${key}`, base: from, head: to });
    }
    const skip = new Set(['gates', ...MODEL_KEYS[section]]);
    changes.push(...diffSettings(asRecord(baseRaw[section]), asRecord(headRaw[section]), section, skip));
  }
  changes.push(...diffSettings(asRecord(baseRaw.runtime), asRecord(headRaw.runtime), 'runtime', new Set()));
  return changes;
}

/** True when a change makes the gate easier to pass. */
export function isLoosening(change: PolicyChange): boolean {
  return change.kind === 'gate-removed' || change.kind === 'gate-loosened' || change.kind === 'section-removed' || change.kind === 'config-deleted';
}

interface RuleEntry {
  key: string;
  rule: GateRuleName;
  threshold: number;
  requireSignificant: boolean;
  level: 'fail' | 'warn';
}

/** Gate rules keyed by section, metric, rule and occurrence (two gates may test one metric). */
function ruleEntries(section: Section, gates: readonly GateConfig[]): Map<string, RuleEntry> {
  const entries = new Map<string, RuleEntry>();
  const seen = new Map<string, number>();
  for (const gate of gates) {
    for (const { rule, threshold } of gate.rules) {
      const id = `${gate.metric}.${rule}`;
      const occurrence = seen.get(id) ?? 0;
      seen.set(id, occurrence + 1);
      const key = `${section}.gates[${gate.metric}].${rule}${occurrence > 0 ? `#${occurrence + 1}` : ''}`;
      entries.set(key, { key, rule, threshold, requireSignificant: gate.requireSignificant, level: gate.level });
    }
  }
  return entries;
}

function describeEntry(entry: RuleEntry): string {
  const relation = RULES[entry.rule].bound === 'upper' ? '≤' : '≥';
  return `${relation} ${entry.threshold}${entry.requireSignificant ? ', significant only' : ''}${entry.level === 'warn' ? ', warn only' : ''}`;
}

function diffGates(section: Section, before: readonly GateConfig[], after: readonly GateConfig[]): PolicyChange[] {
  const from = ruleEntries(section, before);
  const to = ruleEntries(section, after);
  const changes: PolicyChange[] = [];
  for (const [key, old] of from) {
    const now = to.get(key);
    if (!now) {
      changes.push({ kind: 'gate-removed', key, base: describeEntry(old), head: null });
      continue;
    }
    if (now.threshold !== old.threshold) {
      // An upper bound is loosened by raising it, a lower bound (`min`) by lowering it.
      const looser = RULES[old.rule].bound === 'upper' ? now.threshold > old.threshold : now.threshold < old.threshold;
      changes.push({ kind: looser ? 'gate-loosened' : 'gate-tightened', key: `${key} threshold`, base: String(old.threshold), head: String(now.threshold) });
    }
    if (now.requireSignificant !== old.requireSignificant) {
      // Requiring significance lets a violation within noise pass.
      changes.push({ kind: now.requireSignificant ? 'gate-loosened' : 'gate-tightened', key: `${key} require_significant`, base: String(old.requireSignificant), head: String(now.requireSignificant) });
    }
    if (now.level !== old.level) {
      changes.push({ kind: now.level === 'warn' ? 'gate-loosened' : 'gate-tightened', key: `${key} level`, base: old.level, head: now.level });
    }
  }
  for (const [key, entry] of to) {
    if (!from.has(key)) changes.push({ kind: 'gate-added', key, base: null, head: describeEntry(entry) });
  }
  return changes;
}

/** Every leaf setting that differs; lists compare whole (an item list is one setting). */
function diffSettings(before: Record<string, unknown>, after: Record<string, unknown>, prefix: string, skip: ReadonlySet<string>): PolicyChange[] {
  const changes: PolicyChange[] = [];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((key) => !skip.has(key));
  for (const key of keys) {
    const from = before[key];
    const to = after[key];
    const where = `${prefix}.${key}`;
    if (isPlainObject(from) && isPlainObject(to)) {
      changes.push(...diffSettings(from, to, where, new Set()));
      continue;
    }
    if (JSON.stringify(from) === JSON.stringify(to)) continue;
    changes.push({ kind: 'setting-changed', key: where, base: from === undefined ? null : JSON.stringify(from), head: to === undefined ? null : JSON.stringify(to) });
  }
  return changes;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asRecord(value: unknown): Record<string, unknown> {
  return isPlainObject(value) ? value : {};
}
