import { BUILTIN_REFERENCE_SETS } from '../vision/builtin-sets.ts';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { InputError } from '../errors.ts';
import { describeMetric } from '../language/compare.ts';
import { languageMetricNames } from '../language/run.ts';
import { unknownMetricHint, visionMetricNames } from '../gate/metric-names.ts';
import { crowsPairsBenchmark } from '../language/crows-pairs.ts';
import { stereoSetBenchmark } from '../language/stereoset.ts';
import { parseSetName } from '../vision/reference-sets.ts';
import { preprocessWarnings } from '../vision/preprocess-warnings.ts';
import { CONTROL_SETS, GENDERS } from '../vision/types.ts';
import { ITEM_LIST_MEANINGS } from '../report/glossary.ts';
import { didYouMean } from './suggest.ts';
import type { BiasGateConfig, ConfiguredPath, GateConfig } from './types.ts';

/** A metric a config can gate, with one line on what it is. */
export interface GateableMetric {
  section: 'vision' | 'language';
  name: string;
  description: string;
}

/** What `bias-gate validate` found: problems stop a run, warnings do not. */
export interface ConfigCheck {
  problems: string[];
  warnings: string[];
  /** Vision metric names are only knowable from the reference sets; null when their directory could not be listed. */
  metrics: GateableMetric[];
  /** Why some metric names could not be checked (e.g. a manifest instead of a directory). */
  unchecked: string[];
}

/**
 * Checks a loaded config without running a model (issue 11): every configured path exists inside
 * the repository, every gate names a metric the config can produce (vision gap/iEAT names from the
 * reference-set directory's sub-directories, when it is a directory), and preprocessing settings
 * that are valid but almost certainly wrong are warnings.
 */
export function checkConfig(config: BiasGateConfig): ConfigCheck {
  const problems: string[] = [];
  const warnings: string[] = [];
  const unchecked: string[] = [];
  const metrics = gateableMetrics(config, unchecked);
  const at = (gate: GateConfig) => `${config.displayPath}:${gate.line}: ${gate.keyPath}.metric`;
  const requirePath = (configured: ConfiguredPath | undefined, key: string, kind: 'file' | 'directory' | 'any') => {
    if (!configured) return;
    if (!existsSync(configured.absolute)) {
      problems.push(`${config.displayPath}: ${key}: "${configured.written}" does not exist (${configured.repoRelative})`);
      return;
    }
    const isDirectory = statSync(configured.absolute).isDirectory();
    if (kind === 'file' && isDirectory) problems.push(`${config.displayPath}: ${key}: "${configured.written}" is a directory; expected a file`);
    if (kind === 'directory' && !isDirectory) problems.push(`${config.displayPath}: ${key}: "${configured.written}" is a file; expected a directory`);
  };
  const vision = config.vision;
  if (vision) {
    requirePath(vision.pretrained, 'vision.pretrained', 'file');
    requirePath(vision.model, 'vision.model', 'file');
    requirePath(vision.referenceSets, 'vision.reference_sets', 'any');
    warnings.push(...preprocessWarnings(vision.preprocess));
    const valid = metrics.filter((metric) => metric.section === 'vision').map((metric) => metric.name);
    for (const gate of vision.gates) {
      const knowable = /^(bts|ieat)\./.test(gate.metric) || unchecked.length === 0;
      if (knowable && !valid.includes(gate.metric)) problems.push(`${at(gate)}: unknown metric "${gate.metric}". ${didYouMean(gate.metric, valid)}${unknownMetricHint(gate)}`);
      if (gate.rules.some((rule) => rule.rule === 'max_bias_increase')) problems.push(`${config.displayPath}:${gate.line}: ${gate.keyPath}.max_bias_increase: "${gate.metric}" has no unbiased value of 50; use max_increase or max_abs_increase`);
    }
  }
  const language = config.language;
  if (language) {
    requirePath(language.model, 'language.model', 'directory');
    requirePath(language.benchmarks.crowsPairs?.path, 'language.benchmarks.crows_pairs.path', 'file');
    requirePath(language.benchmarks.stereoSet?.path, 'language.benchmarks.stereoset.path', 'file');
    requirePath(language.benchmarks.perplexity?.path, 'language.benchmarks.perplexity.path', 'file');
    const valid = languageMetricNames(language);
    const bias = new Set([...crowsPairsBenchmark.biasMetrics, ...stereoSetBenchmark.biasMetrics]);
    for (const gate of language.gates) {
      if (!valid.includes(gate.metric)) problems.push(`${at(gate)}: unknown metric "${gate.metric}". ${didYouMean(gate.metric, valid)}${unknownMetricHint(gate)}`);
      else if (gate.rules.some((rule) => rule.rule === 'max_bias_increase') && !bias.has(gate.metric)) {
        problems.push(`${config.displayPath}:${gate.line}: ${gate.keyPath}.max_bias_increase: "${gate.metric}" has no unbiased value of 50; use max_increase or max_decrease`);
      }
      if (gate.rules.some((rule) => rule.rule === 'max_bias_increase') && !gate.requireSignificant) {
        warnings.push(`${config.displayPath}:${gate.line}: ${gate.keyPath}: max_bias_increase without require_significant: true fails on a single flipped pair (noise); \`bias-gate calibrate\` shows how much one pair is worth`);
      }
    }
    // Only CrowS-Pairs and StereoSet have per-item outcomes to screen (language/int8-screen.ts).
    if (language.precision === 'int8-screen' && !language.benchmarks.crowsPairs && !language.benchmarks.stereoSet) {
      warnings.push(`${config.displayPath}: language.precision: int8-screen has nothing to screen: perplexity is always scored in float32; remove it or add crows_pairs or stereoset`);
    }
  }
  return { problems, warnings, metrics, unchecked };
}

