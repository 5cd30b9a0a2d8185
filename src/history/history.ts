/**
 * The history of the gate across merges (issue 12): one entry per default-branch run, kept on a data
 * branch of the repository (see store.ts for the git side). Everything here is pure: building an
 * entry from a report document, appending it with a bound, reading a history file back, and the
 * per-metric trend the PR comment and the HTML report show.
 *
 * File `history/<config-slug>.json` on the data branch:
 *
 * ```json
 * { "format": 1, "config": "thresholds.yaml",
 *   "entries": [{ "commit": "<sha>", "date": "2026-01-02T03:04:05Z", "verdict": "pass",
 *                 "metrics": { "gap.surfboard": 0.7482 }, "gates": { "gap.surfboard.max_abs_increase": "warn" } }] }
 * ```
 *
 * Entries are ordered by the commit's date (oldest first); the date is the commit's committer date,
 * not the clock's, so re-running a job gives the same file.
 */
import { InputError, messageOf } from '../errors.ts';
import type { OverallVerdict, VerdictStatus } from '../gate/evaluate.ts';

/** Version of the history file's layout; bump on any breaking change. */
export const HISTORY_FORMAT = 1;

/** Entries kept when the Action's `history-length` input is not set. */
export const DEFAULT_HISTORY_LENGTH = 100;

/** The data branch the README suggests (`history-branch: bias-gate-data`); the Action's default is off. */
export const SUGGESTED_HISTORY_BRANCH = 'bias-gate-data';

/** One default-branch run. */
export interface HistoryEntry {
  /** The default-branch commit the run gated. */
  commit: string;
  /** That commit's committer date, ISO 8601 (`git show -s --format=%cI`). */
  date: string;
  verdict: OverallVerdict;
  /** Each metric's head value (null where it was not finite), keys sorted. */
  metrics: Record<string, number | null>;
  /** `metric.rule` → the worst status of the gates with that metric and rule, keys sorted. */
  gates: Record<string, VerdictStatus>;
}

/** The history file on the data branch. */
export interface HistoryFile {
  format: typeof HISTORY_FORMAT;
  /** Repository-relative path of the config whose runs these are. */
  config: string;
  entries: HistoryEntry[];
}

/** The history as the report document carries it: where it was read, and its last entries. */
export interface HistoryRecord {
  branch: string;
  /** Path of the history file on the branch. */
  path: string;
  entries: HistoryEntry[];
}

/** What a run contributes to an entry: a narrow view of the report document. */
export interface HistorySource {
  verdict: OverallVerdict;
  verdicts: readonly { metric: string; rule: string; status: VerdictStatus; head: number | null }[];
  vision: { metrics: readonly { name: string; head: number | null }[] } | null;
  language: { metrics: readonly { name: string; head: number | null }[] } | null;
}

/** `history/<slug>.json`: the config path with every run of other characters than [a-z0-9] as one `-`. */
export function historyFilePath(configPath: string): string {
  const slug = configPath.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'config';
  return `history/${slug}.json`;
}

/** The entry of a run of `commit`: every metric's head value and every gate's status. */
export function historyEntry(source: HistorySource, commit: { sha: string; date: string }): HistoryEntry {
  const metrics = new Map<string, number | null>();
  for (const metric of [...(source.vision?.metrics ?? []), ...(source.language?.metrics ?? [])]) metrics.set(metric.name, finiteOrNull(metric.head));
  // A gate may name an aggregate (gap.max, stereoset.lms) that is not a metric row: its head value is the verdict's.
  for (const verdict of source.verdicts) if (!metrics.has(verdict.metric)) metrics.set(verdict.metric, finiteOrNull(verdict.head));
  const gates = new Map<string, VerdictStatus>();
  for (const verdict of source.verdicts) {
    const key = `${verdict.metric}.${verdict.rule}`;
    const previous = gates.get(key);
    if (previous === undefined || SEVERITY[verdict.status] > SEVERITY[previous]) gates.set(key, verdict.status);
  }
  return { commit: commit.sha, date: commit.date, verdict: source.verdict, metrics: sortedRecord(metrics), gates: sortedRecord(gates) };
}

const SEVERITY: Record<VerdictStatus, number> = { fail: 3, warn: 2, pass: 1, skipped: 0 };

/**
 * `file` with `entry` added: an earlier entry of the same commit (a re-run) is replaced, entries are
 * ordered by date (a job that pushes late, after a retry, still lands in commit order; equal dates
 * keep the order they were added in), and only the newest `length` are kept.
 */
export function appendHistoryEntry(file: HistoryFile | null, configPath: string, entry: HistoryEntry, length: number): HistoryFile {
  if (!Number.isInteger(length) || length < 1) throw new InputError(`history-length must be a positive integer, found ${length}`);
  const entries = (file?.entries ?? []).filter((existing) => existing.commit !== entry.commit);
  entries.push(entry);
  const ordered = entries.map((value, index) => ({ value, index, time: Date.parse(value.date) })).sort((a, b) => (a.time - b.time) || (a.index - b.index));
  return { format: HISTORY_FORMAT, config: file?.config ?? configPath, entries: ordered.slice(-length).map((item) => item.value) };
}

