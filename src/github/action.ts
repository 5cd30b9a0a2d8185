import * as core from '@actions/core';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { materializeBaseTree, resolveBaseCommit } from '../artifacts/git.ts';
import { parseShard, type Shard } from '../artifacts/item-scoring.ts';
import { directoryResultCache, parseResultsJson, stringifyResults } from '../artifacts/result-cache.ts';
import { loadConfig } from '../config/load.ts';
import { InputError } from '../errors.ts';
import { mergeShards, runBiasGate, scoreShard, type PartialResult } from '../pipeline.ts';
import { buildReportDocument, serializeReportDocument } from '../report/json.ts';
import { renderMarkdown } from '../report/markdown.ts';
import { readRunContext, type RunContext } from './context.ts';
import { postReportComment, publishBundle, REPORT_BUNDLE_FORMAT, type ReportBundleMeta } from './publish-bundle.ts';
import { annotate, oneLineSummary, writeJobSummary } from './publish.ts';
import { restoreResultCache, saveResultCache } from './results-cache-store.ts';

/** The Action's inputs (action.yml). */
export interface ActionInputs {
  config: string;
  githubToken: string;
  baseRef: string | undefined;
  comment: 'update' | 'recreate' | 'off';
  failOn: 'fail' | 'warn' | 'never';
  workingDirectory: string;
  /** Fork-safe publishing (workflow_run events only): a report bundle to comment from, scoring nothing. */
  publishReport: string | undefined;
  /** Score only this shard and write a partial result. */
  shard: Shard | undefined;
  /** Merge the partial results in this directory instead of scoring. */
  mergePartials: string | undefined;
}

export function readInputs(): ActionInputs {
  const choice = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const value = (core.getInput(name) || fallback) as T;
    if (!allowed.includes(value)) throw new InputError(`input ${name}: "${value}" is not one of ${allowed.join(', ')}`);
    return value;
  };
  return {
    config: core.getInput('config') || 'thresholds.yaml',
    githubToken: core.getInput('github-token'),
    baseRef: core.getInput('base-ref') || undefined,
    comment: choice('comment', ['update', 'recreate', 'off'], 'update'),
    failOn: choice('fail-on', ['fail', 'warn', 'never'], 'fail'),
    workingDirectory: core.getInput('working-directory') || '.',
    publishReport: core.getInput('publish-report') || undefined,
    shard: core.getInput('shard') ? parseShard(core.getInput('shard'), 'input shard') : undefined,
    mergePartials: core.getInput('merge-partials') || undefined,
  };
}

/**
 * The Action: DESIGN §1 from inputs to published verdict. The engine is the
 * CLI's; this adds the base checkout from git, the result cache, the comment,
 * the summary, annotations, outputs and the exit status (`fail-on`).
 */
