import { existsSync } from 'node:fs';
import path from 'node:path';
import { readConfinedFile } from './artifacts/confined-file.ts';
import { defaultCacheDir } from './artifacts/cache-dir.ts';
import { sha256Text } from './artifacts/hash.ts';
import { cachedScoring, memoizedScoring, mergedScoring, shardScoring, storingScoring, type ItemScoring, type PartialEntry, type Shard } from './artifacts/item-scoring.ts';
import { directoryBaseSide, type BaseSide } from './artifacts/base-side.ts';
import { describeBaseStatus, inTree, modelPathOf, type Checkouts, type ModelFamily } from './artifacts/models.ts';
import { noResultCache, type ResultCache } from './artifacts/result-cache.ts';
import { findRepositoryRoot, toRepoRelative } from './config/paths.ts';
import type { BiasGateConfig, GateConfig } from './config/types.ts';
import { InputError } from './errors.ts';
import { evaluateGates, overallVerdict, type Verdict } from './gate/evaluate.ts';
import { checkBiasRules, checkGateMetrics } from './gate/metric-names.ts';
import { crowsPairsBenchmark } from './language/crows-pairs.ts';
import { languageMetricNames, runLanguage, type LanguageRun } from './language/run.ts';
import { stereoSetBenchmark } from './language/stereoset.ts';
import type { RunReport } from './report/types.ts';
import type { ProviderOutcome, RuntimeRecord } from './runtime/providers.ts';
import { TOOL_NAME, TOOL_VERSION } from './version.ts';
import { runVision, type Progress, type VisionRun } from './vision/run.ts';
import type { BuiltinFile } from './vision/builtin-sets.ts';
import { MIRROR_ENV_VAR, resolveMirror } from './artifacts/mirror.ts';
import { decidePolicy, readConfigState } from './policy/decide.ts';
import { diffPolicies } from './policy/diff.ts';
import type { ConfigState, PolicyApproval, PolicyChange, PolicyRecord } from './policy/types.ts';

/** The config sections that name a fine-tuned model. */
const MODEL_FAMILIES: readonly ModelFamily[] = ['vision', 'language'];

export interface RunOptions {
  /** Path of thresholds.yaml in the pull request's tree. */
  configFile: string;
  /** Root of the PR's tree; default: the config's repository root. */
  headRoot?: string;
  /** Root of a base checkout (CLI `--base DIR`); its config is read at the same path. Ignored when `base` is given. */
  baseRoot?: string;
  /** The base side with its config (the Action's and `--base REF`'s tree written from git); absent: scored alone. */
  base?: BaseSide;
  /** An acceptance of the pull request's own policy (workflow input or approval label); default none. */
  approval?: PolicyApproval | null;
  /** Workflow files the pull request changes that run bias-gate, for the warning in the report. */
  workflowChanges?: string[];
  progress?: Progress;
  intraOpThreads?: number;
  /** Execution providers, in place of the config's `runtime.providers` (Action input `providers`, e.g. `[cuda, cpu]` on a GPU runner). */
  providers?: string[];
  /** Where downloaded benchmark files are cached; default {@link defaultCacheDir}. */
  cacheDir?: string;
  /** Scored results by content (DESIGN §1.3); default: none. */
  resultCache?: ResultCache;
  /** The PR's config, already loaded from `configFile` (the CLI loads it first to find its repository). */
  config?: BiasGateConfig;
  /** The process environment, for `BIAS_GATE_MIRROR`; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Tests only: score a built-in reference set on the manifest files this accepts (the shared copy is a subset). */
  restrictBuiltinManifest?: (file: BuiltinFile) => boolean;
}

/** What one shard of a run leaves for `bias-gate merge`. */
export interface PartialResult {
  format: 1;
  tool: { name: string; version: string };
  /** sha256 of the config text: every shard and the merge must use the same. */
  configSha256: string;
  shard: Shard;
  entries: PartialEntry[];
  /** The execution providers of the sessions this shard opened (the merge reports them). */
  sessions?: ProviderOutcome[];
}

