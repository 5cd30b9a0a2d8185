import os from 'node:os';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import schema from '../../schema/thresholds.schema.json' with { type: 'json' };
import { readConfinedFile } from '../artifacts/confined-file.ts';
import { InputError, messageOf } from '../errors.ts';
import { DEFAULT_PREPROCESS } from '../vision/preprocess.ts';
import type { PreprocessOptions } from '../vision/types.ts';
import { findRepositoryRoot, resolveInside, toRepoRelative } from './paths.ts';
import { closestName } from './suggest.ts';
import {
  GATE_RULE_NAMES,
  type BenchmarkFileConfig,
  type BiasGateConfig,
  type ConfiguredPath,
  type GateConfig,
  type ItemListName,
  type LanguageConfig,
  type VisionConfig,
} from './types.ts';
import { isSyntaxProblem, parseYamlSource, type YamlSource } from './yaml-source.ts';

/** Where the JSON Schema of `thresholds.yaml` ships, for editors (`# yaml-language-server: $schema=…`). */
export const CONFIG_SCHEMA_PATH = 'schema/thresholds.schema.json';

const validateSchema = new Ajv({ allErrors: true, strict: true, strictRequired: false, useDefaults: false, verbose: true }).compile(schema);

export interface LoadConfigOptions {
  /** Repository root; default: the nearest ancestor of the config holding `.git`. */
  repoRoot?: string;
}

/**
 * Reads, validates and resolves a config file. Every problem is an InputError
 * naming the file, the line, the key path and what was expected (DESIGN §1.1).
 */
export async function loadConfig(file: string, options: LoadConfigOptions = {}): Promise<BiasGateConfig> {
  const absolute = path.resolve(file);
  const repoRoot = path.resolve(options.repoRoot ?? findRepositoryRoot(absolute));
  const displayPath = toRepoRelative(repoRoot, absolute) || path.basename(absolute);
  const hint = 'Pass the path of your thresholds.yaml with --config (Action input `config`).';
  let text: string;
  try {
    // In the Action the config is the PR's file too: a regular file inside the repository, never a link out of it.
    text = await readConfinedFile(repoRoot, absolute, displayPath, 'utf8');
  } catch (error) {
    const problem = error instanceof InputError ? error.message.replace(`${displayPath} `, '') : messageOf(error);
    throw new InputError(`${displayPath}: cannot read the config file (${problem})`, { hint: error instanceof InputError ? (error.hint ?? hint) : hint, cause: error });
  }
  const source = parseYamlSource(text);
  if (isSyntaxProblem(source)) {
    throw new InputError(`${displayPath}:${source.line}:${source.column}: malformed YAML: ${source.message}`);
  }
  if (source.value === null || typeof source.value !== 'object' || Array.isArray(source.value)) {
    throw new InputError(`${displayPath}: expected a mapping with \`version: 1\` at the top, found ${describeValue(source.value)}`);
  }
  if (!validateSchema(source.value)) {
    throw new InputError(formatSchemaErrors(displayPath, source, validateSchema.errors ?? []), {
      hint: `The format is described in ${CONFIG_SCHEMA_PATH}.`,
    });
  }
  const raw = source.value as unknown as RawConfig;
  const context: ResolveContext = { displayPath, source, repoRoot, configDir: path.dirname(absolute) };
  return {
    version: 1,
    file: absolute,
    displayPath,
    repoRoot,
    raw: source.value,
    vision: raw.vision ? resolveVision(raw.vision, context) : undefined,
    language: raw.language ? resolveLanguage(raw.language, context) : undefined,
    runtime: { providers: raw.runtime?.providers ?? ['cpu'], threads: raw.runtime?.threads ?? os.availableParallelism() },
    sources: { mirror: raw.sources?.mirror },
  };
}

