/**
 * The history's git round trip against a real remote: a bare repository as `origin` and clones as
 * the default-branch jobs (and the PR job) that read and write the data branch.
 */
import { execFileSync } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { historyEntry, historyFilePath, parseHistoryFile, type HistoryEntry } from '../../src/history/history.ts';
import { appendHistory, basicAuthHeader, commitIdentity, readHistory } from '../../src/history/store.ts';
import { createTempDir } from '../helpers.ts';

const BRANCH = 'bias-gate-data';
const FILE = historyFilePath('models/thresholds.yaml');

function git(cwd: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid', ...env } });
}

/** origin (bare) with a main branch of two commits at fixed dates; returns origin and the two shas. */
async function createOrigin(): Promise<{ origin: string; first: string; second: string; root: string }> {
  const root = await createTempDir('bias-gate-history-');
  const origin = path.join(root, 'origin.git');
  git(root, ['init', '--quiet', '--bare', '--initial-branch=main', origin]);
  const seed = path.join(root, 'seed');
  git(root, ['clone', '--quiet', origin, seed]);
  const commitAt = (date: string, message: string) => {
    git(seed, ['commit', '--quiet', '--allow-empty', '-m', message], { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date });
    return git(seed, ['rev-parse', 'HEAD']).trim();
  };
  const first = commitAt('2026-01-01T10:00:00Z', 'first merge');
  const second = commitAt('2026-01-02T10:00:00Z', 'second merge');
  git(seed, ['push', '--quiet', 'origin', 'HEAD:main']);
  return { origin, first, second, root };
}

function entryFor(commit: { sha: string; date: string }, surfboard: number): HistoryEntry {
  return historyEntry(
    {
      verdict: surfboard > 0.7 ? 'warn' : 'pass',
      verdicts: [{ metric: 'gap.surfboard', rule: 'max_abs_increase', status: surfboard > 0.7 ? 'warn' : 'pass', head: surfboard }],
      vision: { metrics: [{ name: 'gap.surfboard', head: surfboard }, { name: 'bts.object', head: 0.9 }] },
      language: null,
    },
    commit,
  );
}