/**
 * `value` (a parsed JSON file) as a {@link PartialResult}, or an InputError naming `where` that says what
 * is missing: a merge given some other JSON (a report, a config) must not fail inside the merge.
 */
export function checkPartialResult(value: unknown, where: string): PartialResult {
  const problem = partialResultProblem(value);
  if (problem !== undefined) {
    throw new InputError(`merge: ${where} is not a bias-gate partial result: ${problem}`, {
      hint: `Pass the files that \`${TOOL_NAME} run --shard I/N --partial FILE\` wrote.`,
    });
  }
  return value as PartialResult;
}

function partialResultProblem(value: unknown): string | undefined {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const isCount = (v: unknown, min: number): v is number => Number.isSafeInteger(v) && (v as number) >= min && (v as number) < 2 ** 32;
  if (!isObject(value)) return `expected a JSON object, found ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`;
  if (value.format !== 1) return 'it has no "format": 1';
  const { tool, shard, entries } = value;
  if (!isObject(tool) || typeof tool.name !== 'string' || typeof tool.version !== 'string') return 'it has no "tool" with a name and a version';
  if (typeof value.configSha256 !== 'string') return 'it has no "configSha256"';
  if (!isObject(shard) || !isCount(shard.count, 1) || !isCount(shard.index, 1) || shard.index > shard.count) return 'it has no "shard" with 1 ≤ index ≤ count';
  if (!Array.isArray(entries)) return 'it has no "entries" list';
  for (const [k, entry] of entries.entries()) {
    const valid =
      isObject(entry) && typeof entry.kind === 'string' && typeof entry.key === 'string' && isCount(entry.count, 0) &&
      Array.isArray(entry.indices) && Array.isArray(entry.values) && entry.values.length === entry.indices.length &&
      entry.indices.every((index) => isCount(index, 0) && index < (entry.count as number));
    if (!valid) return `entries[${k}] is not a scored slice (kind, key, count, indices below count, one value per index)`;
  }
  const isNames = (v: unknown) => Array.isArray(v) && v.every((name) => typeof name === 'string');
  if (value.sessions !== undefined) {
    const sessions = value.sessions;
    const valid = Array.isArray(sessions) && sessions.every((s) => isObject(s) && typeof s.model === 'string' && isNames(s.requested) && isNames(s.used) && Array.isArray(s.unavailable));
    if (!valid) return '"sessions" is not a list of execution-provider records (model, requested, used, unavailable)';
  }
  return undefined;
}

/**
 * The job of DESIGN §1 minus publishing: load the config, score both sides,
 * gate. The CLI and the Action both call this and only differ in how they publish.
 */
export async function runBiasGate(options: RunOptions): Promise<RunReport> {
  const progress = options.progress ?? (() => {});
  const resultCache = options.resultCache ?? noResultCache();
  const prepared = await prepare(options);
  const memory = new Map<string, unknown[]>();
  const scoring = memoizedScoring(cachedScoring(resultCache, progress), memory);
  const sessions: ProviderOutcome[] = [];
  const report = await runWith(prepared, options, scoring, undefined, sessions);
  const proposed = prepared.proposal ? await evaluateProposal(prepared.proposal, options, scoring, sessions) : null;
  return { ...report, policy: { ...report.policy, proposed }, cache: resultCache.events.filter((event) => event.event !== 'miss'), runtime: runtimeRecord(options.providers ?? prepared.config.runtime.providers, sessions) };
}

/** Scores one shard's slice of every item list (models are run, nothing is gated); slices come from the result cache when it has them. */
export async function scoreShard(options: RunOptions, shard: Shard): Promise<PartialResult> {
  const scoring = shardScoring(shard, options.resultCache, options.progress);
  const prepared = await prepare(options);
  const sessions: ProviderOutcome[] = [];
  await stages(prepared.config, prepared.checkouts, options, scoring, sessions);
  const shardSessions = sessions.map((session) => ({ ...session, shard: `${shard.index}/${shard.count}` }));
  return { format: 1, tool: { name: TOOL_NAME, version: TOOL_VERSION }, configSha256: await configHash(prepared.config), shard, entries: scoring.entries, sessions: shardSessions };
}

