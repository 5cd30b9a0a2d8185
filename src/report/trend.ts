import { metricTrends, sparkline, type MetricTrend } from '../history/history.ts';
import type { ReportDocument } from './json.ts';
import { codeSpan } from './markdown-escape.ts';
import { formatOptional, formatSigned } from './summary.ts';

/** The trend rows every report format shows: one per gated metric, from the document's history. */
export function documentTrends(document: ReportDocument): MetricTrend[] {
  return document.history ? metricTrends(document, document.history) : [];
}

/** "last 12 default-branch runs (`history/thresholds-yaml.json` on `bias-gate-data`)" */
function describeHistory(history: NonNullable<ReportDocument['history']>): string {
  return `${history.entries.length} default-branch run${history.entries.length === 1 ? '' : 's'} (${codeSpan(history.path)} on ${codeSpan(history.branch)})`;
}

/**
 * The PR comment's trend section (issue 12): each gated metric's value in this run beside the last
 * merges, as a sparkline (oldest → newest) and the last merged value. Empty when history is off.
 */
export function renderTrendMarkdown(document: ReportDocument): string[] {
  const history = document.history;
  if (!history) return [];
  const lines = ['', '### Trend across merges', ''];
  if (history.entries.length === 0) return [...lines, `No default-branch run is recorded yet on ${codeSpan(history.branch)}: the first merge starts the history.`, ''];
  const trends = documentTrends(document);
  if (trends.length === 0) return [...lines, `No gates are configured; the history holds ${describeHistory(history)}.`, ''];
  lines.push(`This run beside the last ${describeHistory(history)}, oldest → newest.`, '', '| metric | last merges | range | last merge | this run | Δ vs last merge |', '|---|---|---:|---:|---:|---:|');
  for (const trend of trends) {
    const values = trend.merged.map((point) => point.value);
    const present = values.filter((value): value is number => value !== null);
    const range = present.length === 0 ? '—' : `${formatOptional(Math.min(...present))} – ${formatOptional(Math.max(...present))}`;
    const change = trend.current === null || trend.last === null ? null : trend.current - trend.last;
    // The sparkline (block characters and `·`) and the numbers are not Markdown: only the metric's name needs escaping.
    lines.push(`| ${codeSpan(trend.metric, 'table-cell')} | ${sparkline(values)} | ${range} | ${formatOptional(trend.last)} | ${formatOptional(trend.current)} | ${formatSigned(change)} |`);
  }
  lines.push('');
  return lines;
}