/** The history file's text: pretty-printed, one trailing newline. */
export function serializeHistoryFile(file: HistoryFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

/**
 * A history file read back, every field checked: the data branch is writable by anyone who can push
 * to the repository, and its strings reach the PR comment (escaped there) and the HTML report.
 */
export function parseHistoryFile(text: string, source: string): HistoryFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${source} is not JSON (${messageOf(error)})`, { hint: `Delete the file from the data branch (or fix it); the next default-branch run writes it anew.` });
  }
  const fail = (what: string): never => {
    throw new InputError(`${source}: ${what}: not a bias-gate history file (format ${HISTORY_FORMAT})`, { hint: 'Delete the file from the data branch; the next default-branch run writes it anew.' });
  };
  if (!isObject(value)) return fail('the top level is not an object');
  if (value.format !== HISTORY_FORMAT) return fail(`format is ${JSON.stringify(value.format)}, expected ${HISTORY_FORMAT}`);
  if (typeof value.config !== 'string') return fail('config is not a string');
  if (!Array.isArray(value.entries)) return fail('entries is not an array');
  const entries = value.entries.map((entry: unknown, index: number): HistoryEntry => {
    const at = `entries[${index}]`;
    if (!isObject(entry)) return fail(`${at} is not an object`);
    if (typeof entry.commit !== 'string' || !/^[0-9a-f]{7,64}$/.test(entry.commit)) return fail(`${at}.commit is not a commit sha`);
    if (typeof entry.date !== 'string' || Number.isNaN(Date.parse(entry.date))) return fail(`${at}.date is not a date`);
    if (!['pass', 'warn', 'fail'].includes(entry.verdict as string)) return fail(`${at}.verdict is not pass, warn or fail`);
    if (!isObject(entry.metrics) || !Object.values(entry.metrics).every((v) => v === null || (typeof v === 'number' && Number.isFinite(v)))) return fail(`${at}.metrics is not an object of numbers`);
    if (!isObject(entry.gates) || !Object.values(entry.gates).every((v) => ['pass', 'fail', 'warn', 'skipped'].includes(v as string))) return fail(`${at}.gates is not an object of statuses`);
    return { commit: entry.commit, date: entry.date, verdict: entry.verdict as OverallVerdict, metrics: entry.metrics as Record<string, number | null>, gates: entry.gates as Record<string, VerdictStatus> };
  });
  return { format: HISTORY_FORMAT, config: value.config, entries };
}

/** One gated metric across the last merges and in this run. */
export interface MetricTrend {
  metric: string;
  /** The metric in each history entry, oldest first (null where that run lacked it). */
  merged: { commit: string; date: string; value: number | null }[];
  /** This run's head value. */
  current: number | null;
  /** The newest merged value that exists, or null. */
  last: number | null;
}

/** For each metric a gate of this run looks at (in the order of the checks), its trend across `history`. */
export function metricTrends(source: Pick<HistorySource, 'verdicts'>, history: Pick<HistoryRecord, 'entries'>): MetricTrend[] {
  const metrics = [...new Set(source.verdicts.map((verdict) => verdict.metric))];
  return metrics.map((metric) => {
    const merged = history.entries.map((entry) => ({ commit: entry.commit, date: entry.date, value: entry.metrics[metric] ?? null }));
    const current = finiteOrNull(source.verdicts.find((verdict) => verdict.metric === metric && verdict.head !== null)?.head ?? null);
    const last = [...merged].reverse().find((point) => point.value !== null)?.value ?? null;
    return { metric, merged, current, last };
  });
}

/** Unicode block levels, lowest first. */
const SPARK_LEVELS = '▁▂▃▄▅▆▇█';

/**
 * A unicode sparkline: one block per value scaled between the smallest and largest, `·` for a
 * missing value, a flat middle line when all values are equal. Only these characters, so it is safe
 * in Markdown as it is.
 */
export function sparkline(values: readonly (number | null)[]): string {
  const present = values.filter((value): value is number => value !== null && Number.isFinite(value));
  if (present.length === 0) return values.map(() => '·').join('');
  const low = Math.min(...present);
  const high = Math.max(...present);
  return values
    .map((value) => {
      if (value === null || !Number.isFinite(value)) return '·';
      if (high === low) return SPARK_LEVELS[3];
      return SPARK_LEVELS[Math.round(((value - low) / (high - low)) * (SPARK_LEVELS.length - 1))];
    })
    .join('');
}

function finiteOrNull(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function sortedRecord<T>(map: ReadonlyMap<string, T>): Record<string, T> {
  return Object.fromEntries([...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