/** The config as the schema guarantees it (snake_case, optional keys). */
interface RawConfig {
  version: 1;
  vision?: RawVision;
  language?: RawLanguage;
  runtime?: { providers?: string[]; threads?: number };
  sources?: { mirror?: string };
}
type RawGate = Partial<Record<(typeof GATE_RULE_NAMES)[number], number>> & { metric: string; require_significant?: boolean; level?: 'fail' | 'warn' };
interface RawBenchmarkFile {
  path?: string;
  sha256?: string;
}
interface RawLanguage {
  model: string;
  kind: 'causal' | 'masked';
  scoring?: 'bias-bench' | 'sum-logprob';
  precision?: 'float32' | 'int8-screen';
  target_domain?: string;
  batch_size?: number;
  max_batch_tokens?: number;
  benchmarks?: {
    crows_pairs?: RawBenchmarkFile;
    stereoset?: RawBenchmarkFile & { split?: 'test' | 'dev' };
    perplexity?: RawBenchmarkFile & { window?: number; stride?: number; max_tokens?: number };
  };
  bootstrap?: { resamples?: number; confidence?: number };
  seed?: number;
  gates?: RawGate[];
}
interface RawVision {
  pretrained: string;
  model: string;
  input?: string;
  embedding_output?: string;
  reference_sets: string | { builtin: 'openimages-analysis'; max_per_set?: number; seed?: number };
  objects?: string[];
  preprocess?: Partial<{
    resize: number; crop: number; channel_order: 'RGB' | 'BGR'; scale: '0-1' | '0-255';
    mean: [number, number, number]; std: [number, number, number];
    interpolation: PreprocessOptions['interpolation']; layout: 'NCHW' | 'NHWC';
  }>;
  batch_size?: number;
  estimator?: 'exact' | 'paper';
  item_lists?: ItemListName[];
  ieat?: { name: string; attributes: [string, string] }[];
  bootstrap?: { resamples?: number; confidence?: number };
  seed?: number;
  gates?: RawGate[];
}

interface ResolveContext {
  displayPath: string;
  source: YamlSource;
  repoRoot: string;
  configDir: string;
}

function resolveVision(raw: RawVision, context: ResolveContext): VisionConfig {
  const preprocess: PreprocessOptions = {
    resize: raw.preprocess?.resize ?? DEFAULT_PREPROCESS.resize,
    crop: raw.preprocess?.crop ?? DEFAULT_PREPROCESS.crop,
    channelOrder: raw.preprocess?.channel_order ?? DEFAULT_PREPROCESS.channelOrder,
    scale: raw.preprocess?.scale ?? DEFAULT_PREPROCESS.scale,
    mean: raw.preprocess?.mean ?? DEFAULT_PREPROCESS.mean,
    std: raw.preprocess?.std ?? DEFAULT_PREPROCESS.std,
    interpolation: raw.preprocess?.interpolation ?? DEFAULT_PREPROCESS.interpolation,
    layout: raw.preprocess?.layout ?? DEFAULT_PREPROCESS.layout,
  };
  if (preprocess.crop > preprocess.resize) {
    const line = context.source.lineOf(['vision', 'preprocess']);
    throw new InputError(
      `${context.displayPath}:${line}: vision.preprocess: crop (${preprocess.crop}) is larger than resize (${preprocess.resize}); expected crop ≤ resize`,
    );
  }
  return {
    pretrained: resolvePath(raw.pretrained, ['vision', 'pretrained'], context),
    model: resolvePath(raw.model, ['vision', 'model'], context),
    input: raw.input,
    embeddingOutput: raw.embedding_output,
    referenceSets: typeof raw.reference_sets === 'string' ? resolvePath(raw.reference_sets, ['vision', 'reference_sets'], context) : undefined,
    builtinReferenceSets:
      typeof raw.reference_sets === 'string'
        ? undefined
        : { name: raw.reference_sets.builtin, maxPerSet: raw.reference_sets.max_per_set, seed: raw.reference_sets.seed ?? 1 },
    objects: raw.objects,
    preprocess,
    batchSize: raw.batch_size ?? 16,
    estimator: raw.estimator ?? 'exact',
    itemLists: raw.item_lists ?? ['object'],
    ieat: raw.ieat ?? [],
    bootstrap: { resamples: raw.bootstrap?.resamples ?? 1000, confidence: raw.bootstrap?.confidence ?? 0.95 },
    seed: raw.seed ?? 0,
    gates: resolveGates(raw.gates, 'vision', context),
  };
}

