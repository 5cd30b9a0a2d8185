// What this machine can do at most, for the "% of peak" columns of bench/results.md: the float32 FMA
// rate of all cores (bench/fma-peak.c, one process per core) and onnxruntime's own MatMul rate on the
// two matrix shapes a GPT-2-small batch is made of, under the scorer's session options and threads.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { openModel } from '../src/runtime/session.ts';
import { timed } from './measure.ts';

const { onnx } = onnxProto;

/** The FMA probe's result, or why there is none (no C compiler). */
export type FmaPeak = { gflops: number; vectorBits: number; processes: number; compiler: string } | { missing: string };

/** One MatMul shape and onnxruntime's rate on it. */
export interface MatMulRate {
  /** [m × k]·[k × n] */
  m: number;
  k: number;
  n: number;
  /** What the shape stands for in GPT-2 small. */
  role: string;
  gflops: number;
}

/** The MatMul shapes measured: a batch of 2,048 tokens through the MLP's up-projection, and the vocabulary projection of a 640-token batch. */
export const MATMUL_SHAPES: readonly Omit<MatMulRate, 'gflops'>[] = [
  { m: 2048, k: 768, n: 3072, role: 'MLP up-projection, 2,048 tokens' },
  { m: 640, k: 768, n: 50257, role: 'vocabulary projection, 640 tokens' },
];

/**
 * Compiles bench/fma-peak.c with `cc -O2 -march=native` into `buildDirectory` and runs `processes`
 * copies at once for `seconds`; the peak is the sum of their rates.
 */
export async function measureFmaPeak(buildDirectory: string, processes: number, seconds = 3): Promise<FmaPeak> {
  const compiler = process.env.CC ?? 'cc';
  const version = spawnSync(compiler, ['--version'], { encoding: 'utf8' });
  if (version.status !== 0) return { missing: `no C compiler (\`${compiler} --version\` failed): the FMA peak was not measured` };
  mkdirSync(buildDirectory, { recursive: true });
  const binary = path.join(buildDirectory, 'fma-peak');
  execFileSync(compiler, ['-O2', '-march=native', '-o', binary, path.join(import.meta.dirname, 'fma-peak.c')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const runs = Array.from({ length: processes }, () => new Promise<string>((resolve, reject) => {
    const child = spawn(binary, [String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`${binary} exited with ${code}`))));
  }));
  const lines = (await Promise.all(runs)).map((line) => line.trim().split(' ').map(Number));
  return { gflops: lines.reduce((sum, [, rate]) => sum + rate!, 0), vectorBits: lines[0]![0]!, processes, compiler: version.stdout.split('\n')[0]! };
}

/**
 * A one-node graph, A·B with B a weight (initializer) as in a model, followed by a Gather of column 0
 * so the product is computed but stays in onnxruntime (as the forward floor's first logit).
 */
function matMulModel(m: number, k: number, n: number): Uint8Array {
  const weights = new Float32Array(k * n);
  for (let i = 0; i < weights.length; i++) weights[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  const float = onnx.TensorProto.DataType.FLOAT;
  const graph = onnx.GraphProto.create({
    name: 'matmul',
    node: [
      { name: 'matmul', opType: 'MatMul', input: ['a', 'b'], output: ['c'] },
      { name: 'first_column', opType: 'Gather', input: ['c', 'zero'], output: ['first'], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
    ],
    initializer: [
      { name: 'b', dims: [k, n], dataType: float, rawData: new Uint8Array(weights.buffer) },
      { name: 'zero', dims: [], dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(8) },
    ],
    input: [{ name: 'a', type: { tensorType: { elemType: float, shape: { dim: [{ dimValue: m }, { dimValue: k }] } } } }],
    output: [{ name: 'first', type: { tensorType: { elemType: float } } }],
  });
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 14 }], graph })).finish();
}

/** onnxruntime's MatMul GFLOP/s on each of {@link MATMUL_SHAPES}, with the scorer's session options and `threads` intra-op threads: the best of `repeats` runs after a warm-up. */
export async function measureMatMulRates(modelDirectory: string, threads: number, repeats = 5): Promise<MatMulRate[]> {
  const rates: MatMulRate[] = [];
  for (const shape of MATMUL_SHAPES) {
    const file = path.join(modelDirectory, `matmul-${shape.m}x${shape.k}x${shape.n}.onnx`);
    if (!existsSync(file)) {
      mkdirSync(modelDirectory, { recursive: true });
      writeFileSync(file, matMulModel(shape.m, shape.k, shape.n));
    }
    const session = await openModel(file, path.basename(file), { intraOpThreads: threads });
    const a = new ort.Tensor('float32', Float32Array.from({ length: shape.m * shape.k }, (_, i) => (i % 7) / 7 - 0.5), [shape.m, shape.k]);
    await session.run({ a }, ['first']);
    let best = Infinity;
    for (let r = 0; r < repeats; r++) best = Math.min(best, (await timed(() => session.run({ a }, ['first']))).seconds);
    await session.release();
    rates.push({ ...shape, gflops: (2 * shape.m * shape.k * shape.n) / best / 1e9 });
  }
  return rates;
}
