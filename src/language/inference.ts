import * as ort from 'onnxruntime-node';
import { READ_LOG_PROBS_OUTPUT, READ_LOGITS_OUTPUT, READ_POSITIONS_INPUT, READ_TARGETS_INPUT } from '../runtime/read-positions.ts';
import { TARGET_LOG_PROBS_OUTPUT, TARGETS_INPUT, TokenLogProbabilities } from '../runtime/token-log-probs.ts';
import { InputError } from '../errors.ts';
import { emptyPastFeeds } from './past-key-values.ts';
import type { BatchOptions, LanguageModel, MaskedQuery } from './types.ts';

/**
 * Batched forward passes of a language model. Sequences are sorted by length (longest first) into
 * batches, right-padded with the pad id under attention_mask 0, and only the log-probabilities asked
 * for are kept: the model's graph computes them itself (token-log-probs.ts), so its [B, T, V] logits
 * never reach JavaScript; a graph rewritten at load projects onto the vocabulary only the
 * positions that are read (read-positions.ts). Right padding never moves a real token, so with a causal model (which
 * cannot look ahead) or a masked one that honours attention_mask, batch size and padding do not
 * change any score (tested to 1e-5).
 */

/** The output every language model must have (checked when it is loaded; a graph rewritten to project read positions has it no more). */
export const LOGITS_OUTPUT = 'logits';

/** What building feeds needs to know about a model. */
export type FeedShape = Pick<LanguageModel, 'padId' | 'inputs'>;

/**
 * int64 feeds for `rows`, right-padded to the longest: `input_ids` (pad id after the end),
 * `attention_mask` (1 on tokens, 0 on padding), and when the graph takes them `position_ids`
 * (0..T−1 on every row: the real tokens' positions are what an unpadded pass uses),
 * `token_type_ids` (zeros: one segment), an empty KV cache for a with-past export (past = 0, so
 * attention_mask [B, T] covers past + sequence) and bias-gate's `targets` ([B, T, 1]; zeros when absent).
 */
export function languageModelFeeds(model: FeedShape, rows: readonly (readonly number[])[], targets?: BigInt64Array): Record<string, ort.Tensor> {
  const length = Math.max(...rows.map((row) => row.length));
  const dims = [rows.length, length];
  const ids = new BigInt64Array(rows.length * length).fill(BigInt(model.padId));
  const mask = new BigInt64Array(rows.length * length);
  rows.forEach((row, b) => {
    row.forEach((id, t) => {
      ids[b * length + t] = BigInt(id);
      mask[b * length + t] = 1n;
    });
  });
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, dims),
    attention_mask: new ort.Tensor('int64', mask, dims),
  };
  if (model.inputs.positionIds) {
    const positions = BigInt64Array.from({ length: rows.length * length }, (_, k) => BigInt(k % length));
    feeds.position_ids = new ort.Tensor('int64', positions, dims);
  }
  if (model.inputs.pastKeyValues) Object.assign(feeds, emptyPastFeeds(model.inputs.pastKeyValues, rows.length));
  if (model.inputs.tokenTypeIds) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(rows.length * length), dims);
  if (model.inputs.targets) feeds[TARGETS_INPUT] = new ort.Tensor('int64', targets ?? new BigInt64Array(rows.length * length), [...dims, 1]);
  return feeds;
}

/** One forward pass's logits, [rows × length × vocabulary] row-major. */
export interface BatchLogits {
  data: Float32Array;
  /** Padded sequence length T. */
  length: number;
  /** Size of the last axis V. */
  vocabulary: number;
  /** The same logits as onnxruntime returned them, for the native log-softmax. */
  tensor: ort.Tensor;
}

/**
 * Runs `rows` (non-empty sequences) in one pass and returns the logits, checked to be float32
 * [rows, T, V]; messages name the model so a wrong export is recognisable.
 */
export async function runLogits(model: FeedShape & Pick<LanguageModel, 'session' | 'displayPath'>, rows: readonly (readonly number[])[]): Promise<BatchLogits> {
  const feeds = languageModelFeeds(model, rows);
  const logits = (await model.session.run(feeds, [LOGITS_OUTPUT]))[LOGITS_OUTPUT];
  return checkedLogits(model, logits, rows.length, feeds.input_ids!.dims[1]!);
}

