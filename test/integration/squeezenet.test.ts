import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/report/types.ts';
import { mergeShards, runBiasGate, scoreShard } from '../../src/pipeline.ts';
import { renderJsonReport } from '../../src/report/json.ts';
import { directoryResultCache } from '../../src/artifacts/result-cache.ts';
import { spearman } from '../../src/stats/spearman.ts';
import { preprocessImage } from '../../src/vision/preprocess.ts';
import { loadReferenceSets } from '../../src/vision/reference-sets.ts';
import { builtinSetName } from '../../src/vision/builtin-sets.ts';
import { sharedSubset, startReferenceSetMirror } from '../helpers-mirror.ts';
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

// The BTS authors' Open Images analysis set: 20 real photos per set in the shared copy (320 in 16 sets).
const openImagesCopy = shared && path.join(shared, 'reference-sets/openimages-analysis');
const OPEN_IMAGES_OBJECTS = ['sports', 'mammal', 'fashion', 'car'];
const openImagesConfig = (referenceSets: string, extra = '') => `version: 1
vision:
  pretrained: models/backbone.onnx
  model: models/classifier.onnx
  input: input
  embedding_output: embedding
  reference_sets: ${referenceSets}
${extra}  preprocess: { resize: 256, crop: 224, channel_order: BGR, scale: 0-255, mean: [0, 0, 0], std: [1, 1, 1] }
  item_lists: [object, pairs, indiv, comps]
  batch_size: 32
  bootstrap: { resamples: 200 }
  seed: 3
  gates:
    - metric: bts.object
      min: -1
`;

/** The report as JSON without what names where the images came from (config text, policy hash, reference-set source). */
function withoutSourceFields(report: RunReport): unknown {
  const document = JSON.parse(renderJsonReport(report));
  delete document.config;
  delete document.policy;
  delete document.vision.referenceSets.source;
  delete document.vision.referenceSets.builtin;
  return document;
}

