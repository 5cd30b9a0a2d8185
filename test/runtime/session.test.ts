import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import onnxProto from 'onnx-proto';
import { graphExtension } from '../../src/runtime/graph-extension.ts';
import { openModel, type ModelSession } from '../../src/runtime/session.ts';
import { createTempDir, inputErrorOf, repoPath } from '../helpers.ts';

const CLASSIFIER = 'fixtures/vision/classifier.onnx';

/** A real pointer as `git lfs` writes it when the object was not fetched. */
const LFS_POINTER = [
  'version https://git-lfs.github.com/spec/v1',
  'oid sha256:4e7ff45a2ec4abba9e9e4557fed0bd8c1b3780f1d7c2a5ad58d00217173d004a',
  'size 4958264',
  '',
].join('\n');


describe('openModel', () => {
  let tempDir: string;
  beforeAll(async () => {
    tempDir = await createTempDir();
  });

  it('opens an ONNX model and lists its inputs and outputs', async () => {
    const model = await openModel(repoPath(CLASSIFIER), CLASSIFIER);
    try {
      expect(model.displayPath).toBe(CLASSIFIER);
      expect(model.inputNames).toEqual(['pixels']);
      expect(model.outputNames).toEqual(['embedding', 'logits']);
    } finally {
      await model.release();
    }
  });

  it('runs the model and returns only the requested outputs', async () => {
    const model = await openModel(repoPath(CLASSIFIER), CLASSIFIER, { intraOpThreads: 1 });
    try {
      const pixels = new ort.Tensor('float32', new Float32Array(2 * 3 * 8 * 8).fill(0.5), [2, 3, 8, 8]);
      const results = await model.run({ pixels }, ['logits']);
      expect(Object.keys(results)).toEqual(['logits']);
      expect(results.logits?.dims).toEqual([2, 4]);
    } finally {
      await model.release();
    }
  });

  it('releases once; a second release is a no-op', async () => {
    const model = await openModel(repoPath(CLASSIFIER), CLASSIFIER);
    await model.release();
    await expect(model.release()).resolves.toBeUndefined();
  });

  it('reports a missing model file by its display path', async () => {
    const error = await inputErrorOf(openModel(join(tempDir, 'nope.onnx'), 'models/nope.onnx'));
    expect(error.message).toContain('models/nope.onnx');
    expect(error.message).toContain('does not exist');
  });

  it('reports a Git LFS pointer instead of handing it to onnxruntime', async () => {
    const path = join(tempDir, 'pointer.onnx');
    await writeFile(path, LFS_POINTER);
    const error = await inputErrorOf(openModel(path, 'models/vision/classifier.onnx'));
    expect(error.message).toContain('models/vision/classifier.onnx is a Git LFS pointer, not the model');
    expect(error.message).toContain('`lfs: true`');
    expect(error.message).toContain('git lfs pull');
  });

  it('reports random bytes as not loadable, with the onnxruntime message and a hint', async () => {
    const path = join(tempDir, 'random.onnx');
    await writeFile(path, Buffer.from(Array.from({ length: 4096 }, (_, k) => (k * 7919 + 13) % 251)));
    const error = await inputErrorOf(openModel(path, 'models/random.onnx'));
    expect(error.message).toMatch(/^models\/random\.onnx could not be loaded as an ONNX model: \S/);
    expect(error.hint).toContain('ONNX');
  });

  it('reports a truncated model as not loadable', async () => {
    const bytes = await readFile(repoPath(CLASSIFIER));
    const path = join(tempDir, 'truncated.onnx');
    await writeFile(path, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const error = await inputErrorOf(openModel(path, 'models/truncated.onnx'));
    expect(error.message).toContain('models/truncated.onnx could not be loaded as an ONNX model');
  });

  it('reports an empty file and a directory by name', async () => {
    const empty = join(tempDir, 'empty.onnx');
    await writeFile(empty, '');
    expect((await inputErrorOf(openModel(empty, 'models/empty.onnx'))).message).toContain('models/empty.onnx is empty');
    const dir = join(tempDir, 'model-dir.onnx');
    await mkdir(dir);
    expect((await inputErrorOf(openModel(dir, 'models/model-dir.onnx'))).message).toContain('models/model-dir.onnx is a directory');
  });

  it('turns an onnxruntime run failure into an InputError naming the model and the feed', async () => {
    let model: ModelSession | undefined;
    try {
      model = await openModel(repoPath(CLASSIFIER), CLASSIFIER);
      const wrongSize = new ort.Tensor('float32', new Float32Array(3 * 7 * 7), [1, 3, 7, 7]);
      const error = await inputErrorOf(model.run({ pixels: wrongSize }, ['embedding']));
      expect(error.message).toContain(CLASSIFIER);
      expect(error.message).toContain('pixels float32 [1,3,7,7]');
    } finally {
      await model?.release();
    }
  });

  it('rejects a thread count that is not a positive integer', async () => {
    await expect(openModel(repoPath(CLASSIFIER), CLASSIFIER, { intraOpThreads: 0 })).rejects.toThrow(RangeError);
  });
});

describe('execution providers', () => {
  it('[cuda, cpu] falls back to cpu with a log line where CUDA is not installed, and gives the same embeddings', async () => {
    const messages: string[] = [];
    const model = await openModel(repoPath('fixtures/vision/backbone.onnx'), 'fixtures/vision/backbone.onnx', { providers: ['cuda', 'cpu'], log: (m) => messages.push(m) });
    const plain = await openModel(repoPath('fixtures/vision/backbone.onnx'), 'fixtures/vision/backbone.onnx');
    const input = { pixels: new ort.Tensor('float32', Float32Array.from({ length: 192 }, (_, i) => (i % 7) / 7), [1, 3, 8, 8]) };
    const [a, b] = [await model.run(input, ['embedding']), await plain.run(input, ['embedding'])];
    expect([...(a.embedding!.data as Float32Array)]).toEqual([...(b.embedding!.data as Float32Array)]);
    // This machine has no CUDA libraries (onnxruntime-node-install=skip), so the fallback is exercised.
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/execution provider cuda is not available here .*; falling back to cpu/);
    await model.release();
    await plain.release();
  });
});

