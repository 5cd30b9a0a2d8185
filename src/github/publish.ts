import * as core from '@actions/core';
import path from 'node:path';
import type { Verdict } from '../gate/evaluate.ts';
import { describeCounts } from '../report/summary.ts';
import type { RunReport } from '../report/types.ts';

/** GitHub's limit on a job summary: 1 MiB per step. */
export const JOB_SUMMARY_LIMIT_BYTES = 1024 * 1024;

/** One line for the `summary` output and the notice annotation. */
export function oneLineSummary(report: RunReport): string {
  return `bias-gate: ${report.verdict} (${describeCounts(report.verdicts)})`;
}

/** Writes the full Markdown report to the job summary, cut at GitHub's limit with a pointer to the JSON report. */
export async function writeJobSummary(markdown: string, reportJsonPath: string): Promise<void> {
  const note = `\n\n_The report was cut at GitHub's 1 MiB summary limit; the full record is ${reportJsonPath}._\n`;
  let body = markdown;
  if (Buffer.byteLength(body) > JOB_SUMMARY_LIMIT_BYTES) {
    body = Buffer.from(body).subarray(0, JOB_SUMMARY_LIMIT_BYTES - Buffer.byteLength(note) - 4).toString('utf8').replace(/\uFFFD$/, '') + note;
  }
  await core.summary.addRaw(body).write();
}

/**
 * A notice with the verdict, and an annotation on the thresholds.yaml line of
 * every failing (error) or warning (warning) gate, so the PR's Files view
 * points at the threshold that stopped it.
 */
export function annotate(report: RunReport, configFile: string, repoRoot: string): void {
  core.notice(oneLineSummary(report), { title: 'bias-gate' });
  const file = path.relative(repoRoot, configFile).split(path.sep).join('/');
  // Gate lines are lines of the config in force; they point into the PR's file only when it is that text.
  const linesMatch = report.policy.head?.sha256 === report.config.sha256;
  for (const verdict of report.verdicts) {
    const title = `bias-gate: ${verdict.metric} ${verdict.rule}`;
    const properties = linesMatch ? { file, startLine: verdict.line, title } : { title };
    if (verdict.status === 'fail') core.error(annotationText(verdict), properties);
    if (verdict.status === 'warn') core.warning(annotationText(verdict), properties);
  }
}

function annotationText(verdict: Verdict): string {
  return `${verdict.metric}: ${verdict.reason}`;
}
