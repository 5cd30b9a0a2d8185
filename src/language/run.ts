import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { confinedDirectory, confinedFile, inspectConfined } from '../artifacts/confined-file.ts';
import { sha256File } from '../artifacts/hash.ts';
import { describeBaseStatus, inTree, modelPathOf, type Checkouts } from '../artifacts/models.ts';
import type { ItemScoring } from '../artifacts/item-scoring.ts';
import { cacheKey } from '../artifacts/result-cache.ts';
import { TOOL_VERSION } from '../version.ts';
import { InputError } from '../errors.ts';
import type { LanguageConfig } from '../config/types.ts';
import type { BaseStatus, MetricSeries } from '../scores.ts';
import type { Progress } from '../vision/run.ts';
import type { LanguageBenchmark } from './benchmark.ts';
import { compareBenchmark, type McNemarResult } from './compare.ts';
import { crowsPairsBenchmark } from './crows-pairs.ts';
import { loadBenchmarkData, type BenchmarkDataRecord } from './data.ts';
import type { Mirror } from '../artifacts/mirror.ts';
import { DEFAULT_SCREEN, describeScreen, mergeScreenRecords, screenedScore, type ScreenRecord } from './int8-screen.ts';
import { loadLanguageModel, loadLanguageTokenizer } from './model.ts';
import { leadingTokens } from './leading-tokens.ts';
import { perplexityBenchmark, perplexityWindows, type PerplexityItem } from './perplexity.ts';
import { stereoSetBenchmark } from './stereoset.ts';
import { transferTable, type TransferTable } from './transfer.ts';
import type { SessionOptions } from '../runtime/session.ts';
import type { LanguageModel, TextTokenizer } from './types.ts';

/** A model directory as the audit record names it: every file's hash. */
export interface LanguageModelRecord {
  role: 'base' | 'head';
  path: string;
  files: { name: string; sha256: string; bytes: number }[];
}

export interface LanguageBenchmarkRun {
  name: string;
  data: BenchmarkDataRecord;
  /** Items that did not count (e.g. insertion-only pairs for masked models), per side. */
  skippedItems: { base: { id: string; reason: string }[]; head: { id: string; reason: string }[] };
  paired: boolean;
  mcnemar: McNemarResult[];
  /** Benchmark-specific settings recorded with the numbers (perplexity windows). */
  settings: Record<string, unknown>;
  /**
   * `language.precision: int8-screen`: what the screen did per side (int8-screen.ts); a side is null
   * when its results were not scored in this run (result cache, merged shards). Absent for float32 runs and for perplexity.
   */
  precision?: { mode: 'int8-screen'; head: ScreenRecord | null; base: ScreenRecord | null };
}

/** The language half of a run (DESIGN §3). */
export interface LanguageRun {
  kind: 'causal' | 'masked';
  scoring: 'bias-bench' | 'sum-logprob';
  targetDomain: string | undefined;
  baseStatus: BaseStatus;
  models: { base: LanguageModelRecord | null; head: LanguageModelRecord };
  benchmarks: LanguageBenchmarkRun[];
  metrics: MetricSeries[];
  transfer: TransferTable | null;
  settings: { batchSize: number; maxBatchTokens: number; bootstrap: { resamples: number; confidence: number }; seed: number };
  /** `--dump-items`: one JSON object per benchmark item with every side's scores. */
  itemLines: () => string[];
}

export interface LanguageRunOptions {
  checkouts: Checkouts;
  scoring: ItemScoring;
  configPath: string;
  cacheDir: string;
  /** Where pinned benchmark files are read instead of their public origin (artifacts/mirror.ts). */
  mirror?: Mirror | undefined;
  progress: Progress;
  session: SessionOptions;
}

/** The benchmarks a config asks for, in report order. */
function selectedBenchmarks(language: LanguageConfig): LanguageBenchmark<never, never>['name'][] {
  const { crowsPairs, stereoSet, perplexity } = language.benchmarks;
  return [crowsPairs && 'crows_pairs', stereoSet && 'stereoset', perplexity && 'perplexity'].filter((name): name is LanguageBenchmark<never, never>['name'] => !!name);
}

