/**
 * Issue 9 §1: a pull request cannot open the gate that judges it. Each case is a git
 * repository with a base commit and a PR commit, run through the Action's entry point
 * (`runAction`) against the GitHub API stand-in. The PR's models are the fixtures' head
 * models, whose surfboard–man association grows by 0.166 (significantly); the base
 * branch's policy fails that, so every case below must fail whatever the PR edits.
 */
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIAS_REPORT_PREDICATE_TYPE, IN_TOTO_STATEMENT_TYPE } from '../../src/report/attestation.ts';
import { RELEASE_CHECKLIST_HEADING } from '../../src/report/release-notes.ts';
import type { RunEnvironment } from '../../src/report/types.ts';
import { FakeGitHub } from '../github/fake-github.ts';
import { createTempDir, git, repoPath } from '../helpers.ts';
import { restoreEnvironment, runActionInProcess } from './in-process.ts';
import { expectValidReport } from '../report-schema.ts';

/** The base branch's policy: the fixtures' config with the surfboard gate failing instead of warning. */
function basePolicy(text: string): string {
  const strict = text.replace(/(metric: gap\.surfboard\n\s+max_abs_increase: 0\.02[^\n]*\n\s+require_significant: true[^\n]*\n)\s+level: warn\n/, '$1');
  if (strict === text) throw new Error('the fixture config changed: the surfboard gate was not found');
  return strict;
}

interface ActionResult {
  failed: boolean;
  outputs: Record<string, string>;
  log: string;
  comment: string;
  report: {
    verdict: string;
    policy: { source: string; changes: { kind: string; key: string; base: string | null; head: string | null }[]; proposed: { verdict?: string; error?: string } | null; approval: unknown; workflowChanges: string[]; notices: string[] };
    verdicts: { metric: string; status: string; reason: string }[];
    vision: { models: { base: { path: string } | null; head: { path: string } } } | null;
    environment?: RunEnvironment;
  };
}

