import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { loadLanguageModel } from '../../src/language/model.ts';
import { MICROSOFT_DOMAIN, quantiseColumns, quantiseInt8 } from '../../src/runtime/quantise-int8.ts';
import { repoPath } from '../helpers.ts';

const { onnx } = onnxProto;
const { FLOAT } = onnx.TensorProto.DataType;

describe('quantiseColumns: symmetric per-column int8, as quantize_dynamic (per_channel) does', () => {
  it('scale = max|column| / 127, values rounded half to even, a zero column gets scale 1', () => {
    // [2, 3]: columns (1, -0.5), (0.25, 0.127), (0, 0)
    const { values, scales } = quantiseColumns(Float32Array.from([1, 0.25, 0, -0.5, 0.127, 0]), 2, 3);
    expect([...scales]).toEqual([Math.fround(1 / 127), Math.fround(0.25 / 127), 1]);
    // −0.5·127 = −63.5 → −64 (even); 0.127/(0.25/127) = 64.516 → 65
    expect([...values]).toEqual([127, 127, 0, -64, 65, 0]);
  });

  it('the dequantised weight is within half a step (scale / 2) of the original', () => {
    const rows = 16;
    const columns = 8;
    const weights = Float32Array.from({ length: rows * columns }, (_, k) => Math.sin(k * 12.9898) * (1 + (k % columns)));
    const { values, scales } = quantiseColumns(weights, rows, columns);
    for (let k = 0; k < weights.length; k++) {
      const n = k % columns;
      expect(Math.abs(values[k]! * scales[n]! - weights[k]!)).toBeLessThanOrEqual(scales[n]! / 2 + 1e-7);
    }
  });

  it("a scale factor (Gemm's alpha) multiplies the scales, not the values", () => {
    const plain = quantiseColumns(Float32Array.from([2, -1]), 1, 2);
    const halved = quantiseColumns(Float32Array.from([2, -1]), 1, 2, 0.5);
    expect([...halved.values]).toEqual([...plain.values]);
    expect([...halved.scales]).toEqual([...plain.scales].map((s) => Math.fround(s * 0.5)));
  });
});

// A [2, K] input through MatMul(W [K, N], weight as raw_data) and Gemm(transB = 1, alpha 0.5, bias C, weight as float_data).
const K = 6;
const N = 4;
const W = Float32Array.from({ length: K * N }, (_, k) => ((k * 7) % 11) / 5 - 1);
const WT = Float32Array.from({ length: N * K }, (_, k) => ((k * 5) % 13) / 6 - 1); // [N, K]
const C = Float32Array.from([0.5, -0.25, 1, 0]);
const ALPHA = 0.5;
const A = Float32Array.from({ length: 2 * K }, (_, k) => Math.cos(k) * 3);

function tinyModel(): Uint8Array {
  const info = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((dimValue) => ({ dimValue })) } } } });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'tiny',
        node: [
          { name: 'mm', opType: 'MatMul', input: ['a', 'w'], output: ['y_matmul'] },
          {
            name: 'gemm',
            opType: 'Gemm',
            input: ['a', 'wt', 'c'],
            output: ['y_gemm'],
            attribute: [
              { name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 },
              { name: 'alpha', type: onnx.AttributeProto.AttributeType.FLOAT, f: ALPHA },
            ],
          },
        ],
        initializer: [
          { name: 'w', dataType: FLOAT, dims: [K, N], rawData: new Uint8Array(W.buffer.slice(0)) },
          { name: 'wt', dataType: FLOAT, dims: [N, K], floatData: [...WT] },
          { name: 'c', dataType: FLOAT, dims: [N], floatData: [...C] },
        ],
        input: [info('a', [2, K])],
        output: [info('y_matmul', [2, N]), info('y_gemm', [2, N])],
      },
    }),
  ).finish();
}

async function run(bytes: Uint8Array): Promise<{ matmul: Float32Array; gemm: Float32Array }> {
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  try {
    const out = await session.run({ a: new ort.Tensor('float32', A, [2, K]) });
    return { matmul: out.y_matmul!.data as Float32Array, gemm: out.y_gemm!.data as Float32Array };
  } finally {
    await session.release();
  }
}

/**
 * |y_int8 − y_float| for y = scale_out · Σ_k a_k w_kn: DynamicQuantizeMatMul rounds A to uint8 with
 * one scale s_a = (max(A, 0) − min(A, 0)) / 255 (error ≤ s_a/2 per value) and W to int8 per column
 * (error ≤ s_n/2), so the product's error is at most Σ_k (|a_k| s_n/2 + |w_kn| s_a/2 + s_a s_n/4), times scale_out.
 */
