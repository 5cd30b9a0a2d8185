/**
 * Issue 12: the Action keeps a history across merges on a data branch of `origin` (a local bare
 * repository here). Pushes to the default branch append; a pull request reads it and its comment
 * and HTML report show each gated metric beside the merges. Runs the Action's entry point against
 * the GitHub API stand-in, as governance.test.ts does.
 */
import { execFileSync } from 'node:child_process';
import { cp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { historyFilePath, parseHistoryFile } from '../../src/history/history.ts';
import { FakeGitHub } from '../github/fake-github.ts';
import { createTempDir, git, repoPath } from '../helpers.ts';
import { restoreEnvironment, runActionInProcess } from './in-process.ts';

describe('history across merges (issue 12)', () => {
  let repository: string;
  let origin: string;
  let github: FakeGitHub;
  const savedEnv = { ...process.env };

  /** Commits everything at a fixed date (the history's dates are the commits'), pushes main, returns the sha. */
  function commitAt(date: string, message: string): string {
    execFileSync('git', ['-c', 'commit.gpgsign=false', 'commit', '-q', '--allow-empty', '-m', message], { cwd: repository, env: { ...process.env, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.com', GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } });
    return git(repository, 'rev-parse', 'HEAD');
  }

  beforeAll(async () => {
    const root = await createTempDir('bias-gate-history-action-');
    origin = path.join(root, 'origin.git');
    repository = path.join(root, 'checkout');
    git(root, 'init', '-q', '--bare', origin);
    git(root, 'init', '-q', '-b', 'main', repository);
    git(repository, 'remote', 'add', 'origin', origin);
    await cp(repoPath('thresholds.yaml'), path.join(repository, 'thresholds.yaml'));
    await cp(repoPath('fixtures/vision'), path.join(repository, 'fixtures/vision'), { recursive: true });
    await cp(repoPath('fixtures/language'), path.join(repository, 'fixtures/language'), { recursive: true });
    git(repository, 'add', '-A');
    github = await FakeGitHub.start({ owner: 'Codertocat', repo: 'Hello-World', identity: { kind: 'installation' } });
  }, 120_000);

  afterAll(async () => {
    await github?.close();
  });

  afterEach(() => restoreEnvironment(savedEnv));

  async function run(event: 'push' | 'pull_request', sha: string, payload: object, inputs: Record<string, string>) {
    const { outputs, log, summary } = await runActionInProcess({
      eventName: event, payload, workspace: repository, apiUrl: github.url, inputs: { 'fail-on': 'never', ...inputs },
      env: { GITHUB_RUN_ID: '78', GITHUB_SHA: sha, GITHUB_REF: event === 'push' ? 'refs/heads/main' : 'refs/pull/5/merge' },
    });
    return { outputs, log, summary };
  }

  const push = (sha: string, inputs: Record<string, string>) => run('push', sha, { ref: 'refs/heads/main', after: sha, repository: { default_branch: 'main' } }, inputs);
  const historyOnOrigin = () => parseHistoryFile(git(origin, 'show', `bias-gate-data:${historyFilePath('thresholds.yaml')}`), 'history');

  it('off by default: a push writes report.html but no data branch', async () => {
    const sha = commitAt('2026-01-01T10:00:00Z', 'first');
    git(repository, 'push', '-q', 'origin', 'main');
    const result = await push(sha, {});
    expect(result.outputs.html).toBe(path.join(result.outputs['report-dir']!, 'report.html'));
    expect(await readFile(result.outputs.html!, 'utf8')).toMatch(/^<!DOCTYPE html>/);
    expect(git(origin, 'branch', '--list', 'bias-gate-data')).toBe('');
  }, 120_000);

  it('pushes to the default branch append, bounded; a pull request reads the trend and writes nothing', async () => {
    const first = git(repository, 'rev-parse', 'HEAD');
    await push(first, { 'history-branch': 'bias-gate-data', 'history-length': '2' });
    const second = commitAt('2026-01-02T10:00:00Z', 'second');
    git(repository, 'push', '-q', 'origin', 'main');
    await push(second, { 'history-branch': 'bias-gate-data', 'history-length': '2' });
    const third = commitAt('2026-01-03T10:00:00Z', 'third');
    git(repository, 'push', '-q', 'origin', 'main');
    const pushed = await push(third, { 'history-branch': 'bias-gate-data', 'history-length': '2' });
    expect(pushed.log).toContain('History: history/thresholds-yaml.json on bias-gate-data now has 2 entries');
    const history = historyOnOrigin();
    expect(history.entries.map((entry) => [entry.commit, entry.date])).toEqual([
      [second, '2026-01-02T10:00:00+00:00'],
      [third, '2026-01-03T10:00:00+00:00'],
    ]);
    expect(history.entries[1]!.metrics['gap.max']).toBeTypeOf('number');
    expect(Object.keys(history.entries[1]!.gates)).toContain('gap.max.max');
    // The checkout is as it was: same branch, clean tree.
    expect(git(repository, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
    expect(git(repository, 'status', '--porcelain')).toBe('');

    // A pull request that changes the classifier (the fixtures' other copy): it reads the history, never writes it.
    git(repository, 'checkout', '-q', '-b', 'pr');
    await cp(repoPath('fixtures/base/fixtures/vision/classifier.onnx'), path.join(repository, 'fixtures/vision/classifier.onnx'));
    git(repository, 'add', '-A');
    const head = commitAt('2026-01-04T10:00:00Z', 'fine-tune');
    const tipBefore = git(origin, 'rev-parse', 'bias-gate-data');
    const pr = await run('pull_request', head, { number: 5, pull_request: { number: 5, base: { sha: third }, head: { sha: head } } }, { 'history-branch': 'bias-gate-data' });
    expect(git(origin, 'rev-parse', 'bias-gate-data')).toBe(tipBefore);
    const comment = github.commentsOn(5)[0]?.body ?? '';
    expect(comment).toContain('### Trend across merges');
    expect(comment).toContain('This run beside the last 2 default-branch runs (`history/thresholds-yaml.json` on `bias-gate-data`)');
    expect(comment).toMatch(/\| `gap\.surfboard` \| [▁-█]{2} \|/);
    const report = JSON.parse(await readFile(pr.outputs['report-json']!, 'utf8')) as { history: { entries: { commit: string }[] } };
    expect(report.history.entries.map((entry) => entry.commit)).toEqual([second, third]);
    expect(await readFile(pr.outputs.html!, 'utf8')).toContain('data-chart="trend-0"');
  }, 240_000);

  it('a history that cannot be read or written warns and leaves the verdict alone', async () => {
    const sha = git(repository, 'rev-parse', 'main');
    git(repository, 'checkout', '-q', 'main');
    git(repository, 'remote', 'set-url', 'origin', path.join(path.dirname(origin), 'missing.git'));
    try {
      const result = await push(sha, { 'history-branch': 'bias-gate-data' });
      expect(result.outputs.verdict).toMatch(/^(pass|warn|fail)$/);
      expect(result.log).toMatch(/::warning::bias-gate: the history on bias-gate-data was not read/);
      expect(result.log).toMatch(/::warning::bias-gate: this run was not added to the history on bias-gate-data/);
    } finally {
      git(repository, 'remote', 'set-url', 'origin', origin);
    }
  }, 120_000);
});
