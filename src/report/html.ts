/**
 * The HTML report (issue 12): one self-contained file, rendered from the report document alone, as
 * the Markdown is. Inline CSS and inline SVG, no script, no external resource, and a Content
 * Security Policy that forbids loading anything, so opening the file makes no network request.
 * Every string from the document (set and object names, paths, reasons) is escaped with
 * {@link escapeXml}; the output is deterministic (no clock, no randomness).
 */
import { glossaryEntries } from './glossary.ts';
import { describeTransferDirection } from '../language/transfer.ts';
import type { VerdictStatus } from '../gate/evaluate.ts';
import { describeBaseStatus } from '../artifacts/models.ts';
import type { Estimate } from '../scores.ts';
import type { ReportDocument } from './json.ts';
import { isHeadlineLanguageMetric, languageMetricLabel } from './metric-rows.ts';
import { summarisePolicy } from './policy.ts';
import { describeRuntimeRecord } from './runtime.ts';
import { describeCounts, describeRule, formatInterval, formatOptional, formatSigned, metricStatus } from './summary.ts';
import { escapeXml, intervalBarChart, scatterChart, trendChart, type IntervalValue } from './svg-charts.ts';
import { documentTrends } from './trend.ts';
import { sparkline } from '../history/history.ts';
import { describePrecision } from '../language/int8-screen.ts';

/** The page's Content Security Policy: nothing may load; only the inline style applies. */
export const HTML_REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

// Text symbols rather than emoji: they render with the plain fonts of any machine the file is opened on.
const STATUS_TEXT: Record<VerdictStatus, string> = { pass: '✓ pass', fail: '✗ fail', warn: '⚠ warn', skipped: '– skipped' };
const VERDICT_HEADLINE = { pass: '✓ bias-gate: pass', warn: '⚠ bias-gate: pass with warnings', fail: '✗ bias-gate: fail' } as const;


