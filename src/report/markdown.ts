import type { VerdictStatus } from '../gate/evaluate.ts';
import { describeBaseStatus } from '../artifacts/models.ts';
import type { ReportDocument } from './json.ts';
import { describeTransferDirection } from '../language/transfer.ts';
import { renderPolicyMarkdown } from './policy.ts';
import { describeBuiltinSets } from './reference-sets.ts';
import { describeRuntimeRecord } from './runtime.ts';
import { renderTrendMarkdown } from './trend.ts';
import { codeSpan, escapeHtmlText, escapeMarkdownText, escapeTableCell, mermaidLabel } from './markdown-escape.ts';
import { glossaryEntries } from './glossary.ts';
import { isHeadlineLanguageMetric, languageMetricLabel } from './metric-rows.ts';
import { formatSize, rowInterval, setSizes, statusNote, worstVerdict } from './row-notes.ts';
import { describeCounts, describeRule, formatInterval, formatOptional, formatSigned } from './summary.ts';
import { preprocessWarnings } from '../vision/preprocess-warnings.ts';
import { describePrecision } from '../language/int8-screen.ts';

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
  renderGlossary,
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

/** The glossary (issue 11), folded: one line per quantity the report shows. */
function renderGlossary(document: ReportDocument): string[] {
  const entries = glossaryEntries(document);
  if (entries.length === 0) return [];
  return [
    '<details><summary>Glossary: what these numbers mean</summary>',
    '',
    ...entries.map((entry) => `- **${escapeMarkdownText(entry.term)}**: ${escapeMarkdownText(entry.meaning)}`),
    '',
    '</details>',
    '',
  ];
}

/** The status cell of a table row: the worst check of the metric, and why where the row's numbers could seem to disagree. */
function statusCell(document: ReportDocument, metric: string, mcnemarP: number | null = null): string {
  const verdict = worstVerdict(document.verdicts, metric);
  if (!verdict) return '—';
  const note = statusNote(verdict, mcnemarP);
  return `${STATUS_ICON[verdict.status]}${note ? ` (${escapeTableCell(note)})` : ''}`;
}

type VisionDocument = NonNullable<ReportDocument['vision']>;
type LanguageDocument = NonNullable<ReportDocument['language']>;