describe.skipIf(!squeezenet || !openImagesCopy)('vision gate on a real SqueezeNet 1.1 and the BTS authors\' Open Images photos', () => {
  let root: string;
  let mirror: Awaited<ReturnType<typeof startReferenceSetMirror>>;
  let builtin: RunReport;
  let local: RunReport;
  let vision: NonNullable<RunReport['vision']>;
  let resultsOfBuiltin: string;
  const options = () => ({ configFile: path.join(root, 'thresholds.yaml'), baseRoot: path.join(root, 'base') });

  beforeAll(async () => {
    root = await createTempDir('bias-gate-openimages-');
    await mkdir(path.join(root, '.git'));
    await mkdir(path.join(root, 'models'));
    await mkdir(path.join(root, 'base/models'), { recursive: true });
    await cp(path.join(squeezenet!, 'pretrained.onnx'), path.join(root, 'models/backbone.onnx'));
    await cp(path.join(squeezenet!, 'finetuned.onnx'), path.join(root, 'models/classifier.onnx'));
    await cp(path.join(squeezenet!, 'pretrained.onnx'), path.join(root, 'base/models/classifier.onnx'));
    // The same 320 files as a local directory, named as bias-gate names a built-in image.
    for (const setDir of await readdir(openImagesCopy!, { withFileTypes: true })) {
      if (!setDir.isDirectory()) continue;
      const name = builtinSetName(setDir.name);
      await cp(path.join(openImagesCopy!, setDir.name), path.join(root, 'openimages-analysis', name === 'stop sign' ? setDir.name : name), { recursive: true });
    }
    mirror = await startReferenceSetMirror(shared!);
    const subset = await sharedSubset(shared!);
    const objects = `  objects: [${OPEN_IMAGES_OBJECTS.join(', ')}]\n`;
    await writeFile(path.join(root, 'thresholds.yaml'), `${openImagesConfig('{ builtin: openimages-analysis }', objects)}sources: { mirror: "${mirror.url}" }\n`);
    // Each run with its own empty result cache: the same misses and stores, recorded alike.
    resultsOfBuiltin = await createTempDir();
    builtin = await runBiasGate({ ...options(), cacheDir: await createTempDir(), resultCache: directoryResultCache(resultsOfBuiltin), restrictBuiltinManifest: (file) => subset.has(`${file.setDir}/${file.id}`), env: {} });
    await writeFile(path.join(root, 'thresholds.yaml'), openImagesConfig('openimages-analysis', objects));
    local = await runBiasGate({ ...options(), resultCache: directoryResultCache(await createTempDir()) });
    vision = builtin.vision!;
  }, 300_000);
  afterAll(() => mirror?.close());

  it('downloads all 320 photos through the loopback mirror and records where each came from', () => {
    const record = vision.referenceSets.builtin!;
    expect(vision.referenceSets.source).toBe('builtin:openimages-analysis');
    expect(record.files).toHaveLength(320);
    expect(record.files.every((file) => file.from!.startsWith(`${mirror.url}/uvavision/bias-pretrained-vision-models/e3c9e715dc630a5caf5581a6b8d57aaf3f8d4a3f/analysis_sets/oi_png/`) && file.from!.endsWith('%0A.png'))).toBe(true);
    expect(record.leftOut).toHaveLength(3);
    expect(vision.referenceSets.sets.map((set) => [set.name, set.images])).toEqual(
      ['car', 'car+man', 'car+woman', 'fashion', 'fashion+man', 'fashion+woman', 'mammal', 'mammal+man', 'mammal+woman', 'man', 'random', 'sports', 'sports+man', 'sports+woman', 'stop sign', 'woman'].map((name) => [name, 20]),
    );
  });

  it('scores exactly as the same files in a local directory: the JSON reports are equal byte for byte apart from the source fields', () => {
    expect(JSON.stringify(withoutSourceFields(builtin))).toBe(JSON.stringify(withoutSourceFields(local)));
    expect(local.vision!.referenceSets.source).toBe('openimages-analysis');
    expect(local.vision!.referenceSets.sha256).toBe(vision.referenceSets.sha256);
  });

  it('an unchanged base keeps every item list\'s structure: BTS pretrained→base is exactly 1', () => {
    expect(vision.scores.bts.map((bts) => [bts.list, bts.n])).toEqual([['object', 16], ['pairs', 9], ['indiv', 8], ['comps', 13]]);
    for (const bts of vision.scores.bts) expect(bts.base!.rho).toBe(1);
    for (const gap of vision.scores.gaps) expect(gap.base!.value).toBe(gap.pretrained.value);
  });

  it('BTS pretrained→fine-tuned per item list, the object list checked against independently run embeddings', async () => {
    const preprocess = { resize: 256, crop: 224, channelOrder: 'BGR', scale: '0-255', mean: [0, 0, 0], std: [1, 1, 1], interpolation: 'bilinear', layout: 'NCHW' } as const;
    const sets = ['man', 'woman', 'random', 'stop_sign', ...OPEN_IMAGES_OBJECTS];
    // Independent path: the shared files read directly, batch-1 onnxruntime runs, naive cosine means.
    const embedAll = async (file: string) => {
      const session = await ort.InferenceSession.create(file);
      const bySet = new Map<string, Float32Array[]>();
      for (const set of sets) {
        const vectors: Float32Array[] = [];
        for (const name of (await readdir(path.join(openImagesCopy!, set))).sort()) {
          const tensor = new ort.Tensor('float32', await preprocessImage({ path: path.join(openImagesCopy!, set, name), relativePath: name }, preprocess), [1, 3, 224, 224]);
          const e = (await session.run({ input: tensor })).embedding!.data as Float32Array;
          const norm = Math.hypot(...e);
          vectors.push(e.map((v) => v / norm));
        }
        bySet.set(set.replace('_', ' '), vectors);
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
      ...OPEN_IMAGES_OBJECTS.flatMap((o) => [inter(v, o, 'man'), inter(v, o, 'woman'), inter(v, o, 'random')]),
      inter(v, 'stop sign', 'man'), inter(v, 'stop sign', 'woman'), inter(v, 'random', 'man'), inter(v, 'random', 'woman'),
    ];
    const pretrained = items(await embedAll(path.join(squeezenet!, 'pretrained.onnx')));
    const head = items(await embedAll(path.join(squeezenet!, 'finetuned.onnx')));
    const objectList = vision.scores.itemLists.find((list) => list.list === 'object')!;
    objectList.items.forEach((item, k) => {
      expect(item.pretrained).toBeCloseTo(pretrained[k]!, 5);
      expect(item.head).toBeCloseTo(head[k]!, 5);
    });
    const bts = new Map(vision.scores.bts.map((b) => [b.list, b.head.rho]));
    expect(bts.get('object')).toBeCloseTo(spearman(pretrained, head).rho, 10);
    // Without ties ρ = 1 − 6Σd²/(n(n²−1)), so the measured values are these fractions exactly (the
    // rank displacements Σd² of this model pair on these 320 photos): fine-tuning moved a few items.
    const spearmanFromDisplacement = (sumSquares: number, n: number) => 1 - (6 * sumSquares) / (n * (n * n - 1));
    expect(bts.get('object')).toBeCloseTo(spearmanFromDisplacement(88, 16), 12); // 0.8706
    expect(bts.get('pairs')).toBeCloseTo(spearmanFromDisplacement(8, 9), 12); // 0.9333
    expect(bts.get('indiv')).toBeCloseTo(spearmanFromDisplacement(2, 8), 12); // 0.9762
    expect(bts.get('comps')).toBeCloseTo(spearmanFromDisplacement(14, 13), 12); // 0.9615
    console.info(`SqueezeNet on 320 Open Images photos, BTS pretrained→fine-tuned: ${[...bts].map(([list, rho]) => `${list} ${rho.toFixed(4)}`).join(', ')}`);
  });

  it('without vision.objects the built-in set uses its authors\' objects and item lists, in their order, with the same BTS', async () => {
    await writeFile(path.join(root, 'thresholds.yaml'), `${openImagesConfig('{ builtin: openimages-analysis }')}sources: { mirror: "${mirror.url}" }\n`);
    const subset = await sharedSubset(shared!);
    // The images and models are the same, so the embeddings come from the first run's result cache.
    const run = await runBiasGate({ ...options(), cacheDir: await createTempDir(), resultCache: directoryResultCache(resultsOfBuiltin), restrictBuiltinManifest: (file) => subset.has(`${file.setDir}/${file.id}`), env: {} });
    expect(run.cache.filter((entry) => entry.kind === 'vision-embeddings').map((entry) => entry.event)).toEqual(['hit', 'hit']);
    const authors = run.vision!;
    expect(authors.objects).toEqual(OPEN_IMAGES_OBJECTS);
    const comps = authors.scores.itemLists.find((list) => list.list === 'comps')!.items.map((item) => item.label);
    expect(comps.slice(0, 3)).toEqual(['inter(sports+man, sports)', 'inter(sports+woman, sports)', 'inter(sports, random)']);
    // The same items in another order: Spearman's ρ cannot change.
    for (const bts of authors.scores.bts) expect(bts.head.rho).toBeCloseTo(vision.scores.bts.find((b) => b.list === bts.list)!.head.rho, 12);
  });
});
