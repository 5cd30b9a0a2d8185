// Scorer-versus-forward measurements: a scorer runs with its model's session
// recorded, then the very same feeds are replayed straight into onnxruntime.
import { performance } from 'node:perf_hooks';
import onnxProto from 'onnx-proto';
import type * as ort from 'onnxruntime-node';
import { isPastKeyValueInput } from '../src/language/past-key-values.ts';
import type { LanguageModel, LanguageModelKind } from '../src/language/types.ts';
import { graphExtension } from '../src/runtime/graph-extension.ts';
import { openModel, type ModelSession } from '../src/runtime/session.ts';
import { BIAS_GATE_INPUTS } from '../src/language/model.ts';
import { READ_LOG_PROBS_OUTPUT, readPositionsModel } from '../src/runtime/read-positions.ts';

const { onnx } = onnxProto;

/** One forward pass the scorer made. */
export interface RecordedBatch {
  feeds: Record<string, ort.Tensor>;
  outputs: readonly string[];
  rows: number;
  /** New tokens per row (input_ids' sequence axis), 1 for vision. */
  width: number;
  /** Tokens of the KV cache fed in (`past_key_values.*` axis 2): 0 without a past or with an empty one. */
  past: number;
  /** New tokens that are not padding (attention mask 1 over the last `width` columns), or images for vision. */
  real: number;
}

/** The attention mask of a with-past feed covers past + sequence: the new tokens are its last `width` columns. */
function realNewTokens(mask: BigInt64Array, rows: number, width: number): number {
  const columns = mask.length / rows;
  let real = 0;
  for (let row = 0; row < rows; row++) for (let t = columns - width; t < columns; t++) real += Number(mask[row * columns + t]);
  return real;
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
      // Every feed is kept as the scorer passed it (input_ids, attention_mask, position_ids, targets,
      // past_key_values.* with an empty or a real past), so a replay runs exactly the scorer's pass.
      const ids = feeds.input_ids ?? Object.values(feeds)[0]!;
      const mask = feeds.attention_mask?.data as BigInt64Array | undefined;
      const [rows = 1, sequence = 1] = ids.dims;
      const width = ids.dims.length > 1 && mask ? sequence : 1;
      const pastFeed = Object.entries(feeds).find(([name]) => isPastKeyValueInput(name))?.[1];
      const past = pastFeed?.dims[2] ?? 0;
      const real = mask ? realNewTokens(mask, rows, width) : rows;
      const batch = { feeds, outputs, rows, width, past, real };
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
  return Object.fromEntries(Object.entries(feeds).filter(([name]) => !BIAS_GATE_INPUTS.includes(name)));
}

/**
 * A forward floor: what a scorer's pass cannot cost less than, defined as a graph to replay the
 * scorer's recorded batches on. `open` builds its session from the model file; `feeds` turns a
 * recorded batch into the floor's feeds; `output` is the one (tiny) output asked for, so nothing
 * large is copied to JavaScript.
 */
export interface ForwardFloor {
  /** How results.md names the definition. */
  name: string;
  open(modelPath: string, threads: number): Promise<ModelSession>;
  feeds(batch: RecordedBatch): Record<string, ort.Tensor>;
  output: string;
}

const INT = onnx.AttributeProto.AttributeType.INT;
const zeroIndex = (name: string) => ({ name, dims: [], dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(8) });

async function openExtended(modelPath: string, threads: number, output: string, graph: onnxProto.onnx.IGraphProto, purpose: string): Promise<ModelSession> {
  const bytes = graphExtension({ ...graph, output: [{ name: output, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }] });
  const session = await openModel(modelPath, modelPath, { intraOpThreads: threads, extension: { bytes, purpose } });
  if (!session.outputNames.includes(output)) throw new Error(`${modelPath}: ${purpose} could not be added`);
  return session;
}

const FIRST_LOGIT = 'bias_gate_bench/first_logit';

/**
 * The old floor, "raw forward": the model's graph with one extra output, the first vocabulary entry
 * of the logits. The full logits are computed but stay in onnxruntime, with no normaliser, no
 * gather, no copy to JavaScript. Kept as a second column: a scorer cannot reach it, since bias-bench's
 * score needs the log-softmax over the vocabulary.
 */
export const rawForwardFloor: ForwardFloor = {
  name: 'raw forward',
  output: FIRST_LOGIT,
  feeds: (batch) => modelFeeds(batch.feeds),
  open: (modelPath, threads) =>
    openExtended(modelPath, threads, FIRST_LOGIT, {
      node: [{ name: 'bias_gate_bench/gather_first', opType: 'Gather', input: ['logits', 'bias_gate_bench/zero'], output: [FIRST_LOGIT], attribute: [{ name: 'axis', type: INT, i: -1 }] }],
      initializer: [zeroIndex('bias_gate_bench/zero')],
    }, 'the first-logit output'),
};

