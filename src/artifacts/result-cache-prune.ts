import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { messageOf } from '../errors.ts';

/**
 * Keeps the result cache (one JSON file per entry, `<directory>/<kind>/<key>.json`) within a bound
 * before it is saved to the Actions cache, which holds 10 GB per repository and evicts whole
 * caches beyond that: entries unused for {@link RESULT_CACHE_MAX_AGE_DAYS} days are deleted, then
 * the least recently used until the rest fit in {@link RESULT_CACHE_MAX_BYTES}. "Used" is the
 * file's mtime: a store writes it and a hit touches it (result-cache.ts), and the Actions cache
 * keeps mtimes through save and restore.
 */

/** Entries unused for longer than this are deleted before the cache is saved. */
export const RESULT_CACHE_MAX_AGE_DAYS = 30;
/** The cache directory is cut to this many bytes (least recently used first) before it is saved. */
export const RESULT_CACHE_MAX_BYTES = 512 * 1024 * 1024;
/** A writer's temporary file older than this was left by an interrupted run. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/** One cache file as the pruner sees it. */
export interface CacheFileInfo {
  path: string;
  bytes: number;
  /** Last store or hit, ms since the epoch (the file's mtime). */
  lastUsedMs: number;
}

/** The bound a pruned cache keeps to. */
export interface CachePruneBound {
  /** Entries unused for longer are deleted. */
  maxAgeDays: number;
  /** Total bytes of the entries kept at most. */
  maxBytes: number;
}

/**
 * The files to delete so that what remains keeps `bound` at time `nowMs`: every file older than
 * `maxAgeDays`, then the oldest until the total is within `maxBytes`. Ties in age go by path, so
 * the choice does not depend on the order files were listed in.
 */
export function filesToPrune(files: readonly CacheFileInfo[], bound: CachePruneBound, nowMs: number): string[] {
  const oldestKept = nowMs - bound.maxAgeDays * 24 * 60 * 60 * 1000;
  const newestFirst = [...files].sort((a, b) => b.lastUsedMs - a.lastUsedMs || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const deleted: string[] = [];
  let kept = 0;
  for (const file of newestFirst) {
    if (file.lastUsedMs < oldestKept || kept + file.bytes > bound.maxBytes) deleted.push(file.path);
    else kept += file.bytes;
  }
  return deleted;
}

/** What {@link pruneResultCache} did. */
export interface CachePruneOutcome {
  kept: { files: number; bytes: number };
  deleted: { files: number; bytes: number };
}

/**
 * Applies {@link filesToPrune} to a result-cache directory (and removes temporary files that
 * interrupted writers left). Never fails a run: a file that cannot be read or deleted is logged
 * and left; a missing directory is an empty cache.
 */
export async function pruneResultCache(
  directory: string,
  options: Partial<CachePruneBound> & { nowMs?: number; log?: (message: string) => void } = {},
): Promise<CachePruneOutcome> {
  const bound = { maxAgeDays: options.maxAgeDays ?? RESULT_CACHE_MAX_AGE_DAYS, maxBytes: options.maxBytes ?? RESULT_CACHE_MAX_BYTES };
  const nowMs = options.nowMs ?? Date.now();
  const log = options.log ?? (() => {});
  const files: CacheFileInfo[] = [];
  const remove = async (file: string) =>
    rm(file, { force: true }).then(
      () => true,
      (error: unknown) => (log(`result cache: could not delete ${file}: ${messageOf(error)}`), false),
    );
  for (const kind of await listDirectory(directory)) {
    const kindDirectory = path.join(directory, kind);
    for (const name of await listDirectory(kindDirectory)) {
      const file = path.join(kindDirectory, name);
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) continue;
      if (name.startsWith('.') && name.endsWith('.tmp')) {
        if (nowMs - info.mtimeMs > STALE_TEMP_MS) await remove(file);
        continue;
      }
      if (name.endsWith('.json')) files.push({ path: file, bytes: info.size, lastUsedMs: info.mtimeMs });
    }
  }
  const doomed = new Set(filesToPrune(files, bound, nowMs));
  const outcome: CachePruneOutcome = { kept: { files: 0, bytes: 0 }, deleted: { files: 0, bytes: 0 } };
  for (const file of files) {
    const side = doomed.has(file.path) && (await remove(file.path)) ? outcome.deleted : outcome.kept;
    side.files += 1;
    side.bytes += file.bytes;
  }
  if (outcome.deleted.files > 0) {
    log(`result cache: deleted ${outcome.deleted.files} entries (${megabytes(outcome.deleted.bytes)}) unused for ${bound.maxAgeDays} days or beyond ${megabytes(bound.maxBytes)}; kept ${outcome.kept.files} (${megabytes(outcome.kept.bytes)})`);
  }
  return outcome;
}

async function listDirectory(directory: string): Promise<string[]> {
  return (await readdir(directory).catch(() => [] as string[])).sort();
}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
