import { WORKFLOW_DIRECTORY } from '../artifacts/workflow-changes.ts';
import * as core from '@actions/core';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError, messageOf } from '../errors.ts';
import type { ReportDocument } from '../report/json.ts';
import { renderMarkdown } from '../report/markdown.ts';
import { codeSpan, escapeMarkdownText, linkDestination } from '../report/markdown-escape.ts';
import { parseReportDocument } from '../report/parse-report.ts';
import type { ActionInputs } from './action.ts';
import { gitHubMessageOf, statusOf, type GitHubClient } from './client.ts';
import { commentMarker, createGitHubClient, fitCommentBody, publishStickyComment } from './comment.ts';
import type { RunContext, WorkflowRunContext } from './context.ts';

/** Layout version of meta.json; 2 records the head commit and run id the bundle was made for. */
export const REPORT_BUNDLE_FORMAT = 2;

/** What a scoring run leaves for the fork-safe comment job (meta.json beside report.json). */
export interface ReportBundleMeta {
  format: typeof REPORT_BUNDLE_FORMAT;
  /** The pull request the run scored. */
  pullRequest: number;
  /** The commit the run scored (the PR's head). */
  headSha: string;
  /** `GITHUB_RUN_ID` of the scoring run. */
  runId: string;
  /** The config's repository path and the job name: the sticky comment's marker. */
  configPath: string;
  job: string;
  verdict: string;
}

/** Files of a report bundle. */
export const REPORT_BUNDLE_FILES = { meta: 'meta.json', report: 'report.json' } as const;

/** The most bytes read from one bundle file: a report is kilobytes, a comment at most 64 KiB. */
const MAX_BUNDLE_FILE_BYTES = 16 * 1024 * 1024;

/** Workflow files named in the warning; more are counted. */
const LISTED_WORKFLOW_FILES = 10;

/** The pages of a PR's files the API gives (3,000 files at 100 a page). */
const MAX_FILE_PAGES = 30;

/**
 * The fork-safe second half (examples/fork-safe/): comment from a report bundle that an
 * unprivileged `pull_request` run uploaded. Runs on `workflow_run` events only, runs no code from
 * the PR and trusts nothing it downloads: the PR number and head commit come from the event and
 * the API (a bundle made for another PR, commit or run is refused), and the comment is rendered
 * here from `report.json` with the report's own escaping (`report.md` is never posted). The
 * comment says that its numbers come from the PR's own run, and warns when the PR changes a
 * workflow file.
 */
export async function publishBundle(inputs: Pick<ActionInputs, 'publishReport' | 'githubToken' | 'comment'>, context: RunContext): Promise<void> {
  const run = context.workflowRun;
  if (context.eventName !== 'workflow_run' || !run) {
    const found = context.eventName === 'workflow_run' ? 'a "workflow_run" event whose payload has no workflow_run object' : `a "${context.eventName || 'unknown'}" event`;
    throw new InputError(`publish-report runs only on workflow_run events; this run was started by ${found}`, {
      hint: 'Post the comment from a workflow `on: workflow_run` that downloads the scoring run\'s report-dir artifact (examples/fork-safe/bias-gate-comment.yml); in a pull_request workflow, leave publish-report empty.',
    });
  }
  if (run.event !== 'pull_request') {
    throw new InputError(`publish-report: the triggering workflow run was started by a "${run.event}" event, not a pull_request; there is no pull request to comment on`, {
      hint: "Add `if: github.event.workflow_run.event == 'pull_request'` to the comment job.",
    });
  }
  const directory = path.resolve(process.env.GITHUB_WORKSPACE ?? process.cwd(), inputs.publishReport!);
  const meta = parseBundleMeta(await readBundleFile(directory, REPORT_BUNDLE_FILES.meta), path.join(directory, REPORT_BUNDLE_FILES.meta));
  const document = parseReportDocument(await readBundleFile(directory, REPORT_BUNDLE_FILES.report), path.join(directory, REPORT_BUNDLE_FILES.report));

  const client = createGitHubClient(inputs.githubToken, context.apiUrl);
  const pullRequest = await findPullRequest(client, context.repository, run, meta.pullRequest);
  checkBundleBelongsToRun(meta, run, pullRequest);
  core.info(`Report bundle of run ${run.id} for pull request #${pullRequest} at ${run.headSha}.`);

  let commentId = '';
  if (inputs.comment !== 'off') {
    const workflowFiles = await changedWorkflowFiles(client, context.repository, pullRequest);
    const provenance: Provenance = { run, serverUrl: context.serverUrl, repository: context.repository, workflowFiles };
    const markdown = renderPublishedReport(document, provenance);
    // The full report is in the scoring run's job summary; this run's summary is empty.
    const summaryUrl = workflowRunUrl(provenance);
    commentId = await postReportComment({ token: inputs.githubToken, context, pullRequest, configPath: meta.configPath, job: meta.job, markdown, mode: inputs.comment, summaryUrl });
  }
  core.setOutput('verdict', document.verdict);
  core.setOutput('comment-id', commentId);
  core.setOutput('summary', `bias-gate: ${document.verdict} (published for #${pullRequest})`);
}