function renderVision(vision: VisionDocument, document: ReportDocument): string[] {
  const { models } = vision;
  const confidence = `${Math.round(vision.settings.bootstrap.confidence * 100)}%`;
  const warnings = preprocessWarnings(vision.settings.preprocess).map((warning) => `> ⚠️ ${escapeMarkdownText(warning)}`);
  const sets = vision.referenceSets.sets;
  const lines = [
    '### Vision: Bias Transfer Score',
    '',
    `Pretrained ${codeSpan(models.pretrained.path)} → fine-tuned ${codeSpan(models.head.path)}; base: ${vision.baseStatus === 'scored' ? 'scored' : describeBaseStatus(vision.baseStatus)}. Estimator ${codeSpan(vision.estimator)}.`,
    '',
    ...(warnings.length > 0 ? [...warnings, ''] : []),
    `| metric | n | base | head | Δ head − base | ${confidence} interval | status |`,
    '|---|---|---:|---:|---:|---|---|',
  ];
  for (const bts of vision.bts) {
    const metric = `bts.${bts.list}`;
    lines.push(row([`BTS ${cellCode(bts.list)}`, `${formatOptional(bts.n)} items`, formatOptional(bts.base?.rho), formatOptional(bts.head.rho), formatSigned(bts.change?.value ?? null), escapeTableCell(rowInterval(worstVerdict(document.verdicts, metric), bts.head.interval, 'head')), statusCell(document, metric)]));
  }
  for (const gap of vision.gaps) {
    const metric = `gap.${gap.object}`;
    const flag = gap.signFlip ? ' · new association (sign flip)' : '';
    lines.push(row([`gap ${cellCode(gap.object)}`, escapeTableCell(setSizes(sets, [gap.object, 'man', 'woman'], ['O', 'man', 'woman'])), formatSigned(gap.base?.value ?? null), formatSigned(gap.head.value), formatSigned(difference(gap.head.value, gap.base?.value)), escapeTableCell(rowInterval(worstVerdict(document.verdicts, metric), gap.head.interval, 'head')), `${statusCell(document, metric)}${flag}`]));
  }
  if (document.verdicts.some((verdict) => verdict.metric === 'gap.max')) {
    const verdict = worstVerdict(document.verdicts, 'gap.max')!;
    lines.push(row([`gap ${cellCode('max')}${escapeTableCell(' (largest |G|)')}`, '—', formatOptional(verdict.base), formatOptional(verdict.head), formatSigned(verdict.base === null || verdict.head === null ? null : verdict.head - verdict.base), escapeTableCell(rowInterval(verdict, null, 'head')), statusCell(document, 'gap.max')]));
  }
  for (const test of vision.ieat) {
    const metric = `ieat.${test.name}`;
    const [a, b] = test.attributes;
    lines.push(row([`iEAT ${cellCode(test.name)} d (p)`, escapeTableCell(setSizes(sets, ['man', 'woman', a, b], ['man', 'woman', a, b])), test.base ? `${formatOptional(test.base.effectSize)} (${formatOptional(test.base.pValue)})` : '—', `${formatOptional(test.head.effectSize)} (${formatOptional(test.head.pValue)})`, formatSigned(difference(test.head.effectSize, test.base?.effectSize)), escapeTableCell(rowInterval(worstVerdict(document.verdicts, metric), null, 'head')), statusCell(document, metric)]));
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
  lines.push('', ...(vision.referenceSets.builtin ? describeBuiltinSets(vision.referenceSets.builtin).flatMap((line) => [escapeMarkdownText(line), '']) : []), '</details>');
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
    `Each change is shown with its ${confidence} interval; a \`max_bias_increase\` gate tests Δ \\|score − 50\\|.`,
    '',
    `| metric | n | base | head | Δ head − base [${confidence}] | Δ \\|score − 50\\| [${confidence}] | McNemar p | status |`,
    '|---|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const metric of language.metrics.filter((m) => isHeadlineLanguageMetric(m.name))) {
    const withInterval = (value: number | null, interval: LanguageDocument['metrics'][number]['deltaInterval']) => (value === null ? '—' : `${formatSigned(value)} ${formatInterval(interval)}`);
    lines.push(row([
      escapeTableCell(languageMetricLabel(metric.name)), escapeTableCell(formatSize(metric.size)), formatOptional(metric.base), formatOptional(metric.head),
      withInterval(metric.delta, metric.deltaInterval), withInterval(metric.biasChange, metric.biasChangeInterval ?? null), formatOptional(metric.mcnemarP), statusCell(document, metric.name, metric.mcnemarP),
    ]));
  }
  if (language.transfer) {
    lines.push('', `#### Cross-domain transfer (target: ${escapeMarkdownText(language.transfer.target)})`, '', `> ${escapeMarkdownText(language.transfer.summary)}`, '', `| domain | metric | base | head | Δ \\|score − 50\\| | ${confidence} interval | McNemar p | moved |`, '|---|---|---:|---:|---:|---|---:|---|');
    for (const domain of language.transfer.rows) {
      lines.push(row([escapeTableCell(domain.domain), escapeTableCell(languageMetricLabel(domain.metric)), formatOptional(domain.base), formatOptional(domain.head), formatSigned(domain.biasChange.value), formatInterval(domain.biasChange.interval), formatOptional(domain.pValue), domain.direction === 'target' ? '**target**' : describeTransferDirection(domain)]));
    }
  }
  lines.push('', '<details><summary>Audit: language models, benchmark data and skipped items</summary>', '', '| artifact | path or source | sha256 | notes |', '|---|---|---|---|');
  for (const model of [language.models.base, language.models.head]) {
    if (!model) continue;
    for (const file of model.files) lines.push(row([`${escapeTableCell(model.role)} model`, cellCode(`${model.path}/${file.name}`), cellCode(file.sha256), `${formatOptional(file.bytes)} bytes`]));
  }
  for (const run of language.benchmarks) {
    const screen = describePrecision(run.precision, language.models.base !== null);
    const notes = [`${run.data.items} items`, `${run.data.skippedRows.length} rows skipped`, `${run.skippedItems.head.length} items not scored`, ...Object.entries(run.settings).map(([key, value]) => `${key} ${String(value)}`), ...(screen ? [screen] : [])];
    lines.push(row([escapeTableCell(run.name), `${cellCode(run.data.location)}${run.data.revision ? ` @ ${escapeTableCell(run.data.revision)}` : ''}`, cellCode(run.data.sha256), escapeTableCell(notes.join(', '))]));
  }
  lines.push('', '</details>');
  return lines;
}
