import { readConfinedFile } from './artifacts/confined-file.ts';
import { defaultCacheDir } from './artifacts/cache-dir.ts';
import { sha256Text } from './artifacts/hash.ts';
import { cachedScoring, mergedScoring, shardScoring, type ItemScoring, type PartialEntry, type Shard } from './artifacts/item-scoring.ts';
import { describeBaseStatus, type Checkouts } from './artifacts/models.ts';
import { noResultCache, type ResultCache } from './artifacts/result-cache.ts';
import { loadConfig } from './config/load.ts';
import type { BiasGateConfig } from './config/types.ts';
import { InputError } from './errors.ts';
import { evaluateGates, overallVerdict, type Verdict } from './gate/evaluate.ts';
import { checkBiasRules, checkGateMetrics } from './gate/metric-names.ts';
import { crowsPairsBenchmark } from './language/crows-pairs.ts';
import { languageMetricNames, runLanguage, type LanguageRun } from './language/run.ts';
import { stereoSetBenchmark } from './language/stereoset.ts';
import type { RunReport } from './report/types.ts';
import { TOOL_NAME, TOOL_VERSION } from './version.ts';
import { runVision, type Progress, type VisionRun } from './vision/run.ts';

export interface RunOptions {
  /** Path of thresholds.yaml. */
  configFile: string;
  /** Root of the PR's tree; default: the config's repository root. */
  headRoot?: string;
  /** Root of the base branch's tree; absent: scored alone. */
  baseRoot?: string;
  progress?: Progress;
  intraOpThreads?: number;
  /** Where downloaded benchmark files are cached; default {@link defaultCacheDir}. */
  cacheDir?: string;
  /** Scored results by content (DESIGN §1.3); default: none. */
  resultCache?: ResultCache;
  /** An already loaded config for `configFile` (the Action loads it first to find the model paths). */
  config?: BiasGateConfig;
}

/** What one shard of a run leaves for `bias-gate merge`. */
export interface PartialResult {
  format: 1;
  tool: { name: string; version: string };
  /** sha256 of the config text: every shard and the merge must use the same. */
  configSha256: string;
  shard: Shard;
  entries: PartialEntry[];
}

/**
 * The job of DESIGN §1 minus publishing: load the config, score both sides,
 * gate. The CLI and the Action both call this and only differ in how they publish.
 */
export async function runBiasGate(options: RunOptions): Promise<RunReport> {
  const progress = options.progress ?? (() => {});
  const resultCache = options.resultCache ?? noResultCache();
  const { config } = await prepare(options);
  const report = await runWith(config, options, cachedScoring(resultCache, progress));
  return { ...report, cache: resultCache.events.filter((event) => event.event !== 'miss') };
}

/** Scores one shard's slice of every item list (models are run, nothing is gated). */
export async function scoreShard(options: RunOptions, shard: Shard): Promise<PartialResult> {
  const scoring = shardScoring(shard);
  const { config } = await prepare(options);
  await stages(config, options, scoring);
  return { format: 1, tool: { name: TOOL_NAME, version: TOOL_VERSION }, configSha256: await configHash(config), shard, entries: scoring.entries };
}

/**
 * Combines the partial results of shards 1..n into exactly the report an
 * unsharded run gives: the same aggregation runs over the same item results.
 */
