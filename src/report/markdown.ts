import type { Verdict, VerdictStatus } from '../gate/evaluate.ts';
import { formatNumber } from '../gate/evaluate.ts';
import { describeBaseStatus } from '../artifacts/models.ts';
import type { LanguageRun } from '../language/run.ts';
import type { VisionRun } from '../vision/run.ts';
import { isHeadlineLanguageMetric, languageMetricLabel, metricRow } from './metric-rows.ts';
import { delta, describeCounts, describeRule, formatInterval, formatOptional, formatSigned, metricStatus } from './summary.ts';
import { renderPolicyMarkdown } from './policy.ts';
import type { RunReport } from './types.ts';

const STATUS_ICON: Record<VerdictStatus, string> = { pass: '✅ pass', fail: '❌ fail', warn: '⚠️ warn', skipped: '⏭️ skipped' };
const VERDICT_HEADLINE = { pass: '✅ bias-gate: pass', warn: '⚠️ bias-gate: pass with warnings', fail: '❌ bias-gate: fail' } as const;

/**
 * The PR comment and job summary (DESIGN §1.5): verdict first, then a table
 * per model family, a chart of the per-object gaps, details folded away.
 */
export function renderMarkdown(report: RunReport): string {
  const parts = [
    `## ${VERDICT_HEADLINE[report.verdict]}`,
    '',
    `${describeCounts(report.verdicts)} — config \`${report.config.path}\`, ${report.tool.name} ${report.tool.version}`,
    '',
    ...renderChecks(report.verdicts),
    ...renderPolicyMarkdown(report.policy, renderChecks),
    ...(report.vision ? renderVision(report.vision, report) : []),
    ...(report.language ? renderLanguage(report.language, report) : []),
  ];
  return `${parts.join('\n').trimEnd()}\n`;
}

function renderChecks(verdicts: readonly Verdict[]): string[] {
  if (verdicts.length === 0) return ['No gates are configured: scores are reported, nothing is enforced.', ''];
  const rows = verdicts.map((v) =>
    row([STATUS_ICON[v.status], `\`${v.metric}\``, describeRule(v), formatOptional(v.compared), formatInterval(v.interval), escapeCell(v.reason)]),
  );
  return ['| status | metric | rule | value | interval | why |', '|---|---|---|---:|---|---|', ...rows, ''];
}

function renderVision(vision: VisionRun, report: RunReport): string[] {
  const { scores, models } = vision;
  const confidence = `${Math.round(vision.settings.bootstrap.confidence * 100)}%`;
  const lines = [
    '### Vision: Bias Transfer Score',
    '',
    `Pretrained \`${models.pretrained.path}\` → fine-tuned \`${models.head.path}\`; base: ${vision.baseStatus === 'scored' ? 'scored' : describeBaseStatus(vision.baseStatus)}. Estimator \`${scores.estimator}\`.`,
    '',
    `| metric | base | head | Δ head − base | ${confidence} interval (head) | status |`,
    '|---|---:|---:|---:|---|---|',
  ];
  for (const bts of scores.bts) {
    const status = metricStatus(report.verdicts, `bts.${bts.list}`);
    lines.push(row([`BTS \`${bts.list}\` (n=${bts.n})`, formatOptional(bts.base?.rho), formatNumber(bts.head.rho), formatSigned(bts.change?.value ?? null), formatInterval(bts.head.interval), status ? STATUS_ICON[status] : '—']));
  }
  for (const gap of scores.gaps) {
    const status = metricStatus(report.verdicts, `gap.${gap.object}`);
    const flag = gap.signFlip ? ' · new association (sign flip)' : '';
    lines.push(row([`gap \`${gap.object}\``, formatSigned(gap.base?.value ?? null), formatSigned(gap.head.value), formatSigned(delta({ head: gap.head.value, base: gap.base?.value ?? null })), formatInterval(gap.head.interval), `${status ? STATUS_ICON[status] : '—'}${flag}`]));
  }
  for (const test of scores.ieat) {
    const status = metricStatus(report.verdicts, `ieat.${test.name}`);
    lines.push(row([`iEAT \`${test.name}\` d (p)`, test.base ? `${formatNumber(test.base.effectSize)} (${formatNumber(test.base.pValue)})` : '—', `${formatNumber(test.head.effectSize)} (${formatNumber(test.head.pValue)})`, formatSigned(test.base ? test.head.effectSize - test.base.effectSize : null), '—', status ? STATUS_ICON[status] : '—']));
  }
  lines.push('', ...renderGapChart(vision), '', ...renderVisionDetails(vision));
  return lines;
}

/** A Mermaid bar chart of G(O): bars for the head, a line for the base (or the pretrained model when there is none). */
function renderGapChart(vision: VisionRun): string[] {
  const gaps = vision.scores.gaps;
  const reference = gaps.every((gap) => gap.base) ? 'base' : 'pretrained';
  const referenceValues = gaps.map((gap) => (reference === 'base' ? gap.base!.value : gap.pretrained.value));
  const values = [...gaps.map((gap) => gap.head.value), ...referenceValues];
  const bound = Math.max(0.01, ...values.map(Math.abs));
  const axis = Number((bound * 1.1).toPrecision(2));
  const list = (numbers: number[]) => `[${numbers.map((n) => Number(n.toFixed(4))).join(', ')}]`;
  return [
    '```mermaid',
    'xychart-beta',
    `    title "Gender gap G(O) = inter(O, man) − inter(O, woman): bars head, line ${reference}"`,
    `    x-axis [${gaps.map((gap) => JSON.stringify(gap.object)).join(', ')}]`,
    `    y-axis "G(O)" ${-axis} --> ${axis}`,
    `    bar ${list(gaps.map((gap) => gap.head.value))}`,
    `    line ${list(referenceValues)}`,
    '```',
  ];
}

