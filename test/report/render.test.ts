import { describe, expect, it } from 'vitest';
import type { GateConfig } from '../../src/config/types.ts';
import { evaluateGates, overallVerdict } from '../../src/gate/evaluate.ts';
import { buildReportDocument, renderJsonReport } from '../../src/report/json.ts';
import { renderMarkdown } from '../../src/report/markdown.ts';
import { renderText } from '../../src/report/text.ts';
import type { RunReport } from '../../src/report/types.ts';
import { DEFAULT_PREPROCESS } from '../../src/vision/preprocess.ts';
import { scoreVision } from '../../src/vision/score.ts';
import { expectValidReport } from '../report-schema.ts';

// A fully synthetic report: 2-D embeddings at fixed angles, so every number is stable across machines.
const SETS = ['man', 'woman', 'random', 'stop sign', 'surfboard', 'kitchen'];
const angle = (degrees: number) => Float32Array.of(Math.cos((degrees * Math.PI) / 180), Math.sin((degrees * Math.PI) / 180));
const layout = (shift: (set: number, i: number) => number) => SETS.flatMap((_, s) => [0, 1, 2].map((i) => angle(s * 50 + i * 7 + shift(s, i))));
const members = new Map(SETS.map((name, s) => [name, [0, 1, 2].map((i) => s * 3 + i)]));
const scores = scoreVision({
  members,
  embeddings: { pretrained: layout(() => 0), base: layout((s) => s * 3), head: layout((s, i) => (s === 4 ? 40 : s * 3 + i)) },
  objects: ['surfboard', 'kitchen'],
  itemLists: ['object'],
  ieat: [],
  estimator: 'exact',
  bootstrap: { resamples: 100, confidence: 0.95 },
  seed: 1,
});
const gates: GateConfig[] = [
  { metric: 'bts.object', rules: [{ rule: 'min', threshold: 0.5 }], requireSignificant: false, level: 'fail', keyPath: 'vision.gates[0]', line: 10 },
  { metric: 'gap.surfboard', rules: [{ rule: 'max_abs_increase', threshold: 0.02 }], requireSignificant: false, level: 'fail', keyPath: 'vision.gates[1]', line: 12 },
  { metric: 'gap.kitchen', rules: [{ rule: 'max', threshold: 0.5 }], requireSignificant: false, level: 'warn', keyPath: 'vision.gates[2]', line: 14 },
];
const verdicts = evaluateGates(gates, scores.metrics, { confidence: 0.95, noBaseReason: 'n/a' });
const model = (role: 'pretrained' | 'base' | 'head', file: string, digit: string) => ({ role, path: file, absolute: `/abs/${file}`, sha256: digit.repeat(64), bytes: 1000 });
const report: RunReport = {
  tool: { name: 'bias-gate', version: '0.0.0-test' },
  verdict: overallVerdict(verdicts),
  config: { path: 'thresholds.yaml', sha256: 'c'.repeat(64), content: { version: 1 } },
  policy: {
    source: 'base', reason: "the base branch's config, which applies until this pull request is merged",
    base: { path: 'thresholds.yaml', sha256: 'c'.repeat(64), commit: '1'.repeat(40) }, head: { path: 'thresholds.yaml', sha256: 'c'.repeat(64) },
    changes: [], approval: null, proposed: null, workflowChanges: [], notices: [],
  },
  vision: {
    models: { pretrained: model('pretrained', 'models/backbone.onnx', 'a'), base: model('base', 'models/classifier.onnx', 'b'), head: model('head', 'models/classifier.onnx', 'd') },
    baseStatus: 'scored',
    referenceSets: { source: 'data/sets', sha256: 'e'.repeat(64), sets: SETS.map((name) => ({ name, images: 3, sha256: 'f'.repeat(64) })) },
    objects: ['surfboard', 'kitchen'],
    settings: { preprocess: DEFAULT_PREPROCESS, batchSize: 16, bootstrap: { resamples: 100, confidence: 0.95 }, seed: 1 },
    scores,
  },
  language: null,
  verdicts,
  cache: [],
};

describe('reports', () => {
  it('Markdown: verdict first, tables, chart, folded details', async () => {
    const markdown = renderMarkdown(buildReportDocument(report));
    expect(markdown.startsWith('## ❌ bias-gate: fail\n')).toBe(true);
    expect(markdown.indexOf('| status | metric |')).toBeLessThan(markdown.indexOf('### Vision'));
    expect(markdown).toContain('```mermaid\nxychart-beta');
    expect(markdown).toContain('<details><summary>Audit: models and reference data</summary>');
    await expect(markdown).toMatchFileSnapshot('__snapshots__/report.md');
  });

  it('a warning line when scale 0-255 meets the default (0-1) ImageNet mean/std', () => {
    const scaled: RunReport = { ...report, vision: { ...report.vision!, settings: { ...report.vision!.settings, preprocess: { ...DEFAULT_PREPROCESS, scale: '0-255' } } } };
    expect(renderMarkdown(buildReportDocument(scaled))).toContain('> ⚠️ vision.preprocess: scale 0-255 is combined with the default ImageNet mean/std');
    expect(renderText(scaled)).toContain('  WARNING: vision.preprocess: scale 0-255 is combined with the default ImageNet mean/std');
    expect(renderMarkdown(buildReportDocument(report))).not.toContain('scale 0');
  });

  it('the glossary explains BTS, its item list and G(O), not the language quantities', () => {
    const markdown = renderMarkdown(buildReportDocument(report));
    expect(markdown).toContain('- **BTS (Bias Transfer Score)**: Spearman ρ');
    expect(markdown).toContain('This config gates BTS with min: a low BTS counts as worse.');
    expect(markdown).toContain('- **item list object**');
    expect(markdown).not.toContain('item list pairs');
    expect(markdown).not.toContain('CrowS-Pairs');
  });

  it('terminal text', async () => {
    await expect(renderText(report)).toMatchFileSnapshot('__snapshots__/report.txt');
  });

  it('JSON: no absolute paths, no replicates, NaN as null', async () => {
    const json = renderJsonReport(report);
    expectValidReport(json);
    expect(json).not.toContain('/abs/');
    expect(json).not.toContain('Replicates');
    const parsed = JSON.parse(json);
    expect(parsed.verdicts).toHaveLength(3);
    expect(parsed.vision.models.head).toEqual({ path: 'models/classifier.onnx', sha256: 'd'.repeat(64), bytes: 1000 });
    const withNaN = renderJsonReport({ ...report, verdicts: [{ ...verdicts[0]!, compared: Number.NaN }] });
    expect(JSON.parse(withNaN).verdicts[0].compared).toBeNull();
    await expect(json).toMatchFileSnapshot('__snapshots__/report.json');
  });
});