const METRIC_NAMES = { crows_pairs: crowsPairsBenchmark.metricNames, stereoset: stereoSetBenchmark.metricNames, perplexity: perplexityBenchmark.metricNames };

/** Every metric name a language gate may use with this config. */
export function languageMetricNames(language: LanguageConfig): string[] {
  return selectedBenchmarks(language).flatMap((name) => METRIC_NAMES[name]);
}

/** Scores base and head; null when this run is a shard (its slices are recorded in `options.scoring`). */
export async function runLanguage(language: LanguageConfig, options: LanguageRunOptions): Promise<LanguageRun | null> {
  const { checkouts, progress, scoring } = options;
  const headPath = modelPathOf('language', 'head', language.model, checkouts);
  const basePath = modelPathOf('language', 'base', language.model, checkouts);
  const headDirectory = inTree(checkouts.headRoot, headPath);
  const baseDirectory = checkouts.baseRoot === undefined ? undefined : inTree(checkouts.baseRoot, basePath);
  const baseStatus: BaseStatus = baseDirectory === undefined ? 'not-given' : (await isAbsent(checkouts.baseRoot!, baseDirectory)) ? 'new' : 'scored';
  if (baseStatus !== 'scored') progress(`base language model: ${describeBaseStatus(baseStatus)}`);

  // onnxruntime starts only when a side has something to score: a fully cached run opens no model.
  const opened: Promise<LanguageModel>[] = [];
  // Every file of a side is read only inside that side's checkout (confined-file.ts).
  const side = (directory: string, role: 'base' | 'head', root: string) => {
    const displayPath = `${role} language model ${role === 'head' ? headPath : basePath}`;
    let model: Promise<LanguageModel> | undefined;
    let quantised: Promise<LanguageModel> | undefined;
    return {
      model: () => (model ??= (opened.push(loadLanguageModel(directory, displayPath, language.kind, { ...options.session, root })), opened.at(-1)!)),
      int8: () => (quantised ??= (opened.push(loadLanguageModel(directory, `${displayPath} (int8)`, language.kind, { ...options.session, root, quantise: 'int8' })), opened.at(-1)!)),
      tokenizer: () => loadLanguageTokenizer(directory, displayPath, language.kind, root),
    };
  };
  const head = side(headDirectory, 'head', checkouts.headRoot);
  const base = baseStatus === 'scored' ? side(baseDirectory!, 'base', checkouts.baseRoot!) : null;
  const models = {
    head: await recordModel('head', headPath, headDirectory, checkouts.headRoot),
    base: base ? await recordModel('base', basePath, baseDirectory!, checkouts.baseRoot!) : null,
  };

  const runs: LanguageBenchmarkRun[] = [];
  const metrics: MetricSeries[] = [];
  let sharded = false;
  const dumps: (() => string[])[] = [];
  /** Scores one benchmark on both sides and compares them; the same steps for every benchmark. */
  const scoreBenchmark = async <Item, Result>(benchmark: LanguageBenchmark<Item, Result>, data: BenchmarkDataRecord, headItems: readonly Item[], baseItems: readonly Item[], settings: Record<string, unknown> = {}) => {
    const options = (side: string) => ({
      convention: language.scoring,
      batch: { batchSize: language.batchSize, maxBatchTokens: language.maxBatchTokens, onBatch: (done: number, total: number) => progress(`${benchmark.name} (${side}): ${done}/${total}`) },
    });
    // Perplexity has no outcomes to screen: it is scored in float32 whatever the precision.
    const screened = language.precision === 'int8-screen' && benchmark.screen !== undefined;
    const screens: { head: ScreenRecord | null; base: ScreenRecord | null } = { head: null, base: null };
    // A side's results depend only on its model files, the data, the scoring settings (precision
    // included when screened: an item's continuous scores are then int8's) and the tool version.
    const scoreSide = async (models: ReturnType<typeof side>, record: LanguageModelRecord, items: readonly Item[], role: 'head' | 'base'): Promise<Result[] | undefined> => {
      const key = cacheKey({ version: TOOL_VERSION, model: record.files, data: data.sha256, kind: language.kind, scoring: language.scoring, settings, ...(screened ? { precision: language.precision } : {}) });
      return scoring.obtain(
        `language-${benchmark.name}`,
        key,
        items.length,
        async (indices) => {
          const picked = indices.map((i) => items[i]!);
          if (!screened) return benchmark.score(await models.model(), picked, options(role));
          const adapter = benchmark.screen!(language.kind, language.scoring);
          const { results, record: screen } = await screenedScore(benchmark, adapter, { int8: models.int8, float32: models.model }, picked, options(role), { ...DEFAULT_SCREEN, seed: language.seed });
          screens[role] = mergeScreenRecords(screens[role], screen);
          progress(`${benchmark.name} (${role}): int8 screen ${describeScreen(screen)}`);
          return results;
        },
        `${benchmark.name} (${role})`,
      );
    };
    const headResults = await scoreSide(head, models.head, headItems, 'head');
    const baseResults = base ? await scoreSide(base, models.base!, baseItems, 'base') : null;
    // A shard run only records its slice; the merge aggregates.
    if (!headResults || baseResults === undefined) {
      sharded = true;
      return;
    }
    const comparison = compareBenchmark(benchmark, { items: headItems, results: headResults }, baseResults && { items: baseItems, results: baseResults }, {
      resamples: language.bootstrap.resamples,
      seed: language.seed,
    });
    metrics.push(...comparison.metrics);
    runs.push({
      name: benchmark.name,
      data,
      skippedItems: { head: benchmark.skippedItems(headItems, headResults), base: baseResults ? benchmark.skippedItems(baseItems, baseResults) : [] },
      paired: comparison.paired,
      mcnemar: comparison.mcnemar,
      settings,
      ...(screened ? { precision: { mode: 'int8-screen' as const, head: screens.head, base: base ? screens.base : null } } : {}),
    });
    const pairedBase = comparison.paired ? baseResults : null;
    dumps.push(() => headItems.map((item, k) => JSON.stringify(benchmark.dumpItem(item, pairedBase ? pairedBase[k]! : null, headResults[k]!))));
  };
  try {
    for (const name of selectedBenchmarks(language)) {
      const loaded = await loadBenchmarkData(name, language, { checkouts, cacheDir: options.cacheDir, mirror: options.mirror, progress });
      switch (loaded.name) {
        case 'crows_pairs':
          await scoreBenchmark(crowsPairsBenchmark, loaded.record, loaded.items, loaded.items);
          break;
        case 'stereoset':
          await scoreBenchmark(stereoSetBenchmark, loaded.record, loaded.items, loaded.items);
          break;
        case 'perplexity': {
          const settings = language.benchmarks.perplexity!;
          const windows = async (tokenizer: TextTokenizer, role: 'base' | 'head') => {
            const items = perplexityItems(tokenizer, loaded.text, settings.window, settings.stride, settings.maxTokens);
            requirePredictedTokens(items, `perplexity text ${loaded.record.location} under the ${role} model's tokenizer`);
            return items;
          };
          const headItems = await windows(await head.tokenizer(), 'head');
          // The same tokenizer gives the same windows: share them so the comparison is paired.
          const baseItems = base && !sameTokenizer(models.base!, models.head) ? await windows(await base.tokenizer(), 'base') : headItems;
          await scoreBenchmark(perplexityBenchmark, loaded.record, headItems, baseItems, {
            window: settings.window, stride: settings.stride, maxTokens: settings.maxTokens ?? null, tokens: headItems.at(-1)?.end ?? 0, windows: headItems.length,
          });
          break;
        }
      }
    }
  } finally {
    for (const model of opened) await (await model.catch(() => undefined))?.session.release();
  }
  if (sharded) return null;
  return {
    kind: language.kind,
    scoring: language.scoring,
    targetDomain: language.targetDomain,
    baseStatus,
    models,
    benchmarks: runs,
    metrics,
    transfer: language.targetDomain && base ? transferTable(normaliseDomain(language.targetDomain), metrics, language.bootstrap.confidence) : null,
    settings: { batchSize: language.batchSize, maxBatchTokens: language.maxBatchTokens, bootstrap: language.bootstrap, seed: language.seed },
    itemLines: () => dumps.flatMap((dump) => dump()),
  };
}

