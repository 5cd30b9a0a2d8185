import { describe, expect, it } from 'vitest';
import { appendHistoryEntry, historyEntry, historyFilePath, metricTrends, parseHistoryFile, serializeHistoryFile, sparkline, type HistoryEntry } from '../../src/history/history.ts';

const entry = (commit: string, date: string, value: number | null): HistoryEntry => ({ commit, date, verdict: 'pass', metrics: value === null ? {} : { 'gap.max': value }, gates: { 'gap.max.max': 'pass' } });

describe('history (pure)', () => {
  it('names the file after the config path', () => {
    expect(historyFilePath('thresholds.yaml')).toBe('history/thresholds-yaml.json');
    expect(historyFilePath('models/<x>/Bias Gate.yml')).toBe('history/models-x-bias-gate-yml.json');
    expect(historyFilePath('///')).toBe('history/config.json');
  });

  it('an entry holds every metric head value and the worst status per metric and rule, keys sorted', () => {
    const made = historyEntry(
      {
        verdict: 'warn',
        verdicts: [
          { metric: 'gap.max', rule: 'max', status: 'pass', head: 0.7 },
          { metric: 'gap.max', rule: 'max', status: 'warn', head: 0.7 },
          { metric: 'stereoset.lms', rule: 'max_decrease', status: 'pass', head: Number.NaN },
        ],
        vision: { metrics: [{ name: 'gap.surfboard', head: 0.75 }, { name: 'bts.object', head: 0.9 }] },
        language: { metrics: [{ name: 'perplexity', head: 12.5 }] },
      },
      { sha: 'a'.repeat(40), date: '2026-01-01T00:00:00+00:00' },
    );
    expect(made).toEqual({
      commit: 'a'.repeat(40),
      date: '2026-01-01T00:00:00+00:00',
      verdict: 'warn',
      metrics: { 'bts.object': 0.9, 'gap.max': 0.7, 'gap.surfboard': 0.75, perplexity: 12.5, 'stereoset.lms': null },
      gates: { 'gap.max.max': 'warn', 'stereoset.lms.max_decrease': 'pass' },
    });
    expect(Object.keys(made.metrics)).toEqual(['bts.object', 'gap.max', 'gap.surfboard', 'perplexity', 'stereoset.lms']);
  });

  it('appends in date order, replaces a re-run and keeps the newest N', () => {
    let file = appendHistoryEntry(null, 'thresholds.yaml', entry('b'.repeat(40), '2026-01-02T00:00:00Z', 2), 3);
    file = appendHistoryEntry(file, 'ignored.yaml', entry('a'.repeat(40), '2026-01-01T00:00:00Z', 1), 3);
    file = appendHistoryEntry(file, 'ignored.yaml', entry('c'.repeat(40), '2026-01-03T00:00:00Z', 3), 3);
    expect(file.config).toBe('thresholds.yaml');
    expect(file.entries.map((e) => e.metrics['gap.max'])).toEqual([1, 2, 3]);
    file = appendHistoryEntry(file, 'x', entry('c'.repeat(40), '2026-01-03T00:00:00Z', 4), 3);
    expect(file.entries.map((e) => e.metrics['gap.max'])).toEqual([1, 2, 4]);
    file = appendHistoryEntry(file, 'x', entry('d'.repeat(40), '2026-01-04T00:00:00Z', 5), 2);
    expect(file.entries.map((e) => e.metrics['gap.max'])).toEqual([4, 5]);
    expect(parseHistoryFile(serializeHistoryFile(file), 'f')).toEqual(file);
    expect(() => appendHistoryEntry(file, 'x', entry('e'.repeat(40), '2026-01-05T00:00:00Z', 1), 0)).toThrow(/history-length/);
  });

  it('trends: each gated metric across the merges, its last merged value and this run', () => {
    const history = { entries: [entry('a'.repeat(40), '2026-01-01T00:00:00Z', 0.5), entry('b'.repeat(40), '2026-01-02T00:00:00Z', null)] };
    const [trend] = metricTrends({ verdicts: [{ metric: 'gap.max', rule: 'max', status: 'pass', head: 0.8 }] }, history);
    expect(trend).toEqual({ metric: 'gap.max', merged: [{ commit: 'a'.repeat(40), date: '2026-01-01T00:00:00Z', value: 0.5 }, { commit: 'b'.repeat(40), date: '2026-01-02T00:00:00Z', value: null }], current: 0.8, last: 0.5 });
  });

  it('sparklines scale between the smallest and largest value', () => {
    expect(sparkline([0, 0.5, 1, null])).toBe('▁▅█·');
    expect(sparkline([2, 2])).toBe('▄▄');
    expect(sparkline([])).toBe('');
    expect(sparkline([null])).toBe('·');
  });

  it('refuses files of another format or with hostile values', () => {
    expect(() => parseHistoryFile('[]', 'h.json')).toThrow(/h\.json: the top level is not an object/);
    expect(() => parseHistoryFile('{"format":2,"config":"c","entries":[]}', 'h.json')).toThrow(/format is 2, expected 1/);
    const bad = { format: 1, config: 'c', entries: [{ ...entry('a'.repeat(40), '2026-01-01T00:00:00Z', 1), gates: { x: '<img>' } }] };
    expect(() => parseHistoryFile(JSON.stringify(bad), 'h.json')).toThrow(/entries\[0\]\.gates is not an object of statuses/);
  });
});
