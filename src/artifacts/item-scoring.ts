import { InputError } from '../errors.ts';
import type { ResultCache } from './result-cache.ts';

/**
 * Where per-item results (an image's embedding, a benchmark item's scores)
 * come from. Every expensive computation goes through `obtain`, so a run can
 * reuse cached results, score one shard's slice, or assemble merged shards,
 * and the aggregation after it never knows which (issue: shard over a matrix).
 */
export interface ItemScoring {
  /**
   * All `count` results of one (kind, key): from wherever this strategy keeps
   * them, or by `score(indices)`, which scores the given item indices in order.
   * Undefined when this run only records a shard (there is nothing to aggregate).
   */
  obtain<T>(kind: string, key: string, count: number, score: (indices: readonly number[]) => Promise<T[]>, label: string): Promise<T[] | undefined>;
}

/** A shard of a run: `index` of `count`, 1-based as users write it (`2/4`). */
export interface Shard {
  index: number;
  count: number;
}

/** One (kind, key)'s results for some item indices. */
export interface PartialEntry {
  kind: string;
  key: string;
  /** Total items of this (kind, key). */
  count: number;
  indices: number[];
  values: unknown[];
}

/** Parses `i/n` (1 ≤ i ≤ n). */
export function parseShard(text: string, where: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index < 1 || index > count) throw new InputError(`${where}: "${text}" is not a shard; expected i/n with 1 ≤ i ≤ n, e.g. 2/4`);
  return { index, count };
}

/** The item indices a shard scores: every n-th item, so each shard gets a similar mix of lengths. */
export function shardIndices(count: number, shard: Shard): number[] {
  const indices: number[] = [];
  for (let i = shard.index - 1; i < count; i += shard.count) indices.push(i);
  return indices;
}

const allIndices = (count: number) => Array.from({ length: count }, (_, i) => i);

/** The ordinary run: results cached by content, scored when absent (DESIGN §1.3). */
export function cachedScoring(cache: ResultCache, progress: (message: string) => void): ItemScoring {
  return {
    async obtain(kind, key, count, score, label) {
      const cached = await cache.get<unknown[]>(kind, key);
      if (cached && cached.length === count) {
        progress(`${label}: cache hit`);
        return cached as never;
      }
      const results = await score(allIndices(count));
      await cache.put(kind, key, results);
      return results;
    },
  };
}

/**
 * Remembers every result `inner` obtains for the life of one command, so a second
 * evaluation over the same models and data (the pull request's proposed policy beside
 * the policy in force) scores nothing twice, whatever the result cache holds.
 */
export function memoizedScoring(inner: ItemScoring, memory: Map<string, unknown[]>): ItemScoring {
  return {
    async obtain(kind, key, count, score, label) {
      const id = `${kind}/${key}`;
      const known = memory.get(id);
      if (known && known.length === count) return known as never;
      const results = await inner.obtain(kind, key, count, score, label);
      if (results) memory.set(id, results);
      return results;
    },
  };
}

/**
 * A shard run: scores its slice of every item list and records it; nothing is aggregated. With a
 * result cache, a slice is taken from a whole cached result (an earlier unsharded run or merge
 * stored it) or from this shard's own cached slice (the same split scored before), and a slice
 * it scores is stored under the shard's key ({@link shardSliceKey}), so shard jobs reuse results
 * across runs as unsharded ones do.
 */
export function shardScoring(shard: Shard, cache?: ResultCache, progress: (message: string) => void = () => {}): ItemScoring & { entries: PartialEntry[] } {
  const entries: PartialEntry[] = [];
  const cachedSlice = async (kind: string, key: string, count: number, indices: readonly number[]): Promise<unknown[] | undefined> => {
    if (!cache) return undefined;
    const whole = await cache.get<unknown[]>(kind, key);
    if (Array.isArray(whole) && whole.length === count) return indices.map((index) => whole[index]);
    const slice = await cache.get<unknown[]>(kind, shardSliceKey(key, shard));
    return Array.isArray(slice) && slice.length === indices.length ? slice : undefined;
  };
  return {
    entries,
    async obtain(kind, key, count, score, label) {
      // Two roles can share a model (an unchanged base is the pretrained backbone): score it once.
      if (!entries.some((entry) => entry.kind === kind && entry.key === key)) {
        const indices = shardIndices(count, shard);
        let values = await cachedSlice(kind, key, count, indices);
        if (values) {
          progress(`${label}: cache hit`);
        } else {
          values = await score(indices);
          await cache?.put(kind, shardSliceKey(key, shard), values);
        }
        entries.push({ kind, key, count, indices, values });
      }
      return undefined;
    },
  };
}

/** The cache key of one shard's slice of (kind, key): `<key>.shard-2-of-4`. */
export function shardSliceKey(key: string, shard: Shard): string {
  return `${key}.shard-${shard.index}-of-${shard.count}`;
}

/**
 * Stores every result `inner` gives in `cache`: a merge assembles whole results from the shards,
 * and storing them lets the next run (sharded or not) reuse them.
 */
export function storingScoring(inner: ItemScoring, cache: ResultCache): ItemScoring {
  return {
    async obtain(kind, key, count, score, label) {
      const results = await inner.obtain(kind, key, count, score, label);
      if (results) await cache.put(kind, key, results);
      return results;
    },
  };
}

/**
 * A merge: every result comes from the shards' partial entries, nothing is
 * scored. Results for inputs the shards did not score (another model, other
 * data, other settings) are an error, never a silent rescore.
 */
export function mergedScoring(entries: readonly PartialEntry[]): ItemScoring {
  const assembled = new Map<string, unknown[]>();
  const covered = new Map<string, number>();
  for (const entry of entries) {
    const id = `${entry.kind}/${entry.key}`;
    const values = assembled.get(id) ?? new Array<unknown>(entry.count);
    entry.indices.forEach((index, k) => {
      if (index in values) throw new InputError(`merge: item ${index} of ${entry.kind} is in two partial results; each shard must appear once`);
      values[index] = entry.values[k];
    });
    assembled.set(id, values);
    covered.set(id, (covered.get(id) ?? 0) + entry.indices.length);
  }
  return {
    async obtain(kind, key, count, _score, label) {
      const id = `${kind}/${key}`;
      const values = assembled.get(id);
      if (!values || values.length !== count || covered.get(id) !== count) {
        throw new InputError(`merge: the partial results do not cover ${label} (${covered.get(id) ?? 0} of ${count} items)`, {
          hint: 'Merge every shard (1/n … n/n) of one run, in a checkout with the same config, models and data.',
        });
      }
      return values as never;
    },
  };
}