describe('graph extensions', () => {
  const { onnx } = onnxProto;
  /** Adds `doubled` = embedding + embedding to a model whose output is `embedding`. */
  const doubledEmbedding = graphExtension({
    node: [{ name: 'double', opType: 'Add', input: ['embedding', 'embedding'], output: ['doubled'] }],
    output: [{ name: 'doubled', type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }],
  });
  const pixels = { pixels: new ort.Tensor('float32', Float32Array.from({ length: 192 }, (_, i) => (i % 5) / 5), [1, 3, 8, 8]) };

  it('adds nodes and outputs to the model at load', async () => {
    const model = await openModel(repoPath(CLASSIFIER), CLASSIFIER, { extension: { bytes: doubledEmbedding, purpose: 'a doubling' } });
    try {
      expect(model.outputNames).toEqual(['embedding', 'logits', 'doubled']);
      const { embedding, doubled } = await model.run(pixels, ['embedding', 'doubled']);
      expect([...(doubled!.data as Float32Array)]).toEqual([...(embedding!.data as Float32Array)].map((x) => x + x));
    } finally {
      await model.release();
    }
  });

  it('opens the model as it is, with a log line, when the extension does not fit it', async () => {
    const messages: string[] = [];
    const wrongInput = graphExtension({
      node: [{ name: 'double', opType: 'Add', input: ['no_such_value', 'no_such_value'], output: ['doubled'] }],
      output: [{ name: 'doubled', type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }],
    });
    const model = await openModel(repoPath(CLASSIFIER), CLASSIFIER, { extension: { bytes: wrongInput, purpose: 'a doubling' }, log: (m) => messages.push(m) });
    await model.release();
    expect(model.outputNames).toEqual(['embedding', 'logits']);
    expect(messages).toEqual([expect.stringMatching(/^fixtures\/vision\/classifier\.onnx: a doubling could not be added to the graph \(.*no_such_value.*\); running the model without them$/)]);
  });

  it('reports a model that does not load by itself with its own error, not the extension', async () => {
    const path = join(await createTempDir(), 'random.onnx');
    await writeFile(path, Buffer.from(Array.from({ length: 4096 }, (_, k) => (k * 7919 + 13) % 251)));
    const messages: string[] = [];
    const error = await inputErrorOf(openModel(path, 'models/random.onnx', { extension: { bytes: doubledEmbedding, purpose: 'a doubling' }, log: (m) => messages.push(m) }));
    expect(error.message).toMatch(/^models\/random\.onnx could not be loaded as an ONNX model: \S/);
    expect(messages).toEqual([]);
  });

  it('refuses an extension that would overwrite the graph name', () => {
    expect(() => graphExtension({ name: 'other' })).toThrow(/must not set scalar fields/);
  });
});
