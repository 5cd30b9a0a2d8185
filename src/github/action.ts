import * as core from '@actions/core';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gitBaseSide, type BaseSide } from '../artifacts/base-side.ts';
import { resolveBaseCommit } from '../artifacts/git.ts';
import { runnerRecord, toolchainVersions } from '../runtime/versions.ts';
import { changedGateWorkflows } from '../artifacts/workflow-changes.ts';
import { parseShard, type Shard } from '../artifacts/item-scoring.ts';
import { directoryResultCache, parseResultsJson, stringifyResults } from '../artifacts/result-cache.ts';
import { pruneResultCache } from '../artifacts/result-cache-prune.ts';
import { parseProviderList } from '../runtime/providers.ts';
import { findRepositoryRoot, toRepoRelative } from '../config/paths.ts';
import { readConfigState } from '../policy/decide.ts';
import type { PolicyApproval } from '../policy/types.ts';
import type { RunEnvironment } from '../report/types.ts';
import { InputError, messageOf } from '../errors.ts';
import { mergeShards, runBiasGate, scoreShard, type PartialResult } from '../pipeline.ts';
import { buildReportDocument, serializeReportDocument, type ReportDocument } from '../report/json.ts';
import { renderHtml } from '../report/html.ts';
import { renderMarkdown } from '../report/markdown.ts';
import { renderAttestation } from '../report/attestation.ts';
import { renderModelCard } from '../report/model-card.ts';
import { renderReleaseNotes } from '../report/release-notes.ts';
import { DEFAULT_HISTORY_LENGTH, historyEntry, historyFilePath, type HistoryRecord } from '../history/history.ts';
import { appendHistory, basicAuthHeader, commitIdentity, readHistory, type HistoryLocation } from '../history/store.ts';
import { createGitHubClient } from './client.ts';
import { readRunContext, type RunContext } from './context.ts';
import { labelApproval } from './policy-approval.ts';
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
  /** Whose config sets the gates: `base` (default) or `head` (the config is protected another way). */
  policySource: 'base' | 'head';
  /** A label that, added by a user with write or admin permission, accepts the PR's policy early. */
  policyApprovalLabel: string | undefined;
  /** Execution providers in place of the config's `runtime.providers` (`cuda, cpu` on a GPU runner). */
  providers: string[] | undefined;
  /** The data branch of the history across merges (e.g. `bias-gate-data`); undefined: history is off. */
  historyBranch: string | undefined;
  /** How many default-branch runs the history keeps (and the comment and HTML report show). */
  historyLength: number;
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
    policySource: choice('policy-source', ['base', 'head'], 'base'),
    policyApprovalLabel: core.getInput('policy-approval-label') || undefined,
    providers: core.getInput('providers') ? parseProviderList(core.getInput('providers'), 'input providers') : undefined,
    historyBranch: core.getInput('history-branch') || undefined,
    historyLength: positiveIntegerInput('history-length', DEFAULT_HISTORY_LENGTH),
  };
}