const NORMALISED_FIRST = 'bias_gate_bench/first_log_prob';

/**
 * The causal floor: the forward pass plus the normaliser bias-bench's score needs, a log-softmax over
 * the whole vocabulary at every position (REFERENCE.md §2a: softmax, then log2). Its output is one
 * element (the log-softmax flattened, element 0), so the log-softmax is computed but not returned.
 * What the scorer adds beyond this is its gather of the targets, copying them out, and everything in
 * JavaScript.
 */
export const causalFloor: ForwardFloor = {
  name: 'forward + log-softmax',
  output: NORMALISED_FIRST,
  feeds: (batch) => modelFeeds(batch.feeds),
  open: (modelPath, threads) =>
    openExtended(modelPath, threads, NORMALISED_FIRST, {
      node: [
        { name: 'bias_gate_bench/log_softmax', opType: 'LogSoftmax', input: ['logits'], output: ['bias_gate_bench/log_probs'], attribute: [{ name: 'axis', type: INT, i: -1 }] },
        { name: 'bias_gate_bench/flatten', opType: 'Reshape', input: ['bias_gate_bench/log_probs', 'bias_gate_bench/flat'], output: ['bias_gate_bench/flat_log_probs'] },
        { name: 'bias_gate_bench/gather_first', opType: 'Gather', input: ['bias_gate_bench/flat_log_probs', 'bias_gate_bench/zero'], output: [NORMALISED_FIRST], attribute: [{ name: 'axis', type: INT, i: 0 }] },
      ],
      initializer: [
        zeroIndex('bias_gate_bench/zero'),
        { name: 'bias_gate_bench/flat', dims: [1], dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(new BigInt64Array([-1n]).buffer) },
      ],
    }, 'the log-softmax floor output'),
};

/**
 * The masked floor: the forward pass with the vocabulary projection, its log-softmax and the target
 * gather computed only at the positions the scorer reads (the masked ones): the graph bias-gate's
 * read-position rewrite makes (src/runtime/read-positions.ts), replayed with the scorer's own feeds,
 * read positions included. What the scorer adds beyond it is everything in JavaScript.
 */
export const maskedFloor: ForwardFloor = {
  name: 'forward + projection, log-softmax and gather at the read positions',
  output: READ_LOG_PROBS_OUTPUT,
  feeds: (batch) => batch.feeds,
  open: async (modelPath, threads) => {
    const session = await openModel(modelPath, modelPath, {
      intraOpThreads: threads,
      rewrite: { apply: (buffer, size) => readPositionsModel(buffer, 'logits', size).bytes, purpose: 'the read-position floor' },
    });
    if (!session.outputNames.includes(READ_LOG_PROBS_OUTPUT)) throw new Error(`${modelPath}: the read-position rewrite could not be applied for the masked floor`);
    return session;
  },
};

/**
 * The floor of a model kind. The causal one computes the projection and log-softmax at every
 * position, as bias-bench's score needs them; bias-gate's causal scorer leaves out each row's last
 * position and the padding (read-positions.ts), so it can run slightly above this floor.
 */
export function floorFor(kind: LanguageModelKind): ForwardFloor {
  return kind === 'causal' ? causalFloor : maskedFloor;
}

/** Seconds to replay the recorded batches on a floor's session. */
export function replayOn(floor: ForwardFloor, session: ModelSession, batches: readonly RecordedBatch[]): Promise<number> {
  return replay(session, batches.map((batch) => ({ ...batch, feeds: floor.feeds(batch), outputs: [floor.output] })));
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
 * Forward FLOPs of a GPT-2/BERT-shaped transformer for the padded batches: 2·(block weights +
 * vocabulary projection) per new token, plus attention's QKᵀ and AV over every key it sees, the past
 * ones included (4·layers·(past + width)·d per new token). Matrix products only: the log-softmax,
 * layer norms and GELU are not counted.
 */
export function transformerFlops(batches: readonly RecordedBatch[], shape: { layers: number; d: number; vocabulary: number }): number {
  const perTokenWeights = 2 * (shape.layers * 12 * shape.d * shape.d + shape.vocabulary * shape.d);
  return batches.reduce((sum, b) => sum + b.rows * b.width * (perTokenWeights + 4 * shape.layers * (b.past + b.width) * shape.d), 0);
}