/** The perplexity windows of `text` under one model's tokenizer. */
function perplexityItems(tokenizer: TextTokenizer, text: string, window: number, stride: number, maxTokens: number | undefined): PerplexityItem[] {
  // Only what is scored is tokenised: max_tokens of a long text are a few pages of it.
  const ids = maxTokens === undefined ? tokenizer.encode(text, { addSpecialTokens: false }) : leadingTokens(tokenizer, text, maxTokens);
  return perplexityWindows(ids.length, window, stride).map((w, k) => ({ ...w, id: `window-${k}`, ids: ids.slice(w.begin, w.end) }));
}

/**
 * Perplexity predicts every token from the ones before it, so it needs at least two tokens. With one,
 * nothing is predicted and the value would be exp(0) = 1, a perfect score that passes any gate; with
 * none it is undefined.
 */
function requirePredictedTokens(items: readonly PerplexityItem[], what: string): void {
  const tokens = items.at(-1)?.end ?? 0;
  if (tokens < 2) {
    throw new InputError(`${what} has ${tokens} token${tokens === 1 ? '' : 's'}; perplexity needs at least 2 (one to condition on, one to predict)`, {
      hint: 'Point `language.benchmarks.perplexity.path` at a longer held-out text (the default is WikiText-2 test).',
    });
  }
}