export async function runAction(): Promise<void> {
  const context = readRunContext();
  const temp = path.join(process.env.RUNNER_TEMP ?? os.tmpdir(), 'bias-gate');
  try {
    const inputs = readInputs();
    if (inputs.publishReport) {
      await publishBundle(inputs, context);
      return;
    }
    const workspace = path.resolve(process.env.GITHUB_WORKSPACE ?? process.cwd(), inputs.workingDirectory);
    const configFile = path.resolve(workspace, inputs.config);
    const config = await loadConfig(configFile);

    let baseRoot: string | undefined;
    if (inputs.baseRef || context.pullRequest) {
      const base = await resolveBaseCommit({ repoRoot: config.repoRoot, baseRef: inputs.baseRef, prBaseSha: context.pullRequest?.baseSha, log: core.info });
      core.info(`Base: ${base.how} (${base.sha}).`);
      baseRoot = path.join(temp, 'base');
      const paths = [config.vision?.model.repoRelative, config.language?.model.repoRelative].filter((p): p is string => !!p);
      const tree = await materializeBaseTree({ repoRoot: config.repoRoot, commit: base.sha, paths, targetDir: baseRoot, log: core.info });
      for (const missing of tree.missing) core.info(`${missing} does not exist at the base commit: the model is new and is scored alone.`);
    } else {
      core.info('No pull request and no base-ref: the head is scored alone.');
    }

    const resultsDir = path.join(temp, 'results');
    const runnerOs = process.env.RUNNER_OS ?? process.platform;
    const runId = process.env.GITHUB_RUN_ID ?? String(Date.now());
    await restoreResultCache(resultsDir, runnerOs, runId);
    const runOptions = {
      configFile,
      config,
      headRoot: config.repoRoot,
      baseRoot,
      cacheDir: path.join(temp, 'benchmarks'),
      resultCache: directoryResultCache(resultsDir, core.info),
      progress: core.info,
    };
    const bundle = path.join(temp, 'report');
    await mkdir(bundle, { recursive: true });
    if (inputs.shard) {
      // A shard scores its slice and hands it on; the merge job gates and publishes.
      const partial = await scoreShard(runOptions, inputs.shard);
      const file = path.join(bundle, `partial-${partial.shard.index}-of-${partial.shard.count}.json`);
      await writeFile(file, `${stringifyResults(partial)}\n`);
      core.setOutput('partial', file);
      core.setOutput('report-dir', bundle);
      core.setOutput('verdict', 'partial');
      core.setOutput('summary', `bias-gate: shard ${partial.shard.index}/${partial.shard.count} scored; merge all shards for the verdict`);
      return;
    }
    const report = inputs.mergePartials ? await mergeShards(runOptions, await readPartialDirectory(path.resolve(workspace, inputs.mergePartials))) : await runBiasGate(runOptions);
    await saveResultCache(resultsDir, runnerOs, runId);

    // The report bundle: what the fork-safe comment job needs, and nothing else.
    // The comment is rendered from the document, as the fork-safe job renders it from report.json.
    const document = buildReportDocument(report);
    const reportJson = path.join(bundle, 'report.json');
    await writeFile(reportJson, serializeReportDocument(document));
    const markdown = renderMarkdown(document);
    await writeFile(path.join(bundle, 'report.md'), markdown);
    if (context.pullRequest) {
      const meta: ReportBundleMeta = {
        format: REPORT_BUNDLE_FORMAT,
        pullRequest: context.pullRequest.number,
        headSha: context.pullRequest.headSha,
        runId,
        configPath: config.displayPath,
        job: context.job,
        verdict: report.verdict,
      };
      await writeFile(path.join(bundle, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    }
    core.setOutput('report-dir', bundle);
    await writeJobSummary(markdown, reportJson);
    annotate(report, configFile, config.repoRoot);

    const commentId =
      inputs.comment !== 'off' && context.pullRequest
        ? await comment(inputs, context, { pullRequest: context.pullRequest.number, configPath: config.displayPath, job: context.job, markdown })
        : '';

    core.setOutput('verdict', report.verdict);
    core.setOutput('report-json', reportJson);
    core.setOutput('comment-id', commentId);
    core.setOutput('summary', oneLineSummary(report));
    core.info(oneLineSummary(report));
    const failing = inputs.failOn === 'never' ? false : inputs.failOn === 'warn' ? report.verdict !== 'pass' : report.verdict === 'fail';
    if (failing) core.setFailed(`${oneLineSummary(report)}; fail-on is "${inputs.failOn}"`);
  } catch (error) {
    // No verdict: the step fails whatever fail-on says, so a broken config can never pass a gate.
    core.setOutput('verdict', 'error');
    if (error instanceof InputError) core.setFailed(`bias-gate: ${error.describe()}`);
    else core.setFailed(`bias-gate: internal error, no verdict: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
}

/** Posts (or updates) the sticky comment; '' when there is none (see {@link postReportComment}). */
async function comment(inputs: ActionInputs, context: RunContext, what: { pullRequest: number; configPath: string; job: string; markdown: string }): Promise<string> {
  return postReportComment({ token: inputs.githubToken, context, ...what, mode: inputs.comment });
}

/** Every `*.json` partial result in a directory (downloaded shard artifacts may sit in sub-directories). */
async function readPartialDirectory(directory: string): Promise<PartialResult[]> {
  const files = (await readdir(directory, { recursive: true })).filter((name) => name.endsWith('.json')).sort();
  if (files.length === 0) throw new InputError(`merge-partials: no partial results (*.json) in ${directory}`);
  return Promise.all(files.map(async (name) => parseResultsJson(await readFile(path.join(directory, name), 'utf8')) as PartialResult));
}

/** The name GitHub's @github/local-action looks for in an entrypoint. */
export const run = runAction;
