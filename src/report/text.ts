import { formatNumber } from '../gate/evaluate.ts';
import { describeBaseStatus } from '../artifacts/models.ts';
import type { LanguageRun } from '../language/run.ts';
import { describeTransferDirection } from '../language/transfer.ts';
import type { VisionRun } from '../vision/run.ts';
import { isHeadlineLanguageMetric, languageMetricLabel, metricRow } from './metric-rows.ts';
import { describeCounts, formatInterval, formatOptional, formatSigned, metricStatus, describeRule } from './summary.ts';
import { renderPolicyText } from './policy.ts';
import type { RunReport } from './types.ts';

/** The terminal report: the same content as the Markdown one, as aligned plain text. */
export function renderText(report: RunReport): string {
  const lines = [`${report.tool.name} ${report.tool.version} — verdict: ${report.verdict.toUpperCase()} (${describeCounts(report.verdicts)})`, `config: ${report.config.path}`, ''];
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
  return `${lines.join('\n').trimEnd()}\n`;
}

function renderVision(vision: VisionRun, report: RunReport): string[] {
  const { scores, models } = vision;
  const confidence = `${Math.round(vision.settings.bootstrap.confidence * 100)}%`;
  const status = (metric: string) => metricStatus(report.verdicts, metric) ?? '-';
  const rows: string[][] = [
    ...scores.bts.map((bts) => [`bts.${bts.list} (n=${bts.n})`, formatOptional(bts.base?.rho), formatNumber(bts.head.rho), formatSigned(bts.change?.value ?? null), formatInterval(bts.head.interval), status(`bts.${bts.list}`)]),
    ...scores.gaps.map((gap) => [
      `gap.${gap.object}`,
      formatSigned(gap.base?.value ?? null),
      formatSigned(gap.head.value),
      formatSigned(gap.base ? gap.head.value - gap.base.value : null),
      formatInterval(gap.head.interval),
      `${status(`gap.${gap.object}`)}${gap.signFlip ? ' (new association: sign flip)' : ''}`,
    ]),
    ...scores.ieat.map((test) => [`ieat.${test.name} d`, formatOptional(test.base?.effectSize), `${formatNumber(test.head.effectSize)} (p=${formatNumber(test.head.pValue)})`, formatSigned(test.base ? test.head.effectSize - test.base.effectSize : null), '-', status(`ieat.${test.name}`)]),
  ];
  return [
    'Vision: Bias Transfer Score',
    `  pretrained ${models.pretrained.path} -> fine-tuned ${models.head.path}; base: ${describeBaseStatus(vision.baseStatus)}; estimator ${scores.estimator}`,
    ...table(['metric', 'base', 'head', 'delta', `${confidence} interval (head)`, 'status'], rows),
    '',
  ];
}

function renderLanguage(language: LanguageRun, report: RunReport): string[] {
  const confidence = `${Math.round(language.settings.bootstrap.confidence * 100)}%`;
  const rows = language.metrics
    .filter((metric) => isHeadlineLanguageMetric(metric.name))
    .map((metric) => {
      const row = metricRow(metric, language.settings.bootstrap.confidence);
      return [languageMetricLabel(metric.name), formatOptional(row.base), formatNumber(row.head), formatSigned(row.delta), formatSigned(row.biasChange), formatInterval(row.interval), formatOptional(row.changePValue), metricStatus(report.verdicts, metric.name) ?? '-'];
    });
  const lines = [
    'Language: bias benchmarks',
    `  model ${language.models.head.path} (${language.kind}, scoring ${language.scoring}); base: ${describeBaseStatus(language.baseStatus)}`,
    ...table(['metric', 'base', 'head', 'delta', 'delta |s-50|', `${confidence} interval (delta)`, 'McNemar p', 'status'], rows),
    '',
  ];
  if (language.transfer) {
    lines.push(`Cross-domain transfer (target: ${language.transfer.target})`, `  ${language.transfer.summary}`);
    lines.push(...table(['domain', 'metric', 'base', 'head', 'delta |s-50|', 'interval', 'McNemar p', 'moved'], language.transfer.rows.map((row) => [
      row.domain, languageMetricLabel(row.metric), formatNumber(row.base), formatNumber(row.head), formatSigned(row.biasChange.value), formatInterval(row.biasChange.interval), formatOptional(row.pValue), describeTransferDirection(row),
    ])), '');
  }
  for (const run of language.benchmarks) {
    const skipped = run.data.skippedRows.length + run.skippedItems.head.length;
    lines.push(`  ${run.name}: ${run.data.items} items from ${run.data.location} (sha256 ${run.data.sha256.slice(0, 12)}…)${skipped > 0 ? `, ${run.data.skippedRows.length} rows skipped, ${run.skippedItems.head.length} items not scored` : ''}`);
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
