import type { BiasGateConfig } from './config/types.ts';
import type { RunReport } from './report/types.ts';
import type { MetricSeries } from './scores.ts';
import { percentileInterval } from './stats/bootstrap.ts';
import { formatNumber } from './gate/evaluate.ts';

/** One metric's noise under the head tree's model, and the gate proposed from it. */
export interface MetricNoise {
  section: 'vision' | 'language';
  name: string;
  head: number;
  /** Standard deviation of the bootstrap replicates. */
  sd: number;
  interval: { low: number; high: number };
  /** Paired benchmarks: outcomes McNemar counts, points one flipped outcome moves the score, flips (all one way) McNemar needs. */
  paired?: { n: number; pointsPerFlip: number; flipsNeeded: number; minimalDetectableChange: number };
  /** The proposed gate as YAML lines (without the leading `- `), or null when none is proposed. */
  proposal: string[] | null;
}

/**
 * The smallest number of discordant pairs, all flipped one way, for which McNemar's exact two-sided
 * p = 2 · 0.5^k is below alpha: no change smaller than k flipped outcomes can be significant.
 */
export function mcnemarFlipsNeeded(alpha: number): number {
  let k = 1;
  while (Math.min(1, 2 * 0.5 ** k) >= alpha) k++;
  return k;
}

/**
 * Measures each metric's noise on the head tree's models (issue 11 `calibrate`): the bootstrap
 * spread of every metric, and for paired benchmarks (CrowS-Pairs, StereoSet) what one flipped
 * outcome is worth and the minimal change McNemar can detect at the configured confidence.
 */
export function measureNoise(report: RunReport): MetricNoise[] {
  const noise: MetricNoise[] = [];
  const add = (section: 'vision' | 'language', metric: MetricSeries, confidence: number) => {
    // `stereoset.ss` and the like repeat the overall score under a short name.
    if (/^stereoset\.(ss|lms|icat)$/.test(metric.name)) return;
    const replicates = metric.headReplicates.filter(Number.isFinite);
    if (!Number.isFinite(metric.head) || replicates.length < 2) return;
    const mean = replicates.reduce((sum, value) => sum + value, 0) / replicates.length;
    const sd = Math.sqrt(replicates.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (replicates.length - 1));
    const [low, high] = percentileInterval(replicates, confidence);
    const entry: MetricNoise = { section, name: metric.name, head: metric.head, sd, interval: { low, high }, proposal: null };
    const outcomes = metric.size && (metric.unbiasedValue !== undefined) ? pairedOutcomeCount(metric) : undefined;
    if (outcomes) {
      const flipsNeeded = mcnemarFlipsNeeded(1 - confidence);
      entry.paired = { n: outcomes, pointsPerFlip: 100 / outcomes, flipsNeeded, minimalDetectableChange: (100 * flipsNeeded) / outcomes };
    }
    entry.proposal = propose(entry, metric);
    noise.push(entry);
  };
  if (report.vision) for (const metric of report.vision.scores.metrics) add('vision', metric, report.vision.settings.bootstrap.confidence);
  if (report.language) for (const metric of report.language.metrics) add('language', metric, report.language.settings.bootstrap.confidence);
  return noise;
}

/** McNemar counts pairs for CrowS-Pairs and clusters for StereoSet ("24 clusters" in the size's detail). */
function pairedOutcomeCount(metric: MetricSeries): number | undefined {
  if (!metric.size || metric.size.n === 0) return undefined;
  if (metric.size.unit === 'pairs') return metric.size.n;
  const clusters = /^(\d+) clusters$/.exec(metric.size.detail ?? '');
  return clusters ? Number(clusters[1]) : undefined;
}

const up = (value: number, digits: number) => Math.ceil(value * 10 ** digits) / 10 ** digits;
const down = (value: number, digits: number) => Math.floor(value * 10 ** digits) / 10 ** digits;

/** The gate a metric's noise suggests: past today's value by more than the noise, and significant. */
function propose(entry: MetricNoise, metric: MetricSeries): string[] | null {
  const halfWidth = (entry.interval.high - entry.interval.low) / 2;
  if (metric.unbiasedValue !== undefined) {
    // Bias scores: any significant growth of |score − 50|; the noise decides what is significant.
    return [`metric: ${entry.name}`, 'max_bias_increase: 0', 'require_significant: true'];
  }
  if (/^bts\./.test(entry.name)) return [`metric: ${entry.name}`, `min: ${formatNumber(down(entry.interval.low, 2))}`];
  if (entry.name === 'gap.max') return [`metric: ${entry.name}`, `max: ${formatNumber(up(Math.max(Math.abs(entry.interval.low), Math.abs(entry.interval.high)), 2))}`];
  if (/^(gap|ieat)\./.test(entry.name)) return [`metric: ${entry.name}`, `max_abs_increase: ${formatNumber(up(halfWidth, 3))}`, 'require_significant: true'];
  if (/^stereoset\.(lms|icat)\.overall$/.test(entry.name)) return [`metric: ${entry.name}`, `max_decrease: ${formatNumber(up(halfWidth, 1))}`, 'require_significant: true'];
  if (entry.name === 'perplexity') return [`metric: ${entry.name}`, `max_increase_pct: ${formatNumber(up((100 * halfWidth) / entry.head, 1))}`, 'require_significant: true', 'level: warn'];
  return null;
}

/** The commented YAML snippet `bias-gate calibrate` writes: the measured noise and the proposed gates. */
export function renderCalibration(config: BiasGateConfig, report: RunReport, noise: readonly MetricNoise[]): string {
  const lines = [
    `# bias-gate calibrate: noise of the models in this tree (${config.displayPath}), measured without a base.`,
    '# For each metric: value, bootstrap SD and interval; for paired benchmarks, what one flipped',
    '# outcome is worth and the smallest change McNemar\'s exact test can call significant.',
    '# Proposed gates: paste the ones you want into the config\'s `gates:` lists and adjust.',
  ];
  for (const section of ['vision', 'language'] as const) {
    const entries = noise.filter((entry) => entry.section === section && entry.proposal);
    if (entries.length === 0) continue;
    const settings = section === 'vision' ? report.vision!.settings.bootstrap : report.language!.settings.bootstrap;
    const level = `${Math.round(settings.confidence * 100)}%`;
    lines.push(`${section}:`, `  # ${settings.resamples} bootstrap resamples, ${level} intervals`, '  gates:');
    for (const entry of entries) {
      lines.push(`    # ${entry.name} = ${formatNumber(entry.head)}; bootstrap SD ${formatNumber(entry.sd)}, ${level} interval [${formatNumber(entry.interval.low)}, ${formatNumber(entry.interval.high)}]`);
      if (entry.paired) {
        const p = entry.paired;
        // StereoSet scores average over target terms, so a flipped cluster's weight varies: the figures are per cluster on average.
        const about = entry.name.startsWith('stereoset.') ? 'about ' : '';
        const detectable = p.flipsNeeded > p.n
          ? `McNemar needs ≥ ${p.flipsNeeded} flips one way, more than there are: no change of this metric can be significant`
          : `McNemar needs ≥ ${p.flipsNeeded} flips one way, a change of ≥ ${about}${formatNumber(p.minimalDetectableChange)} points`;
        lines.push(`    #   n = ${p.n} paired outcomes: one flip moves the score ${about}${formatNumber(p.pointsPerFlip)} points; ${detectable}`);
      }
      const [first, ...rest] = entry.proposal!;
      lines.push(`    - ${first}`, ...rest.map((line) => `      ${line}`));
    }
  }
  return `${lines.join('\n')}\n`;
}
