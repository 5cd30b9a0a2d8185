import type { PreprocessOptions } from '../vision/types.ts';

/** Item lists a BTS can be computed over (DESIGN §2 "Item lists"). */
export type ItemListName = 'object' | 'pairs' | 'indiv' | 'comps';
export const ITEM_LIST_NAMES: readonly ItemListName[] = ['object', 'pairs', 'indiv', 'comps'];

/** Rules a gate can check (DESIGN §4). Absolute rules look at the head alone; the others compare with base. */
export type GateRuleName = 'max' | 'min' | 'max_increase' | 'max_abs_increase' | 'max_decrease' | 'max_bias_increase' | 'max_increase_pct';
export const GATE_RULE_NAMES: readonly GateRuleName[] = ['max', 'min', 'max_increase', 'max_abs_increase', 'max_decrease', 'max_bias_increase', 'max_increase_pct'];

/** One threshold from `gates:`, with where it stands in the config file (for annotations and errors). */
export interface GateConfig {
  metric: string;
  rules: { rule: GateRuleName; threshold: number }[];
  requireSignificant: boolean;
  level: 'fail' | 'warn';
  /** Key path in the config, e.g. `vision.gates[1]`. */
  keyPath: string;
  /** 1-based line of the gate in the config file. */
  line: number;
}

/** A model path as written in the config and as resolved on disk. */
export interface ConfiguredPath {
  /** As written, relative to the config file. */
  written: string;
  /** Relative to the repository root, `/`-separated: the path a base checkout is looked up by. */
  repoRelative: string;
  /** Absolute path in the head (working) tree. */
  absolute: string;
}

export interface IeatConfig {
  name: string;
  attributes: [string, string];
}

export interface VisionConfig {
  pretrained: ConfiguredPath;
  model: ConfiguredPath;
  input: string | undefined;
  embeddingOutput: string | undefined;
  /** A directory or manifest in the repository; undefined when `builtinReferenceSets` is set (exactly one of the two is). */
  referenceSets: ConfiguredPath | undefined;
  /** A built-in reference set downloaded at its pinned commit (`reference_sets: { builtin: … }`). */
  builtinReferenceSets: BuiltinReferenceSetsConfig | undefined;
  /** Objects named in config; undefined means "derive from the reference sets". */
  objects: string[] | undefined;
  preprocess: PreprocessOptions;
  batchSize: number;
  estimator: 'exact' | 'paper';
  itemLists: ItemListName[];
  ieat: IeatConfig[];
  bootstrap: { resamples: number; confidence: number };
  seed: number;
  gates: GateConfig[];
}

/** `vision.reference_sets: { builtin: openimages-analysis, max_per_set: 40, seed: 1 }`. */
export interface BuiltinReferenceSetsConfig {
  /** Which built-in set (src/vision/builtin-sets.ts). */
  name: 'openimages-analysis';
  /** At most this many images per set, the first of a seeded shuffle; undefined: all. */
  maxPerSet: number | undefined;
  /** Seed of that shuffle. */
  seed: number;
}

/** Where a benchmark's data comes from: a local file, or the pinned public file. */
export interface BenchmarkFileConfig {
  /** A local copy; undefined means download the pinned public file. */
  path: ConfiguredPath | undefined;
  /** Expected sha256 of the local copy, if given. */
  sha256: string | undefined;
}

export interface LanguageConfig {
  model: ConfiguredPath;
  kind: 'causal' | 'masked';
  scoring: 'bias-bench' | 'sum-logprob';
  /** `float32`, or `int8-screen`: CrowS-Pairs and StereoSet screened with an int8 copy, every outcome float32's (language/int8-screen.ts). */
  precision: 'float32' | 'int8-screen';
  targetDomain: string | undefined;
  batchSize: number;
  /** Padded tokens per forward pass at most: bounds the logits' memory. */
  maxBatchTokens: number;
  benchmarks: {
    crowsPairs: BenchmarkFileConfig | undefined;
    stereoSet: (BenchmarkFileConfig & { split: 'test' | 'dev' }) | undefined;
    perplexity: (BenchmarkFileConfig & { window: number; stride: number; maxTokens: number | undefined }) | undefined;
  };
  bootstrap: { resamples: number; confidence: number };
  seed: number;
  gates: GateConfig[];
}

/** A loaded, validated config with every path resolved. */
export interface BiasGateConfig {
  version: 1;
  /** Absolute path of the config file. */
  file: string;
  /** Config path relative to the repository root, for messages and the report. */
  displayPath: string;
  /** Absolute repository root; no configured path may leave it. */
  repoRoot: string;
  /** The config as parsed from YAML, before defaults (recorded in the JSON report). */
  raw: unknown;
  vision: VisionConfig | undefined;
  language: LanguageConfig | undefined;
  runtime: RuntimeConfig;
  /** Where pinned public files come from (`sources:`). */
  sources: SourcesConfig;
}

/** `sources: { mirror: … }`, as written; the environment's BIAS_GATE_MIRROR wins over it (artifacts/mirror.ts). */
export interface SourcesConfig {
  /** An http(s) URL, file URL or directory (relative to the config file); undefined: the public origins. */
  mirror: string | undefined;
}

/** How models run: execution providers tried in order, and intra-op threads. */
export interface RuntimeConfig {
  providers: string[];
  /** Default: every core of the machine. */
  threads: number;
}
