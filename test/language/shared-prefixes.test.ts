import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crowsPairsBenchmark, type CrowsResult } from '../../src/language/crows-pairs.ts';
import { parseCrowsPairs } from '../../src/language/datasets/crows-pairs.ts';
import { parseStereoSet } from '../../src/language/datasets/stereoset.ts';
import { causalTokenLogProbs } from '../../src/language/inference.ts';
import { loadLanguageModel } from '../../src/language/model.ts';
import { causalTokenLogProbsSharingPrefixes, MIN_SHARED_PREFIX, pastNamesOf, planSharedPrefixes } from '../../src/language/shared-prefixes.ts';
import { stereoSetBenchmark } from '../../src/language/stereoset.ts';
import type { LanguageModel, ScoringConvention } from '../../src/language/types.ts';
import { maxAbsDifference, repoPath, sharedDirFor } from '../helpers.ts';

/** 1e-5 nats, the tolerance batching is held to. */
const TOLERANCE = 1e-5;

describe('planSharedPrefixes', () => {
  it('shares the common prefix less its last token, when at least two tokens remain to share', () => {
    const sequences = [
      [1, 2, 3, 4, 5],
      [1, 2, 3, 9, 9, 9],
      [1, 2, 7],
      [1, 2, 8],
      [4, 4, 4, 4],
      [4, 4, 4, 4],
      [5],
    ];
    expect(planSharedPrefixes(sequences, [[0, 1], [2, 3], [4, 5]], 2)).toEqual({
      // [0, 1] share 1 2 3: the prefix pass runs 1 2 and both tails start at 3.
      // [4, 5] are equal: the pass runs 4 4 4; each tail is the last 4 alone.
      shared: [
        { members: [0, 1], prefix: 2 },
        { members: [4, 5], prefix: 3 },
      ],
      // [2, 3] share only 1 2 (a one-token pass); 6 is in no group.
      alone: [2, 3, 6],
    });
  });

  it('by default shares only prefixes of at least MIN_SHARED_PREFIX tokens', () => {
    expect(MIN_SHARED_PREFIX).toBe(4);
    const sequences = [
      [1, 2, 3, 4, 5, 6],
      [1, 2, 3, 4, 5, 7],
      [1, 2, 3, 4, 8],
      [1, 2, 3, 4, 9],
    ];
    expect(planSharedPrefixes(sequences, [[0, 1], [2, 3]])).toEqual({ shared: [{ members: [0, 1], prefix: 4 }], alone: [2, 3] });
  });

  it('leaves a one-member group and an empty sequence whole, and refuses repeated indices', () => {
    expect(planSharedPrefixes([[1, 2, 3, 4], []], [[0], [1]])).toEqual({ shared: [], alone: [0, 1] });
    expect(() => planSharedPrefixes([[1], [2]], [[0, 1], [1]])).toThrow(/index 1 is out of range or repeated/);
    expect(() => planSharedPrefixes([[1]], [[0, 3]])).toThrow(/index 3/);
  });
});

/** `model` with a session that records each pass's input_ids and past length. */
function recording(model: LanguageModel): { model: LanguageModel; passes: { rows: number; width: number; past: number }[] } {
  const passes: { rows: number; width: number; past: number }[] = [];
  const session = {
    ...model.session,
    run: (feeds: Parameters<LanguageModel['session']['run']>[0], names: readonly string[]) => {
      const [rows = 0, width = 0] = feeds.input_ids!.dims;
      passes.push({ rows, width, past: feeds['past_key_values.0.key']?.dims[2] ?? -1 });
      return model.session.run(feeds, names);
    },
  };
  return { model: { ...model, session }, passes };
}

const WITH_PAST = 'fixtures/language/gpt2-tiny/with-past';
const NO_PAST = 'fixtures/language/gpt2-tiny/no-past';
const crows = parseCrowsPairs(readFileSync(repoPath('fixtures/language/benchmarks/crows_pairs_sample.csv'), 'utf8'), 'crows').items;
const stereo = parseStereoSet(readFileSync(repoPath('fixtures/language/benchmarks/stereoset_sample.json'), 'utf8'), 'stereoset').clusters;

