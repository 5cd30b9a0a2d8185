import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../src/artifacts/hash.ts';
import { openModel, type ModelSession } from '../../src/runtime/session.ts';
import { embedImages } from '../../src/vision/embed.ts';
import { linearEmbeddingModel } from '../../fixtures/generate/onnx-writer.ts';
import { uniformValues } from '../../fixtures/generate/seeded.ts';
import { IMAGES_PER_SET, REFERENCE_SETS, imageFileName, referencePixels } from '../../fixtures/generate/reference-images.ts';
import { fixtureWeights, type FixtureModel } from '../../fixtures/generate/vision-models.ts';
import { createTempDir, inputErrorOf, maxAbsDifference, readSha256Sums, repoPath, sharedDirFor } from '../helpers.ts';

const IMAGE_SHAPE = [3, 8, 8] as const;
const EMBEDDING_SIZE = 16;
const CLASS_COUNT = 4;
const FIXTURE_MODELS: readonly { path: string; weights: FixtureModel }[] = [
  { path: 'fixtures/vision/backbone.onnx', weights: 'pretrained' },
  { path: 'fixtures/vision/classifier.onnx', weights: 'head' },
  { path: 'fixtures/base/fixtures/vision/classifier.onnx', weights: 'base' },
];

/** Every fixture reference image in set order, with where it came from. */
const REFERENCE_IMAGES = REFERENCE_SETS.flatMap((setDir) =>
  Array.from({ length: IMAGES_PER_SET }, (_, index) => ({ setDir, index })),
);

/**
 * The fixture models' input for an image, by hand: 8×10 HWC pixels → centre crop (columns 1..8),
 * (p/255 − 0.5)/0.25, CHW. Independent of src/vision/preprocess.ts on purpose.
 */
function handInput(pixels: Uint8Array): Float32Array {
  const input = new Float32Array(3 * 8 * 8);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) input[c * 64 + y * 8 + x] = (pixels[(y * 10 + x + 1) * 3 + c]! / 255 - 0.5) / 0.25;
    }
  }
  return input;
}

/** Mᵀx in float64 for a row-major [x.length × columns] matrix. */
function transposedTimes(M: Float64Array, x: ArrayLike<number>, columns: number): Float64Array {
  const result = new Float64Array(columns);
  for (let i = 0; i < x.length; i++) for (let j = 0; j < columns; j++) result[j]! += M[i * columns + j]! * x[i]!;
  return result;
}


const inputs = REFERENCE_IMAGES.map(({ setDir, index }) => handInput(referencePixels(setDir, index)));

describe('fixture reference images', () => {
  it('hold exactly the pixels of the published formula', async () => {
    for (const { setDir, index } of REFERENCE_IMAGES) {
      const path = repoPath(`fixtures/vision/reference-sets/${setDir}/${imageFileName(index)}`);
      const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([10, 8, 3]);
      expect(new Uint8Array(data)).toEqual(referencePixels(setDir, index));
    }
  });
});

