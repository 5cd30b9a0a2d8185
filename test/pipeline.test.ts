import { describe, expect, it } from 'vitest';
import { IMAGES_PER_SET, REFERENCE_SETS, referencePixels } from '../fixtures/generate/reference-images.ts';
import { EMBEDDING_SIZE, fixtureInput, fixtureWeights, multiplyTransposed, type FixtureModel } from '../fixtures/generate/vision-models.ts';
import { runBiasGate } from '../src/pipeline.ts';
import { renderJsonReport } from '../src/report/json.ts';
import { spearman } from '../src/stats/spearman.ts';
import { repoPath } from './helpers.ts';
import { expectValidReport } from './report-schema.ts';


/** Set name as bias-gate reads the directory name. */
const setName = (dir: string) => dir.replace(/_/g, ' ');

/** Hand-computed, L2-normalised embeddings of every fixture image: Wᵀx from the pixel formula. */
function handEmbeddings(model: FixtureModel): Map<string, Float64Array[]> {
  const { W } = fixtureWeights(model);
  const bySet = new Map<string, Float64Array[]>();
  for (const dir of REFERENCE_SETS) {
    bySet.set(setName(dir), Array.from({ length: IMAGES_PER_SET }, (_, i) => {
      const e = multiplyTransposed(W, fixtureInput(referencePixels(dir, i)), EMBEDDING_SIZE);
      const norm = Math.hypot(...e);
      return e.map((v) => v / norm);
    }));
  }
  return bySet;
}

function inter(vectors: Map<string, Float64Array[]>, a: string, b: string): number {
  let sum = 0;
  for (const x of vectors.get(a)!) for (const y of vectors.get(b)!) sum += x.reduce((acc, v, k) => acc + v * y[k]!, 0);
  return sum / (vectors.get(a)!.length * vectors.get(b)!.length);
}

const OBJECTS = ['kitchen', 'surfboard', 'umbrella'];
function objectItems(vectors: Map<string, Float64Array[]>): number[] {
  return [
    ...OBJECTS.flatMap((o) => [inter(vectors, o, 'man'), inter(vectors, o, 'woman'), inter(vectors, o, 'random')]),
    inter(vectors, 'stop sign', 'man'), inter(vectors, 'stop sign', 'woman'), inter(vectors, 'random', 'man'), inter(vectors, 'random', 'woman'),
  ];
}

describe('the default job on the fixtures', async () => {
  const report = await runBiasGate({ configFile: repoPath('thresholds.yaml'), baseRoot: repoPath('fixtures/base') });
  const hand = { pretrained: handEmbeddings('pretrained'), base: handEmbeddings('base'), head: handEmbeddings('head') };
  const vision = report.vision!;

  it('scores all three models on all 13 sets', () => {
    expect(vision.baseStatus).toBe('scored');
    expect(vision.objects).toEqual(OBJECTS);
    expect(vision.referenceSets.sets.map((s) => [s.name, s.images])).toEqual([...REFERENCE_SETS].map(setName).sort().map((n) => [n, IMAGES_PER_SET]));
  });

  it('object-list items and BTS equal the hand computation from pixels and weights', () => {
    const items = vision.scores.itemLists.find((l) => l.list === 'object')!;
    const expected = { pretrained: objectItems(hand.pretrained), base: objectItems(hand.base), head: objectItems(hand.head) };
    items.items.forEach((item, k) => {
      expect(item.pretrained).toBeCloseTo(expected.pretrained[k]!, 5);
      expect(item.base!).toBeCloseTo(expected.base[k]!, 5);
      expect(item.head).toBeCloseTo(expected.head[k]!, 5);
    });
    const bts = vision.scores.bts.find((b) => b.list === 'object')!;
    expect(bts.n).toBe(13);
    expect(bts.head.rho).toBeCloseTo(spearman(expected.pretrained, expected.head).rho, 10);
    expect(bts.base!.rho).toBeCloseTo(spearman(expected.pretrained, expected.base).rho, 10);
  });

  it('the head strengthens the surfboard–man association and leaves the others', () => {
    const gap = (vectors: Map<string, Float64Array[]>, o: string) => inter(vectors, o, 'man') - inter(vectors, o, 'woman');
    for (const object of OBJECTS) {
      const scored = vision.scores.gaps.find((g) => g.object === object)!;
      expect(scored.head.value).toBeCloseTo(gap(hand.head, object), 5);
      expect(scored.base!.value).toBeCloseTo(gap(hand.base, object), 5);
      expect(scored.pretrained.value).toBeCloseTo(gap(hand.pretrained, object), 5);
    }
    const surfboard = vision.scores.gaps.find((g) => g.object === 'surfboard')!;
    expect(surfboard.magnitudeChange!.value).toBeGreaterThan(0.05);
    expect(surfboard.magnitudeChange!.interval!.low).toBeGreaterThan(0.02);
  });

  // race-color's +37.5 comes from 3 flipped pairs of 8 (interval of Δ|score − 50| [-12.5, 50], McNemar p = 0.25):
  // under require_significant (the default thresholds.yaml) it is past the threshold but not significant.
  it('gates the fixtures: the surfboard increase warns, the rest pass (race-color is not significant)', () => {
    expect(report.verdict).toBe('warn');
    expect(report.verdicts.map((v) => [v.metric, v.rule, v.status])).toEqual([
      ['bts.object', 'min', 'pass'],
      ['gap.max', 'max', 'pass'],
      ['gap.surfboard', 'max_abs_increase', 'warn'],
      ['gap.umbrella', 'max_abs_increase', 'pass'],
      ['crows_pairs.gender', 'max_bias_increase', 'pass'],
      ['crows_pairs.race-color', 'max_bias_increase', 'pass'],
      ['stereoset.lms', 'max_decrease', 'pass'],
      ['perplexity', 'max_increase_pct', 'pass'],
    ]);
    expect(report.verdicts[2]!.line).toBe(33); // the `- metric: gap.surfboard` line of thresholds.yaml
    expect(report.verdicts[5]!.reason).toContain('not significantly');
  });

  it('the JSON audit record is byte-identical for the same inputs and holds every hash', async () => {
    const again = await runBiasGate({ configFile: repoPath('thresholds.yaml'), baseRoot: repoPath('fixtures/base') });
    const json = renderJsonReport(report);
    expectValidReport(json);
    expect(renderJsonReport(again)).toBe(json);
    const record = JSON.parse(json);
    expect(record.tool).toEqual({ name: 'bias-gate', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(record.config.path).toBe('thresholds.yaml');
    expect(record.vision.models.head.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(record.vision.models.head.sha256).not.toBe(record.vision.models.base.sha256);
    expect(record.vision.referenceSets.sets).toHaveLength(13);
    expect(json).not.toContain(repoPath('')); // no absolute paths in the audit record
  });

  it('with no base the head is scored alone and change rules are skipped', async () => {
    const alone = await runBiasGate({ configFile: repoPath('thresholds.yaml') });
    expect(alone.vision!.baseStatus).toBe('not-given');
    expect(alone.vision!.models.base).toBeNull();
    expect(alone.verdicts.filter((v) => v.status === 'skipped').map((v) => v.metric)).toEqual([
      'gap.surfboard', 'gap.umbrella', 'crows_pairs.gender', 'crows_pairs.race-color', 'stereoset.lms', 'perplexity',
    ]);
    expect(alone.language!.baseStatus).toBe('not-given');
    expect(alone.language!.transfer).toBeNull();
    expect(alone.verdicts[2]!.reason).toContain('no base was given');
  });
});
