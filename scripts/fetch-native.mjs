// Run by action.yml "Install native dependencies" when the Actions cache
// missed: puts this runner's pruned node_modules in the action's directory from
// the per-platform archive the release workflow published (scripts/pack-native.mjs),
// about a fifth of what `npm ci` downloads. The archive's sha256 must match the
// checksum file beside it, and its manifest must match this action's lockfile
// and this runner, or it is not used.
//
// Exit 0: installed. Exit FALLBACK_EXIT (2): not installed, with a log line
// saying why; the step then runs `npm ci` + prune as before. Any other failure
// also falls back there. Only node: builtins and the runner's tar.
//
// node scripts/fetch-native.mjs
//   env BIAS_GATE_NATIVE_URL   a base URL or local directory holding the archives (mirrors, tests)
//   env BIAS_GATE_ACTION_REPOSITORY, BIAS_GATE_ACTION_REF   github.action_repository / action_ref
//       (GITHUB_ACTION_REPOSITORY / GITHUB_ACTION_REF, then the action's path, when empty)
//   env INPUT_GPU              'true': the CUDA libraries are needed, so npm it is
/* global fetch, AbortSignal -- Node >= 18 globals; the first step has already refused an older Node. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { actionFromPath, chooseNativeSource, FALLBACK_EXIT, MANIFEST_FILE, manifestMismatch, nativeManifest, parseChecksumFile } from './native-archive.mjs';

/** Attempts per file, and the wait before each retry: a transient 5xx or reset gets two more tries. */
const RETRY_DELAYS_MS = [1000, 4000];
const ATTEMPT_TIMEOUT_MS = 5 * 60_000;

/** A failure that means "use npm instead", with the reason for the log. */
class Fallback extends Error {
  /** @param {string} reason @param {{ warn?: boolean }} [options] warn: an annotation, not just a log line */
  constructor(reason, { warn = false } = {}) {
    super(reason);
    this.warn = warn;
  }
}

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * Downloads `url` to `file`, retrying network errors, 429 and 5xx. A 404 is
 * no archive for this release and target: no retry.
 */
async function download(url, file, delays = RETRY_DELAYS_MS) {
  for (let attempt = 0; ; attempt++) {
    let problem;
    try {
      const response = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS) });
      if (response.ok && response.body) {
        await pipeline(Readable.fromWeb(response.body), createWriteStream(file));
        return;
      }
      if (response.status === 404) throw new Fallback(`no archive at ${url} (404)`);
      problem = `HTTP ${response.status} from ${url}`;
      if (response.status !== 429 && response.status < 500) throw new Fallback(problem, { warn: true });
    } catch (error) {
      if (error instanceof Fallback) throw error;
      problem = `${url}: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (attempt >= delays.length) throw new Fallback(`${problem} (after ${attempt + 1} attempts)`, { warn: true });
    console.log(`bias-gate: ${problem}; retrying in ${delays[attempt] / 1000} s.`);
    await sleep(delays[attempt]);
  }
}

/** `from` (URL or local path) to `file`. */
async function obtain(from, file, local) {
  if (!local) return download(from, file);
  const source = from.startsWith('file:') ? fileURLToPath(from) : from;
  if (!existsSync(source)) throw new Fallback(`no archive at ${source}`);
  copyFileSync(source, file);
}

/** The runner's tar: Windows' own bsdtar, not Git bash's GNU tar, which reads "C:" as a remote host. */
function tarCommand() {
  const windowsTar = process.env.SystemRoot ? path.join(process.env.SystemRoot, 'System32', 'tar.exe') : '';
  return process.platform === 'win32' && existsSync(windowsTar) ? windowsTar : 'tar';
}

/**
 * Installs node_modules into `actionDir` from the archive `chooseNativeSource`
 * picks for this job; throws Fallback when it does not.
 * @param {{ actionDir: string, env: NodeJS.ProcessEnv }} options
 */
export async function fetchNative({ actionDir, env }) {
  const { version } = JSON.parse(readFileSync(path.join(actionDir, 'package.json'), 'utf8'));
  const fromPath = actionFromPath(actionDir);
  const target = { version, platform: process.platform, arch: process.arch, abi: process.versions.modules };
  const choice = chooseNativeSource({
    ...target,
    gpu: env.INPUT_GPU === 'true',
    override: env.BIAS_GATE_NATIVE_URL || undefined,
    repository: env.BIAS_GATE_ACTION_REPOSITORY || env.GITHUB_ACTION_REPOSITORY || fromPath?.repository,
    ref: env.BIAS_GATE_ACTION_REF || env.GITHUB_ACTION_REF || fromPath?.ref,
  });
  if (choice.source === 'npm') throw new Fallback(choice.reason);

  // Downloaded and extracted beside node_modules (same volume, so the final move is a rename), with relative paths for tar.
  const staging = path.join(actionDir, '.bias-gate-native');
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const checksumFile = path.join(staging, `${choice.name}.sha256`);
    await obtain(choice.checksum, checksumFile, choice.local);
    const expected = parseChecksumFile(readFileSync(checksumFile, 'utf8'), choice.name);
    if (!expected) throw new Fallback(`${choice.checksum} holds no sha256 for ${choice.name}`, { warn: true });
    await obtain(choice.archive, path.join(staging, choice.name), choice.local);
    const actual = sha256(path.join(staging, choice.name));
    if (actual !== expected) {
      throw new Fallback(`refused ${choice.archive}: its sha256 is ${actual}, ${choice.checksum} says ${expected} (a corrupted or altered download)`, { warn: true });
    }

    const tar = spawnSync(tarCommand(), ['-xzf', choice.name], { cwd: staging, encoding: 'utf8' });
    if (tar.status !== 0) throw new Fallback(`tar could not extract ${choice.name}: ${(tar.stderr || tar.error?.message || `exit ${tar.status}`).trim().split('\n')[0]}`, { warn: true });
    const manifestFile = path.join(staging, 'node_modules', MANIFEST_FILE);
    const manifest = existsSync(manifestFile) ? JSON.parse(readFileSync(manifestFile, 'utf8')) : undefined;
    const mismatch = manifestMismatch(manifest, nativeManifest({ ...target, lockfileSha256: sha256(path.join(actionDir, 'package-lock.json')) }));
    if (mismatch) throw new Fallback(`${choice.name} does not fit: ${mismatch}`, { warn: true });

    rmSync(path.join(actionDir, 'node_modules'), { recursive: true, force: true });
    renameSync(path.join(staging, 'node_modules'), path.join(actionDir, 'node_modules'));
    return { name: choice.name, from: choice.archive, bytes: statSync(path.join(staging, choice.name)).size, sha256: actual };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const actionDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  try {
    const result = await fetchNative({ actionDir, env: process.env });
    console.log(`bias-gate: installed native dependencies from ${result.from} (${(result.bytes / 1e6).toFixed(1)} MB, sha256 ${result.sha256} verified).`);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (!(error instanceof Fallback) || error.warn) console.log(`::warning title=bias-gate::Native archive not used: ${reason}. Installing with npm ci instead.`);
    console.log(`bias-gate: installing native dependencies with npm ci: ${reason}.`);
    process.exit(FALLBACK_EXIT);
  }
}
