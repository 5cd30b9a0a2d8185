import { formatNumber } from '../gate/evaluate.ts';
import { describeBaseStatus } from '../artifacts/models.ts';
import type { LanguageRun } from '../language/run.ts';
import { describeTransferDirection } from '../language/transfer.ts';
import type { VisionRun } from '../vision/run.ts';
import { isHeadlineLanguageMetric, languageMetricLabel, metricRow } from './metric-rows.ts';
import type { Interval } from '../scores.ts';
import { preprocessWarnings } from '../vision/preprocess-warnings.ts';
import { glossaryEntries } from './glossary.ts';
import { buildReportDocument } from './json.ts';
import { formatSize, rowInterval, setSizes, statusNote, worstVerdict } from './row-notes.ts';
import { describeCounts, formatInterval, formatOptional, formatSigned, describeRule } from './summary.ts';
import { renderPolicyText } from './policy.ts';
import { describeBuiltinSets } from './reference-sets.ts';
import { describeRuntime } from './runtime.ts';
import type { RunReport } from './types.ts';
import { describePrecision } from '../language/int8-screen.ts';

/** The terminal report: the same content as the Markdown one, as aligned plain text. */
export function renderText(report: RunReport): string {
  const lines = [`${report.tool.name} ${report.tool.version} — verdict: ${report.verdict.toUpperCase()} (${describeCounts(report.verdicts)})`, `config: ${report.config.path}`];
  const runtime = describeRuntime(report.runtime);
  if (runtime !== undefined) lines.push(`runtime: ${runtime}`);
  lines.push('');
  if (report.verdicts.length > 0) {
    lines.push('Checks');
    lines.push(...table(
      ['status', 'metric', 'rule', 'value', 'interval', 'why'],
      report.verdicts.map((v) => [v.status.toUpperCase(), v.metric, describeRule(v), formatOptional(v.compared), formatInterval(v.interval), v.reason]),
    ), '');
  }
  lines.push(...renderPolicyText(report.policy));
  if (report.vision) lines.push(...renderVision(report.vision, report));
  if (report.language) lines.push(...renderLanguage(report.language, report));
  lines.push(...renderGlossary(report));
  return `${lines.join('\n').trimEnd()}\n`;
}

/** The glossary (issue 11): the same entries as the Markdown report's, wrapped for a terminal. */
function renderGlossary(report: RunReport): string[] {
  const entries = glossaryEntries(buildReportDocument(report));
  if (entries.length === 0) return [];
  return ['Glossary', ...entries.flatMap((entry) => wrap(`${entry.term}: ${entry.meaning}`, 100).map((line, k) => `${k === 0 ? '  ' : '      '}${line}`)), ''];
}

/** Words of `text` in lines of at most `width` characters (a longer word stands alone). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(' ')) {
    if (current && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else current = current ? `${current} ${word}` : word;
  }
  return current ? [...lines, current] : lines;
}

/** A row's status: the worst check of the metric, with why where the numbers could seem to disagree. */
function statusText(report: RunReport, metric: string, mcnemarP: number | null = null): string {
  const verdict = worstVerdict(report.verdicts, metric);
  if (!verdict) return '-';
  const note = statusNote(verdict, mcnemarP);
  return `${verdict.status}${note ? ` (${note})` : ''}`;
}