describe('sharing prefixes on a with-past export (tiny GPT-2)', () => {
  let withPast: LanguageModel;
  let noPast: LanguageModel;
  beforeAll(async () => {
    withPast = await loadLanguageModel(repoPath(WITH_PAST), WITH_PAST, 'causal');
    noPast = await loadLanguageModel(repoPath(NO_PAST), NO_PAST, 'causal');
  });
  afterAll(async () => {
    await withPast?.session.release();
    await noPast?.session.release();
  });

  it('the with-past export can share; the no-past export cannot', () => {
    expect(pastNamesOf(withPast)?.presents).toEqual(['present.0.key', 'present.0.value', 'present.1.key', 'present.1.value']);
    expect(pastNamesOf(noPast)).toBeUndefined();
  });

  it('gives every log-probability of the unshared path within 1e-5 nats, in fewer tokens', async () => {
    const sentences = crows.flatMap((pair) => [pair.sentMore, pair.sentLess]).map((text) => withPast.tokenizer.encode(text, { addSpecialTokens: false }));
    const pairs = crows.map((_, k) => [2 * k, 2 * k + 1]);
    const plan = planSharedPrefixes(sentences, pairs);
    expect(plan.shared.length).toBeGreaterThan(5);
    for (const batchSize of [1, 3, 32]) {
      const { model, passes } = recording(withPast);
      const shared = await causalTokenLogProbsSharingPrefixes(model, sentences, pairs, { batchSize });
      const unshared = await causalTokenLogProbs(noPast, sentences, { batchSize });
      expect(shared.map((row) => row.length)).toEqual(sentences.map((ids) => Math.max(ids.length - 1, 0)));
      expect(maxAbsDifference(shared, unshared), `batch size ${batchSize}`).toBeLessThanOrEqual(TOLERANCE);
      // Tails ran on a non-empty past, and fewer tokens were fed than the sentences hold.
      expect(passes.some((pass) => pass.past > 0)).toBe(true);
      const fed = passes.reduce((sum, pass) => sum + pass.rows * pass.width, 0);
      if (batchSize === 1) expect(fed).toBeLessThan(sentences.reduce((sum, ids) => sum + ids.length, 0));
    }
  });

  it('shares nothing and matches the plain path for a model without a cache, or without groups', async () => {
    const sentences = ['The cat sat.', 'The cat ran.'].map((text) => noPast.tokenizer.encode(text, { addSpecialTokens: false }));
    const { model, passes } = recording(noPast);
    const result = await causalTokenLogProbsSharingPrefixes(model, sentences, [[0, 1]], { batchSize: 8 });
    expect(passes).toEqual([{ rows: 2, width: sentences[0]!.length, past: -1 }]);
    expect(maxAbsDifference(result, await causalTokenLogProbs(noPast, sentences, { batchSize: 8 }))).toBe(0);
  });

  it('checks token ids before any pass', async () => {
    await expect(causalTokenLogProbsSharingPrefixes(withPast, [[1, 2, 3, 300], [1, 2, 3, 4]], [[0, 1]], { batchSize: 2 })).rejects.toThrow(/token id 300 is outside/);
  });

  const outcomes = (results: readonly CrowsResult[]) => results.map((result) => result.outcome);
  for (const convention of ['bias-bench', 'sum-logprob'] as ScoringConvention[]) {
    it(`CrowS-Pairs and StereoSet (${convention}): every score within 1e-5 nats of the no-past export's, every outcome equal`, async () => {
      const options = { convention, batch: { batchSize: 8 } };
      // sum-logprob sums a sentence's token log-probabilities (one byte a token here): each within 1e-5.
      const longest = Math.max(...[...crows.flatMap((pair) => [pair.sentMore, pair.sentLess]), ...stereo.flatMap((c) => Object.values(c.sentences).map((s) => s.sentence))].map((text) => Buffer.byteLength(text)));
      const tolerance = convention === 'bias-bench' ? TOLERANCE : TOLERANCE * (longest + 1);
      const { model, passes } = recording(withPast);
      const crowsShared = await crowsPairsBenchmark.score(model, crows, options);
      const crowsPlain = await crowsPairsBenchmark.score(noPast, crows, options);
      expect(outcomes(crowsShared)).toEqual(outcomes(crowsPlain));
      const sides = (results: readonly CrowsResult[]) => results.flatMap((r) => ('more' in r ? [Math.log(r.more), Math.log(r.less)] : []));
      // bias-bench's score is a geometric-mean probability: compare it in log space (nats per token).
      const toLog = convention === 'bias-bench' ? sides : (results: readonly CrowsResult[]) => results.flatMap((r) => ('more' in r ? [r.more, r.less] : []));
      expect(maxAbsDifference([toLog(crowsShared)], [toLog(crowsPlain)])).toBeLessThanOrEqual(tolerance);

      const stereoShared = await stereoSetBenchmark.score(model, stereo, options);
      expect(passes.filter((pass) => pass.past > 0).length).toBeGreaterThanOrEqual(2);
      const stereoPlain = await stereoSetBenchmark.score(noPast, stereo, options);
      const flat = (results: typeof stereoShared) => results.flatMap((r) => [r.stereotype, r.antiStereotype, r.unrelated]).map(convention === 'bias-bench' ? Math.log : (x: number) => x);
      expect(maxAbsDifference([flat(stereoShared)], [flat(stereoPlain)])).toBeLessThanOrEqual(tolerance);
      expect(stereoSetBenchmark.metrics(stereo, stereoShared, stereo.map((_, k) => k))).toEqual(stereoSetBenchmark.metrics(stereo, stereoPlain, stereo.map((_, k) => k)));
    });
  }

  const shared = sharedDirFor('prefix sharing on the full CrowS-Pairs');
  it.runIf(shared !== undefined)('on the full CrowS-Pairs (1,508 pairs): every outcome equal, every score within 1e-5 nats', async () => {
    const all = parseCrowsPairs(readFileSync(path.join(shared!, 'benchmarks/crows-pairs/crows_pairs_anonymized.csv'), 'utf8'), 'crows').items;
    const options = { convention: 'bias-bench' as const, batch: { batchSize: 32 } };
    const sharedResults = await crowsPairsBenchmark.score(withPast, all, options);
    const plainResults = await crowsPairsBenchmark.score(noPast, all, options);
    expect(outcomes(sharedResults)).toEqual(outcomes(plainResults));
    const logs = (results: readonly CrowsResult[]) => results.flatMap((r) => ('more' in r ? [Math.log(r.more), Math.log(r.less)] : []));
    expect(maxAbsDifference([logs(sharedResults)], [logs(plainResults)])).toBeLessThanOrEqual(TOLERANCE);
  }, 120_000);
});