/** `logits` checked to be float32 [rows, length, V]; messages name the model so a wrong export is recognisable. */
function checkedLogits(model: Pick<LanguageModel, 'displayPath'>, logits: ort.Tensor | undefined, rows: number, length: number): BatchLogits {
  if (logits === undefined) throw new InputError(`${model.displayPath}: the model returned no \`${LOGITS_OUTPUT}\``);
  if (logits.type !== 'float32') {
    throw new InputError(`${model.displayPath}: logits are ${logits.type}; bias-gate reads float32 logits`, {
      hint: 'Export the model in fp32 (optimum-cli export onnx without --dtype fp16); bias-bench scores in fp32.',
    });
  }
  const [batch, sequence, vocabulary] = logits.dims;
  if (logits.dims.length !== 3 || batch !== rows || sequence !== length || vocabulary === undefined) {
    throw new InputError(
      `${model.displayPath}: logits have shape [${logits.dims.join(', ')}] for input_ids [${rows}, ${length}]; ` +
        'expected [batch, sequence, vocabulary]',
    );
  }
  return { data: logits.data as Float32Array, length, vocabulary, tensor: logits };
}

/** One position of a pass whose log-probability is read: `position` of `row`, and the token scored there. */
export interface ReadPosition {
  row: number;
  position: number;
  target: number;
}

/**
 * The logits of a graph rewritten to project only read positions, at `positions[row]` of each row,
 * checked to be float32 [1, rows, V]; returned as [rows × 1 × V] (the load-time probe reads V from it).
 */
export async function runReadLogits(
  model: FeedShape & Pick<LanguageModel, 'session' | 'displayPath'>,
  rows: readonly (readonly number[])[],
  positions: readonly number[],
): Promise<BatchLogits> {
  const feeds = withReadPositions(languageModelFeeds(model, rows), positions.map((position, row) => ({ row, position, target: 0 })));
  const logits = (await model.session.run(feeds, [READ_LOGITS_OUTPUT]))[READ_LOGITS_OUTPUT];
  if (logits === undefined) throw new InputError(`${model.displayPath}: the model returned no \`${READ_LOGITS_OUTPUT}\``);
  if (logits.type !== 'float32') throw new InputError(`${model.displayPath}: logits are ${logits.type}; bias-gate reads float32 logits`);
  const [one, reads, vocabulary] = logits.dims;
  if (logits.dims.length !== 3 || one !== 1 || reads !== rows.length || vocabulary === undefined) {
    throw new InputError(`${model.displayPath}: the read-position logits have shape [${logits.dims.join(', ')}] for ${rows.length} read positions; expected [1, reads, vocabulary]`);
  }
  return { data: logits.data as Float32Array, length: 1, vocabulary, tensor: logits };
}

/**
 * `feeds` plus what a graph rewritten to project only read positions (runtime/read-positions.ts)
 * takes: for each read its flat position `row·T + position` and its target.
 */
function withReadPositions(feeds: Record<string, ort.Tensor>, reads: readonly ReadPosition[]): Record<string, ort.Tensor> {
  const length = feeds.input_ids!.dims[1]!;
  const positions = BigInt64Array.from(reads, ({ row, position }) => BigInt(row * length + position));
  const targets = BigInt64Array.from(reads, ({ target }) => BigInt(target));
  return { ...feeds, [READ_POSITIONS_INPUT]: new ort.Tensor('int64', positions, [1, reads.length]), [READ_TARGETS_INPUT]: new ort.Tensor('int64', targets, [1, reads.length, 1]) };
}

const gatherers = new WeakMap<LanguageModel, TokenLogProbabilities>();

/** A separate log-softmax session for a model whose graph could not take bias-gate's nodes. */
function gathererFor(model: LanguageModel): TokenLogProbabilities {
  let gatherer = gatherers.get(model);
  if (!gatherer) gatherers.set(model, (gatherer = new TokenLogProbabilities()));
  return gatherer;
}

