import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { openRegularFile } from '../../artifacts/confined-file.ts';
import { GIT_LFS_POINTER_HEAD_BYTES, isGitLfsPointer } from '../../artifacts/lfs.ts';
import { describeLocation, MIRROR_ENV_VAR, pinnedFileLocations, withoutControlCharacters, type FileLocation, type Mirror } from '../../artifacts/mirror.ts';
import { InputError, messageOf } from '../../errors.ts';

/**
 * A benchmark file at its public origin, pinned to one revision and checked by content (DESIGN §6).
 * At least one of `sha256` and `gitBlobId` is set; when both are, both must match.
 */
export interface BenchmarkSource {
  /** What the file is, for messages ("StereoSet test.json"). */
  name: string;
  /** Download address at the pinned revision (a commit, never a branch). */
  url: string;
  /** Hex sha256 of the file's bytes; absent only where none is published (then `gitBlobId`). */
  sha256?: string;
  /** Git blob id (`git hash-object FILE`: sha1 of `blob <size>\0` + bytes), as listed in a git tree. */
  gitBlobId?: string;
  /** Size in bytes, where known (shown in progress messages). */
  bytes?: number;
  /** Repository and commit the URL points into. */
  revision: string;
  /** The data licence (all three benchmarks are CC BY-SA, so they are fetched, not vendored). */
  license: string;
  /** File name in the cache; default: the URL's last segment without control characters. */
  cacheName?: string;
  /** What a user can do when the file cannot be had; default: configure a local `path:`. */
  hint?: string;
}

/** The benchmark files bias-gate can fetch itself; see SOURCE.md next to each under `$BIAS_GATE_SHARED/benchmarks/`. */
export type BenchmarkFileId = 'crows-pairs' | 'stereoset-dev' | 'stereoset-test' | 'wikitext-2-test';

const BIAS_BENCH_COMMIT = '291426aab926f78ecfc7bd040b531429ee8123e0';
const STEREOSET_COMMIT = 'ead7d086a64a192a1eca88e0dd2fd163de375218';
const PYTORCH_EXAMPLES_COMMIT = '77f55b912142e11fcfdf5b530231fb9c52f181e8';

/** The pinned public origins (checksums from the SOURCE.md files). */
export const BENCHMARK_SOURCES: Readonly<Record<BenchmarkFileId, BenchmarkSource>> = {
  'crows-pairs': {
    name: 'CrowS-Pairs crows_pairs_anonymized.csv',
    url: `https://raw.githubusercontent.com/McGill-NLP/bias-bench/${BIAS_BENCH_COMMIT}/data/crows/crows_pairs_anonymized.csv`,
    sha256: 'dfb36986ce0502abbaf7055b9176da3d08d48e07df1251991b5dfbcbceab9d0c',
    gitBlobId: '28fa7d906a83d441001fb2a0eeae28c6d64a99e1',
    bytes: 437_764,
    revision: `McGill-NLP/bias-bench@${BIAS_BENCH_COMMIT}`,
    license: 'CC BY-SA 4.0',
  },
  'stereoset-dev': {
    name: 'StereoSet dev.json',
    url: `https://raw.githubusercontent.com/moinnadeem/StereoSet/${STEREOSET_COMMIT}/data/dev.json`,
    sha256: '73a0f31b711688112602e4c3ac6ab1e1a7cadcdd67df6c6fd55501c889676c90',
    gitBlobId: '637b1e3d284a3c629b74a4659c583b8eca9bd13e',
    bytes: 12_502_245,
    revision: `moinnadeem/StereoSet@${STEREOSET_COMMIT}`,
    license: 'CC BY-SA 4.0',
  },
  'stereoset-test': {
    // Only the git blob id is known for test.json (stereoset/SOURCE.md); the one published bias-bench uses.
    name: 'StereoSet test.json',
    url: `https://raw.githubusercontent.com/McGill-NLP/bias-bench/${BIAS_BENCH_COMMIT}/data/stereoset/test.json`,
    gitBlobId: 'dc0204cca28144732f14cb2466ffdb87c86ca5ec',
    revision: `McGill-NLP/bias-bench@${BIAS_BENCH_COMMIT}`,
    license: 'CC BY-SA 4.0',
  },
  'wikitext-2-test': {
    // The tokenized wikitext-2-v1 (with <unk>), not the -raw-v1 text bias-bench uses (REFERENCE.md pitfall 7).
    name: 'WikiText-2 test.txt',
    url: `https://raw.githubusercontent.com/pytorch/examples/${PYTORCH_EXAMPLES_COMMIT}/word_language_model/data/wikitext-2/test.txt`,
    sha256: 'd790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0',
    gitBlobId: '6f3fc88e4cd88456ea892971f9f12243e8428624',
    bytes: 1_256_449,
    revision: `pytorch/examples@${PYTORCH_EXAMPLES_COMMIT}`,
    license: 'CC BY-SA 3.0',
  },
};

