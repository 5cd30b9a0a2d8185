import { execFile, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, open, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { InputError, messageOf } from '../errors.ts';
import { GIT_LFS_POINTER_HEAD_BYTES, isGitLfsPointer } from './lfs.ts';

/** How the base side of a pull request is found from git (DESIGN §1.2). */
export interface ResolveBaseCommitOptions {
  /** A directory inside the repository's work tree; git runs there. */
  repoRoot: string;
  /** An explicit base (Action input `base-ref`, CLI `--base <ref>`): a branch, tag or commit. Wins over `prBaseSha`. */
  baseRef?: string;
  /** The pull request's base commit (`pull_request.base.sha`); the base is its merge-base with HEAD. */
  prBaseSha?: string;
  /** Each git step that changes the repository (fetch, deepen) is logged here. */
  log: (message: string) => void;
  /**
   * How far a shallow clone is deepened, step by step, before the last resort `--unshallow`;
   * default {@link DEFAULT_DEEPEN_STEPS}. Each entry is the `--deepen=<n>` of one fetch.
   */
  deepenSteps?: readonly number[];
}

/** The base commit and, for the report, how it was found. */
export interface BaseCommit {
  /** Full hex object name of the commit. */
  sha: string;
  /** For the report, without the resolved sha: "merge-base of <pr base sha> and HEAD", "base-ref main", "base-ref main, fetched from origin". */
  how: string;
}

/** `--deepen` amounts tried in turn on a shallow clone before `--unshallow`. */
export const DEFAULT_DEEPEN_STEPS: readonly number[] = [50, 200, 1000, 5000];

/** What to tell a user whose checkout lacks the history the base needs. */
export const FULL_HISTORY_HINT = 'Check out with full history: actions/checkout with `fetch-depth: 0` (or run `git fetch --unshallow origin`).';

/** Options of {@link materializeBaseTree}. */
export interface MaterializeBaseTreeOptions {
  /** A directory inside the repository's work tree; `paths` are relative to it. */
  repoRoot: string;
  /** The commit whose version of `paths` is written. */
  commit: string;
  /** Repository-relative files or directories (POSIX separators), as the config names them. */
  paths: readonly string[];
  /** Where the files go, in the same relative layout (created when missing). */
  targetDir: string;
  log: (message: string) => void;
}

/** What {@link materializeBaseTree} wrote. */
export interface MaterializedBaseTree {
  /** Requested paths that exist at the commit and were written. */
  present: string[];
  /** Requested paths absent at the commit (a model new in the pull request). */
  missing: string[];
  /** Written files (repository-relative) that are still Git LFS pointers, because `git lfs` is missing or could not fetch the object. */
  lfsPointers: string[];
}

/**
 * The base commit of a pull request (DESIGN §1.2): `baseRef` when given (fetched from
 * `origin` when unknown locally), otherwise the merge-base of `prBaseSha` and HEAD. A
 * shallow clone is deepened step by step until the merge-base exists.
 */
export async function resolveBaseCommit(options: ResolveBaseCommitOptions): Promise<BaseCommit> {
  const { repoRoot, log } = options;
  await requireRepository(repoRoot);
  if (options.baseRef !== undefined && options.baseRef.trim() !== '') {
    return resolveExplicitRef(repoRoot, options.baseRef.trim(), log);
  }
  if (options.prBaseSha === undefined || options.prBaseSha.trim() === '') {
    throw new InputError('no base to compare with: neither a base ref nor the pull request\'s base commit was given', {
      hint: 'Run on a `pull_request` event, or set the `base-ref` input (CLI: `--base <branch|commit|dir>`).',
    });
  }
  const prBaseSha = options.prBaseSha.trim();
  checkRevisionText(prBaseSha, 'pull request base commit');
  return resolveMergeBase(repoRoot, prBaseSha, options.deepenSteps ?? DEFAULT_DEEPEN_STEPS, log);
}

/** True when `text` names a commit in the repository at `repoRoot` (a branch, tag, sha, `HEAD~2`…). */
export async function isGitRef(repoRoot: string, text: string): Promise<boolean> {
  if (text === '' || text.startsWith('-')) return false;
  try {
    return (await git(repoRoot, ['rev-parse', '--verify', '--quiet', `${text}^{commit}`])).code === 0;
  } catch {
    return false; // git missing or not a repository: not a ref either way.
  }
}

/**
 * Writes each of `paths` as it is at `commit` into `targetDir`, byte for byte (blobs are
 * streamed from `git cat-file`, never held in memory whole). Git LFS pointers are replaced
 * by their objects when `git lfs` is installed and can get them; otherwise they are kept
 * and listed, for the model loader to report (DESIGN §1.2).
 */
export async function materializeBaseTree(options: MaterializeBaseTreeOptions): Promise<MaterializedBaseTree> {
  const { repoRoot, commit, targetDir, log } = options;
  await requireRepository(repoRoot);
  checkRevisionText(commit, 'base commit');
  if ((await git(repoRoot, ['cat-file', '-e', `${commit}^{commit}`])).code !== 0) {
    throw new InputError(`base commit ${commit} is not in the repository at ${repoRoot}`, { hint: FULL_HISTORY_HINT });
  }
  const result: MaterializedBaseTree = { present: [], missing: [], lfsPointers: [] };
  let lfs: Promise<boolean> | undefined;
  await mkdir(targetDir, { recursive: true });
  for (const requested of options.paths) {
    const normalized = normalizeRepoPath(requested);
    const entries = await listTree(repoRoot, commit, normalized);
    if (entries.length === 0) {
      result.missing.push(requested);
      continue;
    }
    result.present.push(requested);
    for (const entry of entries) {
      const destination = path.join(targetDir, ...entry.path.split('/'));
      if (entry.type !== 'blob') {
        log(`${entry.path} at ${shortSha(commit)} is a ${entry.type === 'commit' ? 'submodule' : entry.type}; not written`);
        continue;
      }
      await mkdir(path.dirname(destination), { recursive: true });
      await rm(destination, { force: true, recursive: true });
      if (entry.mode === '120000') {
        // A symbolic link's blob is its target, as `git checkout` would make it. It may lead out of
        // `targetDir`: every reader refuses such a link with the file's name (confined-file.ts), the
        // same as a link in the head checkout, so base and head are judged alike.
        await symlink((await git(repoRoot, ['cat-file', 'blob', entry.object])).stdout.toString('utf8'), destination);
        continue;
      }
      // Per the LFS spec a pointer is under 1024 bytes; anything larger is content.
      if (entry.size !== undefined && entry.size < 1024) {
        const bytes = (await gitOrThrow(repoRoot, ['cat-file', 'blob', entry.object])).stdout;
        if (bytes.length >= GIT_LFS_POINTER_HEAD_BYTES && isGitLfsPointer(bytes)) {
          lfs ??= gitLfsAvailable(repoRoot);
          const smudged = (await lfs) && (await smudgeLfsPointer(repoRoot, entry.path, bytes, destination, log));
          if (!smudged) {
            await writeFile(destination, bytes);
            result.lfsPointers.push(entry.path);
          }
          continue;
        }
        await writeFile(destination, bytes);
        continue;
      }
      await streamBlob(repoRoot, entry.object, destination);
    }
    log(`base ${requested}: written from ${shortSha(commit)}`);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Resolution

async function resolveExplicitRef(repoRoot: string, ref: string, log: (message: string) => void): Promise<BaseCommit> {
  checkRevisionText(ref, 'base ref');
  const local = await revParseCommit(repoRoot, ref);
  if (local !== undefined) return { sha: local, how: `base-ref ${ref}` };
  log(`base ref ${ref} is not in the local repository; fetching it from origin`);
  const fetched = await git(repoRoot, ['fetch', '--no-tags', 'origin', ref]);
  if (fetched.code !== 0) {
    throw new InputError(`base ref "${ref}" is neither in the local repository nor fetchable from origin: ${firstLine(fetched.stderr)}`, {
      hint: `Name an existing branch, tag or commit, or check out with full history (actions/checkout with \`fetch-depth: 0\`).`,
    });
  }
  // `git fetch origin main` updates origin/main only when a refspec covers it; FETCH_HEAD always holds it.
  const after = (await revParseCommit(repoRoot, ref)) ?? (await revParseCommit(repoRoot, 'FETCH_HEAD'));
  if (after === undefined) {
    throw new InputError(`base ref "${ref}" was fetched from origin but does not name a commit`, { hint: 'Name a branch, tag or commit.' });
  }
  return { sha: after, how: `base-ref ${ref}, fetched from origin` };
}

async function resolveMergeBase(repoRoot: string, prBaseSha: string, deepenSteps: readonly number[], log: (message: string) => void): Promise<BaseCommit> {
  const how = `merge-base of ${prBaseSha} and HEAD`;
  const found = await mergeBase(repoRoot, prBaseSha);
  if (found !== undefined) return { sha: found, how };
  const shallow = (await gitOrThrow(repoRoot, ['rev-parse', '--is-shallow-repository'])).stdout.toString('utf8').trim() === 'true';
  if (!shallow) {
    if ((await revParseCommit(repoRoot, prBaseSha)) === undefined) {
      log(`pull request base ${shortSha(prBaseSha)} is not in the local repository; fetching it from origin`);
      await fetchOrThrow(repoRoot, ['fetch', '--no-tags', 'origin', prBaseSha], prBaseSha);
      const afterFetch = await mergeBase(repoRoot, prBaseSha);
      if (afterFetch !== undefined) return { sha: afterFetch, how };
    }
    throw new InputError(`no merge-base of the pull request base ${prBaseSha} and HEAD: the two histories share no commit`, {
      hint: 'Check that HEAD is the pull request\'s checkout, or set `base-ref` to the commit to compare with.',
    });
  }
  for (const depth of deepenSteps) {
    log(`shallow clone: no merge-base of ${shortSha(prBaseSha)} and HEAD yet; git fetch --deepen=${depth}`);
    await fetchOrThrow(repoRoot, ['fetch', '--no-tags', `--deepen=${depth}`, 'origin', prBaseSha], prBaseSha);
    const deepened = await mergeBase(repoRoot, prBaseSha);
    if (deepened !== undefined) {
      log(`merge-base found after deepening by ${depth}`);
      return { sha: deepened, how };
    }
  }
  log(`shallow clone: still no merge-base of ${shortSha(prBaseSha)} and HEAD; git fetch --unshallow`);
  await fetchOrThrow(repoRoot, ['fetch', '--no-tags', '--unshallow', 'origin', prBaseSha], prBaseSha);
  const unshallowed = await mergeBase(repoRoot, prBaseSha);
  if (unshallowed !== undefined) return { sha: unshallowed, how };
  throw new InputError(`no merge-base of the pull request base ${prBaseSha} and HEAD, even with full history`, {
    hint: 'Check that HEAD is the pull request\'s checkout, or set `base-ref` to the commit to compare with.',
  });
}

async function mergeBase(repoRoot: string, sha: string): Promise<string | undefined> {
  const result = await git(repoRoot, ['merge-base', sha, 'HEAD']);
  return result.code === 0 ? result.stdout.toString('utf8').trim() : undefined;
}

async function revParseCommit(repoRoot: string, revision: string): Promise<string | undefined> {
  const result = await git(repoRoot, ['rev-parse', '--verify', '--quiet', `${revision}^{commit}`]);
  return result.code === 0 ? result.stdout.toString('utf8').trim() : undefined;
}

async function fetchOrThrow(repoRoot: string, args: string[], sha: string): Promise<void> {
  const result = await git(repoRoot, args);
  if (result.code !== 0) {
    throw new InputError(`could not fetch the pull request base ${sha} from origin (git ${args.join(' ')}): ${firstLine(result.stderr)}`, {
      hint: FULL_HISTORY_HINT,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Trees and blobs

interface TreeEntry {
  mode: string;
  type: string;
  object: string;
  /** Blob size in bytes; undefined for trees and submodules. */
  size: number | undefined;
  /** Path relative to the repository root (the git-run directory), POSIX separators. */
  path: string;
}

/** Every file under `repoPath` (itself when a file) at `commit`; empty when absent. */
async function listTree(repoRoot: string, commit: string, repoPath: string): Promise<TreeEntry[]> {
  const args = ['--literal-pathspecs', 'ls-tree', '-r', '-l', '-z', commit];
  if (repoPath !== '') args.push('--', repoPath);
  const output = (await gitOrThrow(repoRoot, args)).stdout.toString('utf8');
  const entries: TreeEntry[] = [];
  for (const record of output.split('\0')) {
    if (record === '') continue;
    const tab = record.indexOf('\t');
    const [mode, type, object, size] = record.slice(0, tab).trim().split(/\s+/);
    const entryPath = record.slice(tab + 1);
    // ls-tree matches path prefixes at component boundaries already; this keeps it exact.
    if (repoPath !== '' && entryPath !== repoPath && !entryPath.startsWith(`${repoPath}/`)) continue;
    if (entryPath.split('/').some((part) => part === '..' || part === '.' || part === '')) continue;
    entries.push({ mode: mode!, type: type!, object: object!, size: size === undefined || size === '-' ? undefined : Number(size), path: entryPath });
  }
  return entries;
}

/** `git cat-file blob <object>` straight into `destination`. */
async function streamBlob(repoRoot: string, object: string, destination: string): Promise<void> {
  const child = spawn('git', ['cat-file', 'blob', object], { cwd: repoRoot, env: gitEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = waitForExit(child);
  try {
    await pipeline(child.stdout, createWriteStream(destination));
  } catch (error) {
    child.kill();
    await exited.catch(() => undefined);
    await rm(destination, { force: true });
    throw new Error(`writing ${destination} from git object ${object} failed: ${messageOf(error)}`, { cause: error });
  }
  const { code, stderr } = await exited;
  if (code !== 0) {
    await rm(destination, { force: true });
    throw new Error(`git cat-file blob ${object} failed (exit ${code}): ${firstLine(stderr)}`);
  }
}

async function gitLfsAvailable(repoRoot: string): Promise<boolean> {
  try {
    return (await git(repoRoot, ['lfs', 'version'])).code === 0;
  } catch {
    return false;
  }
}

/**
 * `git lfs smudge` with the pointer on stdin, its output (the real object, fetched from the
 * LFS server when not local) written to `destination`. False, with a log line, when it fails
 * or still yields a pointer.
 */
async function smudgeLfsPointer(repoRoot: string, repoPath: string, pointer: Buffer, destination: string, log: (message: string) => void): Promise<boolean> {
  const partial = `${destination}.lfs-partial`;
  // GIT_LFS_SKIP_SMUDGE would make smudge echo the pointer back; we want the object.
  const env = gitEnvironment();
  delete env.GIT_LFS_SKIP_SMUDGE;
  const child = spawn('git', ['lfs', 'smudge', '--', repoPath], { cwd: repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = waitForExit(child);
  child.stdin.on('error', () => undefined); // An early exit closes stdin; the exit code reports it.
  child.stdin.end(pointer);
  try {
    await pipeline(child.stdout, createWriteStream(partial));
    const { code, stderr } = await exited;
    if (code !== 0) throw new Error(`exit ${code}: ${firstLine(stderr)}`);
    const head = Buffer.alloc(GIT_LFS_POINTER_HEAD_BYTES);
    const handle = await open(partial, 'r');
    try {
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      if (isGitLfsPointer(head.subarray(0, bytesRead))) throw new Error('it returned the pointer, not the object');
    } finally {
      await handle.close();
    }
    await rename(partial, destination);
    log(`${repoPath}: Git LFS object fetched`);
    return true;
  } catch (error) {
    child.kill();
    await exited.catch(() => undefined);
    await rm(partial, { force: true });
    log(`${repoPath}: git lfs smudge failed (${messageOf(error)}); the base file stays a Git LFS pointer`);
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Running git

export interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Large enough for `ls-tree -r` of a big model directory and small blobs; blobs over 1 KiB are streamed. */
const GIT_MAX_BUFFER = 256 * 1024 * 1024;

function gitEnvironment(): NodeJS.ProcessEnv {
  // Never wait for a password on a terminal nobody watches; messages in English so they can be quoted.
  return { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
}

/** Runs git in `cwd`; a non-zero exit is a result, a missing git binary an InputError. */
export function git(cwd: string, args: readonly string[]): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env: gitEnvironment(), encoding: 'buffer', maxBuffer: GIT_MAX_BUFFER }, (error, stdout, stderr) => {
      const code = (error as { code?: unknown } | null)?.code;
      if (error && typeof code !== 'number') {
        if (code === 'ENOENT' && !existsSync(cwd)) {
          reject(new InputError(`${cwd}: no such directory, so git cannot run there`, { hint: 'Give the root of a checkout of the repository.' }));
        } else if (code === 'ENOENT') {
          reject(new InputError('git is not installed or not on PATH; it is needed to read the base side from the repository', {
            hint: 'Install git, or give the base side as a directory (CLI: `--base DIR`).',
          }));
        } else {
          reject(new Error(`git ${args.join(' ')}: ${messageOf(error)}`, { cause: error }));
        }
        return;
      }
      resolve({ code: typeof code === 'number' ? code : 0, stdout, stderr: stderr.toString('utf8') });
    });
  });
}

async function gitOrThrow(cwd: string, args: readonly string[]): Promise<GitResult> {
  const result = await git(cwd, args);
  if (result.code !== 0) throw new Error(`git ${args.join(' ')} failed (exit ${result.code}): ${firstLine(result.stderr)}`);
  return result;
}

function waitForExit(child: ReturnType<typeof spawn>): Promise<{ code: number; stderr: string }> {
  const chunks: Buffer[] = [];
  child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stderr: Buffer.concat(chunks).toString('utf8') }));
  });
}

async function requireRepository(repoRoot: string): Promise<void> {
  const result = await git(repoRoot, ['rev-parse', '--is-inside-work-tree']).catch((error: unknown) => {
    if (error instanceof InputError) throw error;
    return { code: 1, stdout: Buffer.alloc(0), stderr: messageOf(error) };
  });
  if (result.code !== 0 || result.stdout.toString('utf8').trim() !== 'true') {
    throw new InputError(`${repoRoot} is not inside a git work tree, so the base side cannot be read from git: ${firstLine(result.stderr)}`, {
      hint: 'Run in a checkout of the repository (actions/checkout), or give the base side as a directory (CLI: `--base DIR`).',
    });
  }
}

/** Refuses text git would read as an option, so a ref can never smuggle flags in. */
function checkRevisionText(text: string, what: string): void {
  if (text.startsWith('-') || /[\s\0]/.test(text)) {
    throw new InputError(`${what} "${text}" is not a valid git revision`, { hint: 'Name a branch, tag or commit sha.' });
  }
}

/** `models/lm/`, `./models/lm` → `models/lm`; `.` → the whole tree (''). Escaping paths are InputErrors. */
function normalizeRepoPath(requested: string): string {
  const posix = path.posix.normalize(requested.replaceAll('\\', '/'));
  const trimmed = posix.replace(/\/+$/, '');
  if (trimmed === '.' || trimmed === '') return '';
  if (path.posix.isAbsolute(trimmed) || trimmed === '..' || trimmed.startsWith('../')) {
    throw new InputError(`"${requested}" is not a path inside the repository`, { hint: 'Paths are relative to the repository root.' });
  }
  return trimmed;
}

function shortSha(sha: string): string {
  return /^[0-9a-f]{40,64}$/.test(sha) ? sha.slice(0, 12) : sha;
}

function firstLine(text: string): string {
  return text.trim().split('\n').find((line) => line.trim() !== '')?.trim() ?? '(no message)';
}

/** The commit checked out at `repoRoot` (`git rev-parse HEAD`), for the audit record; null when it is not a git checkout. */
export async function checkedOutCommit(repoRoot: string): Promise<string | null> {
  try {
    return (await revParseCommit(repoRoot, 'HEAD')) ?? null;
  } catch {
    return null; // git missing: the record says so by a null
  }
}
