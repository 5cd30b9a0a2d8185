import type { VerdictStatus } from '../gate/evaluate.ts';
import { describeBaseStatus } from '../artifacts/models.ts';
import type { ReportDocument } from './json.ts';
import { renderPolicyMarkdown } from './policy.ts';
import { describeRuntimeRecord } from './runtime.ts';
import { renderTrendMarkdown } from './trend.ts';
import { codeSpan, escapeHtmlText, escapeMarkdownText, escapeTableCell, mermaidLabel } from './markdown-escape.ts';
import { isHeadlineLanguageMetric, languageMetricLabel } from './metric-rows.ts';
import { describeCounts, describeRule, formatInterval, formatOptional, formatSigned, metricStatus } from './summary.ts';

const STATUS_ICON: Record<VerdictStatus, string> = { pass: '✅ pass', fail: '❌ fail', warn: '⚠️ warn', skipped: '⏭️ skipped' };
const VERDICT_HEADLINE = { pass: '✅ bias-gate: pass', warn: '⚠️ bias-gate: pass with warnings', fail: '❌ bias-gate: fail' } as const;

/** One section of the report: Markdown lines, from the report document alone. */
export type ReportSection = (document: ReportDocument) => string[];

/**
 * The report's sections, in order. Each escapes every string of the document it shows (the
 * document may have come from a pull request's own run, see src/github/publish-bundle.ts).
 */
export const REPORT_SECTIONS: readonly ReportSection[] = [
  renderHeadline,
  renderChecks,
  (document) => renderPolicyMarkdown(document.policy, (verdicts) => renderChecks({ ...document, verdicts: [...verdicts] })),
  (document) => (document.vision ? renderVision(document.vision, document) : []),
  (document) => (document.language ? renderLanguage(document.language, document) : []),
  renderTrendMarkdown,
];

/**
 * The PR comment and job summary (DESIGN §1.5): verdict first, then a table
 * per model family, a chart of the per-object gaps, details folded away.
 * Rendered from the report document (`buildReportDocument` of a run, or `report.json` read back
 * with `parseReportDocument`), so both give the same text.
 */
export function renderMarkdown(document: ReportDocument): string {
  return `${REPORT_SECTIONS.flatMap((section) => section(document)).join('\n').trimEnd()}\n`;
}

function renderHeadline(document: ReportDocument): string[] {
  const runtime = describeRuntimeRecord(document.runtime);
  return [
    `## ${VERDICT_HEADLINE[document.verdict]}`,
    '',
    `${describeCounts(document.verdicts)} — config ${codeSpan(document.config.path)}, ${escapeMarkdownText(`${document.tool.name} ${document.tool.version}`)}`,
    '',
    ...(runtime === undefined ? [] : [`**Runtime:** ${escapeMarkdownText(runtime)}`, '']),
  ];
}

function renderChecks(document: ReportDocument): string[] {
  if (document.verdicts.length === 0) return ['No gates are configured: scores are reported, nothing is enforced.', ''];
  const rows = document.verdicts.map((v) =>
    row([STATUS_ICON[v.status], cellCode(v.metric), describeRule(v), formatOptional(v.compared), formatInterval(v.interval), escapeTableCell(v.reason)]),
  );
  return ['| status | metric | rule | value | interval | why |', '|---|---|---|---:|---|---|', ...rows, ''];
}

type VisionDocument = NonNullable<ReportDocument['vision']>;
type LanguageDocument = NonNullable<ReportDocument['language']>;