/**
 * One forward pass with `feeds` (input_ids [rows, T] and the rest, as {@link languageModelFeeds} or a
 * KV-cache tail builds them) and log P(target) at each of `reads`, float32, in their order; with
 * `extraOutputs` (a KV-cache export's `present.*`) returned beside. A graph rewritten at load
 * projects only the read positions onto the vocabulary (runtime/read-positions.ts); one extended at
 * load computes the log-softmax at every position and the reads are picked out; otherwise the logits
 * come back and a separate session takes the log-softmax. All three give the same float32 values.
 */
export async function runReads(
  model: LanguageModel,
  feeds: Record<string, ort.Tensor>,
  reads: readonly ReadPosition[],
  extraOutputs: readonly string[] = [],
): Promise<{ logProbs: Float32Array; outputs: Record<string, ort.Tensor> }> {
  const [rows = 0, length = 0] = feeds.input_ids!.dims;
  if (model.inputs.readPositions) {
    const outputs = await model.session.run(withReadPositions(feeds, reads), [READ_LOG_PROBS_OUTPUT, ...extraOutputs]);
    const output = outputs[READ_LOG_PROBS_OUTPUT];
    if (output?.type !== 'float32' || output.dims.join() !== [1, reads.length, 1].join()) {
      throw new Error(`${model.displayPath}: ${READ_LOG_PROBS_OUTPUT} is ${output?.type} [${output?.dims.join(', ')}], not float32 [1, ${reads.length}, 1]`);
    }
    return { logProbs: output.data as Float32Array, outputs };
  }
  // Every position gets a target; those not read get a dummy (ignored).
  const targets = new BigInt64Array(rows * length);
  for (const { row, position, target } of reads) targets[row * length + position] = BigInt(target);
  let all: Float32Array;
  let outputs: Record<string, ort.Tensor>;
  if (model.inputs.targets) {
    outputs = await model.session.run({ ...feeds, [TARGETS_INPUT]: new ort.Tensor('int64', targets, [rows, length, 1]) }, [TARGET_LOG_PROBS_OUTPUT, ...extraOutputs]);
    const output = outputs[TARGET_LOG_PROBS_OUTPUT];
    // The load-time probe checked that logits are float32 [batch, sequence, vocabulary].
    if (output?.type !== 'float32' || output.dims.join() !== [rows, length, 1].join()) {
      throw new Error(`${model.displayPath}: ${TARGET_LOG_PROBS_OUTPUT} is ${output?.type} [${output?.dims.join(', ')}], not float32 [${rows}, ${length}, 1]`);
    }
    all = output.data as Float32Array;
  } else {
    outputs = await model.session.run(feeds, [LOGITS_OUTPUT, ...extraOutputs]);
    all = await gathererFor(model).gather(checkedLogits(model, outputs[LOGITS_OUTPUT], rows, length).tensor, targets);
  }
  return { logProbs: Float32Array.from(reads, ({ row, position }) => all[row * length + position]!), outputs };
}

function checkTokenId(target: number, vocabulary: number): void {
  if (!(Number.isInteger(target) && target >= 0 && target < vocabulary)) {
    throw new RangeError(`token id ${target} is outside the model's vocabulary of ${vocabulary}`);
  }
}

/** Every id must index the logits: an out-of-range id fails inside onnxruntime, or on some devices not at all. */
export function checkIds(model: LanguageModel, sequences: readonly (readonly number[])[]): void {
  for (const sequence of sequences) {
    for (const id of sequence) checkTokenId(id, model.vocabularySize);
  }
}

/**
 * Groups of indices into `lengths` for one forward pass each: longest first (a pass too big for
 * memory fails at once, and similar lengths share a pass, so little is padded), at most
 * `batchSize` per group and, with `maxBatchTokens`, at most that many padded tokens (group size ×
 * its longest length) unless a single sequence alone is longer. Ties keep the input order.
 */
