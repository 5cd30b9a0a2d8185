import type { IeatConfig, ItemListName } from '../config/types.ts';
import type { Estimate, Interval, MetricSeries } from '../scores.ts';
import { percentileInterval, resampleWithReplacement } from '../stats/bootstrap.ts';
import { seededRng } from '../stats/rng.ts';
import { spearman } from '../stats/spearman.ts';
import { imageEmbeddingAssociationTest, type IeatResult } from './ieat.ts';
import { buildItemList, evaluateItems, itemLabel, type ItemContext, type SimilarityItem } from './items.ts';
import { cosineSimilarityMatrix, interClassSimilarity, type SimilarityMatrix } from './similarity.ts';

/** Everything the pure vision scorer needs: embeddings by image index, and which images form which set. */
export interface VisionScoringInput {
  /** Reference set name → indices into the embedding arrays. */
  members: ReadonlyMap<string, readonly number[]>;
  /** L2-normalised embeddings, one per image index; base is null when there is no base model. */
  embeddings: { pretrained: readonly Float32Array[]; base: readonly Float32Array[] | null; head: readonly Float32Array[] };
  objects: readonly string[];
  itemLists: readonly ItemListName[];
  /** Item lists a built-in reference set declares in its authors' order; the generic lists otherwise. */
  declaredItemLists?: ItemContext['declared'];
  ieat: readonly IeatConfig[];
  estimator: 'exact' | 'paper';
  bootstrap: { resamples: number; confidence: number };
  seed: number;
}

/** A Spearman correlation with its p-value and bootstrap interval. */
export interface Correlation {
  rho: number;
  pValue: number;
  interval: Interval | null;
}

export interface ItemListScores {
  list: ItemListName;
  n: number;
  items: { label: string; pretrained: number; base: number | null; head: number }[];
}

/** BTS over one item list: pretrained→base and pretrained→head (DESIGN §2 "BTS"). */
export interface BtsScore {
  list: ItemListName;
  n: number;
  base: Correlation | null;
  head: Correlation;
  /** ρ(head) − ρ(base). */
  change: Estimate | null;
}

/** Per-object gender gap G(O) = inter(O, man) − inter(O, woman) under each model. */
export interface GapScore {
  object: string;
  pretrained: Estimate;
  base: Estimate | null;
  head: Estimate;
  /** |G_head| − |G_base|: how much stronger the association got. */
  magnitudeChange: Estimate | null;
  /** G changed sign against the base (or, with no base, against the pretrained model): a new biased association. */
  signFlip: boolean;
}

export interface IeatScore {
  name: string;
  attributes: [string, string];
  pretrained: IeatResult;
  base: IeatResult | null;
  head: IeatResult;
}

export interface VisionScores {
  estimator: 'exact' | 'paper';
  itemLists: ItemListScores[];
  bts: BtsScore[];
  gaps: GapScore[];
  ieat: IeatScore[];
  /** The gateable view of all of the above. */
  metrics: MetricSeries[];
}

type Side = 'pretrained' | 'base' | 'head';

// Independent random streams per purpose, so turning one feature on or off
// does not shift another's draws.
const STREAM_BOOTSTRAP = 0;
const STREAM_PAPER_ESTIMATOR = 1;
const STREAM_PERMUTATION = 2;
// mt19937 takes seeds 1..2^32−1; config seeds start at 0.
const streamSeed = (seed: number, stream: number) => ((seed + stream * 0x9e3779b1) % 0xffffffff) + 1;