/** Defaults of DESIGN §3: the whole of every benchmark named, bias-bench's 992-token windows. */
function resolveLanguage(raw: RawLanguage, context: ResolveContext): LanguageConfig {
  const at = (...keys: (string | number)[]) => ['language', ...keys];
  const scoring = raw.scoring ?? 'bias-bench';
  const benchmarks = raw.benchmarks ?? { crows_pairs: {}, stereoset: {}, ...(raw.kind === 'causal' ? { perplexity: {} } : {}) };
  const refuse = (keys: (string | number)[], message: string) => {
    throw new InputError(`${context.displayPath}:${context.source.lineOf(keys)}: ${formatKeyPath(keys)}: ${message}`);
  };
  if (raw.kind === 'masked' && scoring === 'sum-logprob') {
    refuse(at('scoring'), 'sum-logprob is the lm-evaluation-harness convention for causal models; masked models are scored with bias-bench');
  }
  if (raw.kind === 'masked' && benchmarks.perplexity) {
    refuse(at('benchmarks', 'perplexity'), 'perplexity is defined for causal models; remove it for a masked model');
  }
  const file = (value: RawBenchmarkFile, keys: (string | number)[]): BenchmarkFileConfig => ({
    path: value.path === undefined ? undefined : resolvePath(value.path, [...keys, 'path'], context),
    sha256: value.sha256,
  });
  const perplexity = benchmarks.perplexity;
  const window = perplexity?.window ?? 992;
  return {
    model: resolvePath(raw.model, at('model'), context),
    kind: raw.kind,
    scoring,
    precision: raw.precision ?? 'float32',
    targetDomain: raw.target_domain,
    batchSize: raw.batch_size ?? 32,
    maxBatchTokens: raw.max_batch_tokens ?? 4096,
    benchmarks: {
      crowsPairs: benchmarks.crows_pairs && file(benchmarks.crows_pairs, at('benchmarks', 'crows_pairs')),
      stereoSet: benchmarks.stereoset && { ...file(benchmarks.stereoset, at('benchmarks', 'stereoset')), split: benchmarks.stereoset.split ?? 'test' },
      perplexity: perplexity && { ...file(perplexity, at('benchmarks', 'perplexity')), window, stride: perplexity.stride ?? window, maxTokens: perplexity.max_tokens },
    },
    bootstrap: { resamples: raw.bootstrap?.resamples ?? 1000, confidence: raw.bootstrap?.confidence ?? 0.95 },
    seed: raw.seed ?? 0,
    gates: resolveGates(raw.gates, 'language', context),
  };
}

function resolveGates(raw: RawGate[] | undefined, section: 'vision' | 'language', context: ResolveContext): GateConfig[] {
  return (raw ?? []).map((gate, index) => ({
    metric: gate.metric,
    rules: GATE_RULE_NAMES.filter((rule) => gate[rule] !== undefined).map((rule) => ({ rule, threshold: gate[rule] as number })),
    requireSignificant: gate.require_significant ?? false,
    level: gate.level ?? 'fail',
    keyPath: `${section}.gates[${index}]`,
    line: context.source.lineOf([section, 'gates', index]),
  }));
}

function resolvePath(written: string, keyPath: (string | number)[], context: ResolveContext): ConfiguredPath {
  const absolute = resolveInside(context.repoRoot, context.configDir, written);
  if (absolute === undefined) {
    const line = context.source.lineOf(keyPath);
    throw new InputError(
      `${context.displayPath}:${line}: ${formatKeyPath(keyPath)}: "${written}" escapes the repository root (${context.repoRoot}); expected a path inside the repository`,
      { hint: 'Paths are relative to the config file; keep models and reference data in the repository.' },
    );
  }
  return { written, absolute, repoRelative: toRepoRelative(context.repoRoot, absolute) };
}

