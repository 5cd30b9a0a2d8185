import type { GateConfig, VisionConfig } from '../config/types.ts';
import { InputError } from '../errors.ts';
import { didYouMean } from '../config/suggest.ts';

/** Every metric name a vision gate may use with this config and these objects. */
export function visionMetricNames(vision: VisionConfig, objects: readonly string[]): string[] {
  return [
    ...vision.itemLists.map((list) => `bts.${list}`),
    ...objects.map((object) => `gap.${object}`),
    ...(objects.length > 0 ? ['gap.max'] : []),
    ...vision.ieat.map((test) => `ieat.${test.name}`),
  ];
}

/**
 * Fails before any scoring when a gate names a metric that will not exist
 * (DESIGN §4), listing the valid names.
 */
export function checkGateMetrics(configPath: string, gates: readonly GateConfig[], valid: readonly string[]): void {
  for (const gate of gates) {
    if (valid.includes(gate.metric)) continue;
    throw new InputError(`${configPath}:${gate.line}: ${gate.keyPath}.metric: unknown metric "${gate.metric}"; valid metrics: ${valid.join(', ')}`, {
      hint: `${didYouMean(gate.metric, valid)}${unknownMetricHint(gate)}`,
    });
  }
}

/** What makes a metric of the gate's section exist (a language typo gets a language hint, not a vision one). */
export function unknownMetricHint(gate: Pick<GateConfig, 'metric' | 'keyPath'>): string {
  if (gate.keyPath.startsWith('language.')) {
    return 'Language metrics come from language.benchmarks: crows_pairs.<bias type> (e.g. crows_pairs.race-color), stereoset.ss|lms|icat.<gender|profession|race|religion|overall>, perplexity. `bias-gate metrics` lists them.';
  }
  const list = /^bts\.(object|pairs|indiv|comps)$/.exec(gate.metric);
  if (list) return `Add "${list[1]}" to vision.item_lists to compute ${gate.metric}.`;
  return 'gap.<object> needs a reference set named after the object; ieat.<name> an entry in vision.ieat. `bias-gate metrics` lists them.';
}

/**
 * `max_bias_increase` measures the distance to 50, so it applies only to bias
 * scores whose unbiased value is 50 (CrowS-Pairs, StereoSet SS).
 */
export function checkBiasRules(configPath: string, gates: readonly GateConfig[], biasMetrics: ReadonlySet<string>): void {
  for (const gate of gates) {
    if (gate.rules.some((r) => r.rule === 'max_bias_increase') && !biasMetrics.has(gate.metric)) {
      throw new InputError(`${configPath}:${gate.line}: ${gate.keyPath}.max_bias_increase: "${gate.metric}" has no unbiased value of 50; max_bias_increase applies to ${[...biasMetrics].join(', ')}`, {
        hint: 'Use max_increase or max_decrease for other metrics.',
      });
    }
  }
}
