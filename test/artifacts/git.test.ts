import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isGitRef, materializeBaseTree, resolveBaseCommit } from '../../src/artifacts/git.ts';
import { InputError } from '../../src/errors.ts';
import { createTempDir, git } from '../helpers.ts';

async function put(root: string, file: string, content: string | Buffer): Promise<void> {
  await mkdir(path.dirname(path.join(root, file)), { recursive: true });
  await writeFile(path.join(root, file), content);
}

function commitAll(root: string, message: string): string {
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '--allow-empty', '-m', message);
  return git(root, 'rev-parse', 'HEAD');
}

const hasGitLfs = (() => {
  try {
    execFileSync('git', ['lfs', 'version'], { stdio: 'ignore' });
    return true;
  } catch {
    console.warn('skipping the git lfs smudge tests: git lfs is not installed (apt-get install git-lfs; .ci/run installs it)');
    return false;
  }
})();

/** Every byte value, then random bytes: 2 MiB, so the blob is streamed, not buffered. */
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const LARGE_MODEL = Buffer.concat([ALL_BYTES, randomBytes(2 * 1024 * 1024), ALL_BYTES]);
const SMALL_MODEL = Buffer.concat([ALL_BYTES, ALL_BYTES.subarray().reverse()]);
const LFS_POINTER = 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n';

const noLog = () => {};