function renderVision(vision: VisionRun, report: RunReport): string[] {
  const { scores, models } = vision;
  const confidence = `${Math.round(vision.settings.bootstrap.confidence * 100)}%`;
  const sets = vision.referenceSets.sets;
  const interval = (metric: string, head: Interval | null) => rowInterval(worstVerdict(report.verdicts, metric), head, 'head');
  const gapMax = worstVerdict(report.verdicts, 'gap.max');
  const rows: string[][] = [
    ...scores.bts.map((bts) => [`bts.${bts.list}`, `${bts.n} items`, formatOptional(bts.base?.rho), formatNumber(bts.head.rho), formatSigned(bts.change?.value ?? null), interval(`bts.${bts.list}`, bts.head.interval), statusText(report, `bts.${bts.list}`)]),
    ...scores.gaps.map((gap) => [
      `gap.${gap.object}`,
      setSizes(sets, [gap.object, 'man', 'woman'], ['O', 'man', 'woman']),
      formatSigned(gap.base?.value ?? null),
      formatSigned(gap.head.value),
      formatSigned(gap.base ? gap.head.value - gap.base.value : null),
      interval(`gap.${gap.object}`, gap.head.interval),
      `${statusText(report, `gap.${gap.object}`)}${gap.signFlip ? ' (new association: sign flip)' : ''}`,
    ]),
    ...(gapMax ? [['gap.max (largest |G|)', '-', formatOptional(gapMax.base), formatOptional(gapMax.head), formatSigned(gapMax.base === null || gapMax.head === null ? null : gapMax.head - gapMax.base), interval('gap.max', null), statusText(report, 'gap.max')]] : []),
    ...scores.ieat.map((test) => [`ieat.${test.name} d`, setSizes(sets, ['man', 'woman', ...test.attributes], ['man', 'woman', ...test.attributes]), formatOptional(test.base?.effectSize), `${formatNumber(test.head.effectSize)} (p=${formatNumber(test.head.pValue)})`, formatSigned(test.base ? test.head.effectSize - test.base.effectSize : null), interval(`ieat.${test.name}`, null), statusText(report, `ieat.${test.name}`)]),
  ];
  return [
    'Vision: Bias Transfer Score',
    `  pretrained ${models.pretrained.path} -> fine-tuned ${models.head.path}; base: ${describeBaseStatus(vision.baseStatus)}; estimator ${scores.estimator}`,
    ...(vision.referenceSets.builtin ? describeBuiltinSets(vision.referenceSets.builtin).map((line) => `  ${line}`) : []),
    ...preprocessWarnings(vision.settings.preprocess).map((warning) => `  WARNING: ${warning}`),
    ...table(['metric', 'n', 'base', 'head', 'delta', `${confidence} interval`, 'status'], rows),
    '',
  ];
}

function renderLanguage(language: LanguageRun, report: RunReport): string[] {
  const confidence = `${Math.round(language.settings.bootstrap.confidence * 100)}%`;
  const withInterval = (value: number | null, interval: Interval | null) => (value === null ? '—' : `${formatSigned(value)} ${formatInterval(interval)}`);
  const rows = language.metrics
    .filter((metric) => isHeadlineLanguageMetric(metric.name))
    .map((metric) => {
      const row = metricRow(metric, language.settings.bootstrap.confidence);
      return [languageMetricLabel(metric.name), formatSize(row.size), formatOptional(row.base), formatNumber(row.head), withInterval(row.delta, row.interval), withInterval(row.biasChange, row.biasChangeInterval), formatOptional(row.changePValue), statusText(report, metric.name, row.changePValue)];
    });
  const lines = [
    'Language: bias benchmarks',
    `  model ${language.models.head.path} (${language.kind}, scoring ${language.scoring}); base: ${describeBaseStatus(language.baseStatus)}`,
    `  each change with its ${confidence} interval; max_bias_increase gates delta |s-50|`,
    ...table(['metric', 'n', 'base', 'head', 'delta', 'delta |s-50|', 'McNemar p', 'status'], rows),
    '',
  ];
  if (language.transfer) {
    lines.push(`Cross-domain transfer (target: ${language.transfer.target})`, `  ${language.transfer.summary}`);
    lines.push(...table(['domain', 'metric', 'base', 'head', 'delta |s-50|', `${confidence} interval`, 'McNemar p', 'moved'], language.transfer.rows.map((row) => [
      row.domain, languageMetricLabel(row.metric), formatNumber(row.base), formatNumber(row.head), formatSigned(row.biasChange.value), formatInterval(row.biasChange.interval), formatOptional(row.pValue), describeTransferDirection(row),
    ])), '');
  }
  for (const run of language.benchmarks) {
    const skipped = run.data.skippedRows.length + run.skippedItems.head.length;
    lines.push(`  ${run.name}: ${run.data.items} items from ${run.data.location} (sha256 ${run.data.sha256.slice(0, 12)}…)${skipped > 0 ? `, ${run.data.skippedRows.length} rows skipped, ${run.skippedItems.head.length} items not scored` : ''}`);
    const screen = describePrecision(run.precision, language.models.base !== null);
    if (screen) lines.push(`    ${screen}`);
  }
  lines.push('');
  return lines;
}

/** Left-aligned columns separated by two spaces, indented by two. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((r) => (r[column] ?? '').length)));
  const format = (cells: string[]) => `  ${cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')}`.trimEnd();
  return [format(header), ...rows.map(format)];
}
