import { constants, type Stats } from 'node:fs';
import { lstat, open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { isInside } from '../config/paths.ts';
import { InputError } from '../errors.ts';

/**
 * Every file bias-gate reads from a checkout is controlled by the pull request's author. A
 * symbolic link to `/dev/zero` would hang the job, one to `/proc/self/environ` could echo the
 * runner's secrets in an error, one to `/etc/passwd` would put its hash in the PR comment. So a
 * file is read only when its real path (all links followed) is a regular file inside the root of
 * the checkout it belongs to: the head root for the PR's files, the base root for the base side's.
 */

/** What a path is once every symbolic link is followed, judged against a root. */
export type Confined =
  | { kind: 'file'; real: string; size: number }
  | { kind: 'directory'; real: string }
  | { kind: 'missing' }
  /** A symbolic link whose target does not exist. */
  | { kind: 'broken-link' }
  /** The real path leaves the root (through a symbolic link). */
  | { kind: 'outside' }
  /** A device, FIFO or socket: never read, a FIFO would block. */
  | { kind: 'special'; type: string };

/** Where bias-gate reads the checkout's files from, in words for hints. */
const CONFINED_HINT = 'bias-gate reads only regular files inside the checkout; replace the link or special file with the file itself.';

/**
 * What `absolute` is, judged against `root` (both absolute). Nothing is opened: a FIFO is
 * recognised from its metadata, so it can never block. A missing root makes every path in it missing.
 */
export async function inspectConfined(root: string, absolute: string): Promise<Confined> {
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch (error) {
    if (isMissing(error)) return { kind: 'missing' };
    throw error;
  }
  let real: string;
  try {
    real = await realpath(absolute);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') return { kind: 'broken-link' };
    if (!isMissing(error)) throw error;
    // A dangling link is not a missing file: the author put something there.
    const link = await lstat(absolute).catch(() => undefined);
    return link?.isSymbolicLink() ? { kind: 'broken-link' } : { kind: 'missing' };
  }
  if (!isInside(realRoot, real)) return { kind: 'outside' };
  const info = await stat(real);
  if (info.isFile()) return { kind: 'file', real, size: info.size };
  if (info.isDirectory()) return { kind: 'directory', real };
  return { kind: 'special', type: specialType(info) };
}

/**
 * The real path of `absolute`, a regular file inside `root`. `what` names it in the message (a
 * repository-relative path, e.g. "head language model models/lm/tokenizer.json"); the message
 * never shows where a link leads. Every other kind is an InputError.
 */
export async function confinedFile(root: string, absolute: string, what: string): Promise<{ real: string; size: number }> {
  const found = await inspectConfined(root, absolute);
  if (found.kind === 'file') return { real: found.real, size: found.size };
  throw confinementError(found, what, 'a regular file');
}

/** Like {@link confinedFile}, but a missing file (not a broken link) is undefined. */
export async function confinedFileIfPresent(root: string, absolute: string, what: string): Promise<{ real: string; size: number } | undefined> {
  const found = await inspectConfined(root, absolute);
  if (found.kind === 'missing') return undefined;
  if (found.kind === 'file') return { real: found.real, size: found.size };
  throw confinementError(found, what, 'a regular file');
}

/** The real path of `absolute`, a directory inside `root`; every other kind is an InputError. */
export async function confinedDirectory(root: string, absolute: string, what: string): Promise<string> {
  const found = await inspectConfined(root, absolute);
  if (found.kind === 'directory') return found.real;
  throw confinementError(found, what, 'a directory');
}

/** The InputError for a path that is not the `expected` kind ("a regular file", "a directory"). */
export function confinementError(found: Confined, what: string, expected: string): InputError {
  switch (found.kind) {
    case 'missing':
      return new InputError(`${what} does not exist`);
    case 'broken-link':
      return new InputError(`${what} is a broken symbolic link; expected ${expected}`, { hint: CONFINED_HINT });
    case 'outside':
      return new InputError(`${what} is a symbolic link that leads outside the checkout; expected ${expected} inside it`, { hint: CONFINED_HINT });
    case 'special':
      return new InputError(`${what} is a ${found.type}, not ${expected}`, { hint: CONFINED_HINT });
    case 'file':
      return new InputError(`${what} is a file; expected ${expected}`);
    case 'directory':
      return new InputError(`${what} is a directory; expected ${expected}`);
  }
}

/**
 * Opens a file for reading without ever blocking on it (O_NONBLOCK: a FIFO swapped in after a
 * check does not hang) and refuses anything but a regular file (checked on the open descriptor).
 * For files bias-gate owns (the download cache) as well as for paths {@link confinedFile} checked.
 */
export async function openRegularFile(path: string, what: string): Promise<{ handle: FileHandle; size: number }> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw confinementError(info.isDirectory() ? { kind: 'directory', real: path } : { kind: 'special', type: specialType(info) }, what, 'a regular file');
    return { handle, size: info.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** A regular file's whole content ({@link openRegularFile}). */
export async function readRegularFile(path: string, what: string): Promise<Buffer>;
export async function readRegularFile(path: string, what: string, encoding: 'utf8'): Promise<string>;
export async function readRegularFile(path: string, what: string, encoding?: 'utf8'): Promise<Buffer | string> {
  const { handle } = await openRegularFile(path, what);
  try {
    return encoding === undefined ? await handle.readFile() : await handle.readFile(encoding);
  } finally {
    await handle.close();
  }
}

/** A checked file's content: {@link confinedFile}, then read without blocking. */
export async function readConfinedFile(root: string, absolute: string, what: string): Promise<Buffer>;
export async function readConfinedFile(root: string, absolute: string, what: string, encoding: 'utf8'): Promise<string>;
export async function readConfinedFile(root: string, absolute: string, what: string, encoding?: 'utf8'): Promise<Buffer | string> {
  const { real } = await confinedFile(root, absolute, what);
  return encoding === undefined ? readRegularFile(real, what) : readRegularFile(real, what, encoding);
}

function specialType(info: Stats): string {
  if (info.isFIFO()) return 'FIFO (named pipe)';
  if (info.isCharacterDevice()) return 'character device';
  if (info.isBlockDevice()) return 'block device';
  if (info.isSocket()) return 'socket';
  return 'special file';
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