/** How {@link obtainBenchmarkFile} reaches the network and the cache. */
export interface ObtainOptions {
  /** Directory of verified downloads, one sub-directory per checksum. */
  cacheDir: string;
  /** The fetch to use (tests pass their own); default: the global fetch. */
  fetch?: typeof fetch;
  /** Called with one line per step worth telling a user (download, cache repair). */
  onProgress?: (message: string) => void;
  /** Abort a download that takes longer than this; default 5 minutes. */
  timeoutMs?: number;
  /** Read pinned files from this mirror instead of their public origin (mirror.ts); default none. */
  mirror?: Mirror;
  /** Further attempts after a transient failure (network error, HTTP 408/425/429/5xx, broken transfer); default 3. */
  retries?: number;
  /** Wait before the first retry, doubled before each next one; default 1 s. */
  retryDelayMs?: number;
}

/** A verified benchmark file on disk. */
export interface ObtainedFile {
  path: string;
  /** Hex sha256 of the file, recorded in the report even where the pin is a git blob id. */
  sha256: string;
  /** True when the file was already in the cache (and verified again), false when downloaded now. */
  fromCache: boolean;
  /** Where the bytes were read this time: the URL or mirror path downloaded from; null on a cache hit. */
  from: string | null;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_RETRIES = 3;
const DEFAULT_RETRY_DELAY_MS = 1000;

/**
 * A benchmark file from the cache, else downloaded from its pinned origin. The cache path is
 * `<cacheDir>/<sha256 or git blob id>/<file name>`. A cached file is verified again on every use,
 * and if it no longer matches it is deleted and downloaded anew; a download is written to a
 * temporary file, verified, then renamed into place, so the cache never holds an unverified file.
 *
 * With `options.mirror` the file is read from the mirror (an HTTP server or a directory) instead,
 * under the same path (mirror.ts), and verified the same way. Transient failures are retried with
 * exponential backoff (`retries`, `retryDelayMs`); a missing file or a checksum mismatch is not.
 *
 * Throws {@link InputError} when the download fails (network error or HTTP status: the message
 * names the URL and says to configure a local `path:` instead) or when the bytes do not match the
 * pinned checksum (the message names the URL and the expected and actual hashes).
 */
export async function obtainBenchmarkFile(source: BenchmarkSource, options: ObtainOptions): Promise<ObtainedFile> {
  const key = source.sha256 ?? source.gitBlobId;
  if (key === undefined) throw new Error(`Benchmark source ${source.name} has neither a sha256 nor a git blob id to verify it by.`);
  const target = join(options.cacheDir, key, source.cacheName ?? fileNameOf(source.url));
  const progress = options.onProgress ?? (() => undefined);

  const cached = await digestsIfPresent(target);
  if (cached !== undefined) {
    const mismatch = checksumMismatch(source, cached);
    if (mismatch === undefined) return { path: target, sha256: cached.sha256, fromCache: true, from: null };
    progress(`Cached ${source.name} at ${target} is corrupt (${mismatch}); deleting it and downloading again.`);
    await rm(target, { force: true });
  }

  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.${process.pid}-${randomBytes(4).toString('hex')}.part`;
  try {
    const size = source.bytes === undefined ? '' : ` (${(source.bytes / 1e6).toFixed(1)} MB)`;
    const from = await transferFromFirstFound(source, partial, options, (location) =>
      progress(`Downloading ${source.name}${size} from ${describeLocation(location)}`),
    );
    const digests = await fileDigests(partial);
    if (await startsWithLfsPointer(partial)) {
      throw new InputError(`${from} served a Git LFS pointer, not ${source.name}`, { hint: hintFor(source, options) });
    }
    const mismatch = checksumMismatch(source, digests);
    if (mismatch !== undefined) {
      throw new InputError(`${source.name} downloaded from ${from} does not match its pinned checksum: ${mismatch}`, {
        hint: `The file at that address changed or the download was altered. ${hintFor(source, options)}`,
      });
    }
    await rename(partial, target);
    progress(`Verified ${source.name} (sha256 ${digests.sha256}), cached at ${target}`);
    return { path: target, sha256: digests.sha256, fromCache: false, from };
  } finally {
    await rm(partial, { force: true });
  }
}

/**
 * Checks a configured local benchmark file: it must be readable and, where `expected` gives a
 * checksum, match it. Returns its sha256 for the report. `displayPath` names it in messages.
 */
export async function verifyLocalFile(
  path: string,
  expected: { sha256?: string; gitBlobId?: string } = {},
  displayPath: string = path,
): Promise<{ path: string; sha256: string }> {
  let digests: FileDigests;
  try {
    digests = await fileDigests(path);
  } catch (error) {
    throw new InputError(`Benchmark file ${displayPath} cannot be read (${messageOf(error)})`, {
      hint: 'Check the path: in the config, or remove it to download the pinned public file.',
      cause: error,
    });
  }
  const mismatch = checksumMismatch(expected, digests);
  if (mismatch !== undefined) {
    throw new InputError(`Benchmark file ${displayPath} does not match the configured checksum: ${mismatch}`, {
      hint: 'Replace the file with the pinned release, or update sha256: in the config if the change is intended.',
    });
  }
  return { path, sha256: digests.sha256 };
}

/**
 * The git blob id of `bytes`, as `git hash-object` prints it: sha1 over the header
 * `blob <decimal size>\0` followed by the content.
 */
export function gitBlobId(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

interface FileDigests {
  sha256: string;
  gitBlobId: string;
}

/** sha256 and git blob id of a file in one streamed pass (the blob header needs the size first). */
async function fileDigests(path: string): Promise<FileDigests> {
  // Only a regular file, opened without blocking: a FIFO or device is refused, never waited on.
  const { handle, size } = await openRegularFile(path, path);
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1').update(`blob ${size}\0`);
  try {
    for await (const chunk of handle.createReadStream({ autoClose: false })) {
      sha256.update(chunk as Buffer);
      sha1.update(chunk as Buffer);
    }
  } finally {
    await handle.close();
  }
  return { sha256: sha256.digest('hex'), gitBlobId: sha1.digest('hex') };
}

async function digestsIfPresent(path: string): Promise<FileDigests | undefined> {
  try {
    return await fileDigests(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Why `actual` fails the expected checksums ("expected sha256 X, got Y"), or undefined when it passes. */
function checksumMismatch(expected: { sha256?: string; gitBlobId?: string }, actual: FileDigests): string | undefined {
  const problems: string[] = [];
  if (expected.sha256 !== undefined && expected.sha256.toLowerCase() !== actual.sha256) {
    problems.push(`expected sha256 ${expected.sha256}, got ${actual.sha256}`);
  }
  if (expected.gitBlobId !== undefined && expected.gitBlobId.toLowerCase() !== actual.gitBlobId) {
    problems.push(`expected git blob id ${expected.gitBlobId}, got ${actual.gitBlobId}`);
  }
  return problems.length === 0 ? undefined : problems.join('; ');
}

/** Why one transfer failed: `missing` moves on to the next location, `transient` is retried, `fatal` is not. */
class TransferFailure extends Error {
  constructor(
    message: string,
    readonly kind: 'missing' | 'transient' | 'fatal',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Copies the file to `partial` from the first of its locations (origin, or mirror paths) that has it,
 * retrying transient failures with backoff; returns where it came from. Every failure that is left
 * becomes an InputError naming the location(s).
 */
async function transferFromFirstFound(source: BenchmarkSource, partial: string, options: ObtainOptions, starting: (location: FileLocation) => void): Promise<string> {
  const locations = pinnedFileLocations(source.url, options.mirror);
  const retries = options.retries ?? DEFAULT_RETRIES;
  const missing: { shown: string; why: string }[] = [];
  for (const location of locations) {
    const shown = describeLocation(location);
    for (let attempt = 0; ; attempt++) {
      try {
        starting(location);
        await transfer(location, partial, options);
        return shown;
      } catch (error) {
        if (!(error instanceof TransferFailure)) throw error;
        if (error.kind === 'missing') {
          missing.push({ shown, why: error.message });
          break;
        }
        if (error.kind === 'fatal' || attempt >= retries) {
          const tries = attempt === 0 ? '' : ` (after ${attempt + 1} attempts)`;
          throw new InputError(`Could not download ${source.name} from ${shown}: ${error.message}${tries}`, { hint: hintFor(source, options), cause: error.cause });
        }
        const delay = (options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS) * 2 ** attempt;
        options.onProgress?.(`${source.name}: ${error.message} from ${shown}; retrying in ${(delay / 1000).toFixed(1)} s (${attempt + 1}/${retries})`);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
  const [only] = missing;
  const what = missing.length === 1 && only ? `from ${only.shown}: ${only.why}` : `: not found at ${missing.map((m) => `${m.shown} (${m.why})`).join(', nor at ')}`;
  throw new InputError(`Could not download ${source.name} ${what}`.replace(' :', ':'), { hint: hintFor(source, options) });
}

/** One attempt: streams `location` to `path`, classifying every failure. */
async function transfer(location: FileLocation, path: string, options: ObtainOptions): Promise<void> {
  if (location.kind === 'file') {
    // A mirror directory is the runner operator's, but still only a regular file is read (a FIFO would block).
    let opened: Awaited<ReturnType<typeof openRegularFile>>;
    try {
      opened = await openRegularFile(location.path, location.path);
    } catch (error) {
      const code = (error as { cause?: NodeJS.ErrnoException }).cause?.code ?? (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new TransferFailure('no such file', 'missing', { cause: error });
      throw new TransferFailure(messageOf(error), 'fatal', { cause: error });
    }
    try {
      await pipeline(opened.handle.createReadStream({ autoClose: false }), createWriteStream(path));
    } catch (error) {
      throw new TransferFailure(`the copy broke off (${messageOf(error)})`, 'transient', { cause: error });
    } finally {
      await opened.handle.close();
    }
    return;
  }
  const fetchImpl = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await fetchImpl(location.url, { signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS) });
  } catch (error) {
    throw new TransferFailure(describeFetchError(error), 'transient', { cause: error });
  }
  if (!response.ok || response.body === null) {
    await response.body?.cancel().catch(() => undefined);
    const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    const kind = response.status === 404 || response.status === 410 ? 'missing' : TRANSIENT_STATUSES.has(response.status) || response.status >= 500 ? 'transient' : 'fatal';
    throw new TransferFailure(status, kind);
  }
  try {
    await pipeline(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), createWriteStream(path));
  } catch (error) {
    throw new TransferFailure(`the transfer broke off (${describeFetchError(error)})`, 'transient', { cause: error });
  }
}

/** Statuses below 500 worth another try: timeout, too early, rate-limited. */
const TRANSIENT_STATUSES = new Set([408, 425, 429]);

/** undici hides the useful part ("ECONNREFUSED", "ENOTFOUND") in `cause`. */
function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  return cause === undefined ? messageOf(error) : `${messageOf(error)}: ${messageOf(cause)}`;
}

function hintFor(source: BenchmarkSource, options: ObtainOptions): string {
  const mirror = options.mirror
    ? ` The mirror in use is ${options.mirror.location} (set by ${options.mirror.setBy}); its layout is <mirror>/<owner>/<repo>/<commit>/<path>.`
    : ` Without internet access, point ${MIRROR_ENV_VAR} (or sources.mirror in the config) at a mirror.`;
  return (source.hint ?? `Download ${fileNameOf(source.url)} yourself (${source.revision}) and set path: to it for this benchmark in the config; bias-gate then reads the local copy instead.`) + mirror;
}

async function startsWithLfsPointer(path: string): Promise<boolean> {
  const { handle } = await openRegularFile(path, path);
  try {
    const head = Buffer.alloc(GIT_LFS_POINTER_HEAD_BYTES);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return isGitLfsPointer(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** The file name at the end of a URL's path ("test.json"), without control characters (`%0A`). */
function fileNameOf(url: string): string {
  return withoutControlCharacters(basename(decodeURIComponent(new URL(url).pathname))) || 'download';
}