describe('embedImages on the fixture models', () => {
  const models = new Map<string, ModelSession>();
  beforeAll(async () => {
    for (const { path } of FIXTURE_MODELS) models.set(path, await openModel(repoPath(path), path));
  });
  afterAll(async () => {
    for (const model of models.values()) await model.release();
  });
  const model = (path = 'fixtures/vision/classifier.onnx'): ModelSession => models.get(path)!;

  it.each(FIXTURE_MODELS)('$path: embedding = Wᵀx and logits = VᵀWᵀx, within 1e-5', async ({ path, weights }) => {
    const { W, V } = fixtureWeights(weights);
    const expectedEmbeddings = inputs.map((x) => transposedTimes(W, x, EMBEDDING_SIZE));
    const embeddings = await embedImages(model(path), inputs, IMAGE_SHAPE, { outputName: 'embedding', batchSize: 16 });
    expect(maxAbsDifference(embeddings, expectedEmbeddings)).toBeLessThan(1e-5);

    const logits = await embedImages(model(path), inputs, IMAGE_SHAPE, { outputName: 'logits', batchSize: 16 });
    const expectedLogits = expectedEmbeddings.map((e) => transposedTimes(V, e, CLASS_COUNT));
    expect(maxAbsDifference(logits, expectedLogits)).toBeLessThan(1e-5);
  });

  it('returns raw embeddings, not L2-normalised ones', async () => {
    const [first] = await embedImages(model(), inputs.slice(0, 1), IMAGE_SHAPE, { outputName: 'embedding', batchSize: 1 });
    expect(Math.abs(Math.hypot(...first!) - 1)).toBeGreaterThan(0.1);
  });

  it('gives the same embeddings at batch sizes 1, 7 and 64 (within 1e-6), in input order', async () => {
    const embed = (batchSize: number) => embedImages(model(), inputs, IMAGE_SHAPE, { outputName: 'embedding', batchSize });
    const [one, seven, sixtyFour] = await Promise.all([embed(1), embed(7), embed(64)]);
    expect(one).toHaveLength(inputs.length);
    expect(maxAbsDifference(seven, one)).toBeLessThanOrEqual(1e-6);
    expect(maxAbsDifference(sixtyFour, one)).toBeLessThanOrEqual(1e-6);
  });

  it('reports progress after each batch, the last one smaller', async () => {
    const progress: [number, number][] = [];
    await embedImages(model(), inputs.slice(0, 17), IMAGE_SHAPE, {
      outputName: 'embedding',
      batchSize: 7,
      onBatch: (done, total) => progress.push([done, total]),
    });
    expect(progress).toEqual([
      [7, 17],
      [14, 17],
      [17, 17],
    ]);
  });

  it('returns nothing for no images', async () => {
    expect(await embedImages(model(), [], IMAGE_SHAPE, { outputName: 'embedding', batchSize: 4 })).toEqual([]);
  });

  it('flattens a pooled [N, D, 1, 1] output and uses the only output by default', async () => {
    const { W } = fixtureWeights('head');
    const dir = await createTempDir();
    const pooledPath = join(dir, 'pooled.onnx');
    await writeFile(
      pooledPath,
      linearEmbeddingModel({ imageShape: IMAGE_SHAPE, W: Float32Array.from(W), embeddingSize: EMBEDDING_SIZE, pooledEmbedding: true }),
    );
    const pooled = await openModel(pooledPath, 'models/pooled.onnx');
    try {
      expect(pooled.outputNames).toEqual(['embedding']);
      const embeddings = await embedImages(pooled, inputs, IMAGE_SHAPE, { batchSize: 5 });
      const expected = await embedImages(model(), inputs, IMAGE_SHAPE, { outputName: 'embedding', batchSize: 5 });
      expect(embeddings[0]).toHaveLength(EMBEDDING_SIZE);
      expect(maxAbsDifference(embeddings, expected)).toBeLessThanOrEqual(1e-6);
    } finally {
      await pooled.release();
    }
  });

  it('asks for vision.embedding_output when the model has two outputs', async () => {
    const error = await inputErrorOf(embedImages(model(), inputs, IMAGE_SHAPE, { batchSize: 8 }));
    expect(error.message).toContain('fixtures/vision/classifier.onnx has 2 outputs ("embedding", "logits")');
    expect(error.hint).toContain('vision.embedding_output');
  });

  it('lists the real output names for an unknown output', async () => {
    const error = await inputErrorOf(embedImages(model(), inputs, IMAGE_SHAPE, { outputName: 'pooled', batchSize: 8 }));
    expect(error.message).toContain('fixtures/vision/classifier.onnx has no output named "pooled"');
    expect(error.message).toContain('"embedding", "logits"');
    expect(error.hint).toContain('vision.embedding_output');
  });

  it('lists the real input names for an unknown input', async () => {
    const request = { inputName: 'input', outputName: 'embedding', batchSize: 8 };
    const error = await inputErrorOf(embedImages(model(), inputs, IMAGE_SHAPE, request));
    expect(error.message).toContain('fixtures/vision/classifier.onnx has no input named "input"; its inputs are "pixels"');
    expect(error.hint).toContain('vision.input');
  });

  it('asks for vision.input when the model has several inputs', async () => {
    const twoInputs: ModelSession = {
      displayPath: 'models/two-inputs.onnx',
      inputNames: ['pixels', 'mask'],
      outputNames: ['embedding'],
      run: () => Promise.reject(new Error('must not run')),
      release: () => Promise.resolve(),
    };
    const error = await inputErrorOf(embedImages(twoInputs, inputs, IMAGE_SHAPE, { batchSize: 8 }));
    expect(error.message).toContain('models/two-inputs.onnx has 2 inputs ("pixels", "mask")');
    expect(error.hint).toContain('vision.input');
  });

  it('names the model when the image shape does not fit it', async () => {
    const small = inputs.map((x) => x.slice(0, 3 * 7 * 7));
    const error = await inputErrorOf(embedImages(model(), small, [3, 7, 7], { outputName: 'embedding', batchSize: 8 }));
    expect(error.message).toContain('fixtures/vision/classifier.onnx');
    expect(error.message).toContain('[8,3,7,7]');
  });

  it('rejects a batch size that is not a positive integer', async () => {
    for (const batchSize of [0, -1, 2.5]) {
      const error = await inputErrorOf(embedImages(model(), inputs, IMAGE_SHAPE, { outputName: 'embedding', batchSize }));
      expect(error.message).toContain(String(batchSize));
    }
  });
});