function renderVision(vision: VisionDocument, document: ReportDocument): string[] {
  const { models } = vision;
  const confidence = `${Math.round(vision.settings.bootstrap.confidence * 100)}%`;
  const lines = [
    '### Vision: Bias Transfer Score',
    '',
    `Pretrained ${codeSpan(models.pretrained.path)} → fine-tuned ${codeSpan(models.head.path)}; base: ${vision.baseStatus === 'scored' ? 'scored' : describeBaseStatus(vision.baseStatus)}. Estimator ${codeSpan(vision.estimator)}.`,
    '',
    `| metric | base | head | Δ head − base | ${confidence} interval (head) | status |`,
    '|---|---:|---:|---:|---|---|',
  ];
  for (const bts of vision.bts) {
    const status = metricStatus(document.verdicts, `bts.${bts.list}`);
    lines.push(row([`BTS ${cellCode(bts.list)} (n=${formatOptional(bts.n)})`, formatOptional(bts.base?.rho), formatOptional(bts.head.rho), formatSigned(bts.change?.value ?? null), formatInterval(bts.head.interval), status ? STATUS_ICON[status] : '—']));
  }
  for (const gap of vision.gaps) {
    const status = metricStatus(document.verdicts, `gap.${gap.object}`);
    const flag = gap.signFlip ? ' · new association (sign flip)' : '';
    lines.push(row([`gap ${cellCode(gap.object)}`, formatSigned(gap.base?.value ?? null), formatSigned(gap.head.value), formatSigned(difference(gap.head.value, gap.base?.value)), formatInterval(gap.head.interval), `${status ? STATUS_ICON[status] : '—'}${flag}`]));
  }
  for (const test of vision.ieat) {
    const status = metricStatus(document.verdicts, `ieat.${test.name}`);
    lines.push(row([`iEAT ${cellCode(test.name)} d (p)`, test.base ? `${formatOptional(test.base.effectSize)} (${formatOptional(test.base.pValue)})` : '—', `${formatOptional(test.head.effectSize)} (${formatOptional(test.head.pValue)})`, formatSigned(difference(test.head.effectSize, test.base?.effectSize)), '—', status ? STATUS_ICON[status] : '—']));
  }
  lines.push('', ...renderGapChart(vision), '', ...renderVisionDetails(vision));
  return lines;
}

/** a − b, or null when either is missing (no base, or a number that was not finite). */
function difference(a: number | null, b: number | null | undefined): number | null {
  return a === null || b === null || b === undefined ? null : a - b;
}

/** A Mermaid bar chart of G(O): bars for the head, a line for the base (or the pretrained model when there is none). */
function renderGapChart(vision: VisionDocument): string[] {
  const gaps = vision.gaps;
  const reference = gaps.every((gap) => gap.base) ? 'base' : 'pretrained';
  const finite = (value: number | null | undefined) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
  const headValues = gaps.map((gap) => finite(gap.head.value));
  const referenceValues = gaps.map((gap) => finite(reference === 'base' ? gap.base!.value : gap.pretrained.value));
  const bound = Math.max(0.01, ...[...headValues, ...referenceValues].map(Math.abs));
  const axis = Number((bound * 1.1).toPrecision(2));
  const list = (numbers: number[]) => `[${numbers.map((n) => Number(n.toFixed(4))).join(', ')}]`;
  return [
    '```mermaid',
    'xychart-beta',
    `    title "Gender gap G(O) = inter(O, man) − inter(O, woman): bars head, line ${reference}"`,
    `    x-axis [${gaps.map((gap) => mermaidLabel(gap.object)).join(', ')}]`,
    `    y-axis "G(O)" ${-axis} --> ${axis}`,
    `    bar ${list(headValues)}`,
    `    line ${list(referenceValues)}`,
    '```',
  ];
}