/** What the fork-safe comment says about where its numbers come from. */
export interface Provenance {
  /** The triggering (scoring) run. */
  run: Pick<WorkflowRunContext, 'id' | 'headSha'>;
  /** `GITHUB_SERVER_URL`, for the link to the run. */
  serverUrl: string;
  repository: { owner: string; repo: string };
  /** `.github/workflows/` files the PR changes; undefined when they could not be listed. */
  workflowFiles: string[] | undefined;
}

/**
 * The fork-safe comment's Markdown: a note that the numbers come from the PR's own run (and a
 * warning when the PR changes workflow files), then {@link renderMarkdown} of the document.
 */
export function renderPublishedReport(document: ReportDocument, provenance: Provenance): string {
  const { run, workflowFiles } = provenance;
  const runUrl = workflowRunUrl(provenance);
  const lines = [
    '> [!NOTE]',
    `> These numbers were computed by the pull request's own [workflow run](${linkDestination(runUrl)}) on commit ${codeSpan(run.headSha.slice(0, 12))}, and posted by this repository's workflow, which did not recompute them.`,
    '',
  ];
  if (workflowFiles === undefined) {
    lines.push('> [!WARNING]', "> bias-gate could not list this pull request's changed files, so it cannot say whether the PR changes the workflows that produced these numbers.", '');
  } else if (workflowFiles.length > 0) {
    const shown = workflowFiles.slice(0, LISTED_WORKFLOW_FILES).map((file) => codeSpan(file));
    const more = workflowFiles.length > LISTED_WORKFLOW_FILES ? ` and ${workflowFiles.length - LISTED_WORKFLOW_FILES} more` : '';
    lines.push(
      '> [!WARNING]',
      `> This pull request changes workflow files (${shown.join(', ')}${escapeMarkdownText(more)}): the run that produced these numbers may not have run this repository's bias-gate workflow as it is on the base branch. Review those changes before relying on the numbers.`,
      '',
    );
  }
  return `${lines.join('\n')}\n${renderMarkdown(document)}`;
}

/** The scoring run's page. */
export function workflowRunUrl(provenance: Pick<Provenance, 'run' | 'serverUrl' | 'repository'>): string {
  const { owner, repo } = provenance.repository;
  return `${provenance.serverUrl.replace(/\/+$/, '')}/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/actions/runs/${provenance.run.id}`;
}

/** Options of {@link postReportComment}. */
export interface PostReportCommentOptions {
  token: string;
  context: RunContext;
  pullRequest: number;
  /** With `job`, what the sticky comment's marker is made of ({@link commentMarker}). */
  configPath: string;
  job: string;
  markdown: string;
  mode: ActionInputs['comment'];
  /** Where the full report is (named when the comment is cut); default this run's page. */
  summaryUrl?: string;
}