function renderVisionDetails(vision: VisionRun): string[] {
  const lines: string[] = [];
  for (const list of vision.scores.itemLists) {
    lines.push(`<details><summary>Similarity items: <code>${list.list}</code> list (n=${list.n})</summary>`, '', '| item | pretrained | base | head |', '|---|---:|---:|---:|');
    for (const item of list.items) lines.push(row([item.label, formatNumber(item.pretrained), formatOptional(item.base), formatNumber(item.head)]));
    lines.push('', '</details>', '');
  }
  lines.push('<details><summary>Gender gaps per model, with bootstrap intervals</summary>', '', '| object | pretrained | base | head | |head| − |base| |', '|---|---:|---:|---:|---:|');
  for (const gap of vision.scores.gaps) {
    const cell = (estimate: { value: number; interval: { low: number; high: number } | null } | null) => (estimate ? `${formatSigned(estimate.value)} ${formatInterval(estimate.interval)}` : '—');
    lines.push(row([gap.object, cell(gap.pretrained), cell(gap.base), cell(gap.head), cell(gap.magnitudeChange)]));
  }
  lines.push('', '</details>', '');
  lines.push('<details><summary>Audit: models and reference data</summary>', '', '| artifact | path | sha256 |', '|---|---|---|');
  for (const model of [vision.models.pretrained, vision.models.base, vision.models.head]) {
    if (model) lines.push(row([`${model.role} model`, `\`${model.path}\``, `\`${model.sha256}\``]));
  }
  lines.push(row(['reference sets', `\`${vision.referenceSets.source}\` (${vision.referenceSets.sets.map((set) => `${set.name}: ${set.images}`).join(', ')})`, `\`${vision.referenceSets.sha256}\``]));
  lines.push('', '</details>');
  return lines;
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function renderLanguage(language: LanguageRun, report: RunReport): string[] {
  const confidence = `${Math.round(language.settings.bootstrap.confidence * 100)}%`;
  const lines = [
    '',
    '### Language: bias benchmarks',
    '',
    `Model \`${language.models.head.path}\` (${language.kind}, scoring \`${language.scoring}\`); base: ${language.baseStatus === 'scored' ? 'scored' : describeBaseStatus(language.baseStatus)}.`,
    '',
    `| metric | base | head | Δ head − base | Δ \\|score − 50\\| | ${confidence} interval (Δ) | McNemar p | status |`,
    '|---|---:|---:|---:|---:|---|---:|---|',
  ];
  for (const metric of language.metrics.filter((m) => isHeadlineLanguageMetric(m.name))) {
    const values = metricRow(metric, language.settings.bootstrap.confidence);
    const status = metricStatus(report.verdicts, metric.name);
    lines.push(row([languageMetricLabel(metric.name), formatOptional(values.base), formatNumber(values.head), formatSigned(values.delta), formatSigned(values.biasChange), formatInterval(values.interval), formatOptional(values.changePValue), status ? STATUS_ICON[status] : '—']));
  }
  if (language.transfer) {
    lines.push('', `#### Cross-domain transfer (target: ${language.transfer.target})`, '', `> ${language.transfer.summary}`, '', `| domain | metric | base | head | Δ \\|score − 50\\| | ${confidence} interval | McNemar p | moved |`, '|---|---|---:|---:|---:|---|---:|---|');
    const moved = { target: '**target**', with: 'with the target', against: 'against the target', unclear: 'no clear change' } as const;
    for (const domain of language.transfer.rows) {
      lines.push(row([domain.domain, languageMetricLabel(domain.metric), formatNumber(domain.base), formatNumber(domain.head), formatSigned(domain.biasChange.value), formatInterval(domain.biasChange.interval), formatOptional(domain.pValue), moved[domain.direction]]));
    }
  }
  lines.push('', '<details><summary>Audit: language models, benchmark data and skipped items</summary>', '', '| artifact | path or source | sha256 | notes |', '|---|---|---|---|');
  for (const model of [language.models.base, language.models.head]) {
    if (!model) continue;
    for (const file of model.files) lines.push(row([`${model.role} model`, `\`${model.path}/${file.name}\``, `\`${file.sha256}\``, `${file.bytes} bytes`]));
  }
  for (const run of language.benchmarks) {
    const notes = [`${run.data.items} items`, `${run.data.skippedRows.length} rows skipped`, `${run.skippedItems.head.length} items not scored`, ...Object.entries(run.settings).map(([key, value]) => `${key} ${String(value)}`)];
    lines.push(row([run.name, `\`${run.data.location}\`${run.data.revision ? ` @ ${run.data.revision}` : ''}`, `\`${run.data.sha256}\``, notes.join(', ')]));
  }
  lines.push('', '</details>');
  return lines;
}