/** `['vision', 'gates', 0, 'max']` → `vision.gates[0].max`. */
export function formatKeyPath(keyPath: readonly (string | number)[]): string {
  return keyPath.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${key}` : key), '');
}

function formatSchemaErrors(displayPath: string, source: YamlSource, errors: ErrorObject[]): string {
  // anyOf's branches each report a missing key; the anyOf error itself says it better.
  const relevant = withoutLosingOneOfBranches(errors.filter((error) => !error.schemaPath.includes('/anyOf/')));
  const lines = [...new Set(relevant.map((error) => describeSchemaError(displayPath, source, error)))];
  return lines.length === 1 ? lines[0]! : `${displayPath}: ${lines.length} problems:\n${lines.map((line) => `  - ${line}`).join('\n')}`;
}

function describeSchemaError(displayPath: string, source: YamlSource, error: ErrorObject): string {
  const keyPath = jsonPointerToKeys(error.instancePath);
  const at = (keys: (string | number)[], line = source.lineOf(keys)) => `${displayPath}:${line}: ${formatKeyPath(keys) || '(top level)'}`;
  const found = describeValue(valueAt(source.value, keyPath));
  const params = error.params as Record<string, unknown>;
  const propertiesOf = (): string[] => Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const closest = closestName(key, propertiesOf());
      return `${at([...keyPath, key], source.lineOfKey(keyPath, key))}: unknown key "${key}"${closest ? ` (did you mean "${closest}"?)` : ''}; expected one of: ${propertiesOf().join(', ')}`;
    }
    case 'required':
      return `${at(keyPath)}: missing required key "${String(params.missingProperty)}"`;
    case 'anyOf':
      return `${at(keyPath)}: a gate needs at least one rule; expected one of: ${GATE_RULE_NAMES.join(', ')}`;
    case 'oneOf':
      // The one oneOf in the schema: vision.reference_sets.
      return `${at(keyPath)}: expected a path (directory or .csv/.jsonl manifest) or a mapping { builtin: openimages-analysis }, found ${found}`;
    case 'enum':
      return `${at(keyPath)}: expected one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, found ${found}`;
    case 'const':
      return `${at(keyPath)}: expected ${JSON.stringify(params.allowedValue)}, found ${found}`;
    case 'type':
      return `${at(keyPath)}: expected ${withArticle(String(params.type))}, found ${found}`;
    default:
      return `${at(keyPath)}: ${error.message ?? 'is invalid'}, found ${found}`;
  }
}

/**
 * A oneOf (path or mapping) reports the branch of the wrong type too ("must be string" for a
 * mapping): those are dropped, and the oneOf itself is kept only when no branch got further.
 */
function withoutLosingOneOfBranches(errors: ErrorObject[]): ErrorObject[] {
  const oneOfPaths = new Set(errors.filter((error) => error.keyword === 'oneOf').map((error) => error.instancePath));
  const under = (error: ErrorObject, at: string) => error.instancePath === at || error.instancePath.startsWith(`${at}/`);
  // Branches are $refs, so their errors carry the referenced schema's path: tell them by instance path.
  const kept = errors.filter((error) => !(error.keyword === 'type' && oneOfPaths.has(error.instancePath)));
  return kept.filter((error) => error.keyword !== 'oneOf' || !kept.some((other) => other.keyword !== 'oneOf' && under(other, error.instancePath)));
}

function jsonPointerToKeys(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

function valueAt(root: unknown, keys: readonly (string | number)[]): unknown {
  return keys.reduce<unknown>((value, key) => (value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined), root);
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (empty value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function withArticle(type: string): string {
  const names: Record<string, string> = { object: 'a mapping', array: 'a list', integer: 'an integer', number: 'a number', string: 'a string', boolean: 'true or false' };
  return names[type] ?? type;
}