/**
 * Posts (or updates) the sticky comment; returns its id, or '' when there is none. Nothing here
 * may hide the verdict (DESIGN §1.5): a token that may not comment, or an API that keeps failing,
 * gives a warning and the run goes on to its outputs and exit status.
 */
export async function postReportComment(options: PostReportCommentOptions): Promise<string> {
  const { context } = options;
  const marker = commentMarker(options.configPath, options.job);
  try {
    const outcome = await publishStickyComment(
      createGitHubClient(options.token, context.apiUrl),
      { ...context.repository, issueNumber: options.pullRequest },
      { marker, body: fitCommentBody(options.markdown, { marker, summaryUrl: options.summaryUrl ?? context.runUrl }), mode: options.mode === 'recreate' ? 'recreate' : 'update', log: { info: core.info, warning: core.warning } },
    );
    if (outcome.status === 'not-permitted') {
      core.warning(outcome.warning);
      return '';
    }
    core.info(`Comment ${outcome.status}: ${outcome.url}`);
    return String(outcome.id);
  } catch (error) {
    core.warning(`The PR comment could not be written (${messageOf(error)}); the verdict stands and is in the job summary.`);
    return '';
  }
}

async function readBundleFile(directory: string, name: string): Promise<string> {
  const file = path.join(directory, name);
  const hint = 'Upload the report-dir output of the scoring run as an artifact and download it here.';
  const bytes = await readFile(file).catch((error: unknown) => {
    throw new InputError(`publish-report: ${file} cannot be read (${messageOf(error)})`, { hint });
  });
  if (bytes.length > MAX_BUNDLE_FILE_BYTES) throw new InputError(`publish-report: ${file} is ${bytes.length} bytes, more than a report bundle holds (${MAX_BUNDLE_FILE_BYTES})`, { hint });
  return bytes.toString('utf8');
}

/** meta.json, checked field by field. */
export function parseBundleMeta(text: string, source: string): ReportBundleMeta {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(`publish-report: ${source} is not JSON (${messageOf(error)})`);
  }
  const meta = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (meta.format !== REPORT_BUNDLE_FORMAT) {
    throw new InputError(`publish-report: ${source} is not a bias-gate report bundle of format ${REPORT_BUNDLE_FORMAT} (format: ${JSON.stringify(meta.format) ?? 'missing'})`, {
      hint: 'The scoring run and the comment job must use the same bias-gate version.',
    });
  }
  const problems = [
    !(Number.isInteger(meta.pullRequest) && (meta.pullRequest as number) > 0) && 'pullRequest (a PR number)',
    !(typeof meta.headSha === 'string' && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(meta.headSha)) && 'headSha (a commit sha)',
    !(typeof meta.runId === 'string' && /^\d+$/.test(meta.runId)) && 'runId (a run id)',
    typeof meta.configPath !== 'string' && 'configPath',
    typeof meta.job !== 'string' && 'job',
    typeof meta.verdict !== 'string' && 'verdict',
  ].filter((problem): problem is string => !!problem);
  if (problems.length > 0) throw new InputError(`publish-report: ${source} has no valid ${problems.join(', ')}`);
  return meta as unknown as ReportBundleMeta;
}

/**
 * The bundle came from an unprivileged run, so what it records is checked against what the event
 * and the API say: the same pull request, the same head commit, the same run.
 */
function checkBundleBelongsToRun(meta: ReportBundleMeta, run: WorkflowRunContext, pullRequest: number): void {
  const mismatch = (what: string, recorded: string, actual: string) =>
    new InputError(`publish-report: the report bundle was made for ${what} ${recorded}, but the triggering workflow run is ${what} ${actual}; not commenting`, {
      hint: 'Download the artifact of the run that triggered this workflow (`run-id: ${{ github.event.workflow_run.id }}`).',
    });
  if (meta.pullRequest !== pullRequest) throw mismatch('pull request', `#${meta.pullRequest}`, `#${pullRequest}`);
  if (meta.headSha !== run.headSha) throw mismatch('commit', meta.headSha, run.headSha);
  if (meta.runId !== String(run.id)) throw mismatch('run', meta.runId, String(run.id));
}