describe('the base branch policy judges the pull request (issue 9 §1)', () => {
  let repository: string;
  let baseSha: string;
  let github: FakeGitHub;
  let pullRequest = 100;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    repository = await createTempDir('bias-gate-governance-');
    git(repository, 'init', '-q', '-b', 'main');
    await writeFile(path.join(repository, 'thresholds.yaml'), basePolicy(await readFile(repoPath('thresholds.yaml'), 'utf8')));
    await cp(repoPath('fixtures/vision'), path.join(repository, 'fixtures/vision'), { recursive: true });
    await cp(repoPath('fixtures/language'), path.join(repository, 'fixtures/language'), { recursive: true });
    await cp(repoPath('fixtures/base/fixtures/vision/classifier.onnx'), path.join(repository, 'fixtures/vision/classifier.onnx'));
    await rm(path.join(repository, 'fixtures/language/causal/model'), { recursive: true });
    await cp(repoPath('fixtures/base/fixtures/language/causal/model'), path.join(repository, 'fixtures/language/causal/model'), { recursive: true });
    await mkdir(path.join(repository, '.github/workflows'), { recursive: true });
    await writeFile(path.join(repository, '.github/workflows/bias-gate.yml'), 'on: pull_request\njobs:\n  gate:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: bias-gate/bias-gate@v1\n');
    git(repository, 'add', '-A');
    git(repository, 'commit', '-q', '-m', 'base');
    baseSha = git(repository, 'rev-parse', 'HEAD');
    github = await FakeGitHub.start({ owner: 'Codertocat', repo: 'Hello-World', identity: { kind: 'installation' } });
  }, 120_000);

  afterAll(async () => {
    await github?.close();
  });

  afterEach(() => restoreEnvironment(savedEnv));

  /** A PR branch from the base commit: the fine-tuned (more biased) models, then `edit`. */
  async function pullRequestWith(edit: (root: string) => Promise<void>): Promise<string> {
    const branch = `pr-${pullRequest}`;
    git(repository, 'checkout', '-q', '-B', branch, baseSha);
    await cp(repoPath('fixtures/vision/classifier.onnx'), path.join(repository, 'fixtures/vision/classifier.onnx'));
    await cp(repoPath('fixtures/language/causal/model'), path.join(repository, 'fixtures/language/causal/model'), { recursive: true });
    await edit(repository);
    git(repository, 'add', '-A');
    git(repository, 'commit', '-q', '-m', 'fine-tune, and edit the gate');
    return git(repository, 'rev-parse', 'HEAD');
  }

  async function editConfig(root: string, edit: (text: string) => string): Promise<void> {
    const file = path.join(root, 'thresholds.yaml');
    const before = await readFile(file, 'utf8');
    const after = edit(before);
    if (after === before) throw new Error('the edit changed nothing');
    await writeFile(file, after);
  }

  /** Runs the Action's entry point for the PR at HEAD with `inputs`. */
  async function run(headSha: string, inputs: Record<string, string> = {}): Promise<ActionResult> {
    const number = pullRequest++;
    const { failed, outputs, log } = await runActionInProcess({
      eventName: 'pull_request', payload: { number, pull_request: { number, base: { sha: baseSha }, head: { sha: headSha } } }, workspace: repository, apiUrl: github.url, inputs,
      env: {
        GITHUB_RUN_ID: '77', GITHUB_WORKFLOW_REF: 'Codertocat/Hello-World/.github/workflows/bias-gate.yml@refs/pull/1/merge', GITHUB_WORKFLOW_SHA: headSha,
        GITHUB_SHA: headSha, GITHUB_RUN_ATTEMPT: '2', RUNNER_NAME: 'GitHub Actions 3',
      },
    });
    if (!outputs['report-json']) throw new Error(`no report: ${log}`);
    const comments = github.commentsOn(number);
    return { failed, outputs, log, comment: comments[0]?.body ?? '', report: expectValidReport(await readFile(outputs['report-json'], 'utf8')) as ActionResult['report'] };
  }

  it('unchanged policy: the fine-tuned model fails the base policy, and nothing is said about a policy change', async () => {
    const result = await run(await pullRequestWith(async () => {}));
    expect(result.failed).toBe(true);
    expect(result.outputs.verdict).toBe('fail');
    expect(result.report.policy.source).toBe('base');
    expect(result.report.policy.changes).toEqual([]);
    expect(result.report.policy.proposed).toBeNull();
    expect(result.report.verdicts.find((v) => v.metric === 'gap.surfboard')).toMatchObject({ status: 'fail' });
    expect(result.comment).toContain("Policy in force: the base branch's config");
    expect(result.comment).not.toContain('This pull request changes the policy');
    const prNumber = pullRequest - 1; // run() numbers each pull request
    expect(result.report.environment).toEqual({
      workflowRef: 'Codertocat/Hello-World/.github/workflows/bias-gate.yml@refs/pull/1/merge',
      workflowSha: expect.stringMatching(/^[0-9a-f]{40}$/),
      commits: { base: baseSha, head: result.report.environment?.workflowSha, mergeBase: baseSha, checkout: result.report.environment?.workflowSha },
      pullRequest: { number: prNumber, url: `https://github.com/Codertocat/Hello-World/pull/${prNumber}` },
      run: { id: '77', attempt: 2, url: 'https://github.com/Codertocat/Hello-World/actions/runs/77' },
      runner: { os: process.platform, arch: process.arch, name: 'GitHub Actions 3' },
      toolchain: { node: process.version, onnxruntimeNode: expect.stringMatching(/^\d+\.\d+\.\d+/), sharp: expect.stringMatching(/^\d+\.\d+\.\d+/) },
    });
    // The release artifacts sit in the report dir, all from the same document.
    expect(path.dirname(result.outputs.attestation!)).toBe(result.outputs['report-dir']);
    const statement = JSON.parse(await readFile(result.outputs.attestation!, 'utf8'));
    expect(statement).toMatchObject({ _type: IN_TOTO_STATEMENT_TYPE, predicateType: BIAS_REPORT_PREDICATE_TYPE, predicate: result.report });
    expect(statement.subject.map((s: { name: string }) => s.name)).toContain('fixtures/vision/classifier.onnx');
    expect(await readFile(result.outputs['model-card']!, 'utf8')).toContain('Audit record: [workflow run](https://github.com/Codertocat/Hello-World/actions/runs/77).');
    expect(await readFile(result.outputs['release-notes']!, 'utf8')).toMatch(new RegExp(`^${RELEASE_CHECKLIST_HEADING}\n[\\s\\S]*- pull request: \\[#${prNumber}\\]`));
  }, 120_000);

  it('loosening the threshold: still fails; the comment shows the loosened rule and the proposed verdict, not in force', async () => {
    const result = await run(await pullRequestWith((root) => editConfig(root, (text) => text.replace(/(gap\.surfboard\n\s+max_abs_increase:) 0\.02/, '$1 0.5'))));
    expect(result.failed).toBe(true);
    expect(result.report.verdict).toBe('fail');
    expect(result.report.policy.changes).toEqual([{ kind: 'gate-loosened', key: 'vision.gates[gap.surfboard].max_abs_increase threshold', base: '0.02', head: '0.5' }]);
    // Without the surfboard warning nothing is left to warn about: race-color's change is not significant.
    expect(result.report.policy.proposed).toMatchObject({ verdict: 'pass' });
    expect(result.comment).toContain('This pull request changes the policy: 1 change(s), 1 of which loosen the gate.');
    expect(result.comment).toContain('| loosened | vision.gates\\[gap.surfboard\\].max\\_abs\\_increase threshold | 0\\.02 | 0\\.5 |'); // a leading "0." is escaped as a list marker would be
    expect(result.comment).toMatch(/\*\*Not in force:\*\* Under the pull request's proposed policy \(not in force\) the verdict would be pass/);
  }, 120_000);

  it('deleting the gate: still fails; the comment lists the removed gate', async () => {
    const result = await run(await pullRequestWith((root) => editConfig(root, (text) => text.replace(/ {4}- metric: gap\.surfboard\n(\s{6}.*\n)+?(?= {4}- metric)/, ''))));
    expect(result.failed).toBe(true);
    expect(result.report.verdicts.find((v) => v.metric === 'gap.surfboard')).toMatchObject({ status: 'fail' });
    expect(result.report.policy.changes).toEqual([{ kind: 'gate-removed', key: 'vision.gates[gap.surfboard].max_abs_increase', base: '≤ 0.02, significant only', head: null }]);
    expect(result.comment).toContain('| gate removed (looser) |');
  }, 120_000);

  it('deleting the vision section: still scored and failed under the base policy', async () => {
    const result = await run(await pullRequestWith((root) => editConfig(root, (text) => text.replace(/^vision:\n( {2}.*\n|\s*\n)+/m, ''))));
    expect(result.failed).toBe(true);
    expect(result.report.vision).not.toBeNull();
    expect(result.report.policy.changes).toContainEqual({ kind: 'section-removed', key: 'vision', base: '4 gate(s)', head: null });
    // Without the surfboard warning nothing is left to warn about: race-color's change is not significant.
    expect(result.report.policy.proposed).toMatchObject({ verdict: 'pass' });
  }, 120_000);

  it('deleting the config file: the base policy still applies', async () => {
    const result = await run(await pullRequestWith((root) => rm(path.join(root, 'thresholds.yaml'))));
    expect(result.failed).toBe(true);
    expect(result.report.policy.changes).toEqual([{ kind: 'config-deleted', key: 'thresholds.yaml', base: 'present', head: null }]);
    expect(result.comment).toContain('| config deleted | thresholds.yaml | present | — |');
  }, 120_000);

  it('renaming the model and its config path: compared with the base model of the same role, so change rules still apply', async () => {
    const result = await run(await pullRequestWith(async (root) => {
      await rename(path.join(root, 'fixtures/vision/classifier.onnx'), path.join(root, 'fixtures/vision/classifier-v2.onnx'));
      await editConfig(root, (text) => text.replace('model: fixtures/vision/classifier.onnx', 'model: fixtures/vision/classifier-v2.onnx'));
    }));
    expect(result.failed).toBe(true);
    expect(result.report.vision!.models.base!.path).toBe('fixtures/vision/classifier.onnx');
    expect(result.report.vision!.models.head.path).toBe('fixtures/vision/classifier-v2.onnx');
    expect(result.report.verdicts.filter((v) => v.status === 'skipped')).toEqual([]);
    expect(result.report.verdicts.find((v) => v.metric === 'gap.surfboard')).toMatchObject({ status: 'fail' });
    expect(result.report.policy.changes).toEqual([{ kind: 'model-moved', key: 'vision.model', base: 'fixtures/vision/classifier.onnx', head: 'fixtures/vision/classifier-v2.onnx' }]);
  }, 120_000);

  it('deleting a model the policy scores: its gates fail with the reason', async () => {
    const result = await run(await pullRequestWith(async (root) => {
      await rm(path.join(root, 'fixtures/vision/classifier.onnx'));
      await editConfig(root, (text) => text.replace(/^vision:\n( {2}.*\n|\s*\n)+/m, ''));
    }));
    expect(result.failed).toBe(true);
    const vision = result.report.verdicts.filter((v) => /^(bts|gap)\./.test(v.metric));
    expect(vision).toHaveLength(4);
    for (const verdict of vision) {
      expect(verdict.status).toBe('fail');
      expect(verdict.reason).toContain('the pull request deletes fixtures/vision/classifier.onnx (vision.model)');
    }
    expect(result.report.policy.notices.join(' ')).toContain('deletes fixtures/vision/classifier.onnx');
  }, 120_000);

  it('changing the workflow that runs bias-gate: the comment warns, and the audit record names the file', async () => {
    const result = await run(await pullRequestWith((root) => writeFile(path.join(root, '.github/workflows/bias-gate.yml'), 'on: workflow_dispatch\njobs:\n  gate:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: bias-gate/bias-gate@v1\n')));
    expect(result.failed).toBe(true);
    expect(result.report.policy.workflowChanges).toEqual(['.github/workflows/bias-gate.yml']);
    expect(result.comment).toContain('This pull request changes .github/workflows/bias-gate.yml, a workflow that runs bias-gate');
  }, 120_000);

  it('an approval label added by a user with write permission accepts the PR policy; who and when are recorded', async () => {
    const headSha = await pullRequestWith((root) => editConfig(root, (text) => text.replace(/(gap\.surfboard\n\s+max_abs_increase:) 0\.02/, '$1 0.5')));
    github.setPermission('maintainer-mona', 'write');
    github.addLabeledEvent(pullRequest, { label: 'bias-policy-approved', actor: 'maintainer-mona', createdAt: '2026-12-01T09:30:00Z' });
    const result = await run(headSha, { 'policy-approval-label': 'bias-policy-approved' });
    expect(result.failed).toBe(false);
    expect(result.report.policy).toMatchObject({ source: 'head', approval: { how: 'label', label: 'bias-policy-approved', by: 'maintainer-mona', permission: 'write', at: '2026-12-01T09:30:00Z' } });
    expect(result.comment).toContain('label `bias-policy-approved` added by maintainer-mona (write permission) at 2026-12-01T09:30:00Z'.replace(/[`]/g, '\\`'));
    expect(github.violations).toEqual([]);
  }, 120_000);

  it('the same label added by a user with read permission approves nothing: the base policy fails the PR', async () => {
    const headSha = await pullRequestWith((root) => editConfig(root, (text) => text.replace(/(gap\.surfboard\n\s+max_abs_increase:) 0\.02/, '$1 0.5')));
    github.setPermission('drive-by-dan', 'read');
    github.addLabeledEvent(pullRequest, { label: 'bias-policy-approved', actor: 'drive-by-dan' });
    const result = await run(headSha, { 'policy-approval-label': 'bias-policy-approved' });
    expect(result.failed).toBe(true);
    expect(result.report.policy).toMatchObject({ source: 'base', approval: null });
    expect(result.log).toContain('"bias-policy-approved" was added by drive-by-dan, who has read permission');
    expect(github.violations).toEqual([]);
  }, 120_000);

  it('policy-source: head accepts the PR config, and the record says so', async () => {
    const result = await run(await pullRequestWith((root) => editConfig(root, (text) => text.replace(/(gap\.surfboard\n\s+max_abs_increase:) 0\.02/, '$1 0.5'))), { 'policy-source': 'head' });
    expect(result.failed).toBe(false);
    expect(result.report.verdict).toBe('pass');
    expect(result.report.policy).toMatchObject({ source: 'head', approval: { how: 'input' } });
    expect(result.report.policy.changes).toHaveLength(1);
  }, 120_000);
});