describe('history on a data branch', () => {
  it('two default-branch jobs in their own clones append in turn; the PR clone reads both, in commit order', async () => {
    const { origin, first, second, root } = await createOrigin();
    const jobA = path.join(root, 'job-a');
    const jobB = path.join(root, 'job-b');
    git(root, ['clone', '--quiet', origin, jobA]);
    git(root, ['clone', '--quiet', origin, jobB]);
    const commitA = await commitIdentity(jobA, first);
    const commitB = await commitIdentity(jobB, second);
    expect(commitA).toEqual({ sha: first, date: '2026-01-01T10:00:00+00:00' });

    // Job B (the later merge) pushes first and creates the branch.
    const logB: string[] = [];
    const b = await appendHistory({ repoRoot: jobB, branch: BRANCH, file: FILE, configPath: 'models/thresholds.yaml', entry: entryFor(commitB, 0.75), length: 100, log: (m) => logB.push(m) });
    expect(b.attempts).toBe(1);

    // Job A (the earlier merge) finishes later: its entry still goes before B's.
    const logA: string[] = [];
    const a = await appendHistory({ repoRoot: jobA, branch: BRANCH, file: FILE, configPath: 'models/thresholds.yaml', entry: entryFor(commitA, 0.58), length: 100, log: (m) => logA.push(m) });
    expect(a.attempts).toBe(1);

    const pr = path.join(root, 'pr');
    git(root, ['clone', '--quiet', origin, pr]);
    const history = await readHistory({ repoRoot: pr, branch: BRANCH, file: FILE });
    expect(history?.entries.map((entry) => entry.commit)).toEqual([first, second]);
    expect(history?.config).toBe('models/thresholds.yaml');
    // The checkouts' own branches, index and work trees are untouched.
    expect(git(jobA, ['status', '--porcelain'])).toBe('');
    expect(git(jobA, ['branch', '--format=%(refname:short)']).trim()).toBe('main');
  });

  it('a push rejected because another job pushed in between is retried from a fresh fetch', async () => {
    const { origin, first, second, root } = await createOrigin();
    const jobA = path.join(root, 'job-a');
    const jobB = path.join(root, 'job-b');
    git(root, ['clone', '--quiet', origin, jobA]);
    git(root, ['clone', '--quiet', origin, jobB]);
    // Job A's first push races job B: a pre-push hook in A's clone lets B push (once) just before A's push reaches origin.
    const hook = path.join(jobA, '.git', 'hooks', 'pre-push');
    const marker = path.join(root, 'b-pushed');
    const tsx = path.resolve('node_modules/.bin/tsx');
    const script = path.join(root, 'push-b.mts');
    const storeModule = path.resolve('src/history/store.ts');
    const historyModule = path.resolve('src/history/history.ts');
    await writeFile(
      script,
      `import { appendHistory } from ${JSON.stringify(storeModule)};\nimport { historyEntry } from ${JSON.stringify(historyModule)};\n` +
        `const entry = historyEntry({ verdict: 'warn', verdicts: [{ metric: 'gap.surfboard', rule: 'max_abs_increase', status: 'warn', head: 0.75 }], vision: null, language: null }, { sha: ${JSON.stringify(second)}, date: '2026-01-02T10:00:00Z' });\n` +
        `await appendHistory({ repoRoot: ${JSON.stringify(jobB)}, branch: ${JSON.stringify(BRANCH)}, file: ${JSON.stringify(FILE)}, configPath: 'models/thresholds.yaml', entry, length: 100 });\n`,
    );
    await writeFile(hook, `#!/bin/sh\n# git runs hooks with GIT_DIR set to this clone's: job B must use its own.\nunset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_PREFIX\nif [ ! -e ${JSON.stringify(marker)} ]; then touch ${JSON.stringify(marker)}; ${JSON.stringify(tsx)} ${JSON.stringify(script)} >&2 || exit 1; fi\nexit 0\n`);
    await chmod(hook, 0o755);

    const log: string[] = [];
    const commitA = await commitIdentity(jobA, first);
    const a = await appendHistory({ repoRoot: jobA, branch: BRANCH, file: FILE, configPath: 'models/thresholds.yaml', entry: entryFor(commitA, 0.58), length: 100, log: (m) => log.push(m) });
    expect(a.attempts).toBe(2);
    expect(log.some((line) => line.includes('another job pushed bias-gate-data first'))).toBe(true);

    const pr = path.join(root, 'pr');
    git(root, ['clone', '--quiet', origin, pr]);
    const history = await readHistory({ repoRoot: pr, branch: BRANCH, file: FILE });
    // A pushed last but its commit is older: entries are in commit order, and B's entry survived A's retry.
    expect(history?.entries.map((entry) => [entry.commit, entry.metrics['gap.surfboard']])).toEqual([
      [first, 0.58],
      [second, 0.75],
    ]);
    // The branch is linear: A's retry is a child of B's commit.
    expect(git(pr, ['rev-list', '--count', `origin/${BRANCH}`]).trim()).toBe('2');
  });

  it('bounds the history to history-length entries and replaces a re-run of the same commit', async () => {
    const { origin, first, second, root } = await createOrigin();
    const job = path.join(root, 'job');
    git(root, ['clone', '--quiet', origin, job]);
    const a = await commitIdentity(job, first);
    const b = await commitIdentity(job, second);
    await appendHistory({ repoRoot: job, branch: BRANCH, file: FILE, configPath: 'c', entry: entryFor(a, 0.5), length: 1 });
    await appendHistory({ repoRoot: job, branch: BRANCH, file: FILE, configPath: 'c', entry: entryFor(b, 0.6), length: 1 });
    const again = await appendHistory({ repoRoot: job, branch: BRANCH, file: FILE, configPath: 'c', entry: entryFor(b, 0.61), length: 5 });
    expect(again.file.entries.map((entry) => [entry.commit, entry.metrics['gap.surfboard']])).toEqual([[second, 0.61]]);
  });

  it('the PR side reads without writing: no branch yet is an empty history, and nothing is pushed', async () => {
    const { origin, root } = await createOrigin();
    const pr = path.join(root, 'pr');
    git(root, ['clone', '--quiet', origin, pr]);
    expect(await readHistory({ repoRoot: pr, branch: BRANCH, file: FILE })).toBeNull();
    expect(git(root, ['--git-dir', origin, 'branch', '--list', '--format=%(refname:short)']).trim()).toBe('main');
  });

  it('a history file that is not one is refused with the file and what to do', () => {
    expect(() => parseHistoryFile('{"format":1,"config":"c","entries":[{"commit":"<b>","date":"x"}]}', 'history/c.json')).toThrow(/history\/c\.json: entries\[0\]\.commit is not a commit sha/);
    expect(basicAuthHeader('abc')).toBe(`AUTHORIZATION: basic ${Buffer.from('x-access-token:abc').toString('base64')}`);
  });
});