/**
 * Combines the partial results of shards 1..n into exactly the report an
 * unsharded run gives: the same aggregation runs over the same item results.
 */
export async function mergeShards(options: RunOptions, partials: readonly PartialResult[]): Promise<RunReport> {
  partials.forEach((partial, k) => checkPartialResult(partial, `partial result ${k + 1}`));
  const prepared = await prepare(options);
  const hash = await configHash(prepared.config);
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
  // The whole results go to the result cache, so the next run reuses them whether it is sharded or not.
  const resultCache = options.resultCache ?? noResultCache();
  const report = await runWith(prepared, options, storingScoring(mergedScoring(partials.flatMap((p) => p.entries)), resultCache), hash);
  // The shards scored the policy in force only; the proposed policy would need its own scoring.
  const proposed = prepared.proposal ? { error: 'not evaluated in a sharded run (the shards score the policy in force only)' } : null;
  return { ...report, policy: { ...report.policy, proposed }, cache: resultCache.events.filter((event) => event.event !== 'miss'), runtime: runtimeRecord(options.providers ?? prepared.config.runtime.providers, partials.flatMap((p) => p.sessions ?? [])) };
}

/** The providers the run asked for and those each opened session got (the report's `runtime`). */
function runtimeRecord(requested: readonly string[], sessions: readonly ProviderOutcome[]): RuntimeRecord {
  return { requested: [...requested], sessions: [...sessions] };
}

/** The config in force, where each side's files are, and the policy record without the proposed verdict. */
interface Prepared {
  config: BiasGateConfig;
  checkouts: Checkouts;
  policy: PolicyRecord;
  /** The pull request's own policy, to evaluate beside the one in force (not in force). */
  proposal: { config: BiasGateConfig; checkouts: Checkouts } | null;
}

/** Scores and gates under the policy in force; `hash` is the config's sha256 when the caller already has it. */
async function runWith(prepared: Prepared, options: RunOptions, scoring: ItemScoring, hash?: string, sessions?: ProviderOutcome[]): Promise<RunReport> {
  const { config } = prepared;
  const { vision, language, verdicts } = await stages(config, prepared.checkouts, options, scoring, sessions);
  return {
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    verdict: overallVerdict(verdicts),
    config: { path: config.displayPath, sha256: hash ?? (await configHash(config)), content: config.raw },
    policy: prepared.policy,
    vision,
    language,
    verdicts,
    cache: [],
  };
}

/** The verdict the PR's own config would give on the same models (shown, never enforced). */
async function evaluateProposal(proposal: NonNullable<Prepared['proposal']>, options: RunOptions, scoring: ItemScoring, sessions?: ProviderOutcome[]): Promise<NonNullable<PolicyRecord['proposed']>> {
  try {
    validateConfig(proposal.config);
    const { verdicts } = await stages(proposal.config, proposal.checkouts, { ...options, progress: options.progress && ((message) => options.progress!(`proposed policy: ${message}`)) }, scoring, sessions);
    return { verdict: overallVerdict(verdicts), verdicts };
  } catch (error) {
    if (error instanceof InputError) return { error: error.describe() };
    throw error;
  }
}

