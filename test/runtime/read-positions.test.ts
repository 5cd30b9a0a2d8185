import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  READ_LOG_PROBS_OUTPUT,
  READ_LOGITS_OUTPUT,
  READ_POSITIONS_INPUT,
  READ_TARGETS_INPUT,
  UnsupportedGraph,
  readPositionsModel,
} from '../../src/runtime/read-positions.ts';
import { openModel, REWRITE_ROOM } from '../../src/runtime/session.ts';
import { createTempDir, repoPath } from '../helpers.ts';

const { onnx } = onnxProto;
const MASKED = 'fixtures/language/masked/model/model.onnx';
const V = 260;

type Model = onnxProto.onnx.ModelProto;

/** The masked fixture, decoded, changed by `edit` and encoded again. */
function edited(original: Uint8Array, edit: (model: Model) => void): Uint8Array {
  const model = onnx.ModelProto.decode(original);
  edit(model);
  return onnx.ModelProto.encode(model).finish();
}

/** A graph's names and nodes, as plain arrays. */
interface Graph {
  node: { name: string; opType: string; input: string[]; output: string[] }[];
  input: string[];
  output: string[];
  initializer: string[];
}

function graphOf(bytes: Uint8Array): Graph {
  const graph = onnx.ModelProto.decode(bytes).graph!;
  return {
    node: (graph.node ?? []).map((node) => ({ name: node.name ?? '', opType: node.opType ?? '', input: node.input ?? [], output: node.output ?? [] })),
    input: (graph.input ?? []).map((info) => info.name ?? ''),
    output: (graph.output ?? []).map((info) => info.name ?? ''),
    initializer: (graph.initializer ?? []).map((tensor) => tensor.name ?? ''),
  };
}

/**
 * The graph of a rewritten model of `size` original bytes, as onnxruntime reads it: the original
 * graph merged with the appended one. (protobufjs replaces a repeated embedded message instead of
 * merging it, so the two parts are decoded apart.)
 */
function mergedGraph(rewritten: Uint8Array, size: number): Graph {
  const [graph, extension] = [graphOf(rewritten.subarray(0, size)), graphOf(rewritten.subarray(size))];
  return {
    node: [...graph.node, ...extension.node],
    input: [...graph.input, ...extension.input],
    output: [...graph.output, ...extension.output],
    initializer: [...graph.initializer, ...extension.initializer],
  };
}

function rewriteError(bytes: Uint8Array): string {
  const copy = Uint8Array.from(bytes);
  try {
    readPositionsModel(copy, 'logits');
  } catch (error) {
    expect(error).toBeInstanceOf(UnsupportedGraph);
    // Refused before anything was written.
    expect(Buffer.compare(copy, bytes)).toBe(0);
    return (error as Error).message;
  }
  throw new Error('the rewrite was applied');
}

function int64(values: number[], dims: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values, BigInt), dims);
}

