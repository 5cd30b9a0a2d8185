import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { externalDataLocations } from '../../src/runtime/external-data.ts';
import { openModel } from '../../src/runtime/session.ts';
import { createTempDir, inputErrorOf, repoPath } from '../helpers.ts';

const { onnx } = onnxProto;
const CLASSIFIER = 'fixtures/vision/classifier.onnx';

/**
 * The classifier with its first initializer moved to an external-data file at `location`;
 * returns the model bytes and the initializer's bytes (what the external file must hold).
 */
async function withExternalInitializer(location: string): Promise<{ model: Uint8Array; weights: Uint8Array }> {
  const model = onnx.ModelProto.decode(await readFile(repoPath(CLASSIFIER)));
  const tensor = model.graph!.initializer![0]!;
  const weights = tensor.rawData!;
  tensor.rawData = new Uint8Array(0);
  tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
  tensor.externalData = [
    { key: 'location', value: location },
    { key: 'offset', value: '0' },
    { key: 'length', value: String(weights.length) },
  ];
  return { model: onnx.ModelProto.encode(model).finish(), weights };
}

describe('externalDataLocations', () => {
  it('finds the locations of initializers and of tensors in node attributes, without decoding the weights', async () => {
    const { model } = await withExternalInitializer('weights.bin');
    const decoded = onnx.ModelProto.decode(model);
    decoded.graph!.node!.push({
      opType: 'Constant',
      output: ['unused'],
      attribute: [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: { name: 'c', dataType: 1, dims: [1], dataLocation: 1, externalData: [{ key: 'location', value: 'sub/constant.bin' }] } }],
    });
    expect(externalDataLocations(onnx.ModelProto.encode(decoded).finish()).sort()).toEqual(['sub/constant.bin', 'weights.bin']);
  });

  it('finds none in a model with its weights inside, and none in bytes that are not a model', async () => {
    expect(externalDataLocations(await readFile(repoPath(CLASSIFIER)))).toEqual([]);
    expect(externalDataLocations(Buffer.from('not a model at all, just text'))).toEqual([]);
  });
});

describe('openModel: external-data files stay inside the checkout', () => {
  let root: string;
  beforeAll(async () => {
    root = await createTempDir();
    await mkdir(join(root, 'models'), { recursive: true });
  });

  it('loads a model whose external data is a regular file beside it', async () => {
    const { model, weights } = await withExternalInitializer('classifier.weights');
    await writeFile(join(root, 'models/ok.onnx'), model);
    await writeFile(join(root, 'models/classifier.weights'), weights);
    const session = await openModel(join(root, 'models/ok.onnx'), 'models/ok.onnx', { root });
    expect(session.inputNames).toContain('pixels');
    await session.release();
  });

  it('refuses external data at an absolute path out of the checkout (/dev/zero) before onnxruntime opens it', async () => {
    const { model } = await withExternalInitializer('/dev/zero');
    await writeFile(join(root, 'models/zero.onnx'), model);
    const error = await inputErrorOf(openModel(join(root, 'models/zero.onnx'), 'models/zero.onnx', { root }));
    expect(error.message).toBe('models/zero.onnx: external data file "/dev/zero" is a symbolic link that leads outside the checkout; expected a regular file inside it');
  }, 20_000);

  it('refuses external data that is a link out of the checkout, or .. out of it', async () => {
    const { model } = await withExternalInitializer('linked.weights');
    await writeFile(join(root, 'models/linked.onnx'), model);
    await symlink('/etc/passwd', join(root, 'models/linked.weights'));
    const error = await inputErrorOf(openModel(join(root, 'models/linked.onnx'), 'models/linked.onnx', { root }));
    expect(error.message).toContain('models/linked.onnx: external data file "linked.weights" is a symbolic link that leads outside the checkout');
    expect(error.message).not.toContain('/etc/passwd');

    const dotted = await withExternalInitializer('../../../../../../etc/passwd');
    await writeFile(join(root, 'models/dotted.onnx'), dotted.model);
    expect((await inputErrorOf(openModel(join(root, 'models/dotted.onnx'), 'models/dotted.onnx', { root }))).message).toContain('leads outside the checkout');
  });
});