async function prepare(options: RunOptions): Promise<Prepared> {
  const repoRoot = options.config?.repoRoot ?? findRepositoryRoot(options.configFile);
  const configPath = options.config?.displayPath ?? (toRepoRelative(repoRoot, path.resolve(options.configFile)) || path.basename(options.configFile));
  const head: ConfigState = options.config ? { status: 'found', config: options.config } : await readConfigState(path.resolve(options.configFile), repoRoot, configPath);
  const base = options.base ?? (options.baseRoot === undefined ? undefined : await directoryBaseSide(options.baseRoot, configPath));
  const approval = options.approval ?? null;
  const decision = decidePolicy({ head, base: base?.config, approval });
  validateConfig(decision.config);
  const headRoot = options.headRoot ?? (head.status === 'found' ? head.config.repoRoot : repoRoot);
  const policyRoot = decision.source === 'base' ? base!.root : headRoot;
  const checkouts = sideCheckouts(decision.config, head, base, headRoot, policyRoot);
  const changes = policyChanges(head, base?.config);
  const notices = [...decision.notices, ...deletedModelNotices(decision.config, checkouts)];
  const policy: PolicyRecord = {
    source: decision.source,
    reason: decision.reason,
    base: base?.config.status === 'found' ? { path: base.config.config.displayPath, sha256: await configHash(base.config.config), commit: base.commit } : null,
    head: head.status === 'found' ? { path: head.config.displayPath, sha256: await configHash(head.config) } : null,
    changes,
    approval: decision.source === 'head' ? approval : null,
    proposed: null,
    workflowChanges: options.workflowChanges ?? [],
    notices,
  };
  const proposal = decision.source === 'base' && head.status === 'found' && changes.length > 0 ? { config: head.config, checkouts: sideCheckouts(head.config, head, base, headRoot, headRoot) } : null;
  return { config: decision.config, checkouts, policy, proposal };
}

/** The checks a config must pass before any model runs. */
function validateConfig(config: BiasGateConfig): void {
  if (!config.vision && !config.language) {
    throw new InputError(`${config.displayPath}: nothing to score; add a \`vision:\` or \`language:\` section`);
  }
  // Every gate names a metric that will exist, before any model runs (DESIGN §4).
  if (config.language) {
    checkGateMetrics(config.displayPath, config.language.gates, languageMetricNames(config.language));
    checkBiasRules(config.displayPath, config.language.gates, new Set([...crowsPairsBenchmark.biasMetrics, ...stereoSetBenchmark.biasMetrics]));
  }
  if (config.vision) checkBiasRules(config.displayPath, config.vision.gates, new Set());
}

/**
 * Where each side's model is: models are matched by their role in the config, not by
 * path, so a model the pull request renamed or moved is still compared with the base
 * model of the same role and every change rule applies.
 */
function sideCheckouts(policy: BiasGateConfig, head: ConfigState, base: BaseSide | undefined, headRoot: string, policyRoot: string): Checkouts {
  const modelPaths: Checkouts['modelPaths'] = {};
  for (const family of MODEL_FAMILIES) {
    const policyModel = policy[family]?.model;
    if (!policyModel) continue;
    const own = (state: ConfigState | undefined) => (state?.status === 'found' ? state.config[family]?.model.repoRelative : undefined);
    modelPaths[family] = { head: own(head) ?? policyModel.repoRelative, base: own(base?.config) ?? policyModel.repoRelative };
  }
  return { headRoot, baseRoot: base?.root, policyRoot, modelPaths };
}

/** The difference between the base's config and the PR's, including a PR that deletes or breaks its config. */
function policyChanges(head: ConfigState, base: ConfigState | undefined): PolicyChange[] {
  if (base?.status !== 'found') return [];
  if (head.status === 'absent') return [{ kind: 'config-deleted', key: head.displayPath, base: 'present', head: null }];
  if (head.status === 'invalid') return [{ kind: 'config-invalid', key: head.displayPath, base: 'valid', head: head.message.split('\n')[0] ?? head.message }];
  return diffPolicies(base.config, head.config);
}

/**
 * Families whose model the policy needs but the pull request deleted: the base side has it,
 * the head tree does not. Their gates fail (a deleted model must not pass unscored).
 */
