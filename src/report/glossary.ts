import type { ItemListName } from '../config/types.ts';
import type { ReportDocument } from './json.ts';

/** One glossary line: the term as the report writes it, and what it means. */
export interface GlossaryEntry {
  term: string;
  meaning: string;
}

/** What each BTS item list holds (DESIGN §2 "Item lists"). */
export const ITEM_LIST_MEANINGS: Record<ItemListName, string> = {
  object: 'for every object O: inter(O, man), inter(O, woman), inter(O, random), plus the controls inter(stop sign, man/woman) and inter(random, man/woman) — how close each object sits to each gender',
  pairs: 'intra(O+gender) for every object-with-gender set (e.g. surfboard+man), plus intra(random) — how tightly each gendered scene clusters',
  indiv: 'intra(S) of every single concept and control set (objects, man, woman, random, stop sign)',
  comps: 'inter(O+gender, O) and inter(O, random) for every object O, plus intra(random) — how a gendered scene relates to the object alone',
};

/**
 * The glossary of a report (issue 11): one line for every quantity the report shows and none for
 * those it does not. The text lives here once; the Markdown and terminal reports both render it.
 * Definitions follow DESIGN §2 (vision) and §3 (language).
 */
export function glossaryEntries(document: ReportDocument): GlossaryEntry[] {
  const entries: GlossaryEntry[] = [];
  const add = (term: string, meaning: string) => entries.push({ term, meaning });
  const vision = document.vision;
  const language = document.language;
  const confidence = Math.round((vision?.settings.bootstrap.confidence ?? language?.settings.bootstrap.confidence ?? 0.95) * 100);

  if (vision && vision.bts.length > 0) {
    add('BTS (Bias Transfer Score)', `Spearman ρ between the similarity items (see the item lists) under the pretrained backbone and the same items under the fine-tuned model; n = number of items. Near 1: the pretrained model's association structure, gender associations included, survived fine-tuning (its biases transferred). Near 0 or negative: the structure was reorganised, and new associations may have appeared. ${btsDirection(document)}`);
    for (const list of vision.bts.map((bts) => bts.list)) add(`item list ${list}`, ITEM_LIST_MEANINGS[list]);
    add('intra(S), inter(S, T)', 'mean cosine similarity of the embeddings over all pairs of distinct images in set S, or over all pairs (s in S, t in T)');
  }
  if (vision && vision.gaps.length > 0) {
    add('G(O) (gender gap)', 'inter(O, man) − inter(O, woman): how much closer object O sits to images of men than of women (negative: closer to women). Gates compare |G|; a sign flip between base and head is a new association. n = images in the O, man and woman sets.');
  }
  if (vision && vision.ieat.length > 0) {
    add('iEAT d', 'image Embedding Association Test effect size (Steed & Caliskan 2021) for targets man/woman and two attribute sets A/B: how much more man images associate with A (and woman images with B) than the reverse, in pooled standard deviations; 0 = no association, |d| ≥ 0.8 is large. p is a one-sided permutation test.');
  }
  const names = language?.metrics.map((metric) => metric.name) ?? [];
  if (names.some((name) => name.startsWith('crows_pairs.'))) {
    add('CrowS-Pairs', '% of sentence pairs (one more stereotypical, one less) in which the model prefers the more stereotypical sentence; 50 = unbiased, above 50 favours stereotypes, below 50 favours anti-stereotypes. n = scored pairs: one flipped pair moves the score by 100/n points.');
  }
  if (names.some((name) => name.startsWith('stereoset.'))) {
    add('StereoSet SS', 'stereotype score: % of items where the model prefers the stereotypical over the anti-stereotypical completion, averaged over target terms; 50 = unbiased. n = target terms (the clusters they hold in brackets).');
    add('StereoSet LMS', 'language-model score: % of stereotypical and anti-stereotypical completions the model prefers over an unrelated (meaningless) one; 100 = always picks a meaningful completion. Higher is better.');
    add('StereoSet ICAT', 'idealized CAT score = LMS · min(SS, 100 − SS) / 50: 100 for a model that is both a perfect language model and unbiased; combines both. Higher is better.');
  }
  if (names.includes('perplexity')) {
    add('perplexity', 'how surprised the model is by held-out text (exp of the mean negative log-likelihood per token); lower is better. It checks that debiasing kept the language-modelling ability. n = evaluation windows (tokens predicted).');
  }
  if (language?.metrics.some((metric) => metric.biasChange !== null)) {
    add('Δ |score − 50|', 'change in the distance from the unbiased value 50, head minus base. A score can be biased in either direction (60 and 40 are equally biased), so the distance says unambiguously whether the model got more (positive) or less (negative) biased. max_bias_increase gates this quantity.');
  }
  if (hasIntervals(document)) {
    add(`${confidence}% interval`, `bootstrap interval: the data (images or benchmark items) were resampled many times (seeded) and the quantity recomputed; ${confidence}% of the recomputed values fall inside. An interval of a change that includes 0 (or the threshold) means the change may be noise. Each interval is of the quantity it stands next to; a gate's is of the quantity the gate tests.`);
  }
  if (language?.metrics.some((metric) => metric.mcnemarP !== null)) {
    add('McNemar p', 'exact McNemar test on the paired item outcomes (base vs head on the same pairs): the probability of at least this many flips in one direction if the models did not differ. Small p (below 1 − confidence) means the outcomes really changed. A require_significant gate on a change needs both its interval past the threshold and this p below 1 − confidence.');
  }
  if (language?.transfer) {
    add('transfer table', `each domain's Δ |score − 50| beside the targeted domain's (${language.transfer.target}). A change is clear when its interval excludes 0 and McNemar p is below 1 − confidence; "with/against the target" compares its sign with a clear change of the target; "moved; target: no clear change" is a domain that changed while the target did not.`);
  }
  if (document.verdicts.length > 0) {
    add('status', 'pass, fail (blocks the merge), warn (reported, does not block) or skipped (e.g. no base model). "not significant": past the threshold but within noise, so it passes under require_significant.');
  }
  return entries;
}

/** Which BTS direction this config treats as worse, read from its gates. */
function btsDirection(document: ReportDocument): string {
  const rules = new Set(document.verdicts.filter((verdict) => verdict.metric.startsWith('bts.')).map((verdict) => verdict.rule));
  const general = 'Which is worse depends on the use: if the pretrained model was audited and its biases accepted, a low BTS (unreviewed new associations) is the risk, gated with min; if fine-tuning was meant to remove the pretrained biases, a high BTS (they survived) is the risk, gated with max.';
  if (rules.has('min') && !rules.has('max')) return `${general} This config gates BTS with min: a low BTS counts as worse.`;
  if (rules.has('max') && !rules.has('min')) return `${general} This config gates BTS with max: a high BTS counts as worse.`;
  return general;
}

function hasIntervals(document: ReportDocument): boolean {
  return (
    document.verdicts.some((verdict) => verdict.interval !== null) ||
    (document.vision?.bts.some((bts) => bts.head.interval !== null) ?? false) ||
    (document.language?.metrics.some((metric) => metric.deltaInterval !== null) ?? false)
  );
}