export async function mergeShards(options: RunOptions, partials: readonly PartialResult[]): Promise<RunReport> {
  const { config } = await prepare(options);
  const hash = await configHash(config);
  const count = partials[0]?.shard.count;
  if (count === undefined) throw new InputError('merge: no partial results given');
  for (const partial of partials) {
    if (partial.format !== 1) throw new InputError('merge: not a bias-gate partial result (format)');
    if (partial.tool.version !== TOOL_VERSION) throw new InputError(`merge: a partial was made by ${partial.tool.name} ${partial.tool.version}, this is ${TOOL_VERSION}; score all shards with one version`);
    if (partial.configSha256 !== hash) throw new InputError(`merge: shard ${partial.shard.index}/${partial.shard.count} was scored with another config (${partial.configSha256.slice(0, 12)}…, here ${hash.slice(0, 12)}…)`);
    if (partial.shard.count !== count) throw new InputError(`merge: shards of different splits (${partial.shard.count} and ${count})`);
  }
  const indices = partials.map((p) => p.shard.index).sort((a, b) => a - b);
  const expected = Array.from({ length: count }, (_, i) => i + 1);
  if (indices.join() !== expected.join()) throw new InputError(`merge: expected shards ${expected.map((i) => `${i}/${count}`).join(', ')}, got ${indices.map((i) => `${i}/${count}`).join(', ')}`);
  return { ...(await runWith(config, options, mergedScoring(partials.flatMap((p) => p.entries)), hash)), cache: [] };
}

/** Scores and gates a prepared config; `hash` is the config's sha256 when the caller already has it. */
async function runWith(config: BiasGateConfig, options: RunOptions, scoring: ItemScoring, hash?: string): Promise<RunReport> {
  const { vision, language, verdicts } = await stages(config, options, scoring);
  return {
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    verdict: overallVerdict(verdicts),
    config: { path: config.displayPath, sha256: hash ?? (await configHash(config)), content: config.raw },
    vision,
    language,
    verdicts,
    cache: [],
  };
}

async function prepare(options: RunOptions): Promise<{ config: BiasGateConfig }> {
  const config = options.config ?? (await loadConfig(options.configFile));
  if (!config.vision && !config.language) {
    throw new InputError(`${config.displayPath}: nothing to score; add a \`vision:\` or \`language:\` section`);
  }
  // Every gate names a metric that will exist, before any model runs (DESIGN §4).
  if (config.language) {
    checkGateMetrics(config.displayPath, config.language.gates, languageMetricNames(config.language));
    checkBiasRules(config.displayPath, config.language.gates, new Set([...crowsPairsBenchmark.biasMetrics, ...stereoSetBenchmark.biasMetrics]));
  }
  if (config.vision) checkBiasRules(config.displayPath, config.vision.gates, new Set());
  return { config };
}

/** Scores what the config asks for and gates it; in a shard run the runs return null and nothing is gated. */
async function stages(config: BiasGateConfig, options: RunOptions, scoring: ItemScoring): Promise<{ vision: VisionRun | null; language: LanguageRun | null; verdicts: Verdict[] }> {
  const progress = options.progress ?? (() => {});
  const checkouts: Checkouts = { headRoot: options.headRoot ?? config.repoRoot, baseRoot: options.baseRoot };
  // The CLI's --threads wins over the config's runtime.threads (default: all cores).
  const session = { intraOpThreads: options.intraOpThreads ?? config.runtime.threads, providers: config.runtime.providers, log: progress };
  const common = { checkouts, configPath: config.displayPath, progress, session, scoring };
  const vision = config.vision ? await runVision(config.vision, common) : null;
  const language = config.language ? await runLanguage(config.language, { ...common, cacheDir: options.cacheDir ?? defaultCacheDir() }) : null;
  const verdicts: Verdict[] = [];
  if (config.vision && vision) {
    verdicts.push(...evaluateGates(config.vision.gates, vision.scores.metrics, { confidence: config.vision.bootstrap.confidence, noBaseReason: describeBaseStatus(vision.baseStatus) }));
  }
  if (config.language && language) {
    verdicts.push(...evaluateGates(config.language.gates, language.metrics, { confidence: config.language.bootstrap.confidence, noBaseReason: describeBaseStatus(language.baseStatus) }));
  }
  return { vision, language, verdicts };
}

async function configHash(config: BiasGateConfig): Promise<string> {
  return sha256Text(await readConfinedFile(config.repoRoot, config.file, config.displayPath, 'utf8'));
}
