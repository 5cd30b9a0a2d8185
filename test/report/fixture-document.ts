/**
 * The report document of the repository's own fixtures (vision and language, base and head: every
 * table and chart of the HTML report has rows), with a synthetic history of three merges.
 */
import { historyEntry, type HistoryRecord } from '../../src/history/history.ts';
import { runBiasGate } from '../../src/pipeline.ts';
import { buildReportDocument, type ReportDocument } from '../../src/report/json.ts';
import { repoPath } from '../helpers.ts';

let cached: Promise<ReportDocument> | undefined;

/** The fixtures' document (scored once per test file). */
export function fixtureDocument(): Promise<ReportDocument> {
  cached ??= runBiasGate({ configFile: repoPath('thresholds.yaml'), baseRoot: repoPath('fixtures/base') }).then(buildReportDocument);
  return cached;
}

/** Three earlier merges of the same config: every gated metric a little away from this run's value. */
export function syntheticHistory(document: ReportDocument): HistoryRecord {
  const entries = [0.9, 0.95, 0.98].map((factor, index) => {
    const shifted = { ...document, verdicts: document.verdicts.map((verdict) => ({ ...verdict, head: verdict.head === null ? null : verdict.head * factor })) };
    return historyEntry({ ...shifted, vision: null, language: null }, { sha: String(index + 1).repeat(40), date: `2026-01-0${index + 1}T12:00:00+00:00` });
  });
  return { branch: 'bias-gate-data', path: 'history/thresholds-yaml.json', entries };
}
