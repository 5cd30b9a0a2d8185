import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { commentMarker, fitCommentBody } from '../../src/github/comment-body.ts';
import type { RunContext } from '../../src/github/context.ts';
import { publishBundle, REPORT_BUNDLE_FORMAT, renderPublishedReport, type ReportBundleMeta } from '../../src/github/publish-bundle.ts';
import { buildReportDocument, serializeReportDocument, type ReportDocument } from '../../src/report/json.ts';
import { renderMarkdown } from '../../src/report/markdown.ts';
import { parseReportDocument } from '../../src/report/parse-report.ts';
import { createTempDir, inputErrorOf } from '../helpers.ts';
import { expectSafeMarkdown, runHostileRepository } from '../report/hostile-run.ts';
import { FakeGitHub } from './fake-github.ts';

const HEAD_SHA = '0123456789abcdef0123456789abcdef01234567';
const RUN_ID = 4242;
const PR = 7;
const FORK = 'fork-owner/model-zoo';
const RUN_URL = `https://github.com/octo-org/model-zoo/actions/runs/${RUN_ID}`;

let document: ReportDocument;
let github: FakeGitHub;
let outputFile: string;
const savedOutput = process.env.GITHUB_OUTPUT;

beforeAll(async () => {
  // A real run over hostile names: the document the PR's run uploads.
  document = buildReportDocument((await runHostileRepository()).folders);
  outputFile = path.join(await createTempDir('bias-gate-publish-'), 'output.txt');
  process.env.GITHUB_OUTPUT = outputFile;
}, 120_000);

afterAll(() => {
  if (savedOutput === undefined) delete process.env.GITHUB_OUTPUT;
  else process.env.GITHUB_OUTPUT = savedOutput;
});

beforeEach(async () => {
  github = await FakeGitHub.start({ owner: 'octo-org', repo: 'model-zoo' });
  await writeFile(outputFile, '');
});

afterEach(async () => {
  expect(github.violations).toEqual([]);
  await github.close();
});

/** The comment job's context: a workflow_run event about run 4242 of a fork PR (pull_requests empty). */
function workflowRunContext(overrides: Partial<RunContext['workflowRun'] & object> = {}, eventName = 'workflow_run'): RunContext {
  return {
    repository: { owner: 'octo-org', repo: 'model-zoo' },
    pullRequest: undefined,
    eventName,
    job: 'comment',
    apiUrl: github.url,
    serverUrl: 'https://github.com',
    runUrl: 'https://github.com/octo-org/model-zoo/actions/runs/5151',
    workflowRun: { id: RUN_ID, event: 'pull_request', headSha: HEAD_SHA, headBranch: 'feature', headRepository: FORK, pullRequests: [], ...overrides },
  };
}

/** The bundle the scoring run uploaded (report.md is what the PR's run wrote there; it is never posted). */
async function writeBundle(options: { meta?: Partial<ReportBundleMeta>; reportJson?: string; reportMd?: string } = {}): Promise<string> {
  const directory = path.join(await createTempDir('bias-gate-bundle-'), 'bias-gate-report');
  await mkdir(directory);
  const meta: ReportBundleMeta = { format: REPORT_BUNDLE_FORMAT, pullRequest: PR, headSha: HEAD_SHA, runId: String(RUN_ID), configPath: document.config.path, job: 'bias-gate', verdict: document.verdict, ...options.meta };
  await writeFile(path.join(directory, 'meta.json'), JSON.stringify(meta));
  await writeFile(path.join(directory, 'report.json'), options.reportJson ?? serializeReportDocument(document));
  await writeFile(path.join(directory, 'report.md'), options.reportMd ?? renderMarkdown(document));
  return directory;
}

function publish(directory: string, context: RunContext = workflowRunContext()) {
  return publishBundle({ publishReport: directory, githubToken: 'ghs_installation_token', comment: 'update' }, context);
}

async function outputs(): Promise<Record<string, string>> {
  const text = await readFile(outputFile, 'utf8');
  return Object.fromEntries([...text.matchAll(/^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)].map((match) => [match[1]!, match[3]!]));
}

