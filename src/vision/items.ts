import type { ItemListName } from '../config/types.ts';
import { InputError } from '../errors.ts';
import type { Rng } from '../stats/rng.ts';
import {
  interClassSimilarity,
  intraClassSimilarity,
  PAPER_MIN_SUBSET,
  paperInterClassSimilarity,
  paperIntraClassSimilarity,
  type SimilarityMatrix,
} from './similarity.ts';
import { CONTROL_SETS, GENDERS } from './types.ts';

/** One similarity item of a BTS list: intra(S) or inter(S, T). */
export type SimilarityItem = { kind: 'intra'; set: string } | { kind: 'inter'; first: string; second: string };

export function itemLabel(item: SimilarityItem): string {
  return item.kind === 'intra' ? `intra(${item.set})` : `inter(${item.first}, ${item.second})`;
}

/** The sets every item list may draw on: objects and which sets exist. */
export interface ItemContext {
  objects: readonly string[];
  setNames: ReadonlySet<string>;
  /** Lists a built-in reference set declares in its authors' order (builtin-sets.ts); they replace the generic ones. */
  declared?: Partial<Record<ItemListName, readonly SimilarityItem[]>> | undefined;
}

/**
 * The ordered item list (DESIGN §2 "Item lists"). Throws an InputError naming
 * the missing reference sets when the list cannot be built.
 */
export function buildItemList(list: ItemListName, context: ItemContext): SimilarityItem[] {
  const inter = (first: string, second: string): SimilarityItem => ({ kind: 'inter', first, second });
  const intra = (set: string): SimilarityItem => ({ kind: 'intra', set });
  const combinations = context.objects.flatMap((object) => GENDERS.map((gender) => `${object}+${gender}`)).filter((name) => context.setNames.has(name));
  let items: SimilarityItem[];
  const declared = context.declared?.[list];
  if (declared) items = [...declared];
  else switch (list) {
    case 'object':
      // "class vs gender": each object against man, woman and random, then the controls.
      items = [
        ...context.objects.flatMap((object) => [inter(object, 'man'), inter(object, 'woman'), inter(object, 'random')]),
        inter('stop sign', 'man'), inter('stop sign', 'woman'), inter('random', 'man'), inter('random', 'woman'),
      ];
      break;
    case 'pairs':
      items = [...combinations.map(intra), intra('random')];
      break;
    case 'indiv':
      items = [...context.objects, ...GENDERS, ...CONTROL_SETS].map(intra);
      break;
    case 'comps':
      items = [
        ...combinations.map((name) => inter(name, name.slice(0, name.lastIndexOf('+')))),
        ...context.objects.map((object) => inter(object, 'random')),
        intra('random'),
      ];
      break;
  }
  const missing = [...new Set(items.flatMap(setsOf))].filter((name) => !context.setNames.has(name));
  if (missing.length > 0) {
    throw new InputError(`the "${list}" item list needs reference sets that are missing: ${missing.map((name) => `"${name}"`).join(', ')}`, {
      hint: 'Add a sub-directory (or manifest rows) for each; `_` in a directory name reads as a space (stop_sign).',
    });
  }
  if (list === 'pairs' && combinations.length === 0) {
    throw new InputError('the "pairs" item list needs object+gender sets (e.g. "surfboard+man"), and the reference sets have none');
  }
  return items;
}

export function setsOf(item: SimilarityItem): string[] {
  return item.kind === 'intra' ? [item.set] : [item.first, item.second];
}

/** Smallest set size an estimator needs for an item (intra needs a pair; the paper's inter draws ≥ 5 of n > 5). */
export function minimumSetSize(kind: SimilarityItem['kind'], estimator: 'exact' | 'paper'): number {
  if (kind === 'intra') return 2;
  return estimator === 'paper' ? PAPER_MIN_SUBSET + 1 : 1;
}

/** Values of `items` under one model, with `members` mapping set names to image indices. */
export function evaluateItems(
  items: readonly SimilarityItem[],
  matrix: SimilarityMatrix,
  members: ReadonlyMap<string, readonly number[]>,
  estimator: { kind: 'exact' } | { kind: 'paper'; rng: Rng },
): number[] {
  const of = (name: string): readonly number[] => members.get(name)!;
  return items.map((item) => {
    if (estimator.kind === 'exact') {
      return item.kind === 'intra' ? intraClassSimilarity(matrix, of(item.set)) : interClassSimilarity(matrix, of(item.first), of(item.second));
    }
    return item.kind === 'intra'
      ? paperIntraClassSimilarity(matrix, of(item.set), estimator.rng)
      : paperInterClassSimilarity(matrix, of(item.first), of(item.second), estimator.rng);
  });
}
