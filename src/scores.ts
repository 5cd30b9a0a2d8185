/** Score types shared by every scorer, the gate and the reports (DESIGN §5: ScoreSet → Comparison → Verdict[]). */

/** A bootstrap confidence interval. */
export interface Interval {
  low: number;
  high: number;
}

/** A point estimate with its bootstrap interval (null when bootstrapping is off). */
export interface Estimate {
  value: number;
  interval: Interval | null;
}

/**
 * How many units a metric is computed over, so a reader can tell what one unit is worth (one
 * flipped pair of 8 moves a CrowS-Pairs score by 12.5 points).
 */
export interface MetricSize {
  /** The count the score is averaged over: pairs, target terms, windows. */
  n: number;
  /** What is counted: "pairs", "target terms", "windows". */
  unit: string;
  /** A second count where the first hides one ("96 clusters", "1,024 tokens"). */
  detail?: string;
}

/**
 * One gateable metric for head and base, with the bootstrap replicates the
 * gate needs to judge `require_significant` for any rule. Replicates are paired:
 * replicate r of head and of base come from the same resample of the data.
 */
export interface MetricSeries {
  /** Name used in `gates: - metric:` (e.g. `bts.object`, `gap.surfboard`). */
  name: string;
  /** One line for reports. */
  description: string;
  /**
   * True for metrics whose sign only says which group an association favours
   * (gender gaps, iEAT effect sizes): absolute `max`/`min` rules compare |value|.
   */
  magnitude: boolean;
  /** For bias scores with an unbiased value (CrowS-Pairs, StereoSet SS: 50), what `max_bias_increase` measures the distance to. */
  unbiasedValue?: number;
  head: number;
  /** null when the base model is new or no base was given. */
  base: number | null;
  /** Bootstrap replicates of the head value; empty when bootstrapping is off. */
  headReplicates: readonly number[];
  baseReplicates: readonly number[] | null;
  /** Optional p-value of the head value itself (iEAT's permutation test), used when no replicates exist. */
  headPValue?: number;
  /** Optional p-value of the head-vs-base change (exact McNemar on paired item outcomes). */
  changePValue?: number;
  /** What the head value is computed over (language metrics). */
  size?: MetricSize;
}

/** Why a side was or was not scored. */
export type BaseStatus = 'scored' | 'new' | 'not-given';
