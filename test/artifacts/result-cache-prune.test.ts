import { readdir, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { directoryResultCache } from '../../src/artifacts/result-cache.ts';
import { RESULT_CACHE_MAX_AGE_DAYS, RESULT_CACHE_MAX_BYTES, filesToPrune, pruneResultCache } from '../../src/artifacts/result-cache-prune.ts';
import { createTempDir } from '../helpers.ts';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2026, 0, 31);

describe('filesToPrune', () => {
  const file = (name: string, bytes: number, daysAgo: number) => ({ path: name, bytes, lastUsedMs: NOW - daysAgo * DAY });

  it('deletes entries unused for longer than the age bound, whatever their size', () => {
    const files = [file('fresh', 10, 1), file('old', 10, 31), file('edge', 10, 30)];
    expect(filesToPrune(files, { maxAgeDays: 30, maxBytes: 1000 }, NOW)).toEqual(['old']);
  });

  it('then the least recently used until the rest fit the size bound', () => {
    const files = [file('a', 40, 5), file('b', 40, 1), file('c', 40, 3), file('d', 40, 2)];
    // Newest first: b, d, c (120 bytes) fit in 100? No: b, d = 80; c would make 120.
    expect(filesToPrune(files, { maxAgeDays: 30, maxBytes: 100 }, NOW).sort()).toEqual(['a', 'c']);
  });

  it('keeps a smaller older entry that still fits after a large one did not', () => {
    const files = [file('new', 60, 0), file('large', 50, 1), file('small', 30, 2)];
    expect(filesToPrune(files, { maxAgeDays: 30, maxBytes: 100 }, NOW)).toEqual(['large']);
  });

  it('does not depend on listing order (ties go by path)', () => {
    const files = [file('x', 60, 1), file('y', 60, 1)];
    expect(filesToPrune(files, { maxAgeDays: 30, maxBytes: 100 }, NOW)).toEqual(['y']);
    expect(filesToPrune([...files].reverse(), { maxAgeDays: 30, maxBytes: 100 }, NOW)).toEqual(['y']);
  });

  it('an empty cache and a cache within bounds lose nothing', () => {
    expect(filesToPrune([], { maxAgeDays: 30, maxBytes: 0 }, NOW)).toEqual([]);
    expect(filesToPrune([file('a', 1, 0)], { maxAgeDays: RESULT_CACHE_MAX_AGE_DAYS, maxBytes: RESULT_CACHE_MAX_BYTES }, NOW)).toEqual([]);
  });
});

describe('pruneResultCache', () => {
  it('deletes old and excess entries of a cache directory and stale temporary files, and logs what it did', async () => {
    const directory = await createTempDir();
    const cache = directoryResultCache(directory);
    for (const [key, daysAgo] of [['aaaa', 0], ['bbbb', 10], ['cccc', 40]] as const) {
      await cache.put('language-crows-pairs', key, { values: new Float64Array(100).fill(daysAgo) });
      const when = new Date(NOW - daysAgo * DAY);
      await utimes(path.join(directory, 'language-crows-pairs', `${key}.json`), when, when);
    }
    const temp = path.join(directory, 'language-crows-pairs', '.dddd.123.abc.tmp');
    await writeFile(temp, 'half');
    await utimes(temp, new Date(NOW - DAY), new Date(NOW - DAY));
    const entryBytes = (await stat(path.join(directory, 'language-crows-pairs', 'aaaa.json'))).size;

    const messages: string[] = [];
    const outcome = await pruneResultCache(directory, { nowMs: NOW, maxAgeDays: 30, maxBytes: entryBytes, log: (m) => messages.push(m) });
    expect(await readdir(path.join(directory, 'language-crows-pairs'))).toEqual(['aaaa.json']);
    expect(outcome).toEqual({ kept: { files: 1, bytes: entryBytes }, deleted: { files: 2, bytes: 2 * entryBytes } });
    expect(messages).toEqual([expect.stringMatching(/^result cache: deleted 2 entries \(.* MB\) unused for 30 days or beyond .* MB; kept 1 /)]);
  });

  it('a missing directory is an empty cache', async () => {
    const directory = path.join(await createTempDir(), 'nothing-here');
    expect(await pruneResultCache(directory)).toEqual({ kept: { files: 0, bytes: 0 }, deleted: { files: 0, bytes: 0 } });
  });

  it('a cache hit marks the entry used, so an entry read every run is never aged out', async () => {
    const directory = await createTempDir();
    const cache = directoryResultCache(directory);
    await cache.put('vision-embeddings', 'k1', [1, 2, 3]);
    const file = path.join(directory, 'vision-embeddings', 'k1.json');
    const old = new Date(Date.now() - 60 * DAY);
    await utimes(file, old, old);
    expect(await cache.get('vision-embeddings', 'k1')).toEqual([1, 2, 3]);
    expect((await stat(file)).mtimeMs).toBeGreaterThan(Date.now() - DAY);
    await pruneResultCache(directory, { maxAgeDays: 30 });
    expect(await readdir(path.dirname(file))).toEqual(['k1.json']);
  });
});