function errorBound(weights: Float32Array, scales: Float32Array, row: number, n: number, factor: number): number {
  let max = 0;
  let min = 0;
  for (const a of A) [max, min] = [Math.max(max, a), Math.min(min, a)];
  const sa = (max - min) / 255;
  let bound = 0;
  for (let k = 0; k < K; k++) {
    const a = Math.abs(A[row * K + k]!);
    const w = Math.abs(weights[k * N + n]!);
    const sn = scales[n]! / factor;
    bound += a * (sn / 2) + w * (sa / 2) + (sa * sn) / 4;
  }
  return factor * bound + 1e-5;
}

describe('quantiseInt8: MatMul and Gemm become com.microsoft DynamicQuantizeMatMul', () => {
  it('rewrites both nodes, adds the com.microsoft opset, drops the float weights', () => {
    const { bytes, summary } = quantiseInt8(tinyModel());
    expect(summary).toEqual({ rewritten: 2, weights: 2 * K * N, kept: 0 });
    const model = onnx.ModelProto.decode(bytes);
    expect(model.graph!.node!.map((node) => [node.opType, node.domain])).toEqual([
      ['DynamicQuantizeMatMul', MICROSOFT_DOMAIN],
      ['DynamicQuantizeMatMul', MICROSOFT_DOMAIN],
    ]);
    expect(model.opsetImport!.map((opset) => opset.domain)).toContain(MICROSOFT_DOMAIN);
    const names = model.graph!.initializer!.map((tensor) => tensor.name);
    expect(names).not.toContain('w');
    expect(names).not.toContain('wt');
    expect(names).toContain('c'); // the Gemm's bias, now DynamicQuantizeMatMul's fifth input
    expect(model.graph!.node![1]!.input).toEqual(['a', expect.stringContaining('wt/int8'), expect.stringContaining('wt/scale'), expect.stringContaining('wt/zero_point'), 'c']);
  });

  it('onnxruntime runs it, and every output is within the quantisation error computed from the scales', async () => {
    const float = await run(tinyModel());
    const int8 = await run(quantiseInt8(tinyModel()).bytes);
    const matmul = quantiseColumns(W, K, N);
    const wtTransposed = Float32Array.from({ length: K * N }, (_, k) => WT[(k % N) * K + Math.floor(k / N)]!);
    const gemm = quantiseColumns(wtTransposed, K, N, ALPHA);
    let largest = 0;
    for (let row = 0; row < 2; row++) {
      for (let n = 0; n < N; n++) {
        const i = row * N + n;
        const matmulError = Math.abs(int8.matmul[i]! - float.matmul[i]!);
        const gemmError = Math.abs(int8.gemm[i]! - float.gemm[i]!);
        expect(matmulError).toBeLessThanOrEqual(errorBound(W, matmul.scales, row, n, 1));
        expect(gemmError).toBeLessThanOrEqual(errorBound(wtTransposed, gemm.scales, row, n, ALPHA));
        largest = Math.max(largest, matmulError, gemmError);
      }
    }
    // Not a no-op: int8 moved the result, by about a percent of its size.
    expect(largest).toBeGreaterThan(1e-4);
    expect(largest).toBeLessThan(0.2);
  });

  it('leaves a model without weight matmuls as it was', () => {
    const bytes = onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], graph: { name: 'g', node: [{ opType: 'Relu', input: ['x'], output: ['y'] }] } })).finish();
    expect(quantiseInt8(bytes)).toEqual({ bytes, summary: { rewritten: 0, weights: 0, kept: 0 } });
  });
});

describe('loadLanguageModel with quantise: int8', () => {
  it('gpt2-tiny (with KV cache): the weight matmuls are int8 and the log-softmax nodes still run in the graph', async () => {
    const directory = repoPath('fixtures/language/gpt2-tiny/with-past');
    const logs: string[] = [];
    const model = await loadLanguageModel(directory, 'gpt2-tiny', 'causal', { quantise: 'int8', intraOpThreads: 1, log: (line) => logs.push(line) });
    try {
      expect(model.inputs.targets).toBe(true);
      // 9 of 13 MatMuls have a weight; the 4 attention products multiply activations.
      expect(logs.join('\n')).toContain('9 weight matrices quantised to int8');
    } finally {
      await model.session.release();
    }
  });
});
