/**
 * The history's git side: the data branch (`history-branch`, e.g. `bias-gate-data`) of the
 * repository's own remote holds `history/<config-slug>.json` (format in history.ts).
 *
 * Everything goes through the checkout's object store with plumbing commands (`fetch` into a
 * private ref, `show`, `hash-object`, a throw-away index, `commit-tree`, `push`), so the work tree,
 * the index and HEAD of the checkout are never touched and no second clone is needed. Authentication
 * is the checkout's (actions/checkout persists the workflow token for `origin`), or the token given
 * here, passed to git through the environment (never on a command line).
 *
 * Concurrent default-branch jobs: each push is a fast-forward of the branch it fetched; when another
 * job pushed first the push is rejected, and the writer fetches again, re-applies its entry to the
 * newer file and pushes again, a bounded number of times (benchmark-action/github-action-benchmark
 * keeps its gh-pages data the same way).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { messageOf } from '../errors.ts';
import { appendHistoryEntry, parseHistoryFile, serializeHistoryFile, type HistoryEntry, type HistoryFile } from './history.ts';

/** Pushes tried before giving up when other jobs keep pushing first. */
export const DEFAULT_PUSH_ATTEMPTS = 5;

/** The private ref the data branch is fetched into (never a branch of the checkout). */
export const HISTORY_FETCH_REF = 'refs/bias-gate/history';

/** Where the history lives and how to reach it. */
export interface HistoryLocation {
  /** The checkout (any repository whose `remote` is the repository). */
  repoRoot: string;
  /** Remote name or URL (default `origin`). */
  remote?: string;
  /** The data branch, e.g. `bias-gate-data`. */
  branch: string;
  /** The history file on that branch (`historyFilePath(configPath)`). */
  file: string;
  /**
   * A token for HTTPS remotes, sent as `AUTHORIZATION: basic` for `serverUrl` (replacing any header
   * the checkout persisted). Omit to use the checkout's own credentials.
   */
  auth?: { token: string; serverUrl: string };
  log?: (message: string) => void;
}

/** The history file as the data branch holds it now: null when the branch or the file does not exist. */
export async function readHistory(location: HistoryLocation): Promise<HistoryFile | null> {
  const tip = await fetchBranch(location);
  return tip === null ? null : readFileAt(location, tip);
}

/** What {@link appendHistory} did. */
export interface AppendResult {
  file: HistoryFile;
  /** The data-branch commit pushed. */
  commit: string;
  /** Pushes tried (1 when nobody pushed in between). */
  attempts: number;
}

/**
 * Adds `entry` to the history on the data branch and pushes it: fetch the branch, append (bounded to
 * `length` entries), commit on top of the fetched tip (or as the branch's first commit), push as a
 * fast-forward. A rejected push (another job pushed first) starts over from a fresh fetch, at most
 * `attempts` times; then it throws.
 */
export async function appendHistory(location: HistoryLocation & { configPath: string; entry: HistoryEntry; length: number; attempts?: number }): Promise<AppendResult> {
  const attempts = location.attempts ?? DEFAULT_PUSH_ATTEMPTS;
  const log = location.log ?? (() => {});
  for (let attempt = 1; ; attempt++) {
    const tip = await fetchBranch(location);
    const current = tip === null ? null : await readFileAt(location, tip);
    const file = appendHistoryEntry(current, location.configPath, location.entry, location.length);
    const commit = await commitFile(location, tip, serializeHistoryFile(file), `bias-gate history: ${location.entry.verdict} at ${location.entry.commit.slice(0, 12)}`, location.entry.date);
    const pushed = await runGit(location.repoRoot, ['push', '--porcelain', remoteOf(location), `${commit}:refs/heads/${location.branch}`], { config: authConfig(location) });
    if (pushed.code === 0) {
      log(`History: ${location.file} on ${location.branch} now has ${file.entries.length} entries (commit ${commit.slice(0, 12)}).`);
      return { file, commit, attempts: attempt };
    }
    if (!isRejectedPush(pushed.stdout + pushed.stderr) || attempt >= attempts) {
      throw new Error(`git push to ${location.branch} failed after ${attempt} attempt(s): ${lastLines(pushed.stderr || pushed.stdout)}`);
    }
    log(`History: another job pushed ${location.branch} first; fetching it again (attempt ${attempt + 1} of ${attempts}).`);
    // Jobs that collided once would collide again in lockstep: wait a little, longer each time.
    await new Promise((resolve) => setTimeout(resolve, 200 * attempt + Math.floor(Math.random() * 300)));
  }
}

