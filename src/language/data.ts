import { confinedFile, readRegularFile } from '../artifacts/confined-file.ts';
import { inPolicyTree, type Checkouts } from '../artifacts/models.ts';
import type { BenchmarkFileConfig, LanguageConfig } from '../config/types.ts';
import type { Mirror } from '../artifacts/mirror.ts';
import type { Progress } from '../vision/run.ts';
import { parseCrowsPairs, type CrowsPair } from './datasets/crows-pairs.ts';
import { BENCHMARK_SOURCES, obtainBenchmarkFile, verifyLocalFile, type BenchmarkFileId } from './datasets/fetch.ts';
import type { SkippedRow } from './datasets/skipped.ts';
import { parseStereoSet, type StereoSetCluster } from './datasets/stereoset.ts';
import { readTextCorpus } from './datasets/text.ts';

/** Where a benchmark's data came from, for the audit record. */
export interface BenchmarkDataRecord {
  benchmark: string;
  source: 'local' | 'download';
  /** Repository-relative path of a local copy, or the pinned URL. */
  location: string;
  /** Downloads only: where the bytes were read this run (the pinned URL, or a mirror URL or directory path); null on a cache hit or for a local copy. */
  fetchedFrom: string | null;
  /** Repository and commit of a download. */
  revision: string | null;
  sha256: string;
  /** Downloads only: whether the verified cache already held it. */
  fromCache: boolean | null;
  /** Usable items (pairs, clusters; lines for a text). */
  items: number;
  /** Rows that did not parse, with line/id and reason. */
  skippedRows: SkippedRow[];
}

export type LoadedBenchmark =
  | { name: 'crows_pairs'; items: CrowsPair[]; record: BenchmarkDataRecord }
  | { name: 'stereoset'; items: StereoSetCluster[]; record: BenchmarkDataRecord }
  | { name: 'perplexity'; text: string; record: BenchmarkDataRecord };

export interface DataOptions {
  checkouts: Checkouts;
  cacheDir: string;
  /** Read pinned files from this mirror (artifacts/mirror.ts); default: their public origin. */
  mirror?: Mirror | undefined;
  progress: Progress;
}

/** Reads a benchmark from its configured local copy or its pinned, verified public origin (DESIGN §6). */
export async function loadBenchmarkData(name: LoadedBenchmark['name'], language: LanguageConfig, options: DataOptions): Promise<LoadedBenchmark> {
  switch (name) {
    case 'crows_pairs': {
      const file = await obtain(language.benchmarks.crowsPairs!, 'crows-pairs', name, options);
      const parsed = parseCrowsPairs(file.text, file.location);
      reportSkipped(parsed.skipped, file.location, options.progress);
      return { name, items: parsed.items, record: { ...file.record, items: parsed.items.length, skippedRows: parsed.skipped } };
    }
    case 'stereoset': {
      const config = language.benchmarks.stereoSet!;
      const file = await obtain(config, config.split === 'test' ? 'stereoset-test' : 'stereoset-dev', name, options);
      const parsed = parseStereoSet(file.text, file.location);
      reportSkipped(parsed.skipped, file.location, options.progress);
      return { name, items: parsed.clusters, record: { ...file.record, items: parsed.clusters.length, skippedRows: parsed.skipped } };
    }
    case 'perplexity': {
      const file = await obtain(language.benchmarks.perplexity!, 'wikitext-2-test', name, options);
      const corpus = readTextCorpus(file.text, file.location);
      return { name, text: corpus.text, record: { ...file.record, items: corpus.lines, skippedRows: [] } };
    }
  }
}

async function obtain(config: BenchmarkFileConfig, pinned: BenchmarkFileId, benchmark: string, options: DataOptions) {
  if (config.path) {
    // The policy's own file: a regular file inside the tree the policy came from (confined-file.ts).
    const what = `Benchmark file ${config.path.repoRelative}`;
    const { real } = await confinedFile(options.checkouts.policyRoot ?? options.checkouts.headRoot, inPolicyTree(config.path, options.checkouts), what);
    const verified = await verifyLocalFile(real, config.sha256 ? { sha256: config.sha256 } : {}, config.path.repoRelative);
    const record = { benchmark, source: 'local' as const, location: config.path.repoRelative, fetchedFrom: null, revision: null, sha256: verified.sha256, fromCache: null };
    return { text: await readRegularFile(real, what, 'utf8'), location: config.path.repoRelative, record };
  }
  const source = BENCHMARK_SOURCES[pinned];
  const obtained = await obtainBenchmarkFile(source, { cacheDir: options.cacheDir, mirror: options.mirror, onProgress: options.progress });
  if (obtained.fromCache) options.progress(`${source.name}: cache hit (${obtained.path})`);
  const record = { benchmark, source: 'download' as const, location: source.url, fetchedFrom: obtained.from, revision: source.revision, sha256: obtained.sha256, fromCache: obtained.fromCache };
  // bias-gate's own cache, outside the checkout: still only ever a regular file.
  return { text: await readRegularFile(obtained.path, `Cached benchmark file ${obtained.path}`, 'utf8'), location: source.url, record };
}

function reportSkipped(skipped: readonly SkippedRow[], location: string, progress: Progress): void {
  if (skipped.length === 0) return;
  const first = skipped[0]!;
  progress(`${location}: skipped ${skipped.length} row(s) that do not parse (first: line ${first.line}${first.id ? `, id ${first.id}` : ''}: ${first.reason})`);
}
