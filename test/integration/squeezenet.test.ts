import { cp, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/report/types.ts';
import { mergeShards, runBiasGate, scoreShard } from '../../src/pipeline.ts';
import { renderJsonReport } from '../../src/report/json.ts';
import { spearman } from '../../src/stats/spearman.ts';
import { preprocessImage } from '../../src/vision/preprocess.ts';
import { loadReferenceSets } from '../../src/vision/reference-sets.ts';
import { createTempDir, readSha256Sums, repoPath, sharedDirFor } from '../helpers.ts';
import { expectValidReport } from '../report-schema.ts';

const shared = sharedDirFor('the SqueezeNet integration test');
const squeezenet = shared && path.join(shared, 'models/squeezenet1.1');


// The model's own convention (shared/models/squeezenet1.1/README.md): BGR, 0-255, no mean/std.
const CONFIG = `version: 1
vision:
  pretrained: models/backbone.onnx
  model: models/classifier.onnx
  input: input
  embedding_output: embedding
  reference_sets: data/reference-sets
  preprocess: { resize: 256, crop: 224, channel_order: BGR, scale: 0-255, mean: [0, 0, 0], std: [1, 1, 1] }
  item_lists: [object, pairs, indiv, comps]
  batch_size: 32
  bootstrap: { resamples: 200 }
  seed: 3
  gates:
    - metric: bts.object
      min: -1
    - metric: gap.max
      max_abs_increase: 1
`;

describe.skipIf(!squeezenet)('vision gate on a real SqueezeNet 1.1', () => {
  let root: string;
  let report: RunReport;
  let vision: NonNullable<RunReport['vision']>;
  // Repo: the genuine ImageNet model as the backbone, its fine-tuned descendant as the PR's model,
  // and a base branch whose "fine-tuned" model is still the pretrained one.
  beforeAll(async () => {
    root = await createTempDir('bias-gate-squeezenet-');
    await mkdir(path.join(root, '.git'));
    await mkdir(path.join(root, 'models'));
    await mkdir(path.join(root, 'base/models'), { recursive: true });
    await cp(path.join(squeezenet!, 'pretrained.onnx'), path.join(root, 'models/backbone.onnx'));
    await cp(path.join(squeezenet!, 'finetuned.onnx'), path.join(root, 'models/classifier.onnx'));
    await cp(path.join(squeezenet!, 'pretrained.onnx'), path.join(root, 'base/models/classifier.onnx'));
    await cp(repoPath('fixtures/vision/reference-sets'), path.join(root, 'data/reference-sets'), { recursive: true });
    await writeFile(path.join(root, 'thresholds.yaml'), CONFIG);
    report = await runBiasGate({ configFile: path.join(root, 'thresholds.yaml'), baseRoot: path.join(root, 'base') });
    vision = report.vision!;
  });

  it('records the models by their published checksums', async () => {
    const sums = await readSha256Sums(path.join(squeezenet!, 'SHA256SUMS'));
    expect(vision.models.pretrained.sha256).toBe(sums.get('pretrained.onnx'));
    expect(vision.models.base!.sha256).toBe(sums.get('pretrained.onnx'));
    expect(vision.models.head.sha256).toBe(sums.get('finetuned.onnx'));
  });

  it('an unchanged backbone keeps all of its structure: BTS pretrained→base is exactly 1', () => {
    for (const bts of vision.scores.bts) expect(bts.base!.rho).toBe(1);
    for (const gap of vision.scores.gaps) expect(gap.base!.value).toBe(gap.pretrained.value);
  });

  it('fine-tuning reorganises it: BTS pretrained→head equals Spearman of independently run embeddings', async () => {
    // Independent path: batch-1 onnxruntime runs, naive cosine means.
    const sets = await loadReferenceSets(path.join(root, 'data/reference-sets'), root);
    const preprocess = { resize: 256, crop: 224, channelOrder: 'BGR', scale: '0-255', mean: [0, 0, 0], std: [1, 1, 1], interpolation: 'bilinear', layout: 'NCHW' } as const;
    const embedAll = async (file: string) => {
      const session = await ort.InferenceSession.create(file);
      const bySet = new Map<string, Float32Array[]>();
      for (const set of sets) {
        const vectors: Float32Array[] = [];
        for (const image of set.images) {
          const tensor = new ort.Tensor('float32', await preprocessImage(image, preprocess), [1, 3, 224, 224]);
          const e = (await session.run({ input: tensor })).embedding!.data as Float32Array;
          const norm = Math.hypot(...e);
          vectors.push(e.map((v) => v / norm));
        }
        bySet.set(set.name, vectors);
      }
      await session.release();
      return bySet;
    };
    const inter = (v: Map<string, Float32Array[]>, a: string, b: string) => {
      let sum = 0;
      for (const x of v.get(a)!) for (const y of v.get(b)!) sum += x.reduce((acc, value, k) => acc + value * y[k]!, 0);
      return sum / (v.get(a)!.length * v.get(b)!.length);
    };
    const items = (v: Map<string, Float32Array[]>) => [
      ...vision.objects.flatMap((o) => [inter(v, o, 'man'), inter(v, o, 'woman'), inter(v, o, 'random')]),
      inter(v, 'stop sign', 'man'), inter(v, 'stop sign', 'woman'), inter(v, 'random', 'man'), inter(v, 'random', 'woman'),
    ];
    const pretrained = items(await embedAll(path.join(squeezenet!, 'pretrained.onnx')));
    const head = items(await embedAll(path.join(squeezenet!, 'finetuned.onnx')));
    const bts = vision.scores.bts.find((b) => b.list === 'object')!;
    expect(bts.head.rho).toBeCloseTo(spearman(pretrained, head).rho, 10);
    expect(bts.head.rho).toBeLessThan(1);
    const items0 = vision.scores.itemLists.find((l) => l.list === 'object')!.items;
    items0.forEach((item, k) => expect(item.head).toBeCloseTo(head[k]!, 5));
    console.info(`SqueezeNet BTS pretrained→fine-tuned: ${vision.scores.bts.map((b) => `${b.list} ${b.head.rho.toFixed(4)}`).join(', ')}`);
  });

  it('gates: every rule produces a verdict with its values and interval', () => {
    expect(report.verdicts).toHaveLength(2);
    expect(report.verdicts.every((v) => v.status === 'pass')).toBe(true);
    expect(report.verdicts[1]!.interval).not.toBeNull();
  });

  it('three merged shards equal the unsharded run byte for byte, though each shard batches other images', async () => {
    const options = { configFile: path.join(root, 'thresholds.yaml'), baseRoot: path.join(root, 'base') };
    // The unchanged base is the pretrained backbone: one model in two roles, scored once per shard.
    const partials = await Promise.all([1, 2, 3].map((index) => scoreShard(options, { index, count: 3 })));
    expect(partials[0]!.entries.map((e) => e.kind)).toEqual(['vision-embeddings', 'vision-embeddings']);
    const merged = await mergeShards(options, partials);
    expectValidReport(renderJsonReport(report));
    expect(renderJsonReport(merged)).toBe(renderJsonReport(report));
  });
});