/** Scores BTS, gaps and iEAT for the pretrained, base and head embeddings, with bootstrap intervals. */
export function scoreVision(input: VisionScoringInput): VisionScores {
  const sides: Side[] = input.embeddings.base ? ['pretrained', 'base', 'head'] : ['pretrained', 'head'];
  const matrices = new Map<Side, SimilarityMatrix>(sides.map((side) => [side, cosineSimilarityMatrix(input.embeddings[side]!)]));
  const context = { objects: input.objects, setNames: new Set(input.members.keys()), declared: input.declaredItemLists };
  const lists = input.itemLists.map((list) => ({ list, items: buildItemList(list, context) }));

  const paperRng = seededRng(streamSeed(input.seed, STREAM_PAPER_ESTIMATOR));
  const pointItems = lists.map(({ list, items }) => {
    const values = new Map<Side, number[]>(
      sides.map((side) => [
        side,
        input.estimator === 'exact'
          ? evaluateItems(items, matrices.get(side)!, input.members, { kind: 'exact' })
          : evaluateItems(items, matrices.get(side)!, input.members, { kind: 'paper', rng: paperRng }),
      ]),
    );
    return { list, items, values };
  });
  const point = measure(sides, matrices, input.members, input, pointItems.map(({ list, items }) => ({ list, items })), pointItems);
  const replicates = bootstrapReplicates(sides, matrices, input, lists);
  const interval = (samples: number[] | undefined): Interval | null =>
    samples && samples.length > 0 ? toInterval(percentileInterval(samples, input.bootstrap.confidence)) : null;
  const estimate = (key: string): Estimate => ({ value: point.get(key)!, interval: interval(replicates.get(key)) });
  const hasBase = sides.includes('base');

  const bts: BtsScore[] = pointItems.map(({ list, items, values }) => {
    const correlation = (side: Side): Correlation => {
      const result = spearman(values.get('pretrained')!, values.get(side)!);
      return { rho: result.rho, pValue: result.pValue, interval: interval(replicates.get(`bts.${list}.${side}`)) };
    };
    return {
      list,
      n: items.length,
      base: hasBase ? correlation('base') : null,
      head: correlation('head'),
      change: hasBase ? estimate(`bts.${list}.change`) : null,
    };
  });

  const gaps: GapScore[] = input.objects.map((object) => {
    const reference = hasBase ? point.get(`gap.${object}.base`)! : point.get(`gap.${object}.pretrained`)!;
    const head = point.get(`gap.${object}.head`)!;
    return {
      object,
      pretrained: estimate(`gap.${object}.pretrained`),
      base: hasBase ? estimate(`gap.${object}.base`) : null,
      head: estimate(`gap.${object}.head`),
      magnitudeChange: hasBase ? estimate(`gap.${object}.magnitudeChange`) : null,
      signFlip: Math.sign(head) !== Math.sign(reference) && head !== 0 && reference !== 0,
    };
  });

  const ieat: IeatScore[] = input.ieat.map((test) => {
    const run = (side: Side): IeatResult =>
      imageEmbeddingAssociationTest(
        {
          X: input.members.get('man')!.map((i) => input.embeddings[side]![i]!),
          Y: input.members.get('woman')!.map((i) => input.embeddings[side]![i]!),
          A: input.members.get(test.attributes[0])!.map((i) => input.embeddings[side]![i]!),
          B: input.members.get(test.attributes[1])!.map((i) => input.embeddings[side]![i]!),
        },
        { seed: streamSeed(input.seed, STREAM_PERMUTATION) },
      );
    return { name: test.name, attributes: test.attributes, pretrained: run('pretrained'), base: hasBase ? run('base') : null, head: run('head') };
  });

  const itemLists: ItemListScores[] = pointItems.map(({ list, items, values }) => ({
    list,
    n: items.length,
    items: items.map((item, index) => ({
      label: itemLabel(item),
      pretrained: values.get('pretrained')![index]!,
      base: hasBase ? values.get('base')![index]! : null,
      head: values.get('head')![index]!,
    })),
  }));

  const series = (name: string, description: string, magnitude: boolean, key: string, extra: Partial<MetricSeries> = {}): MetricSeries => ({
    name,
    description,
    magnitude,
    head: point.get(`${key}.head`)!,
    base: hasBase ? point.get(`${key}.base`)! : null,
    headReplicates: replicates.get(`${key}.head`) ?? [],
    baseReplicates: hasBase ? (replicates.get(`${key}.base`) ?? []) : null,
    ...extra,
  });
  const metrics: MetricSeries[] = [
    ...lists.map(({ list, items }) => series(`bts.${list}`, `Bias Transfer Score over the "${list}" list (n=${items.length}), Spearman ρ pretrained→model`, false, `bts.${list}`)),
    ...input.objects.map((object) => series(`gap.${object}`, `gender gap of "${object}": inter(${object}, man) − inter(${object}, woman)`, true, `gap.${object}`)),
    ...(input.objects.length > 0 ? [series('gap.max', 'largest |gender gap| over all objects', true, 'gap.max')] : []),
    ...ieat.map((test) => ({
      ...series(`ieat.${test.name}`, `iEAT effect size d, X=man Y=woman, A=${test.attributes[0]} B=${test.attributes[1]}`, true, `ieat.${test.name}`),
      headPValue: test.head.pValue,
    })),
  ];
  return { estimator: input.estimator, itemLists, bts, gaps, ieat, metrics };
}