/** A pull request as the REST API answers it, reduced to what is read here. */
interface PullRequestSummary {
  number: number;
  state: string;
  head: { sha: string; ref: string; repo: { full_name: string } | null };
}

/**
 * The open pull request whose head is the commit the triggering run built, from the event and the
 * API, never from the bundle. The event lists the run's pull requests for branches of this
 * repository; for a fork it lists none, and the PR is found by its head (`fork-owner:branch`,
 * `GET /repos/{owner}/{repo}/pulls?head=`). Every candidate is read back and must have the run's
 * commit as its head now. When several do, `claimed` (the bundle's number) picks among them.
 */
async function findPullRequest(client: GitHubClient, repository: { owner: string; repo: string }, run: WorkflowRunContext, claimed: number): Promise<number> {
  let candidates = run.pullRequests;
  if (candidates.length === 0 && run.headRepository && run.headBranch) {
    const headOwner = run.headRepository.split('/')[0]!;
    const listed = await apiCall('find the pull request', () =>
      client.request('GET /repos/{owner}/{repo}/pulls', { ...repository, state: 'open', head: `${headOwner}:${run.headBranch}`, per_page: 100 }),
    );
    candidates = (listed as PullRequestSummary[]).filter((pr) => pr.head.sha === run.headSha && pr.head.repo?.full_name === run.headRepository).map((pr) => pr.number);
  }
  const confirmed: number[] = [];
  for (const number of [...new Set(candidates)]) {
    const pr = (await apiCall(`read pull request #${number}`, () => client.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', { ...repository, pull_number: number }))) as PullRequestSummary;
    if (pr.state === 'open' && pr.head.sha === run.headSha) confirmed.push(number);
  }
  if (confirmed.length === 0) {
    throw new InputError(`publish-report: no open pull request of ${repository.owner}/${repository.repo} has ${run.headSha} (the commit workflow run ${run.id} built) as its head; not commenting`, {
      hint: 'The pull request was closed or has new commits since; the run for its newest commit comments.',
    });
  }
  return confirmed.length === 1 || !confirmed.includes(claimed) ? confirmed[0]! : claimed;
}

/** The `.github/workflows/` files a pull request adds, changes, renames or removes; undefined when they cannot be listed. */
async function changedWorkflowFiles(client: GitHubClient, repository: { owner: string; repo: string }, pullRequest: number): Promise<string[] | undefined> {
  const found = new Set<string>();
  try {
    for (let page = 1; page <= MAX_FILE_PAGES; page++) {
      const response = await client.request('GET /repos/{owner}/{repo}/pulls/{pull_number}/files', { ...repository, pull_number: pullRequest, per_page: 100, page });
      const files = response.data as { filename: string; previous_filename?: string }[];
      for (const file of files) {
        for (const name of [file.filename, file.previous_filename]) if (typeof name === 'string' && name.startsWith(`${WORKFLOW_DIRECTORY}/`)) found.add(name);
      }
      if (files.length < 100) break;
    }
  } catch (error) {
    core.warning(`bias-gate could not list the files of pull request #${pullRequest} (${gitHubMessageOf(error)}); the comment says so.`);
    return undefined;
  }
  return [...found].sort();
}

async function apiCall(what: string, call: () => Promise<{ data: unknown }>): Promise<unknown> {
  try {
    return (await call()).data;
  } catch (error) {
    throw new InputError(`publish-report: could not ${what}: GitHub answered ${statusOf(error) ?? 'nothing'} (${gitHubMessageOf(error)})`, {
      hint: 'The comment job needs `pull-requests: write` (which includes reading pull requests).',
    });
  }
}