/** Every metric the config can gate, with a one-line description (`bias-gate metrics`). */
export function gateableMetrics(config: BiasGateConfig, unchecked: string[] = []): GateableMetric[] {
  const metrics: GateableMetric[] = [];
  if (config.vision) {
    const vision = config.vision;
    // The built-in sets bring the authors' objects; a directory's are its sub-directories.
    const builtin = vision.builtinReferenceSets && BUILTIN_REFERENCE_SETS[vision.builtinReferenceSets.name];
    const objects = vision.objects ?? builtin?.objects ?? (vision.referenceSets ? objectsFromDirectory(vision.referenceSets, unchecked) : undefined);
    for (const name of visionMetricNames(vision, objects ?? [])) metrics.push({ section: 'vision', name, description: describeVisionMetric(name, vision.ieat) });
  }
  if (config.language) {
    for (const name of languageMetricNames(config.language)) metrics.push({ section: 'language', name, description: describeMetric(name) });
  }
  return metrics;
}

/** Objects as the run derives them (vision/run.ts deriveObjects), from the directory's sub-directory names. */
function objectsFromDirectory(referenceSets: ConfiguredPath, unchecked: string[]): string[] | undefined {
  if (!existsSync(referenceSets.absolute) || !statSync(referenceSets.absolute).isDirectory()) {
    unchecked.push(`vision.reference_sets ${referenceSets.repoRelative} is not a directory here: gap.<object> names are checked when the sets are loaded`);
    return undefined;
  }
  const reserved = new Set<string>([...GENDERS, ...CONTROL_SETS]);
  const names: string[] = [];
  for (const entry of readdirSync(referenceSets.absolute, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    try {
      const parsed = parseSetName(entry.name);
      if (parsed.gender === undefined && !reserved.has(parsed.name)) names.push(parsed.name);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
    }
  }
  return names.sort();
}

function describeVisionMetric(name: string, ieat: readonly { name: string; attributes: [string, string] }[]): string {
  const bts = /^bts\.(object|pairs|indiv|comps)$/.exec(name);
  if (bts) return `Bias Transfer Score (Spearman ρ, pretrained → fine-tuned) over the ${bts[1]} list: ${ITEM_LIST_MEANINGS[bts[1] as keyof typeof ITEM_LIST_MEANINGS].split(' — ')[0]}`;
  if (name === 'gap.max') return 'largest |G(O)| over all objects';
  const gap = /^gap\.(.+)$/.exec(name);
  if (gap) return `gender gap G(${gap[1]}) = inter(${gap[1]}, man) − inter(${gap[1]}, woman); max/min compare |G|`;
  const test = ieat.find((entry) => `ieat.${entry.name}` === name);
  return test ? `iEAT effect size d, man/woman vs ${test.attributes[0]}/${test.attributes[1]}; max/min compare |d|` : name;
}