/** The HTML report: verdict, every table, charts with intervals, trends, glossary. */
export function renderHtml(document: ReportDocument): string {
  const title = `${VERDICT_HEADLINE[document.verdict]} — ${document.config.path}`;
  const body = [renderHeadline(document), renderChecks(document), renderPolicy(document), renderVision(document), renderLanguage(document), renderTrends(document), renderGlossary(document)].filter((part) => part !== '').join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${HTML_REPORT_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeXml(title)}</title>
<style>${STYLE}</style>
</head>
<body class="verdict-${document.verdict}">
<main>
${body}
<footer>Rendered by ${escapeXml(`${document.tool.name} ${document.tool.version}`)} from the audit record (report.json, format ${document.format}).</footer>
</main>
</body>
</html>
`;
}

function renderHeadline(document: ReportDocument): string {
  const runtime = describeRuntimeRecord(document.runtime);
  return `<header><h1 class="verdict" data-verdict="${document.verdict}">${escapeXml(VERDICT_HEADLINE[document.verdict])}</h1>
<p>${escapeXml(describeCounts(document.verdicts))} — config <code>${escapeXml(document.config.path)}</code>, ${escapeXml(`${document.tool.name} ${document.tool.version}`)}</p>${runtime === undefined ? '' : `\n<p><strong>Runtime:</strong> ${escapeXml(runtime)}</p>`}</header>`;
}

function renderChecks(document: ReportDocument, heading = 'Checks'): string {
  if (document.verdicts.length === 0) return `<section id="checks"><h2>${heading}</h2><p>No gates are configured: scores are reported, nothing is enforced.</p></section>`;
  const rows = document.verdicts.map((v) => [status(v.status), code(v.metric), escapeXml(describeRule(v)), num(formatOptional(v.compared)), escapeXml(formatInterval(v.interval)), escapeXml(v.reason)]);
  return `<section id="checks"><h2>${heading}</h2>${table(['status', 'metric', 'rule', 'value', 'interval', 'why'], rows, 'checks')}</section>`;
}

function renderPolicy(document: ReportDocument): string {
  const summary = summarisePolicy(document.policy);
  const parts = [`<p>${escapeXml(summary.headline)}</p>`, ...summary.warnings.map((warning) => `<p class="warning">⚠️ ${escapeXml(warning)}</p>`)];
  if (summary.changes.length > 0) parts.push(table(['change', 'key', 'base branch', 'this pull request'], summary.changes.map((cells) => cells.map(escapeXml)), 'policy'));
  if (summary.proposed) {
    parts.push(`<p><strong>Not in force:</strong> ${escapeXml(summary.proposed)}</p>`);
    const proposed = document.policy.proposed;
    if (proposed && 'verdicts' in proposed && proposed.verdicts.length > 0) {
      parts.push(`<details><summary>Checks under the proposed policy (not in force)</summary>${renderChecks({ ...document, verdicts: [...proposed.verdicts] }, 'Proposed checks')}</details>`);
    }
  }
  return `<section id="policy"><h2>Policy</h2>${parts.join('\n')}</section>`;
}

type VisionDocument = NonNullable<ReportDocument['vision']>;
type LanguageDocument = NonNullable<ReportDocument['language']>;

function renderVision(document: ReportDocument): string {
  const vision = document.vision;
  if (!vision) return '';
  const { models } = vision;
  const confidence = `${Math.round(vision.settings.bootstrap.confidence * 100)}%`;
  const rows: string[][] = [];
  for (const bts of vision.bts) {
    rows.push([`BTS ${code(bts.list)} (n=${escapeXml(formatOptional(bts.n))})`, num(formatOptional(bts.base?.rho)), num(formatOptional(bts.head.rho)), num(formatSigned(bts.change?.value ?? null)), escapeXml(formatInterval(bts.head.interval)), statusOf(document, `bts.${bts.list}`)]);
  }
  for (const gap of vision.gaps) {
    const flag = gap.signFlip ? ' · new association (sign flip)' : '';
    rows.push([`gap ${code(gap.object)}`, num(formatSigned(gap.base?.value ?? null)), num(formatSigned(gap.head.value)), num(formatSigned(difference(gap.head.value, gap.base?.value))), escapeXml(formatInterval(gap.head.interval)), `${statusOf(document, `gap.${gap.object}`)}${flag}`]);
  }
  for (const test of vision.ieat) {
    const cell = (result: { effectSize: number | null; pValue: number | null } | null) => (result ? `${formatOptional(result.effectSize)} (${formatOptional(result.pValue)})` : '—');
    rows.push([`iEAT ${code(test.name)} d (p)`, num(cell(test.base)), num(cell(test.head)), num(formatSigned(difference(test.head.effectSize, test.base?.effectSize))), '—', statusOf(document, `ieat.${test.name}`)]);
  }
  const intro = `<p>Pretrained <code>${escapeXml(models.pretrained.path)}</code> → fine-tuned <code>${escapeXml(models.head.path)}</code>; base: ${escapeXml(vision.baseStatus === 'scored' ? 'scored' : describeBaseStatus(vision.baseStatus))}. Estimator <code>${escapeXml(vision.estimator)}</code>.</p>`;
  const parts = [
    '<h2>Vision: Bias Transfer Score</h2>',
    intro,
    table(['metric', 'base', 'head', 'Δ head − base', `${confidence} interval (head)`, 'status'], rows, 'vision'),
    figure(gapChart(vision, confidence), 'Per-object gender gap for each model; whiskers are the bootstrap intervals.'),
    ...vision.itemLists.map((list) => figure(btsScatter(vision, list), `Similarity items of the ${list.list} list: pretrained (x) against fine-tuned (y). On the dashed diagonal the fine-tuned model kept the pretrained value.`)),
    renderVisionDetails(vision),
  ];
  return `<section id="vision">${parts.join('\n')}</section>`;
}

/** G(O) per object: pretrained, base and head bars with their intervals. */
function gapChart(vision: VisionDocument, confidence: string): string {
  const estimate = (value: Estimate | null): IntervalValue | null => (value && Number.isFinite(value.value) ? { value: value.value, low: value.interval?.low ?? null, high: value.interval?.high ?? null } : null);
  const series = [
    { name: 'pretrained', key: 'pretrained', values: vision.gaps.map((gap) => estimate(gap.pretrained)) },
    ...(vision.gaps.some((gap) => gap.base) ? [{ name: 'base', key: 'base', values: vision.gaps.map((gap) => estimate(gap.base)) }] : []),
    { name: 'head', key: 'head', values: vision.gaps.map((gap) => estimate(gap.head)) },
  ];
  return intervalBarChart({ id: 'gaps', title: `Gender gap G(O) per object (${confidence} intervals)`, yLabel: 'G(O)', categories: vision.gaps.map((gap) => gap.object), series });
}

/** The items of one list, pretrained against base and head, with both rank correlations. */
function btsScatter(vision: VisionDocument, list: VisionDocument['itemLists'][number]): string {
  const bts = vision.bts.find((score) => score.list === list.list);
  const points = (side: 'base' | 'head') => list.items.flatMap((item) => (item[side] === null || item[side] === undefined || item.pretrained === null ? [] : [{ x: item.pretrained, y: item[side]!, label: item.label }]));
  const series = [...(list.items.some((item) => item.base !== null) ? [{ name: 'base', key: 'base', points: points('base') }] : []), { name: 'head', key: 'head', points: points('head') }];
  const rho = (side: 'base' | 'head') => {
    const value = side === 'base' ? bts?.base?.rho : bts?.head.rho;
    return value === undefined ? null : `ρ ${side} = ${formatOptional(value)}`;
  };
  const caption = [rho('head'), rho('base')].filter((text) => text !== null).join(', ') || 'no rank correlation';
  return scatterChart({ id: `bts-${list.list}`, title: `BTS ${list.list} list (n=${formatOptional(list.n)}): items, pretrained vs fine-tuned`, xLabel: 'pretrained similarity', yLabel: 'fine-tuned similarity', series, caption });
}

function renderVisionDetails(vision: VisionDocument): string {
  const parts: string[] = [];
  for (const list of vision.itemLists) {
    const rows = list.items.map((item) => [escapeXml(item.label), num(formatOptional(item.pretrained)), num(formatOptional(item.base)), num(formatOptional(item.head))]);
    parts.push(`<details><summary>Similarity items: <code>${escapeXml(list.list)}</code> list (n=${escapeXml(formatOptional(list.n))})</summary>${table(['item', 'pretrained', 'base', 'head'], rows)}</details>`);
  }
  const cell = (estimate: Estimate | null) => num(estimate ? `${formatSigned(estimate.value)} ${formatInterval(estimate.interval)}` : '—');
  parts.push(`<details><summary>Gender gaps per model, with bootstrap intervals</summary>${table(['object', 'pretrained', 'base', 'head', '|head| − |base|'], vision.gaps.map((gap) => [escapeXml(gap.object), cell(gap.pretrained), cell(gap.base), cell(gap.head), cell(gap.magnitudeChange)]))}</details>`);
  const audit: string[][] = [];
  for (const role of ['pretrained', 'base', 'head'] as const) {
    const model = vision.models[role];
    if (model) audit.push([`${role} model`, code(model.path), code(model.sha256)]);
  }
  const sets = vision.referenceSets.sets.map((set) => `${set.name}: ${set.images}`).join(', ');
  audit.push(['reference sets', `${code(vision.referenceSets.source)} (${escapeXml(sets)})`, code(vision.referenceSets.sha256)]);
  parts.push(`<details><summary>Audit: models and reference data</summary>${table(['artifact', 'path', 'sha256'], audit)}</details>`);
  return parts.join('\n');
}

function renderLanguage(document: ReportDocument): string {
  const language = document.language;
  if (!language) return '';
  const confidence = `${Math.round(language.settings.bootstrap.confidence * 100)}%`;
  const rows = language.metrics
    .filter((m) => isHeadlineLanguageMetric(m.name))
    .map((metric) => [escapeXml(languageMetricLabel(metric.name)), num(formatOptional(metric.base)), num(formatOptional(metric.head)), num(formatSigned(metric.delta)), num(formatSigned(metric.biasChange)), escapeXml(formatInterval(metric.deltaInterval)), num(formatOptional(metric.mcnemarP)), statusOf(document, metric.name)]);
  const parts = [
    '<h2>Language: bias benchmarks</h2>',
    `<p>Model <code>${escapeXml(language.models.head.path)}</code> (${escapeXml(language.kind)}, scoring <code>${escapeXml(language.scoring)}</code>); base: ${escapeXml(language.baseStatus === 'scored' ? 'scored' : describeBaseStatus(language.baseStatus))}.</p>`,
    table(['metric', 'base', 'head', 'Δ head − base', 'Δ |score − 50|', `${confidence} interval (Δ)`, 'McNemar p', 'status'], rows, 'language'),
  ];
  const crows = language.metrics.filter((metric) => /^crows_pairs\./.test(metric.name));
  if (crows.length > 0) parts.push(figure(languageChart(language, crows, 'crows-pairs', `CrowS-Pairs per bias type, base vs head (${confidence} intervals)`, (name) => name.replace(/^crows_pairs\./, '')), 'Share of pairs where the model prefers the stereotypical sentence; the dashed line is 50, unbiased.'));
  const stereoSet = language.metrics.filter((metric) => /^stereoset\.ss\.[a-z]+$/.test(metric.name));
  if (stereoSet.length > 0) parts.push(figure(languageChart(language, stereoSet, 'stereoset', `StereoSet stereotype score per domain, base vs head (${confidence} intervals)`, (name) => name.replace(/^stereoset\.ss\./, '')), 'Stereotype score per domain; the dashed line is 50, unbiased.'));
  if (language.transfer) {
    const transferRows = language.transfer.rows.map((domain) => [escapeXml(domain.domain), escapeXml(languageMetricLabel(domain.metric)), num(formatOptional(domain.base)), num(formatOptional(domain.head)), num(formatSigned(domain.biasChange.value)), escapeXml(formatInterval(domain.biasChange.interval)), num(formatOptional(domain.pValue)), escapeXml(domain.direction === 'target' ? 'target' : describeTransferDirection(domain))]);
    parts.push(`<h3>Cross-domain transfer (target: ${escapeXml(language.transfer.target)})</h3>`, `<blockquote>${escapeXml(language.transfer.summary)}</blockquote>`, table(['domain', 'metric', 'base', 'head', 'Δ |score − 50|', `${confidence} interval`, 'McNemar p', 'moved'], transferRows, 'transfer'));
  }
  const audit: string[][] = [];
  for (const model of [language.models.base, language.models.head]) {
    if (!model) continue;
    for (const file of model.files) audit.push([`${escapeXml(model.role)} model`, code(`${model.path}/${file.name}`), code(file.sha256), escapeXml(`${formatOptional(file.bytes)} bytes`)]);
  }
  for (const run of language.benchmarks) {
    const screen = describePrecision(run.precision, language.models.base !== null);
    const notes = [`${run.data.items} items`, `${run.data.skippedRows.length} rows skipped`, `${run.skippedItems.head.length} items not scored`, ...Object.entries(run.settings).map(([key, value]) => `${key} ${String(value)}`), ...(screen ? [screen] : [])];
    audit.push([escapeXml(run.name), `${code(run.data.location)}${run.data.revision ? ` @ ${escapeXml(run.data.revision)}` : ''}`, code(run.data.sha256), escapeXml(notes.join(', '))]);
  }
  parts.push(`<details><summary>Audit: language models, benchmark data and skipped items</summary>${table(['artifact', 'path or source', 'sha256', 'notes'], audit)}</details>`);
  return `<section id="language">${parts.join('\n')}</section>`;
}

/** Base and head bars for each metric, whiskers from each model's own bootstrap interval. */
function languageChart(language: LanguageDocument, metrics: LanguageDocument['metrics'], id: string, title: string, category: (name: string) => string): string {
  const value = (point: number | null, interval: { low: number; high: number } | null | undefined): IntervalValue | null => (point === null ? null : { value: point, low: interval?.low ?? null, high: interval?.high ?? null });
  const series = [
    ...(language.models.base ? [{ name: 'base', key: 'base', values: metrics.map((metric) => value(metric.base, metric.baseInterval)) }] : []),
    { name: 'head', key: 'head', values: metrics.map((metric) => value(metric.head, metric.headInterval)) },
  ];
  return intervalBarChart({ id, title, yLabel: '% stereotypical', categories: metrics.map((metric) => category(metric.name)), series, reference: { value: 50, label: '50 = unbiased' } });
}

function renderTrends(document: ReportDocument): string {
  const history = document.history;
  if (!history) return '';
  const where = `<code>${escapeXml(history.path)}</code> on <code>${escapeXml(history.branch)}</code>`;
  if (history.entries.length === 0) return `<section id="trend"><h2>Trend across merges</h2><p>No default-branch run is recorded yet in ${where}: the first merge starts the history.</p></section>`;
  const trends = documentTrends(document);
  const rows = trends.map((trend) => {
    const change = trend.current === null || trend.last === null ? null : trend.current - trend.last;
    return [code(trend.metric), `<span class="spark">${escapeXml(sparkline(trend.merged.map((point) => point.value)))}</span>`, num(formatOptional(trend.last)), num(formatOptional(trend.current)), num(formatSigned(change))];
  });
  const charts = trends.map((trend, index) =>
    figure(
      trendChart({ id: `trend-${index}`, title: trend.metric, merged: trend.merged.map((point) => ({ label: `${point.commit.slice(0, 12)} (${point.date})`, value: point.value })), current: { label: 'this run', value: trend.current } }),
      `${trend.metric}: the last ${trend.merged.length} merges, oldest first, then this run.`,
    ),
  );
  return `<section id="trend"><h2>Trend across merges</h2><p>This run beside the last ${history.entries.length} default-branch runs in ${where}, oldest → newest.</p>${table(['metric', 'last merges', 'last merge', 'this run', 'Δ vs last merge'], rows, 'trend')}${charts.join('\n')}</section>`;
}

/** The report's one glossary (glossary.ts), with the entries for the quantities this report shows. */
function renderGlossary(document: ReportDocument): string {
  return `<section id="glossary"><h2>Glossary</h2><dl>${glossaryEntries(document).map(({ term, meaning }) => `<dt>${escapeXml(term)}</dt><dd>${escapeXml(meaning)}</dd>`).join('')}</dl></section>`;
}

/** a − b, or null when either is missing. */
function difference(a: number | null, b: number | null | undefined): number | null {
  return a === null || b === null || b === undefined ? null : a - b;
}

function statusOf(document: ReportDocument, metric: string): string {
  const found = metricStatus(document.verdicts, metric);
  return found ? status(found) : '—';
}

function status(value: VerdictStatus): string {
  return `<span class="status ${value}">${escapeXml(STATUS_TEXT[value])}</span>`;
}

function code(text: string): string {
  return `<code>${escapeXml(text)}</code>`;
}

/** A number cell (already formatted text): right-aligned. */
function num(text: string): string {
  return `<span class="num">${escapeXml(text)}</span>`;
}

/** A table; cells are HTML already escaped by the caller. */
function table(headers: readonly string[], rows: readonly (readonly string[])[], id?: string): string {
  const head = headers.map((header) => `<th>${escapeXml(header)}</th>`).join('');
  const body = rows.map((cells) => `<tr>${cells.map((cell) => `<td>${cell}</td>`).join('')}</tr>`).join('\n');
  return `<table${id ? ` data-table="${id}"` : ''}><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function figure(svg: string, caption: string): string {
  return `<figure>${svg}<figcaption>${escapeXml(caption)}</figcaption></figure>`;
}

const STYLE = `
:root { color-scheme: light; --pretrained: #9aa5b1; --base: #4c78a8; --head: #f58518; --merged: #4c78a8; --current: #e45756; }
body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328; background: #fff; }
main { max-width: 980px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 8px; }
h2 { font-size: 18px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; margin-top: 32px; }
.verdict-fail h1 { color: #cf222e; } .verdict-warn h1 { color: #9a6700; } .verdict-pass h1 { color: #1a7f37; }
table { border-collapse: collapse; margin: 12px 0; width: 100%; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; word-break: break-word; }
th { background: #f6f8fa; }
td:has(> .num) { text-align: right; white-space: nowrap; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; background: #f6f8fa; padding: 1px 4px; border-radius: 4px; word-break: break-all; }
.status { white-space: nowrap; } .status.fail { color: #cf222e; } .status.warn { color: #9a6700; } .status.pass { color: #1a7f37; } .status.skipped { color: #57606a; }
.warning { background: #fff8c5; border: 1px solid #d4a72c; padding: 8px; border-radius: 6px; }
blockquote { margin: 8px 0; padding: 0 12px; border-left: 4px solid #d0d7de; color: #57606a; }
figure { margin: 16px 0; } figcaption { color: #57606a; font-size: 12px; }
svg.chart { width: 100%; height: auto; display: block; font: 11px system-ui, sans-serif; }
svg .title { font-weight: 600; font-size: 13px; } svg .caption { fill: #57606a; }
svg .grid { stroke: #eaeef2; } svg .zero { stroke: #57606a; } svg .tick, svg .category, svg .legend, svg .axis-label { fill: #1f2328; }
svg .reference, svg .diagonal { stroke: #57606a; stroke-dasharray: 4 3; } svg .reference-label { fill: #57606a; }
svg .whisker line { stroke: #1f2328; stroke-width: 1.2; }
svg .trend { fill: none; stroke: var(--merged); stroke-width: 1.5; }
.s-pretrained { fill: var(--pretrained); } .s-base { fill: var(--base); } .s-head { fill: var(--head); } .s-merged { fill: var(--merged); } .s-current { fill: var(--current); }
svg circle.point { fill-opacity: 0.85; stroke: #fff; stroke-width: 0.8; }
.spark { font-family: ui-monospace, monospace; letter-spacing: 1px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; } dt { font-weight: 600; } dd { margin: 0; }
footer { margin-top: 32px; color: #57606a; font-size: 12px; }
`;