export function planBatches(lengths: readonly number[], options: BatchOptions): number[][] {
  const { batchSize, maxBatchTokens } = options;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (maxBatchTokens !== undefined && !(Number.isInteger(maxBatchTokens) && maxBatchTokens >= 1)) {
    throw new RangeError(`maxBatchTokens must be a positive integer, got ${maxBatchTokens}`);
  }
  const order = lengths.map((_, k) => k).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
  const batches: number[][] = [];
  let current: number[] = [];
  let width = 0;
  for (const k of order) {
    const full = current.length >= batchSize || (maxBatchTokens !== undefined && (current.length + 1) * width > maxBatchTokens);
    if (current.length > 0 && full) {
      batches.push(current);
      current = [];
    }
    // Longest first: a group's first sequence sets its padded width.
    if (current.length === 0) width = lengths[k]!;
    current.push(k);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * For each sequence s of length n, log P(s[i] | s[0..i−1]) for i = 1..n−1 (n−1 values, float64),
 * in the input order. Sequences of length 0 or 1 give an empty array and need no pass.
 */
export async function causalTokenLogProbs(
  model: LanguageModel,
  sequences: readonly (readonly number[])[],
  options: BatchOptions,
): Promise<Float64Array[]> {
  checkIds(model, sequences);
  const results = sequences.map((sequence) => new Float64Array(Math.max(sequence.length - 1, 0)));
  const pending = sequences.flatMap((sequence, k) => (sequence.length > 1 ? [k] : []));
  let done = sequences.length - pending.length;
  for (const group of planBatches(pending.map((k) => sequences[k]!.length), options)) {
    const batch = group.map((j) => pending[j]!);
    const rows = batch.map((k) => sequences[k]!);
    // Position i predicts token i + 1: every position but a row's last is read.
    const reads = rows.flatMap((row, r) => row.slice(1).map((target, i) => ({ row: r, position: i, target })));
    const { logProbs } = await runReads(model, languageModelFeeds(model, rows), reads);
    let next = 0;
    batch.forEach((k) => results[k]!.set(logProbs.subarray(next, (next += sequences[k]!.length - 1))));
    done += batch.length;
    options.onBatch?.(done, sequences.length);
  }
  return results;
}

/**
 * The full log-softmax over the vocabulary after `prefix` (at its last position), float64. Used once
 * per model for the distribution after BOS alone (bias-bench's separate first pass); callers cache it.
 */
export async function nextTokenLogProbs(model: LanguageModel, prefix: readonly number[]): Promise<Float64Array> {
  if (prefix.length === 0) throw new RangeError('nextTokenLogProbs needs a non-empty prefix');
  checkIds(model, [prefix]);
  // A rewritten graph projects the last position alone; otherwise every position comes back.
  const { data, vocabulary, length } = model.inputs.readPositions ? await runReadLogits(model, [prefix], [prefix.length - 1]) : await runLogits(model, [prefix]);
  const offset = (length - 1) * vocabulary;
  const logits = data.subarray(offset, offset + vocabulary);
  let max = -Infinity;
  for (const value of logits) max = Math.max(max, value);
  let sum = 0;
  for (const value of logits) sum += Math.exp(value - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(logits, (value) => value - lse);
}

/**
 * For each query, log P(target) at `position` of its (already masked) ids, float64, in the input
 * order; batched like {@link causalTokenLogProbs}, with token_type_ids zeros when the model takes them.
 */
export async function maskedTokenLogProbs(model: LanguageModel, queries: readonly MaskedQuery[], options: BatchOptions): Promise<number[]> {
  queries.forEach(({ ids, position, target }, k) => {
    if (!(Number.isInteger(position) && position >= 0 && position < ids.length)) {
      throw new RangeError(`masked query ${k}: position ${position} is outside its ${ids.length} tokens`);
    }
    checkTokenId(target, model.vocabularySize);
  });
  checkIds(model, queries.map((query) => query.ids));
  const results = new Array<number>(queries.length).fill(Number.NaN);
  let done = 0;
  for (const batch of planBatches(queries.map((query) => query.ids.length), options)) {
    const rows = batch.map((k) => queries[k]!);
    // Only the masked position of each row is read (a rewritten graph projects only those).
    const { logProbs } = await runReads(model, languageModelFeeds(model, rows.map((query) => query.ids)), rows.map(({ position, target }, row) => ({ row, position, target })));
    rows.forEach((_, row) => (results[batch[row]!] = logProbs[row]!));
    done += batch.length;
    options.onBatch?.(done, queries.length);
  }
  return results;
}