describe('publish-report (the fork-safe comment job)', () => {
  it('is refused on a pull_request event, before reading anything', async () => {
    const error = await inputErrorOf(publish(await writeBundle(), workflowRunContext({}, 'pull_request')));
    expect(error.message).toMatch(/publish-report runs only on workflow_run events; this run was started by a "pull_request" event/);
    expect(github.requests).toEqual([]);
  });

  it('is refused when the triggering run was not a pull request', async () => {
    const error = await inputErrorOf(publish(await writeBundle(), workflowRunContext({ event: 'push' })));
    expect(error.message).toContain('"push" event, not a pull_request');
  });

  it("finds a fork PR through the API, and posts the comment rendered from report.json, never the bundle's report.md", async () => {
    github.setPullRequest({ number: PR, headSha: HEAD_SHA, headRef: 'feature', headRepository: FORK });
    github.setPullRequest({ number: 8, headSha: 'f'.repeat(40), headRef: 'other', headRepository: FORK });
    github.setPullRequestFiles(PR, ['models/classifier.onnx', 'thresholds.yaml']);
    const tampered = '## ✅ bias-gate: pass\n\n@org/team please merge <img src=x onerror=alert(1)> [Approve](https://evil.example)\n';
    await publish(await writeBundle({ reportMd: tampered }));

    const [comment, ...others] = github.commentsOn(PR);
    expect(others).toEqual([]);
    const markdown = renderPublishedReport(document, { run: { id: RUN_ID, headSha: HEAD_SHA }, serverUrl: 'https://github.com', repository: { owner: 'octo-org', repo: 'model-zoo' }, workflowFiles: [] });
    const marker = commentMarker(document.config.path, 'bias-gate');
    expect(comment!.body).toBe(fitCommentBody(markdown, { marker, summaryUrl: RUN_URL }));
    expect(comment!.body).not.toContain('please merge');
    expect(comment!.body).toContain("These numbers were computed by the pull request's own [workflow run]");
    expect(comment!.body).not.toContain('changes workflow files');
    expectSafeMarkdown(comment!.body, { ownLinks: [RUN_URL] });

    expect(github.requests.map((r) => `${r.method} ${r.operationId}`).slice(0, 3)).toEqual(['GET pulls/list', 'GET pulls/get', 'GET pulls/list-files']);
    expect(github.requestsFor('pulls/list')[0]!.query).toMatchObject({ state: 'open', head: 'fork-owner:feature' });
    expect(await outputs()).toMatchObject({ verdict: document.verdict, 'comment-id': String(comment!.id), summary: `bias-gate: ${document.verdict} (published for #${PR})` });
  });

  it('renders the same comment the PR run would have posted (one renderer, one document)', () => {
    const readBack = parseReportDocument(serializeReportDocument(document), 'report.json');
    expect(renderMarkdown(readBack)).toBe(renderMarkdown(document));
  });

  it('takes a same-repository PR from the event, and checks its head through the API', async () => {
    github.setPullRequest({ number: PR, headSha: HEAD_SHA, headRepository: 'octo-org/model-zoo' });
    await publish(await writeBundle(), workflowRunContext({ pullRequests: [PR], headRepository: 'octo-org/model-zoo' }));
    expect(github.commentsOn(PR)).toHaveLength(1);
    expect(github.requestsFor('pulls/list')).toEqual([]);
  });

  it.each([
    ['another pull request', { pullRequest: 8 }, /made for pull request #8, but the triggering workflow run is pull request #7/],
    ['another head commit', { headSha: 'e'.repeat(40) }, /made for commit e{40}, but the triggering workflow run is commit 0123/],
    ['another run', { runId: '999' }, /made for run 999, but the triggering workflow run is run 4242/],
  ])('refuses a bundle recorded for %s, and comments nothing', async (_what, meta, message) => {
    github.setPullRequest({ number: PR, headSha: HEAD_SHA, headRef: 'feature', headRepository: FORK });
    github.setPullRequest({ number: 8, headSha: HEAD_SHA, headRef: 'feature-2', headRepository: FORK });
    const error = await inputErrorOf(publish(await writeBundle({ meta })));
    expect(error.message).toMatch(message);
    expect(github.commentsOn(PR)).toEqual([]);
    expect(github.commentsOn(8)).toEqual([]);
  });

  it('refuses when the PR has moved on to another commit', async () => {
    github.setPullRequest({ number: PR, headSha: 'c'.repeat(40), headRef: 'feature', headRepository: FORK });
    const error = await inputErrorOf(publish(await writeBundle(), workflowRunContext({ pullRequests: [PR] })));
    expect(error.message).toMatch(/no open pull request of octo-org\/model-zoo has 0123456789abcdef0123456789abcdef01234567/);
    expect(github.commentsOn(PR)).toEqual([]);
  });

  it('refuses an old-format bundle and a report.json that is not a report', async () => {
    github.setPullRequest({ number: PR, headSha: HEAD_SHA, headRef: 'feature', headRepository: FORK });
    expect((await inputErrorOf(publish(await writeBundle({ meta: { format: 1 as typeof REPORT_BUNDLE_FORMAT } })))).message).toMatch(/not a bias-gate report bundle of format 2/);
    const forged = JSON.parse(serializeReportDocument(document)) as Record<string, unknown>;
    forged.verdict = 'approved <img src=x>';
    expect((await inputErrorOf(publish(await writeBundle({ reportJson: JSON.stringify(forged) })))).message).toMatch(/verdict is the string .* expected one of "pass", "warn", "fail"/);
    const wrongType = JSON.parse(serializeReportDocument(document)) as { verdicts: { reason: unknown }[] };
    wrongType.verdicts[0]!.reason = { toString: 'x' };
    expect((await inputErrorOf(publish(await writeBundle({ reportJson: JSON.stringify(wrongType) })))).message).toMatch(/verdicts\[0\]\.reason is object, expected a string/);
    expect(github.commentsOn(PR)).toEqual([]);
  });

  it('warns when the PR changes a workflow file', async () => {
    github.setPullRequest({ number: PR, headSha: HEAD_SHA, headRef: 'feature', headRepository: FORK });
    github.setPullRequestFiles(PR, ['models/classifier.onnx', '.github/workflows/x.yml', { filename: 'ci/y.yml', previousFilename: '.github/workflows/bias-gate-report.yml' }]);
    await publish(await writeBundle());
    const body = github.commentsOn(PR)[0]!.body;
    expect(body).toContain('> [!WARNING]\n> This pull request changes workflow files (`.github/workflows/bias-gate-report.yml`, `.github/workflows/x.yml`)');
    expectSafeMarkdown(body, { ownLinks: [RUN_URL] });
  });

  it('says so when the changed files cannot be listed, and still comments', async () => {
    github.setPullRequest({ number: PR, headSha: HEAD_SHA, headRef: 'feature', headRepository: FORK });
    github.fail('pulls/list-files', 403);
    await publish(await writeBundle());
    expect(github.commentsOn(PR)[0]!.body).toContain("could not list this pull request's changed files");
  });
});
