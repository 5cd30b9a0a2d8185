import { cp, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { shardSliceKey } from '../src/artifacts/item-scoring.ts';
import { directoryResultCache } from '../src/artifacts/result-cache.ts';
import { pruneResultCache } from '../src/artifacts/result-cache-prune.ts';
import { mergeShards, runBiasGate, scoreShard, type RunOptions } from '../src/pipeline.ts';
import type { RunReport } from '../src/report/types.ts';
import { createFixtureRepo } from './fixture-repo.ts';
import { createTempDir } from './helpers.ts';

/**
 * The result cache across pull requests, as the Actions cache carries it: a job on the default
 * branch scores main's models and saves the cache; each pull request's job restores the newest
 * cache its branch may see (its own, else the default branch's: Actions scopes caches by ref, so
 * two pull requests never see each other's) and finds its base models, which are main's, already
 * scored. The Actions cache is simulated by copying the cache directory, as restore does.
 */

/** A tree whose models are the base fixtures: the default branch after the last merge. */
async function mainTree(): Promise<string> {
  const root = await createFixtureRepo();
  await cp(path.join(root, 'fixtures/base/fixtures'), path.join(root, 'fixtures'), { recursive: true, force: true });
  await rm(path.join(root, 'fixtures/base'), { recursive: true });
  return root;
}

interface Run {
  report: RunReport;
  progress: string[];
}

async function run(options: Omit<RunOptions, 'progress'>): Promise<Run> {
  const progress: string[] = [];
  const report = await runBiasGate({ ...options, progress: (message) => progress.push(message) });
  return { report, progress };
}

/** Vision and language work on the base models: batches scored, or a session opened. */
function baseModelWork({ report, progress }: Run): string[] {
  const scored = progress.filter((message) => /\(base\): \d+\/\d+$|^embedding with base model .*: \d+\/\d+$/.test(message));
  const sessions = (report.runtime?.sessions ?? []).filter((session) => session.model.startsWith('base ')).map((session) => `session ${session.model}`);
  return [...scored, ...sessions];
}

const BASE_HITS = [
  'embedding with base model fixtures/vision/classifier.onnx: cache hit',
  'crows_pairs (base): cache hit',
  'stereoset (base): cache hit',
  'perplexity (base): cache hit',
];

describe('the result cache across pull requests after a default-branch run', async () => {
  const actionsCache = await createTempDir('bias-gate-actions-cache-');
  const mainCache = path.join(actionsCache, 'main');

  // Run 1: push to main. No pull request and no base: main's models are scored alone and stored.
  const main = await mainTree();
  const first = await run({ configFile: path.join(main, 'thresholds.yaml'), resultCache: directoryResultCache(mainCache), cacheDir: path.join(main, 'benchmarks-cache') });
  await pruneResultCache(mainCache);

  // Runs 2 and 3: two pull requests against main, each restoring main's cache into its own directory.
  const pullRequest = async (name: string): Promise<Run> => {
    const root = await createFixtureRepo();
    const restored = path.join(actionsCache, name);
    await cp(mainCache, restored, { recursive: true });
    return run({ configFile: path.join(root, 'thresholds.yaml'), baseRoot: path.join(root, 'fixtures/base'), resultCache: directoryResultCache(restored), cacheDir: path.join(root, 'benchmarks-cache') });
  };
  const second = await pullRequest('pr-1');
  const third = await pullRequest('pr-2');

  it('run 1 scores main\'s models and stores their results', () => {
    expect(first.report.cache.filter((event) => event.event === 'stored').map((event) => event.kind).sort()).toEqual([
      'language-crows_pairs', 'language-perplexity', 'language-stereoset', 'vision-embeddings', 'vision-embeddings',
    ]);
    expect(first.report.cache.some((event) => event.event === 'hit')).toBe(false);
  });

  it.each([['pull request 1', () => second], ['pull request 2', () => third]])('%s scores no base model: every base result is a cache hit', (_, get) => {
    const pr = get();
    expect(pr.report.vision!.baseStatus).toBe('scored');
    expect(pr.report.language!.baseStatus).toBe('scored');
    for (const hit of BASE_HITS) expect(pr.progress).toContain(hit);
    expect(pr.progress).toContain('embedding with pretrained model fixtures/vision/backbone.onnx: cache hit');
    expect(baseModelWork(pr)).toEqual([]);
    // The head models changed: they are scored (a session each) and stored for the next push.
    expect(pr.report.runtime!.sessions.map((session) => session.model)).toEqual([
      'head model fixtures/vision/classifier.onnx',
      'head language model fixtures/language/causal/model/model.onnx',
    ]);
    const hits = pr.report.cache.filter((event) => event.event === 'hit');
    expect(hits).toHaveLength(5);
    expect(pr.report.cache.filter((event) => event.event === 'stored')).toHaveLength(4);
  });

  it('the base-side scores from the cache equal those of scoring the base afresh', async () => {
    const root = await createFixtureRepo();
    const fresh = await runBiasGate({ configFile: path.join(root, 'thresholds.yaml'), baseRoot: path.join(root, 'fixtures/base'), cacheDir: path.join(root, 'benchmarks-cache') });
    expect(second.report.language!.metrics.map((metric) => metric.base)).toEqual(fresh.language!.metrics.map((metric) => metric.base));
    expect(second.report.vision!.scores.metrics.map((metric) => metric.base)).toEqual(fresh.vision!.scores.metrics.map((metric) => metric.base));
    expect(second.report.verdict).toBe(fresh.verdict);
  });
});

describe('shard jobs read and write the result cache', async () => {
  const actionsCache = await createTempDir('bias-gate-actions-cache-');
  const main = await mainTree();
  await run({ configFile: path.join(main, 'thresholds.yaml'), resultCache: directoryResultCache(path.join(actionsCache, 'main')), cacheDir: path.join(main, 'benchmarks-cache') });

  it('a shard of a pull request takes its base slices from main\'s whole results and stores its head slices', async () => {
    const root = await createFixtureRepo();
    const restored = path.join(actionsCache, 'pr-shard');
    await cp(path.join(actionsCache, 'main'), restored, { recursive: true });
    const progress: string[] = [];
    const cache = directoryResultCache(restored);
    const options = { configFile: path.join(root, 'thresholds.yaml'), baseRoot: path.join(root, 'fixtures/base'), resultCache: cache, cacheDir: path.join(root, 'benchmarks-cache'), progress: (m: string) => progress.push(m) };
    const shard = { index: 1, count: 2 };
    const partial = await scoreShard(options, shard);
    for (const hit of BASE_HITS) expect(progress).toContain(hit);
    expect(partial.sessions!.map((session) => session.model)).toEqual(['head model fixtures/vision/classifier.onnx', 'head language model fixtures/language/causal/model/model.onnx']);
    const stored = cache.events.filter((event) => event.event === 'stored');
    expect(stored).toHaveLength(4);
    expect(stored.every((event) => event.key.endsWith('.shard-1-of-2'))).toBe(true);

    // The same shard again (a re-run): its own slices are hits and no model is opened.
    const again = await scoreShard({ ...options, resultCache: directoryResultCache(restored), progress: () => {} }, shard);
    expect(again.sessions).toEqual([]);
    expect(again.entries).toEqual(partial.entries);

    // The merge stores whole results: the next unsharded run on this branch scores nothing.
    const other = await scoreShard({ ...options, progress: () => {} }, { index: 2, count: 2 });
    const mergeCache = directoryResultCache(restored);
    const merged = await mergeShards({ ...options, resultCache: mergeCache }, [partial, other]);
    expect(merged.cache.filter((event) => event.event === 'stored').every((event) => !event.key.includes('.shard-'))).toBe(true);
    // Each shard job opened the head models; the merge reports both jobs' sessions.
    expect(merged.runtime!.sessions.map((session) => `${session.shard} ${session.model}`)).toEqual([
      '1/2 head model fixtures/vision/classifier.onnx', '1/2 head language model fixtures/language/causal/model/model.onnx',
      '2/2 head model fixtures/vision/classifier.onnx', '2/2 head language model fixtures/language/causal/model/model.onnx',
    ]);
    const after = await run({ ...options, resultCache: directoryResultCache(restored) });
    expect(after.report.runtime!.sessions).toEqual([]);
    expect(after.report.cache.every((event) => event.event === 'hit')).toBe(true);
    expect(after.report.verdict).toBe(merged.verdict);
    expect(shardSliceKey('abc', shard)).toBe('abc.shard-1-of-2');
  }, 120_000);
});