/** Fetches the data branch into {@link HISTORY_FETCH_REF}; its commit, or null when the branch does not exist. */
async function fetchBranch(location: HistoryLocation): Promise<string | null> {
  const remote = remoteOf(location);
  const listed = await runGit(location.repoRoot, ['ls-remote', '--heads', remote, `refs/heads/${location.branch}`], { config: authConfig(location) });
  if (listed.code !== 0) throw new Error(`git ls-remote ${remote} failed: ${lastLines(listed.stderr)}`);
  if (listed.stdout.trim() === '') {
    await runGit(location.repoRoot, ['update-ref', '-d', HISTORY_FETCH_REF]);
    return null;
  }
  const fetched = await runGit(location.repoRoot, ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', remote, `+refs/heads/${location.branch}:${HISTORY_FETCH_REF}`], { config: authConfig(location) });
  if (fetched.code !== 0) throw new Error(`git fetch ${remote} ${location.branch} failed: ${lastLines(fetched.stderr)}`);
  const tip = await runGit(location.repoRoot, ['rev-parse', '--verify', `${HISTORY_FETCH_REF}^{commit}`]);
  if (tip.code !== 0) throw new Error(`the fetched ${location.branch} is not a commit: ${lastLines(tip.stderr)}`);
  return tip.stdout.trim();
}

async function readFileAt(location: HistoryLocation, commit: string): Promise<HistoryFile | null> {
  const shown = await runGit(location.repoRoot, ['show', `${commit}:${location.file}`]);
  if (shown.code !== 0) return null;
  return parseHistoryFile(shown.stdout, `${location.file} on ${location.branch} (commit ${commit.slice(0, 12)})`);
}

/** A commit of `parent`'s tree with `location.file` set to `content`; dated `date` so re-runs give the same commit. */
async function commitFile(location: HistoryLocation, parent: string | null, content: string, message: string, date: string): Promise<string> {
  const { repoRoot } = location;
  const blob = (await gitOrThrow(repoRoot, ['hash-object', '-w', '--stdin'], { input: content })).stdout.trim();
  // A throw-away index: the checkout's own index and work tree stay as they are.
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'bias-gate-history-'));
  try {
    const env = { GIT_INDEX_FILE: path.join(scratch, 'index') };
    if (parent) await gitOrThrow(repoRoot, ['read-tree', parent], { env });
    await gitOrThrow(repoRoot, ['update-index', '--add', '--cacheinfo', `100644,${blob},${location.file}`], { env });
    const tree = (await gitOrThrow(repoRoot, ['write-tree'], { env })).stdout.trim();
    const identity = { GIT_AUTHOR_NAME: 'bias-gate', GIT_AUTHOR_EMAIL: 'bias-gate@users.noreply.github.com', GIT_COMMITTER_NAME: 'bias-gate', GIT_COMMITTER_EMAIL: 'bias-gate@users.noreply.github.com', GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
    return (await gitOrThrow(repoRoot, ['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', message], { env: identity })).stdout.trim();
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The commit's sha and committer date (ISO 8601), for a history entry that does not depend on the clock. */
export async function commitIdentity(repoRoot: string, revision: string): Promise<{ sha: string; date: string }> {
  const shown = await gitOrThrow(repoRoot, ['show', '-s', '--format=%H %cI', `${revision}^{commit}`]);
  const [sha = '', date = ''] = shown.stdout.trim().split(' ');
  return { sha, date };
}

/** The basic-auth header value git sends for `token` (mask it in logs: it is the token, encoded). */
export function basicAuthHeader(token: string): string {
  return `AUTHORIZATION: basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
}

/**
 * Config for an authenticated remote. An empty value first resets the header list (git's documented
 * way to drop an inherited `http.extraHeader`), so the checkout's persisted header is not sent twice.
 * {@link runGit} passes it as `GIT_CONFIG_*` variables, so the token is in no process's arguments.
 */
function authConfig(location: HistoryLocation): [string, string][] {
  if (!location.auth) return [];
  const key = `http.${location.auth.serverUrl.replace(/\/+$/, '')}/.extraheader`;
  return [[key, ''], [key, basicAuthHeader(location.auth.token)]];
}

function remoteOf(location: HistoryLocation): string {
  return location.remote ?? 'origin';
}

function isRejectedPush(output: string): boolean {
  return /\[rejected\]|non-fast-forward|fetch first|failed to update ref|cannot lock ref|stale info|\[remote rejected\].*(?:lock|ref)/i.test(output);
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' / ') || '(no output)';
}

interface GitRun {
  code: number;
  stdout: string;
  stderr: string;
}

interface GitOptions {
  input?: string;
  env?: Record<string, string>;
  /** `git -c` settings, passed in the environment. */
  config?: [string, string][];
}

function runGit(cwd: string, args: readonly string[], options: GitOptions = {}): Promise<GitRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', ...options.env };
  const config = options.config ?? [];
  if (config.length > 0) {
    env.GIT_CONFIG_COUNT = String(config.length);
    config.forEach(([key, value], index) => {
      env[`GIT_CONFIG_KEY_${index}`] = key;
      env[`GIT_CONFIG_VALUE_${index}`] = value;
    });
  }
  return new Promise((resolve, reject) => {
    const child = execFile('git', args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = (error as { code?: unknown } | null)?.code;
      if (error && typeof code !== 'number') reject(new Error(`git ${args[0]}: ${messageOf(error)}`, { cause: error }));
      else resolve({ code: typeof code === 'number' ? code : 0, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

async function gitOrThrow(cwd: string, args: readonly string[], options: GitOptions = {}): Promise<GitRun> {
  const result = await runGit(cwd, args, options);
  if (result.code !== 0) throw new Error(`git ${args.join(' ')} failed (exit ${result.code}): ${lastLines(result.stderr)}`);
  return result;
}