const shared = sharedDirFor('the SqueezeNet embedding tests');

describe.skipIf(shared === undefined)('embedImages on SqueezeNet 1.1 ($BIAS_GATE_SHARED)', () => {
  const dir = join(shared ?? '', 'models/squeezenet1.1');
  const SQUEEZENET_SHAPE = [3, 224, 224] as const;
  // More than 64 images, so batch 64 also leaves a smaller last batch.
  const IMAGE_COUNT = 66;

  /** Seeded random images with values 0..255 (the models take BGR 0–255, no normalisation). */
  function randomImages(): Float32Array[] {
    const size = SQUEEZENET_SHAPE[0] * SQUEEZENET_SHAPE[1] * SQUEEZENET_SHAPE[2];
    return Array.from({ length: IMAGE_COUNT }, (_, index) =>
      uniformValues(`test:squeezenet-input:${index}`, size).map((value) => Math.floor(128 * (value + 1))),
    ).map((image) => Float32Array.from(image));
  }

  it.each(['pretrained.onnx', 'finetuned.onnx'])('%s matches SHA256SUMS', async (file) => {
    const sums = await readSha256Sums(join(dir, 'SHA256SUMS'));
    expect(sums.get(file)).toMatch(/^[0-9a-f]{64}$/);
    expect(await sha256File(join(dir, file))).toBe(sums.get(file));
  });

  it.each(['pretrained.onnx', 'finetuned.onnx'])('%s: batch sizes 1, 7 and 64 give the same embeddings (within 1e-6)', async (file) => {
    const model = await openModel(join(dir, file), `squeezenet1.1/${file}`);
    try {
      expect(model.inputNames).toEqual(['input']);
      const images = randomImages();
      const embed = (batchSize: number) => embedImages(model, images, SQUEEZENET_SHAPE, { outputName: 'embedding', batchSize });
      const one = await embed(1);
      expect(one).toHaveLength(IMAGE_COUNT);
      expect(one[0]).toHaveLength(512);
      expect(maxAbsDifference(await embed(7), one)).toBeLessThanOrEqual(1e-6);
      expect(maxAbsDifference(await embed(64), one)).toBeLessThanOrEqual(1e-6);
    } finally {
      await model.release();
    }
  }, 300_000);
});
