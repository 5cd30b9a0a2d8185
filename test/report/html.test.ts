// The HTML report and the comment's trend section, without a browser (html-browser.test.ts opens it in one).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../../src/command.ts';
import { createTempDir, repoPath } from '../helpers.ts';
import { HTML_REPORT_CSP, renderHtml } from '../../src/report/html.ts';
import { parseReportDocument } from '../../src/report/parse-report.ts';
import { renderMarkdown } from '../../src/report/markdown.ts';
import { serializeReportDocument, type ReportDocument } from '../../src/report/json.ts';
import { fixtureDocument, syntheticHistory } from './fixture-document.ts';

const HOSTILE = '<img src=x onerror=alert(1)>"\'&@octocat';

/** The fixtures' document with a PR-controlled object name, model path and config path made hostile. */
function hostile(document: ReportDocument): ReportDocument {
  const copy = structuredClone(document);
  copy.config.path = `${HOSTILE}/thresholds.yaml`;
  copy.vision!.gaps[0]!.object = HOSTILE;
  copy.vision!.models.head.path = `models/${HOSTILE}.onnx`;
  copy.vision!.itemLists[0]!.items[0]!.label = `inter(${HOSTILE}, man)`;
  copy.verdicts[0]!.reason = `${HOSTILE} <script>alert(1)</script>`;
  return copy;
}

describe('HTML report', () => {
  it('is one self-contained page: CSP meta, no script, nothing that loads', async () => {
    const html = renderHtml(await fixtureDocument());
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${HTML_REPORT_CSP}">`);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|<object|\s(?:src|href)=|url\(|@import/i);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg")/);
  });

  it('shows the verdict, every table and every chart', async () => {
    const html = renderHtml({ ...(await fixtureDocument()), history: syntheticHistory(await fixtureDocument()) });
    expect(html).toMatch(/<h1 class="verdict" data-verdict="warn">⚠ bias-gate: pass with warnings<\/h1>/);
    for (const table of ['checks', 'vision', 'language', 'transfer', 'trend']) expect(html).toContain(`<table data-table="${table}">`);
    for (const chart of ['gaps', 'bts-object', 'bts-pairs', 'bts-indiv', 'bts-comps', 'crows-pairs', 'stereoset', 'trend-0']) expect(html).toContain(`data-chart="${chart}"`);
    expect(html).toContain('<section id="policy">');
    expect(html).toContain('<section id="glossary">');
  });

  it('is deterministic', async () => {
    const document = await fixtureDocument();
    expect(renderHtml(document)).toBe(renderHtml(structuredClone(document)));
  });

  it('escapes every string from the pull request', async () => {
    const html = renderHtml(hostile(await fixtureDocument()));
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;@octocat');
    // Also in the attributes a test or a stylesheet reads.
    expect(html).toContain('data-category="&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;@octocat"');
  });

  it('CLI --html writes the same page as the document renders', async () => {
    const out = await createTempDir('bias-gate-html-cli-');
    const file = path.join(out, 'nested', 'report.html');
    const io = { stdout: () => {}, stderr: () => {}, cwd: repoPath('.') };
    const code = await runCommand(['run', '--config', 'thresholds.yaml', '--base', 'fixtures/base', '--html', file, '--cache-dir', path.join(out, 'cache'), '--quiet'], io);
    expect(code).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(renderHtml(await fixtureDocument()));
  });

  it('renders the same from report.json read back (the fork-safe path)', async () => {
    const document = { ...(await fixtureDocument()), history: syntheticHistory(await fixtureDocument()) };
    const readBack = parseReportDocument(serializeReportDocument(document), 'report.json');
    expect(renderHtml(readBack)).toBe(renderHtml(document));
  });
});

describe('trend section of the comment', () => {
  it('shows each gated metric beside the last merges, with a sparkline', async () => {
    const document = await fixtureDocument();
    const markdown = renderMarkdown({ ...document, history: syntheticHistory(document) });
    const section = markdown.slice(markdown.indexOf('### Trend across merges'));
    expect(section).toContain('This run beside the last 3 default-branch runs (`history/thresholds-yaml.json` on `bias-gate-data`), oldest → newest.');
    expect(section).toContain('| metric | last merges | range | last merge | this run | Δ vs last merge |');
    // gap.max was 0.9, 0.95 and 0.98 times this run's 0.7482.
    expect(section).toContain('| `gap.max` | ▁▅█ | 0.6734 – 0.7332 | 0.7332 | 0.7482 | +0.015 |');
    expect(renderMarkdown(document)).not.toContain('### Trend across merges');
  });

  it('says when the data branch has no run yet, and escapes hostile metric names', async () => {
    const document = await fixtureDocument();
    const empty = renderMarkdown({ ...document, history: { branch: 'bias-gate-data', path: 'history/x.json', entries: [] } });
    expect(empty).toContain('No default-branch run is recorded yet on `bias-gate-data`: the first merge starts the history.');
    const withHostile = { ...document, verdicts: [{ ...document.verdicts[0]!, metric: 'gap.a|b`c<img>' }], history: syntheticHistory(document) };
    expect(renderMarkdown(withHostile)).toContain('| ``gap.a\\|b`c<img>`` |');
  });
});