/**
 * All scalar quantities for one draw of the data, keyed `<metric>.<side>`
 * (and `.change` / `.magnitudeChange` for deltas). Shared by the point
 * estimate and every bootstrap replicate so both compute the same thing.
 */
function measure(
  sides: readonly Side[],
  matrices: ReadonlyMap<Side, SimilarityMatrix>,
  members: ReadonlyMap<string, readonly number[]>,
  input: VisionScoringInput,
  lists: readonly { list: ItemListName; items: readonly SimilarityItem[] }[],
  precomputed?: readonly { values: ReadonlyMap<Side, number[]> }[],
): Map<string, number> {
  const out = new Map<string, number>();
  lists.forEach(({ list, items }, index) => {
    const valuesOf = (side: Side) =>
      precomputed?.[index]?.values.get(side) ?? evaluateItems(items, matrices.get(side)!, members, { kind: 'exact' });
    const pretrained = valuesOf('pretrained');
    for (const side of sides) {
      if (side !== 'pretrained') out.set(`bts.${list}.${side}`, spearman(pretrained, valuesOf(side)).rho);
    }
    if (sides.includes('base')) out.set(`bts.${list}.change`, out.get(`bts.${list}.head`)! - out.get(`bts.${list}.base`)!);
  });
  for (const side of sides) {
    const matrix = matrices.get(side)!;
    let largest = 0;
    for (const object of input.objects) {
      const gap = interClassSimilarity(matrix, members.get(object)!, members.get('man')!) - interClassSimilarity(matrix, members.get(object)!, members.get('woman')!);
      out.set(`gap.${object}.${side}`, gap);
      largest = Math.max(largest, Math.abs(gap));
    }
    out.set(`gap.max.${side}`, largest);
    for (const test of input.ieat) {
      out.set(`ieat.${test.name}.${side}`, ieatEffectSize(matrix, members, test));
    }
  }
  if (sides.includes('base')) {
    for (const object of input.objects) {
      out.set(`gap.${object}.magnitudeChange`, Math.abs(out.get(`gap.${object}.head`)!) - Math.abs(out.get(`gap.${object}.base`)!));
    }
  }
  return out;
}

/**
 * Bootstrap over reference images (DESIGN §2 "Uncertainty"): resample each set
 * with replacement, the same draw for every model, and recompute everything
 * with the exact estimator. Returns replicate arrays keyed like `measure`.
 */
function bootstrapReplicates(
  sides: readonly Side[],
  matrices: ReadonlyMap<Side, SimilarityMatrix>,
  input: VisionScoringInput,
  lists: readonly { list: ItemListName; items: readonly SimilarityItem[] }[],
): Map<string, number[]> {
  const replicates = new Map<string, number[]>();
  const rng = seededRng(streamSeed(input.seed, STREAM_BOOTSTRAP));
  const setNames = [...input.members.keys()].sort();
  for (let draw = 0; draw < input.bootstrap.resamples; draw++) {
    const resampled = new Map<string, number[]>();
    for (const name of setNames) {
      const original = input.members.get(name)!;
      resampled.set(name, resampleWithReplacement(original.length, rng).map((i) => original[i]!));
    }
    for (const [key, value] of measure(sides, matrices, resampled, input, lists)) {
      let samples = replicates.get(key);
      if (!samples) replicates.set(key, (samples = []));
      samples.push(value);
    }
  }
  return replicates;
}

/** iEAT effect size d from the cosine matrix (same definition as ieat.ts, without the permutation test). */
function ieatEffectSize(matrix: SimilarityMatrix, members: ReadonlyMap<string, readonly number[]>, test: IeatConfig): number {
  const A = members.get(test.attributes[0])!;
  const B = members.get(test.attributes[1])!;
  const association = (w: number) => meanRow(matrix, w, A) - meanRow(matrix, w, B);
  const sX = members.get('man')!.map(association);
  const sY = members.get('woman')!.map(association);
  const all = [...sX, ...sY];
  const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
  const overall = mean(all);
  const variance = all.reduce((sum, v) => sum + (v - overall) ** 2, 0) / (all.length - 1);
  return (mean(sX) - mean(sY)) / Math.sqrt(variance);
}

function meanRow(matrix: SimilarityMatrix, row: number, columns: readonly number[]): number {
  let sum = 0;
  for (const column of columns) sum += matrix.values[row * matrix.size + column]!;
  return sum / columns.length;
}

function toInterval([low, high]: [number, number]): Interval {
  return { low, high };
}