function sameTokenizer(a: LanguageModelRecord, b: LanguageModelRecord): boolean {
  const hashOf = (record: LanguageModelRecord) => record.files.find((file) => file.name === 'tokenizer.json')?.sha256;
  return hashOf(a) !== undefined && hashOf(a) === hashOf(b);
}

/** `race` in config means CrowS' `race-color` and StereoSet's `race`: the transfer table uses the short name. */
function normaliseDomain(domain: string): string {
  return domain === 'race-color' ? 'race' : domain;
}

/** `language.model` must name a directory (the Hugging Face Optimum layout), not a file. */
async function requireModelDirectory(role: 'base' | 'head', repoRelative: string, directory: string): Promise<void> {
  const shown = `${role} language model ${repoRelative}`;
  const info = await stat(directory).catch((error: unknown) => error as NodeJS.ErrnoException);
  if (info instanceof Error) {
    const missing = info.code === 'ENOENT' || info.code === 'ENOTDIR';
    throw new InputError(missing ? `${shown} does not exist; expected a model directory with model.onnx and tokenizer.json` : `${shown} could not be read: ${info.message}`, {
      hint: 'Check `language.model` in the config; paths are relative to the repository root.',
      cause: info,
    });
  }
  if (!info.isDirectory()) {
    throw new InputError(`${shown} is a file; a language model is a directory with model.onnx and tokenizer.json (Hugging Face Optimum layout)`, {
      hint: 'Set `language.model` to the directory that holds model.onnx, not to the file.',
    });
  }
}

/** No model directory on the base side (a model new in the PR); anything else there is the base's model, checked when read. */
async function isAbsent(root: string, directory: string): Promise<boolean> {
  const { kind } = await inspectConfined(root, directory);
  return kind === 'missing' || kind === 'file';
}

/** Hashes every model file of the directory; each must be a regular file inside `root`, the side's checkout. */
async function recordModel(role: 'base' | 'head', repoRelative: string, directory: string, root: string): Promise<LanguageModelRecord> {
  await requireModelDirectory(role, repoRelative, directory);
  const what = `${role} language model ${repoRelative}`;
  const real = await confinedDirectory(root, directory, what);
  const names = (await readdir(real)).filter((name) => /\.(onnx|json|txt|model|data)$/.test(name)).sort();
  const files = [];
  for (const name of names) {
    const file = await confinedFile(root, path.join(directory, name), `${what}/${name}`);
    files.push({ name, sha256: await sha256File(file.real, `${what}/${name}`), bytes: file.size });
  }
  return { role, path: repoRelative, files };
}
