import { describe, expect, it } from 'vitest';
import type { GateConfig } from '../../src/config/types.ts';
import { evaluateGates, overallVerdict } from '../../src/gate/evaluate.ts';
import { compareBenchmark } from '../../src/language/compare.ts';
import { crowsPairsBenchmark, type CrowsResult } from '../../src/language/crows-pairs.ts';
import type { CrowsPair } from '../../src/language/datasets/crows-pairs.ts';
import { transferTable } from '../../src/language/transfer.ts';
import { buildReportDocument, renderJsonReport } from '../../src/report/json.ts';
import { renderMarkdown } from '../../src/report/markdown.ts';
import { parseReportDocument } from '../../src/report/parse-report.ts';
import { renderText } from '../../src/report/text.ts';
import type { RunReport } from '../../src/report/types.ts';
import { expectSafeMarkdown } from './hostile-run.ts';

// A synthetic CrowS-Pairs run with the three situations: the target (gender) unchanged,
// another domain (nationality) clearly more biased, and a noisy change (race-color, 8 pairs) past a
// threshold but not significant.
const pair = (id: number, biasType: string): CrowsPair => ({ id: String(id), sentMore: 'a', sentLess: 'b', direction: 'stereo', biasType, line: id + 2 } as CrowsPair);
const outcome = (stereotypical: boolean): CrowsResult => (stereotypical ? { more: -1, less: -2, outcome: 'stereotypical' } : { more: -2, less: -1, outcome: 'anti-stereotypical' });
const groups = [
  // [type, pairs, stereotypical under base, under head]: gender 30/40 → 30/40 (2 flips each way)
  { type: 'gender', n: 40, base: (i: number) => i < 30, head: (i: number) => (i >= 2 && i < 32) },
  // nationality 45/60 → 54/60: 9 pairs flip to stereotypical, none back (McNemar p = 2⁻⁸)
  { type: 'nationality', n: 60, base: (i: number) => i < 45, head: (i: number) => i < 54 },
  // race-color 4/8 → 7/8: +37.5 points from 3 flips (p = 0.25)
  { type: 'race-color', n: 8, base: (i: number) => i < 4, head: (i: number) => i < 7 },
];
const items: CrowsPair[] = [];
const base: CrowsResult[] = [];
const head: CrowsResult[] = [];
for (const group of groups) {
  for (let i = 0; i < group.n; i++) {
    items.push(pair(items.length, group.type));
    base.push(outcome(group.base(i)));
    head.push(outcome(group.head(i)));
  }
}
const comparison = compareBenchmark(crowsPairsBenchmark, { items, results: head }, { items, results: base }, { resamples: 400, seed: 3 });
const gate = (metric: string, index: number, requireSignificant: boolean, level: 'fail' | 'warn' = 'fail'): GateConfig => ({
  metric, rules: [{ rule: 'max_bias_increase', threshold: 0 }], requireSignificant, level, keyPath: `language.gates[${index}]`, line: 20 + 2 * index,
});
const gates = [gate('crows_pairs.gender', 0, false), gate('crows_pairs.race-color', 1, true), gate('crows_pairs.nationality', 2, true, 'warn')];
const verdicts = evaluateGates(gates, comparison.metrics, { confidence: 0.95, noBaseReason: 'n/a' });
const file = (name: string, digit: string) => ({ name, sha256: digit.repeat(64), bytes: 10 });
const report: RunReport = {
  tool: { name: 'bias-gate', version: '0.0.0-test' },
  verdict: overallVerdict(verdicts),
  config: { path: 'thresholds.yaml', sha256: 'c'.repeat(64), content: { version: 1 } },
  policy: {
    source: 'base', reason: "the base branch's config, which applies until this pull request is merged",
    base: { path: 'thresholds.yaml', sha256: 'c'.repeat(64), commit: '1'.repeat(40) }, head: { path: 'thresholds.yaml', sha256: 'c'.repeat(64) },
    changes: [], approval: null, proposed: null, workflowChanges: [], notices: [],
  },
  vision: null,
  language: {
    kind: 'causal',
    scoring: 'bias-bench',
    targetDomain: 'gender',
    baseStatus: 'scored',
    models: { base: { role: 'base', path: 'models/lm', files: [file('model.onnx', 'a')] }, head: { role: 'head', path: 'models/lm', files: [file('model.onnx', 'b')] } },
    benchmarks: [{
      name: 'crows_pairs',
      data: { location: 'data/crows.csv', revision: null, sha256: 'd'.repeat(64), items: items.length, skippedRows: [] } as never,
      skippedItems: { base: [], head: [] }, paired: true, mcnemar: comparison.mcnemar, settings: {},
    }],
    metrics: comparison.metrics,
    transfer: transferTable('gender', comparison.metrics, 0.95),
    settings: { batchSize: 8, maxBatchTokens: 1024, bootstrap: { resamples: 400, confidence: 0.95 }, seed: 3 },
    itemLines: () => [],
  },
  verdicts,
  cache: [],
};

describe('language report (issue 11)', () => {
  it('gates: gender passes, race-color is past the threshold but not significant, nationality warns on interval and McNemar p', () => {
    expect(verdicts.map((v) => [v.metric, v.status])).toEqual([['crows_pairs.gender', 'pass'], ['crows_pairs.race-color', 'pass'], ['crows_pairs.nationality', 'warn']]);
    expect(verdicts[1]!.reason).toContain('not significantly');
  });

  it('the transfer table labels nationality as moved although the target did not change', () => {
    const nationality = report.language!.transfer!.rows.find((row) => row.domain === 'nationality')!;
    expect(nationality.direction).toBe('moved');
    expect(report.language!.transfer!.rows.find((row) => row.domain === 'race')!.direction).toBe('unclear');
  });

  it('Markdown: n per row, each interval beside its quantity, status notes, glossary', async () => {
    const markdown = renderMarkdown(buildReportDocument(report));
    expect(markdown).toContain('| CrowS-Pairs race-color | 8 pairs | 50 | 87.5 |');
    expect(markdown).toMatch(/\| CrowS-Pairs race-color \|[^\n]*✅ pass \(past the threshold, not significant\) \|/);
    expect(markdown).toMatch(/\| CrowS-Pairs nationality \|[^\n]*⚠️ warn \(significant: interval and McNemar p\) \|/);
    expect(markdown).toContain('moved (more biased); target: no clear change');
    expect(markdown).toContain('<details><summary>Glossary: what these numbers mean</summary>');
    expect(markdown).toContain('**McNemar p**');
    expect(markdown).not.toContain('**BTS'); // only quantities the report shows
    expectSafeMarkdown(markdown);
    // The fork-safe job renders the same text from report.json read back.
    expect(renderMarkdown(parseReportDocument(renderJsonReport(report), 'report.json'))).toBe(markdown);
    await expect(markdown).toMatchFileSnapshot('__snapshots__/report-language.md');
  });

  it('terminal text', async () => {
    const text = renderText(report);
    expect(text).toContain('Glossary\n  CrowS-Pairs:');
    await expect(text).toMatchFileSnapshot('__snapshots__/report-language.txt');
  });

  it('the audit record holds each metric\'s n and the interval of Δ |score − 50|', () => {
    const metric = buildReportDocument(report).language!.metrics.find((m) => m.name === 'crows_pairs.nationality')!;
    expect(metric.size).toEqual({ n: 60, unit: 'pairs' });
    expect(metric.biasChange).toBe(15);
    expect(metric.biasChangeInterval!.low).toBeGreaterThan(0);
  });
});