function renderVisionDetails(vision: VisionDocument): string[] {
  const lines: string[] = [];
  for (const list of vision.itemLists) {
    lines.push(`<details><summary>Similarity items: <code>${escapeHtmlText(list.list)}</code> list (n=${formatOptional(list.n)})</summary>`, '', '| item | pretrained | base | head |', '|---|---:|---:|---:|');
    for (const item of list.items) lines.push(row([escapeTableCell(item.label), formatOptional(item.pretrained), formatOptional(item.base), formatOptional(item.head)]));
    lines.push('', '</details>', '');
  }
  lines.push('<details><summary>Gender gaps per model, with bootstrap intervals</summary>', '', '| object | pretrained | base | head | |head| − |base| |', '|---|---:|---:|---:|---:|');
  for (const gap of vision.gaps) {
    const cell = (estimate: { value: number; interval: { low: number; high: number } | null } | null) => (estimate ? `${formatSigned(estimate.value)} ${formatInterval(estimate.interval)}` : '—');
    lines.push(row([escapeTableCell(gap.object), cell(gap.pretrained), cell(gap.base), cell(gap.head), cell(gap.magnitudeChange)]));
  }
  lines.push('', '</details>', '');
  lines.push('<details><summary>Audit: models and reference data</summary>', '', '| artifact | path | sha256 |', '|---|---|---|');
  for (const role of ['pretrained', 'base', 'head'] as const) {
    const model = vision.models[role];
    if (model) lines.push(row([`${role} model`, cellCode(model.path), cellCode(model.sha256)]));
  }
  const sets = vision.referenceSets.sets.map((set) => `${set.name}: ${set.images}`).join(', ');
  lines.push(row(['reference sets', `${cellCode(vision.referenceSets.source)} (${escapeTableCell(sets)})`, cellCode(vision.referenceSets.sha256)]));
  lines.push('', '</details>');
  return lines;
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** A code span in a table cell. */
function cellCode(text: string): string {
  return codeSpan(text, 'table-cell');
}

function renderLanguage(language: LanguageDocument, document: ReportDocument): string[] {
  const confidence = `${Math.round(language.settings.bootstrap.confidence * 100)}%`;
  const lines = [
    '',
    '### Language: bias benchmarks',
    '',
    `Model ${codeSpan(language.models.head.path)} (${language.kind}, scoring ${codeSpan(language.scoring)}); base: ${language.baseStatus === 'scored' ? 'scored' : describeBaseStatus(language.baseStatus)}.`,
    '',
    `| metric | base | head | Δ head − base | Δ \\|score − 50\\| | ${confidence} interval (Δ) | McNemar p | status |`,
    '|---|---:|---:|---:|---:|---|---:|---|',
  ];
  for (const metric of language.metrics.filter((m) => isHeadlineLanguageMetric(m.name))) {
    const status = metricStatus(document.verdicts, metric.name);
    lines.push(row([escapeTableCell(languageMetricLabel(metric.name)), formatOptional(metric.base), formatOptional(metric.head), formatSigned(metric.delta), formatSigned(metric.biasChange), formatInterval(metric.deltaInterval), formatOptional(metric.mcnemarP), status ? STATUS_ICON[status] : '—']));
  }
  if (language.transfer) {
    lines.push('', `#### Cross-domain transfer (target: ${escapeMarkdownText(language.transfer.target)})`, '', `> ${escapeMarkdownText(language.transfer.summary)}`, '', `| domain | metric | base | head | Δ \\|score − 50\\| | ${confidence} interval | McNemar p | moved |`, '|---|---|---:|---:|---:|---|---:|---|');
    const moved = { target: '**target**', with: 'with the target', against: 'against the target', unclear: 'no clear change' } as const;
    for (const domain of language.transfer.rows) {
      lines.push(row([escapeTableCell(domain.domain), escapeTableCell(languageMetricLabel(domain.metric)), formatOptional(domain.base), formatOptional(domain.head), formatSigned(domain.biasChange.value), formatInterval(domain.biasChange.interval), formatOptional(domain.pValue), moved[domain.direction]]));
    }
  }
  lines.push('', '<details><summary>Audit: language models, benchmark data and skipped items</summary>', '', '| artifact | path or source | sha256 | notes |', '|---|---|---|---|');
  for (const model of [language.models.base, language.models.head]) {
    if (!model) continue;
    for (const file of model.files) lines.push(row([`${escapeTableCell(model.role)} model`, cellCode(`${model.path}/${file.name}`), cellCode(file.sha256), `${formatOptional(file.bytes)} bytes`]));
  }
  for (const run of language.benchmarks) {
    const notes = [`${run.data.items} items`, `${run.data.skippedRows.length} rows skipped`, `${run.skippedItems.head.length} items not scored`, ...Object.entries(run.settings).map(([key, value]) => `${key} ${String(value)}`)];
    lines.push(row([escapeTableCell(run.name), `${cellCode(run.data.location)}${run.data.revision ? ` @ ${escapeTableCell(run.data.revision)}` : ''}`, cellCode(run.data.sha256), escapeTableCell(notes.join(', '))]));
  }
  lines.push('', '</details>');
  return lines;
}
