import { expect } from 'vitest';
import { InputError } from '../src/errors.ts';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, so tests can name fixtures by their repository path. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Absolute path of a repository file: `repoPath('fixtures/vision/backbone.onnx')`. */
export function repoPath(relativePath: string): string {
  return join(REPO_ROOT, relativePath);
}

const tempDirs: string[] = [];

/**
 * A fresh empty directory under the OS temp dir, as a real path (so comparisons
 * with `realpath` results hold where the temp dir is a symlink, as on macOS).
 * test/setup.ts removes it after the test file with {@link removeTempDirs}.
 */
export async function createTempDir(prefix = 'bias-gate-test-'): Promise<string> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), prefix)));
  tempDirs.push(dir);
  return dir;
}

/** Deletes every directory {@link createTempDir} made; use as `afterAll(removeTempDirs)`. */
export async function removeTempDirs(): Promise<void> {
  const dirs = tempDirs.splice(0);
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}

/**
 * `$BIAS_GATE_SHARED`, the directory of large test data kept outside the repository (real models,
 * benchmark datasets), or undefined when it is not set; tests that need it skip and say so.
 * Set but missing is an error: CI must not skip silently because of a wrong path.
 */
export function sharedDir(): string | undefined {
  const dir = process.env.BIAS_GATE_SHARED;
  if (dir === undefined || dir === '') return undefined;
  const absolute = resolve(dir);
  if (!existsSync(absolute)) throw new Error(`BIAS_GATE_SHARED=${dir} does not exist (resolved to ${absolute})`);
  return absolute;
}

/**
 * {@link sharedDir} for a test file that needs it: when it is not set, prints that `what` is skipped
 * and why, so a skip is never silent.
 */
export function sharedDirFor(what: string): string | undefined {
  const dir = sharedDir();
  if (dir === undefined) console.warn(`skipping ${what}: set BIAS_GATE_SHARED to the shared data directory (CI sets ../shared)`);
  return dir;
}

/** The file → hex sha256 entries of a `sha256sum`-format SHA256SUMS file. */
export async function readSha256Sums(path: string): Promise<Map<string, string>> {
  const sums = new Map<string, string>();
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line.trim());
    if (match) sums.set(match[2]!, match[1]!);
  }
  return sums;
}

/** The InputError that `promise` rejects with (fails the test when it resolves or rejects with anything else). */
export async function inputErrorOf(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

/** Largest |a[r][k] − b[r][k]| over ragged arrays, which must have the same shape (asserted). */
export function maxAbsDifference(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): number {
  expect(a.map((row) => row.length)).toEqual(b.map((row) => row.length));
  let max = 0;
  a.forEach((row, r) => {
    for (let k = 0; k < row.length; k++) max = Math.max(max, Math.abs(row[k]! - b[r]![k]!));
  });
  return max;
}

/** Commits by a fixed identity, with no system or signing configuration: the same on every machine. */
const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
};

/** Runs `git args…` in `cwd` and returns its trimmed stdout (throws on a non-zero exit). */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'commit.gpgsign=false', '-c', 'init.defaultBranch=main', ...args], { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();
}
