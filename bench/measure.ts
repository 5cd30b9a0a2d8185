// Scorer-versus-forward measurements: a scorer runs with its model's session
// recorded, then the very same feeds are replayed straight into onnxruntime.
import { performance } from 'node:perf_hooks';
import onnxProto from 'onnx-proto';
import type * as ort from 'onnxruntime-node';
import type { LanguageModel } from '../src/language/types.ts';
import { graphExtension } from '../src/runtime/graph-extension.ts';
import { openModel, type ModelSession } from '../src/runtime/session.ts';
import { TARGETS_INPUT } from '../src/runtime/token-log-probs.ts';

const { onnx } = onnxProto;

/** One forward pass the scorer made. */
export interface RecordedBatch {
  feeds: Record<string, ort.Tensor>;
  outputs: readonly string[];
  rows: number;
  width: number;
  /** Tokens that are not padding (attention mask 1), or images for vision. */
  real: number;
}

/**
 * A session that records every batch it runs. `afterEach`, when given, runs after each batch, before
 * the scorer goes on: replaying the batch there times it under the same machine conditions as the
 * scorer's own pass (a shared VM drifts by more than the effect measured). Its time is the caller's
 * to subtract.
 */
export function recordingSession(session: ModelSession, batches: RecordedBatch[], afterEach?: (batch: RecordedBatch) => Promise<unknown>): ModelSession {
  return {
    ...session,
    async run(feeds, outputs) {
      const ids = feeds.input_ids ?? Object.values(feeds)[0]!;
      const mask = feeds.attention_mask?.data as BigInt64Array | undefined;
      const [rows = 1, width = 1] = ids.dims;
      const real = mask ? mask.reduce((sum, v) => sum + Number(v), 0) : rows;
      const batch = { feeds, outputs, rows, width: ids.dims.length > 1 && mask ? width : 1, real };
      batches.push(batch);
      const result = await session.run(feeds, outputs);
      await afterEach?.(batch);
      return result;
    },
  };
}

export function recordingModel(model: LanguageModel, batches: RecordedBatch[], afterEach?: (batch: RecordedBatch) => Promise<unknown>): LanguageModel {
  return { ...model, session: recordingSession(model.session, batches, afterEach) };
}

/** Seconds spent replaying the recorded batches as bare forward passes. */
export async function replay(session: ModelSession, batches: readonly RecordedBatch[]): Promise<number> {
  const start = performance.now();
  for (const batch of batches) await session.run(batch.feeds, batch.outputs);
  return (performance.now() - start) / 1000;
}

/** The model's own inputs of a recorded batch: bias-gate's targets dropped. */
function modelFeeds(feeds: Record<string, ort.Tensor>): Record<string, ort.Tensor> {
  return Object.fromEntries(Object.entries(feeds).filter(([name]) => name !== TARGETS_INPUT));
}

const FIRST_LOGIT = 'bias_gate_bench/first_logit';

/**
 * Raw forward passes of a language model: its graph with one extra output, the first vocabulary
 * entry of the logits. The full logits are computed, as the model's own compute requires, but stay
 * in onnxruntime: the floor that no scorer can beat, with no log-softmax, gather or copy to JavaScript.
 */
export async function openForwardFloor(path: string, threads: number): Promise<ModelSession> {
  const zero = { name: 'bias_gate_bench/zero', dims: [], dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(8) };
  const bytes = graphExtension({
    node: [{ name: 'bias_gate_bench/gather_first', opType: 'Gather', input: ['logits', zero.name], output: [FIRST_LOGIT], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 }] }],
    initializer: [zero],
    output: [{ name: FIRST_LOGIT, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }],
  });
  const session = await openModel(path, path, { intraOpThreads: threads, extension: { bytes, purpose: 'the first-logit output' } });
  if (!session.outputNames.includes(FIRST_LOGIT)) throw new Error(`${path}: the first-logit output could not be added`);
  return session;
}

/** Seconds to replay the recorded batches on the forward floor ({@link openForwardFloor}). */
export function replayForward(floor: ModelSession, batches: readonly RecordedBatch[]): Promise<number> {
  return replay(floor, batches.map((batch) => ({ ...batch, feeds: modelFeeds(batch.feeds), outputs: [FIRST_LOGIT] })));
}

/** Seconds to replay the recorded batches on the unmodified model, its logits returned to JavaScript. */
export function replayReturningLogits(plain: ModelSession, batches: readonly RecordedBatch[]): Promise<number> {
  return replay(plain, batches.map((batch) => ({ ...batch, feeds: modelFeeds(batch.feeds), outputs: ['logits'] })));
}

export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const start = performance.now();
  const value = await work();
  return { value, seconds: (performance.now() - start) / 1000 };
}

export function paddingWaste(batches: readonly RecordedBatch[]): number {
  const padded = batches.reduce((sum, b) => sum + b.rows * b.width, 0);
  const real = batches.reduce((sum, b) => sum + b.real, 0);
  return padded === 0 ? 0 : (padded - real) / padded;
}

/**
 * Forward FLOPs of a GPT-2/BERT-shaped transformer for the padded batches:
 * 2·(block weights + vocabulary projection) per token, plus attention's
 * QKᵀ and AV (4·layers·width·d per token).
 */
export function transformerFlops(batches: readonly RecordedBatch[], shape: { layers: number; d: number; vocabulary: number }): number {
  const perTokenWeights = 2 * (shape.layers * 12 * shape.d * shape.d + shape.vocabulary * shape.d);
  return batches.reduce((sum, b) => sum + b.rows * b.width * (perTokenWeights + 4 * shape.layers * b.width * shape.d), 0);
}