function deletedModels(config: BiasGateConfig, checkouts: Checkouts): { family: ModelFamily; path: string }[] {
  if (checkouts.baseRoot === undefined) return [];
  return MODEL_FAMILIES.flatMap((family) => {
    const model = config[family]?.model;
    if (!model) return [];
    const headPath = modelPathOf(family, 'head', model, checkouts);
    const basePath = modelPathOf(family, 'base', model, checkouts);
    return !existsSync(inTree(checkouts.headRoot, headPath)) && existsSync(inTree(checkouts.baseRoot!, basePath)) ? [{ family, path: headPath }] : [];
  });
}

function deletedModelNotices(config: BiasGateConfig, checkouts: Checkouts): string[] {
  return deletedModels(config, checkouts).map(({ family, path: deleted }) => `The pull request deletes ${deleted} (\`${family}.model\`), which the policy in force scores; its gates fail.`);
}

/** One failing verdict per rule of a family whose model the pull request deleted. */
function deletedModelVerdicts(gates: readonly GateConfig[], family: ModelFamily, deleted: string): Verdict[] {
  return gates.flatMap((gate) =>
    gate.rules.map(({ rule, threshold }) => ({
      metric: gate.metric, rule, threshold, level: 'fail' as const, requireSignificant: gate.requireSignificant,
      status: 'fail' as const,
      reason: `the pull request deletes ${deleted} (${family}.model), the model this gate scores; a deleted model cannot pass unscored`,
      head: null, base: null, compared: null, interval: null, keyPath: gate.keyPath, line: gate.line,
    })),
  );
}

/** Scores what the config asks for and gates it; in a shard run the runs return null and nothing is gated. */
async function stages(config: BiasGateConfig, checkouts: Checkouts, options: RunOptions, scoring: ItemScoring, sessions?: ProviderOutcome[]): Promise<{ vision: VisionRun | null; language: LanguageRun | null; verdicts: Verdict[] }> {
  const progress = options.progress ?? (() => {});
  // The CLI's --threads wins over the config's runtime.threads (default: all cores).
  const session = {
    intraOpThreads: options.intraOpThreads ?? config.runtime.threads,
    providers: options.providers ?? config.runtime.providers,
    log: progress,
    onProviders: (outcome: ProviderOutcome) => sessions?.push(outcome),
  };
  const mirror = resolveMirror({ environment: (options.env ?? process.env)[MIRROR_ENV_VAR], config: config.sources.mirror, configDir: path.dirname(config.file) });
  if (mirror) progress(`pinned files come from the mirror ${mirror.location} (${mirror.setBy})`);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const common = { checkouts, configPath: config.displayPath, progress, session, scoring, cacheDir, mirror, restrictBuiltinManifest: options.restrictBuiltinManifest };
  const deleted = new Map(deletedModels(config, checkouts).map((entry) => [entry.family, entry.path]));
  const vision = config.vision && !deleted.has('vision') ? await runVision(config.vision, common) : null;
  const language = config.language && !deleted.has('language') ? await runLanguage(config.language, common) : null;
  const verdicts: Verdict[] = [];
  if (config.vision) {
    if (deleted.has('vision')) verdicts.push(...deletedModelVerdicts(config.vision.gates, 'vision', deleted.get('vision')!));
    else if (vision) verdicts.push(...evaluateGates(config.vision.gates, vision.scores.metrics, { confidence: config.vision.bootstrap.confidence, noBaseReason: describeBaseStatus(vision.baseStatus) }));
  }
  if (config.language) {
    if (deleted.has('language')) verdicts.push(...deletedModelVerdicts(config.language.gates, 'language', deleted.get('language')!));
    else if (language) verdicts.push(...evaluateGates(config.language.gates, language.metrics, { confidence: config.language.bootstrap.confidence, noBaseReason: describeBaseStatus(language.baseStatus) }));
  }
  return { vision, language, verdicts };
}

async function configHash(config: BiasGateConfig): Promise<string> {
  return sha256Text(await readConfinedFile(config.repoRoot, config.file, config.displayPath, 'utf8'));
}