describe('readPositionsModel', () => {
  let fixture: Uint8Array;
  beforeAll(async () => {
    fixture = new Uint8Array(await readFile(repoPath(MASKED)));
  });

  it('moves the MatMul + Add head behind Flatten + Gather, in place, without copying a weight', () => {
    const buffer = new Uint8Array(fixture.length + 4096);
    buffer.set(fixture);
    const rewrite = readPositionsModel(buffer, 'logits', fixture.length);
    expect(rewrite).toMatchObject({ hidden: 'hidden', projection: ['MatMul', 'Add'], hiddenSize: 16, vocabularySize: V });
    // A view of the buffer: the model's bytes kept their offsets and the new nodes follow them.
    expect(rewrite.bytes.buffer).toBe(buffer.buffer);
    expect(rewrite.bytes.length).toBeGreaterThan(fixture.length);
    expect(rewrite.bytes.length).toBeLessThan(fixture.length + 1024);

    const before = graphOf(fixture);
    const after = mergedGraph(rewrite.bytes, fixture.length);
    expect(after.initializer).toEqual(before.initializer);
    expect(after.node.map((node) => node.opType)).toEqual([
      ...before.node.slice(0, -2).map((node) => node.opType),
      'Flatten',
      'Gather',
      'MatMul',
      'Add',
      'LogSoftmax',
      'GatherElements',
    ]);
    const [flatten, gather, matmul, add] = after.node.slice(-6);
    expect(flatten!.input).toEqual(['hidden']);
    expect(gather!.input).toEqual([flatten!.output[0], READ_POSITIONS_INPUT]);
    expect(matmul!.input).toEqual([gather!.output[0], 'W']);
    expect(add!.input).toEqual([matmul!.output[0], 'bias']);
    expect(add!.output).toEqual([READ_LOGITS_OUTPUT]);
    expect(after.input).toEqual(['input_ids', 'attention_mask', 'token_type_ids', READ_POSITIONS_INPUT, READ_TARGETS_INPUT]);
    expect(after.output).toEqual([READ_LOGITS_OUTPUT, READ_LOG_PROBS_OUTPUT]);
  });

  it('copies the model when the buffer has no room after it, and leaves no node named as removed', () => {
    const buffer = Uint8Array.from(fixture);
    const rewrite = readPositionsModel(buffer, 'logits');
    expect(rewrite.bytes.buffer).not.toBe(buffer.buffer);
    const graph = mergedGraph(rewrite.bytes, fixture.length);
    expect(graph.node.filter((node) => node.output.includes('logits') || node.output.includes('projected'))).toEqual([]);
    expect(graph.node.filter((node) => node.opType === 'MatMul').map((node) => node.output[0])).toEqual(['bias_gate/read/projected']);
  });

  it('gives the logits of the full graph at the read positions, bit for bit, and their log-softmax at the targets', async () => {
    const full = await ort.InferenceSession.create(fixture);
    const read = await ort.InferenceSession.create(readPositionsModel(Uint8Array.from(fixture), 'logits').bytes);
    try {
      const [B, T] = [3, 5];
      const ids = Array.from({ length: B * T }, (_, k) => (k * 37) % 256);
      const feeds = { input_ids: int64(ids, [B, T]), attention_mask: int64(ids.map(() => 1), [B, T]), token_type_ids: int64(ids.map(() => 0), [B, T]) };
      const logits = (await full.run(feeds)).logits!.data as Float32Array;
      const positions = [2, 5 + 4, 10, 10 + 3];
      const targets = [7, 65, 259, 0];
      const out = await read.run({ ...feeds, [READ_POSITIONS_INPUT]: int64(positions, [1, 4]), [READ_TARGETS_INPUT]: int64(targets, [1, 4, 1]) });
      expect(out[READ_LOGITS_OUTPUT]!.dims).toEqual([1, 4, V]);
      const gathered = out[READ_LOGITS_OUTPUT]!.data as Float32Array;
      positions.forEach((flat, k) => expect(gathered.subarray(k * V, (k + 1) * V)).toEqual(logits.subarray(flat * V, (flat + 1) * V)));
      const logProbs = out[READ_LOG_PROBS_OUTPUT]!.data as Float32Array;
      targets.forEach((target, k) => {
        const row = [...gathered.subarray(k * V, (k + 1) * V)];
        const max = Math.max(...row);
        const expected = row[target]! - max - Math.log(row.reduce((sum, value) => sum + Math.exp(value - max), 0));
        expect(logProbs[k]).toBeCloseTo(expected, 5);
      });
    } finally {
      await full.release();
      await read.release();
    }
  });

  it('blanks removed nodes of any length with a field every parser skips', async () => {
    // Node fields from 100 to 160 bytes long: 130 has no single length-delimited filler (its length prefix would need 1½ bytes).
    for (let extra = 0; extra < 60; extra++) {
      const bytes = edited(fixture, (model) => void (model.graph!.node!.at(-2)!.name = `project${'_'.repeat(80 + extra)}`));
      const rewritten = readPositionsModel(Uint8Array.from(bytes), 'logits').bytes;
      const graph = mergedGraph(rewritten, bytes.length);
      expect(graph.node).toHaveLength(13 - 2 + 6);
      expect(graph.node.filter((node) => node.opType === 'MatMul').map((node) => node.output[0])).toEqual(['bias_gate/read/projected']);
      // onnxruntime's parser too.
      const session = await ort.InferenceSession.create(rewritten);
      expect(session.outputNames).toEqual([READ_LOGITS_OUTPUT, READ_LOG_PROBS_OUTPUT]);
      await session.release();
    }
  });

  it('refuses graphs it does not understand, saying why, and leaves their bytes alone', () => {
    const last = (model: Model) => model.graph!.node!.at(-1)!;
    expect(rewriteError(edited(fixture, (model) => (model.graph!.output![0]!.type!.tensorType!.elemType = onnx.TensorProto.DataType.FLOAT16)))).toBe(
      '`logits` is not declared float32',
    );
    expect(rewriteError(edited(fixture, (model) => void model.graph!.output![0]!.type!.tensorType!.shape!.dim!.pop()))).toBe(
      '`logits` is declared with 2 axes, not [batch, sequence, vocabulary]',
    );
    expect(
      rewriteError(
        edited(fixture, (model) => {
          last(model).output = ['pre'];
          model.graph!.node!.push(onnx.NodeProto.create({ name: 'relu', opType: 'Relu', input: ['pre'], output: ['logits'] }));
        }),
      ),
    ).toBe('`logits` comes from Relu node "relu", not from a vocabulary projection (MatMul by a constant weight, then a bias)');
    expect(
      rewriteError(
        edited(fixture, (model) => {
          model.graph!.node!.at(-2)!.input = ['hidden', 'W_relu'];
          model.graph!.node!.unshift(onnx.NodeProto.create({ name: 'w_relu', opType: 'Relu', input: ['W'], output: ['W_relu'] }));
        }),
      ),
    ).toBe('the MatMul before `logits` does not multiply by a constant [hidden, vocabulary] weight');
    expect(rewriteError(edited(fixture, (model) => void model.graph!.output!.push(onnx.ValueInfoProto.create({ name: 'projected' }))))).toBe(
      '`projected` is used 2 times, not only on the way to `logits`',
    );
    expect(rewriteError(edited(fixture, (model) => void (model.opsetImport![0]!.version = 10)))).toBe('opset 10 is before 11');
    expect(rewriteError(edited(fixture, (model) => void (model.graph!.output![0]!.name = 'scores')))).toBe('the graph has no output `logits`');
    expect(rewriteError(Uint8Array.of(0x3a, 0x05, 0x0a))).toBe('the model is not valid protobuf (a field runs past its end)');
  });
});

describe('openModel with a rewrite', () => {
  it('opens the model as it is, and says why, when the rewritten model does not load', async () => {
    const dir = await createTempDir();
    const path = join(dir, 'model.onnx');
    await writeFile(path, await readFile(repoPath(MASKED)));
    const messages: string[] = [];
    const sizes: number[] = [];
    const rewrite = {
      apply: (buffer: Uint8Array, size: number) => {
        sizes.push(buffer.length - size);
        return Uint8Array.of(0x3a, 0x02, 0x0a, 0x00);
      },
      purpose: 'a broken rewrite',
    };
    const session = await openModel(path, 'models/bert/model.onnx', { rewrite, log: (message) => messages.push(message) });
    try {
      expect(sizes).toEqual([REWRITE_ROOM]);
      expect(session.outputNames).toEqual(['logits']);
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatch(/^models\/bert\/model\.onnx: a broken rewrite not applied: the rewritten model does not load \(.+\); opening the model without it$/);
    } finally {
      await session.release();
    }
  });
});