function positiveIntegerInput(name: string, fallback: number): number {
  const text = core.getInput(name);
  if (text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new InputError(`input ${name}: "${text}" is not a positive integer`);
  return value;
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
    const repoRoot = findRepositoryRoot(configFile);
    const configPath = toRepoRelative(repoRoot, configFile) || path.basename(configFile);
    const head = await readConfigState(configFile, repoRoot, configPath);

    let base: BaseSide | undefined;
    let workflowChanges: string[] = [];
    let mergeBase: string | null = null;
    if (inputs.baseRef || context.pullRequest) {
      const commit = await resolveBaseCommit({ repoRoot, baseRef: inputs.baseRef, prBaseSha: context.pullRequest?.baseSha, log: core.info });
      core.info(`Base: ${commit.how} (${commit.sha}).`);
      mergeBase = commit.sha;
      base = await gitBaseSide({ repoRoot, commit: commit.sha, configPath, head, targetDir: path.join(temp, 'base'), log: core.info });
      core.info(base.config.status === 'found' ? `Policy: the base branch's ${configPath} at ${commit.sha} applies.` : `Policy: the base branch has no valid ${configPath}; the pull request's config applies.`);
      workflowChanges = await changedGateWorkflows(repoRoot, commit.sha);
    } else {
      core.info('No pull request and no base-ref: the head is scored alone.');
    }
    const approval = await policyApproval(inputs, context);
    const resultsDir = path.join(temp, 'results');
    const runnerOs = process.env.RUNNER_OS ?? process.platform;
    // Actions cache keys are immutable: every job that saves (each shard, the merge, a re-run) needs its own.
    const runId = `${process.env.GITHUB_RUN_ID ?? String(Date.now())}-${process.env.GITHUB_RUN_ATTEMPT ?? '1'}`;
    const saveResults = async (suffix: string) => {
      await pruneResultCache(resultsDir, { log: core.info });
      await saveResultCache(resultsDir, runnerOs, `${runId}${suffix}`);
    };
    await restoreResultCache(resultsDir, runnerOs, runId);
    const runOptions = {
      configFile,
      config: head.status === 'found' ? head.config : undefined,
      headRoot: repoRoot,
      base,
      approval,
      workflowChanges,
      cacheDir: path.join(temp, 'benchmarks'),
      resultCache: directoryResultCache(resultsDir, core.info),
      progress: core.info,
      providers: inputs.providers,
    };
    const bundle = path.join(temp, 'report');
    await mkdir(bundle, { recursive: true });
    if (inputs.shard) {
      // A shard scores its slice and hands it on; the merge job gates and publishes.
      const partial = await scoreShard(runOptions, inputs.shard);
      await saveResults(`-shard-${inputs.shard.index}-of-${inputs.shard.count}`);
      const file = path.join(bundle, `partial-${partial.shard.index}-of-${partial.shard.count}.json`);
      await writeFile(file, `${stringifyResults(partial)}\n`);
      core.setOutput('partial', file);
      core.setOutput('report-dir', bundle);
      core.setOutput('verdict', 'partial');
      core.setOutput('summary', `bias-gate: shard ${partial.shard.index}/${partial.shard.count} scored; merge all shards for the verdict`);
      return;
    }
    const scored = inputs.mergePartials ? await mergeShards(runOptions, await readPartialDirectory(path.resolve(workspace, inputs.mergePartials))) : await runBiasGate(runOptions);
    const history = inputs.historyBranch ? await readRunHistory(historyLocation(inputs, context, repoRoot, configPath), inputs.historyLength) : undefined;
    const report = { ...scored, environment: runEnvironment(context, mergeBase), ...(history ? { history } : {}) };
    await saveResults('');

    // The report bundle: what the fork-safe comment job needs, and nothing else.
    // The comment is rendered from the document, as the fork-safe job renders it from report.json.
    const document = buildReportDocument(report);
    const reportJson = path.join(bundle, 'report.json');
    await writeFile(reportJson, serializeReportDocument(document));
    const markdown = renderMarkdown(document);
    await writeFile(path.join(bundle, 'report.md'), markdown);
    const reportHtml = path.join(bundle, 'report.html');
    await writeFile(reportHtml, renderHtml(document));
    if (context.pullRequest) {
      const meta: ReportBundleMeta = {
        format: REPORT_BUNDLE_FORMAT,
        pullRequest: context.pullRequest.number,
        headSha: context.pullRequest.headSha,
        runId,
        configPath,
        job: context.job,
        verdict: report.verdict,
      };
      await writeFile(path.join(bundle, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    }
    // The release artifacts (README "Release checklist"), all from the same document.
    const attestation = path.join(bundle, 'attestation.intoto.json');
    await writeFile(attestation, renderAttestation(document));
    const modelCard = path.join(bundle, 'model-card.md');
    await writeFile(modelCard, renderModelCard(document, { recordLink: document.environment?.run?.url ?? 'report.json' }));
    const releaseNotes = path.join(bundle, 'release-notes.md');
    await writeFile(releaseNotes, renderReleaseNotes(document));
    core.setOutput('attestation', attestation);
    core.setOutput('model-card', modelCard);
    core.setOutput('release-notes', releaseNotes);
    core.setOutput('report-dir', bundle);
    await writeJobSummary(markdown, reportJson);
    annotate(report, configFile, repoRoot);

    const commentId =
      inputs.comment !== 'off' && context.pullRequest
        ? await comment(inputs, context, { pullRequest: context.pullRequest.number, configPath, job: context.job, markdown })
        : '';

    core.setOutput('verdict', report.verdict);
    core.setOutput('report-json', reportJson);
    core.setOutput('html', reportHtml);
    core.setOutput('comment-id', commentId);
    core.setOutput('summary', oneLineSummary(report));
    core.info(oneLineSummary(report));
    if (inputs.historyBranch && isDefaultBranchPush(context)) await recordHistory(historyLocation(inputs, context, repoRoot, configPath), document, configPath, inputs.historyLength);
    const failing = inputs.failOn === 'never' ? false : inputs.failOn === 'warn' ? report.verdict !== 'pass' : report.verdict === 'fail';
    if (failing) core.setFailed(`${oneLineSummary(report)}; fail-on is "${inputs.failOn}"`);
  } catch (error) {
    // No verdict: the step fails whatever fail-on says, so a broken config can never pass a gate.
    core.setOutput('verdict', 'error');
    if (error instanceof InputError) core.setFailed(`bias-gate: ${error.describe()}`);
    else core.setFailed(`bias-gate: internal error, no verdict: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
}

/**
 * An early acceptance of the pull request's own policy, from workflow inputs only (never
 * from the config, which the PR controls): `policy-source: head`, or the approval label
 * added by a user with write or admin permission.
 */
async function policyApproval(inputs: ActionInputs, context: RunContext): Promise<PolicyApproval | null> {
  if (inputs.policySource === 'head') return { how: 'input' };
  if (!inputs.policyApprovalLabel || !context.pullRequest) return null;
  return labelApproval({
    client: createGitHubClient(inputs.githubToken, context.apiUrl),
    repository: context.repository,
    pullRequest: context.pullRequest.number,
    label: inputs.policyApprovalLabel,
    log: { info: core.info, warning: core.warning },
  });
}

/**
 * Where the gate ran, for the audit record (kept apart from the scored content): the workflow,
 * the commits, the pull request, the run, the runner and the toolchain.
 */
export function runEnvironment(context: RunContext, mergeBase: string | null, env: NodeJS.ProcessEnv = process.env): RunEnvironment {
  const { owner, repo } = context.repository;
  const pullRequest = context.pullRequest;
  return {
    workflowRef: env.GITHUB_WORKFLOW_REF ?? null,
    workflowSha: env.GITHUB_WORKFLOW_SHA ?? null,
    commits: {
      base: pullRequest?.baseSha ?? null,
      head: pullRequest?.headSha ?? env.GITHUB_SHA ?? null,
      mergeBase,
      checkout: env.GITHUB_SHA ?? null,
    },
    pullRequest: pullRequest && owner ? { number: pullRequest.number, url: `${context.serverUrl}/${owner}/${repo}/pull/${pullRequest.number}` } : null,
    run: env.GITHUB_RUN_ID ? { id: env.GITHUB_RUN_ID, attempt: Number(env.GITHUB_RUN_ATTEMPT ?? '1') || 1, url: context.runUrl ?? null } : null,
    runner: runnerRecord(env.RUNNER_NAME ?? null),
    toolchain: toolchainVersions(),
  };
}

/**
 * Where the history lives: `history/<config slug>.json` on the `history-branch` of `origin`, reached
 * with the workflow token (github-token) when there is one, else with the checkout's credentials.
 */
function historyLocation(inputs: ActionInputs, context: RunContext, repoRoot: string, configPath: string): HistoryLocation {
  if (inputs.githubToken) core.setSecret(basicAuthHeader(inputs.githubToken).replace(/^AUTHORIZATION: basic /, ''));
  return {
    repoRoot,
    branch: inputs.historyBranch!,
    file: historyFilePath(configPath),
    ...(inputs.githubToken ? { auth: { token: inputs.githubToken, serverUrl: context.serverUrl } } : {}),
    log: core.info,
  };
}

/** The last `length` default-branch runs, read only (pull requests never write). Trouble here never fails the gate. */
async function readRunHistory(location: HistoryLocation, length: number): Promise<HistoryRecord | undefined> {
  try {
    const file = await readHistory(location);
    core.info(file ? `History: ${file.entries.length} default-branch runs in ${location.file} on ${location.branch}.` : `History: ${location.branch} has no ${location.file} yet.`);
    return { branch: location.branch, path: location.file, entries: (file?.entries ?? []).slice(-length) };
  } catch (error) {
    core.warning(`bias-gate: the history on ${location.branch} was not read (${messageOf(error)}); the report has no trend.`);
    return undefined;
  }
}

/** Appends this default-branch run to the history and pushes it (retrying when another job pushed first). */
async function recordHistory(location: HistoryLocation, document: ReportDocument, configPath: string, length: number): Promise<void> {
  try {
    const commit = await commitIdentity(location.repoRoot, process.env.GITHUB_SHA || 'HEAD');
    await appendHistory({ ...location, configPath, entry: historyEntry(document, commit), length });
  } catch (error) {
    // The verdict stands; a missing `contents: write` permission is the usual cause.
    core.warning(`bias-gate: this run was not added to the history on ${location.branch} (${messageOf(error)}). The job needs \`permissions: contents: write\` to push the data branch.`);
  }
}

/** A push to the repository's default branch: the only runs that write the history. */
function isDefaultBranchPush(context: RunContext): boolean {
  return context.eventName === 'push' && context.defaultBranch !== undefined && context.ref === `refs/heads/${context.defaultBranch}`;
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