describe('resolveBaseCommit and materializeBaseTree on a full repository', () => {
  let repo: string;
  /** main: A (models), B (models changed, lm dir grows), D (after the PR branched). pr: C on B. */
  const commits = { A: '', B: '', C: '', D: '' };

  beforeAll(async () => {
    repo = await createTempDir('bias-gate-git-');
    git(repo, 'init', '-q');
    await put(repo, 'models/vision.bin', SMALL_MODEL);
    await put(repo, 'models/lm/model.onnx', LARGE_MODEL);
    await put(repo, 'models/lm/tokenizer.json', '{"model":{"type":"BPE"}}\n');
    await put(repo, 'old.txt', 'to be deleted\n');
    await put(repo, 'models/lm-other/x.txt', 'a sibling whose name starts like models/lm\n');
    await put(repo, 'weights/pointer.bin', LFS_POINTER);
    commits.A = commitAll(repo, 'A');
    await put(repo, 'models/vision.bin', Buffer.concat([SMALL_MODEL, Buffer.from([0, 0xff])]));
    await put(repo, 'models/lm/config.json', '{"n_layer": 2}\n');
    commits.B = commitAll(repo, 'B');
    git(repo, 'checkout', '-q', '-b', 'pr');
    await put(repo, 'models/vision.bin', randomBytes(300));
    await put(repo, 'models/new.bin', randomBytes(10));
    await rm(path.join(repo, 'old.txt'));
    commits.C = commitAll(repo, 'C');
    git(repo, 'checkout', '-q', 'main');
    await put(repo, 'README.md', 'main moved on\n');
    commits.D = commitAll(repo, 'D');
    git(repo, 'checkout', '-q', 'pr');
  });

  it('finds the merge-base of the pull request base and HEAD', async () => {
    const base = await resolveBaseCommit({ repoRoot: repo, prBaseSha: commits.D, log: noLog });
    expect(base.sha).toBe(commits.B);
    expect(base.how).toBe(`merge-base of ${commits.D} and HEAD`);
  });

  it('uses an explicit base ref over the pull request base', async () => {
    expect((await resolveBaseCommit({ repoRoot: repo, baseRef: 'main', prBaseSha: commits.B, log: noLog })).sha).toBe(commits.D);
    const parent = await resolveBaseCommit({ repoRoot: repo, baseRef: 'HEAD~2', log: noLog });
    expect(parent.sha).toBe(commits.A);
    expect(parent.how).toContain('HEAD~2');
    expect((await resolveBaseCommit({ repoRoot: repo, baseRef: commits.A.slice(0, 10), log: noLog })).sha).toBe(commits.A);
  });

  it('says what to do when the base cannot be found', async () => {
    await expect(resolveBaseCommit({ repoRoot: repo, baseRef: 'no-such-branch', log: noLog })).rejects.toThrow(/base ref "no-such-branch".*origin/);
    await expect(resolveBaseCommit({ repoRoot: repo, log: noLog })).rejects.toThrow(InputError);
    await expect(resolveBaseCommit({ repoRoot: repo, baseRef: '--upload-pack=evil', log: noLog })).rejects.toThrow(/not a valid git revision/);
    const elsewhere = await createTempDir();
    const error = await resolveBaseCommit({ repoRoot: elsewhere, prBaseSha: commits.D, log: noLog }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toContain('not inside a git work tree');
  });

  it('writes files and directories as they are at the commit, byte for byte, and lists missing paths', async () => {
    const target = await createTempDir();
    const result = await materializeBaseTree({
      repoRoot: repo,
      commit: commits.A,
      paths: ['models/vision.bin', 'models/lm/', 'models/new.bin', 'old.txt', 'models/lm/config.json'],
      targetDir: target,
      log: noLog,
    });
    expect(result.present).toEqual(['models/vision.bin', 'models/lm/', 'old.txt']);
    expect(result.missing).toEqual(['models/new.bin', 'models/lm/config.json']);
    expect(result.lfsPointers).toEqual([]);
    expect((await readFile(path.join(target, 'models/vision.bin'))).equals(SMALL_MODEL)).toBe(true);
    expect((await readFile(path.join(target, 'models/lm/model.onnx'))).equals(LARGE_MODEL)).toBe(true);
    expect(await readFile(path.join(target, 'models/lm/tokenizer.json'), 'utf8')).toBe('{"model":{"type":"BPE"}}\n');
    expect(await readFile(path.join(target, 'old.txt'), 'utf8')).toBe('to be deleted\n');
    // A directory path selects that directory only, not siblings sharing its prefix.
    await expect(readFile(path.join(target, 'models/lm-other/x.txt'))).rejects.toThrow();
  });

  it('sees files added and deleted between commits', async () => {
    const target = await createTempDir();
    const result = await materializeBaseTree({ repoRoot: repo, commit: commits.C, paths: ['models/new.bin', 'old.txt', 'models/lm'], targetDir: target, log: noLog });
    expect(result.present).toEqual(['models/new.bin', 'models/lm']);
    expect(result.missing).toEqual(['old.txt']);
    expect((await readFile(path.join(target, 'models/lm/config.json'), 'utf8'))).toBe('{"n_layer": 2}\n');
  });

  it('refuses paths outside the repository and commits that do not exist', async () => {
    const target = await createTempDir();
    await expect(materializeBaseTree({ repoRoot: repo, commit: commits.A, paths: ['../etc/passwd'], targetDir: target, log: noLog })).rejects.toThrow(InputError);
    await expect(materializeBaseTree({ repoRoot: repo, commit: '0'.repeat(40), paths: ['models'], targetDir: target, log: noLog })).rejects.toThrow(/not in the repository/);
  });

  it('keeps a Git LFS pointer and lists it when the object cannot be had', async () => {
    const target = await createTempDir();
    const logs: string[] = [];
    const result = await materializeBaseTree({ repoRoot: repo, commit: commits.A, paths: ['weights'], targetDir: target, log: (m) => logs.push(m) });
    expect(result.present).toEqual(['weights']);
    // Without git lfs the pointer is kept; with it, smudge fails (no LFS server for this repo) and the pointer is kept too.
    expect(result.lfsPointers).toEqual(['weights/pointer.bin']);
    expect(await readFile(path.join(target, 'weights/pointer.bin'), 'utf8')).toBe(LFS_POINTER);
    if (hasGitLfs) expect(logs.join('\n')).toContain('git lfs smudge failed');
  });

  it('writes symbolic links as links', async () => {
    const linked = await createTempDir('bias-gate-git-link-');
    git(linked, 'init', '-q');
    await put(linked, 'models/real.onnx', SMALL_MODEL);
    execFileSync('ln', ['-s', 'real.onnx', path.join(linked, 'models/link.onnx')]);
    const sha = commitAll(linked, 'links');
    const target = await createTempDir();
    await materializeBaseTree({ repoRoot: linked, commit: sha, paths: ['models'], targetDir: target, log: noLog });
    expect(await readlink(path.join(target, 'models/link.onnx'))).toBe('real.onnx');
    expect((await readFile(path.join(target, 'models/link.onnx'))).equals(SMALL_MODEL)).toBe(true);
  });

  it('tells refs from other text', async () => {
    expect(await isGitRef(repo, 'main')).toBe(true);
    expect(await isGitRef(repo, commits.B)).toBe(true);
    expect(await isGitRef(repo, 'HEAD~1')).toBe(true);
    expect(await isGitRef(repo, 'fixtures/base')).toBe(false);
    expect(await isGitRef(repo, '-h')).toBe(false);
    expect(await isGitRef(repo, '')).toBe(false);
    expect(await isGitRef(await createTempDir(), 'main')).toBe(false);
    expect(await isGitRef(path.join(repo, 'no-such-dir'), 'main')).toBe(false);
  });
});

describe('resolveBaseCommit in a shallow clone', () => {
  let upstream: string;
  let forkPoint: string;
  let mainTip: string;

  beforeAll(async () => {
    upstream = await createTempDir('bias-gate-upstream-');
    git(upstream, 'init', '-q');
    for (let i = 1; i <= 30; i++) {
      await put(upstream, 'models/model.bin', Buffer.concat([ALL_BYTES, Buffer.from([i])]));
      commitAll(upstream, `main ${i}`);
      if (i === 5) {
        forkPoint = git(upstream, 'rev-parse', 'HEAD');
        git(upstream, 'branch', 'pr');
      }
    }
    mainTip = git(upstream, 'rev-parse', 'HEAD');
    git(upstream, 'checkout', '-q', 'pr');
    for (let i = 1; i <= 3; i++) {
      await put(upstream, 'models/model.bin', randomBytes(64));
      commitAll(upstream, `pr ${i}`);
    }
    git(upstream, 'checkout', '-q', 'main');
  });

  async function shallowClone(): Promise<string> {
    const clone = path.join(await createTempDir('bias-gate-shallow-'), 'clone');
    git(path.dirname(clone), 'clone', '-q', '--depth', '1', '--branch', 'pr', `file://${upstream}`, clone);
    expect(git(clone, 'rev-parse', '--is-shallow-repository')).toBe('true');
    return clone;
  }

  it('deepens step by step until the merge-base exists', async () => {
    const clone = await shallowClone();
    const logs: string[] = [];
    const base = await resolveBaseCommit({ repoRoot: clone, prBaseSha: mainTip, deepenSteps: [2, 40], log: (m) => logs.push(m) });
    expect(base.sha).toBe(forkPoint);
    expect(logs.filter((line) => line.includes('--deepen='))).toEqual([expect.stringContaining('--deepen=2'), expect.stringContaining('--deepen=40')]);
    expect(logs.some((line) => line.includes('--unshallow'))).toBe(false);

    // The base tree can then be written from the deepened clone.
    const target = await createTempDir();
    const tree = await materializeBaseTree({ repoRoot: clone, commit: base.sha, paths: ['models/model.bin'], targetDir: target, log: noLog });
    expect(tree.present).toEqual(['models/model.bin']);
    expect((await readFile(path.join(target, 'models/model.bin'))).equals(Buffer.concat([ALL_BYTES, Buffer.from([5])]))).toBe(true);
  });

  it('unshallows as the last resort', async () => {
    const clone = await shallowClone();
    const logs: string[] = [];
    const base = await resolveBaseCommit({ repoRoot: clone, prBaseSha: mainTip, deepenSteps: [1], log: (m) => logs.push(m) });
    expect(base.sha).toBe(forkPoint);
    expect(logs.some((line) => line.includes('--unshallow'))).toBe(true);
    expect(git(clone, 'rev-parse', '--is-shallow-repository')).toBe('false');
  });

  it('fetches an explicit base ref that the clone does not have', async () => {
    const clone = await shallowClone();
    const logs: string[] = [];
    const base = await resolveBaseCommit({ repoRoot: clone, baseRef: 'main', log: (m) => logs.push(m) });
    expect(base.sha).toBe(mainTip);
    expect(base.how).toContain('fetched from origin');
    expect(logs.join('\n')).toContain('fetching it from origin');
  });

  it('says to check out with full history when origin cannot be reached', async () => {
    const clone = await shallowClone();
    git(clone, 'remote', 'set-url', 'origin', `file://${upstream}-gone`);
    const error = await resolveBaseCommit({ repoRoot: clone, prBaseSha: mainTip, deepenSteps: [2], log: noLog }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).hint).toContain('fetch-depth: 0');
  });
});

describe.skipIf(!hasGitLfs)('materializeBaseTree with git lfs installed', () => {
  it('replaces a pointer with the LFS object', async () => {
    const repo = await createTempDir('bias-gate-lfs-');
    git(repo, 'init', '-q');
    git(repo, 'lfs', 'install', '--local');
    git(repo, 'lfs', 'track', '*.onnx');
    await put(repo, 'models/model.onnx', LARGE_MODEL);
    const sha = commitAll(repo, 'lfs model');
    expect(git(repo, 'cat-file', '-p', `${sha}:models/model.onnx`)).toContain('git-lfs.github.com/spec/v1');
    const target = await createTempDir();
    const result = await materializeBaseTree({ repoRoot: repo, commit: sha, paths: ['models'], targetDir: target, log: noLog });
    expect(result.lfsPointers).toEqual([]);
    expect((await readFile(path.join(target, 'models/model.onnx'))).equals(LARGE_MODEL)).toBe(true);
  });
});

if (!hasGitLfs) console.info('git lfs is not installed: the LFS smudge test is skipped (pointers are still tested)');
