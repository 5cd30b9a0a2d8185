import * as ort from 'onnxruntime-node';
import { causalTokenLogProbs, checkIds, languageModelFeeds, planBatches, runReads } from './inference.ts';
import type { PastKeyValueInput } from './past-key-values.ts';
import type { BatchOptions, LanguageModel } from './types.ts';

/**
 * Causal scoring that runs a prefix shared by several sequences once. The two sentences of a
 * CrowS-Pairs pair often begin alike ("The poor/rich man …" differs late, "He/She …" early), and the
 * three StereoSet candidates of a context share everything before the BLANK word. With a KV-cache
 * export (Optimum's default), the shared prefix is run once and each sequence's tail is run on its
 * keys and values: the same attention over the same keys, so the same log-probabilities (within
 * float32 summation order; tested to 1e-5 nats against the unshared path).
 *
 *   prefix pass:  s[0 .. q−1]                 → log P(s[1 .. q]) and present keys/values
 *   tail pass:    s[q .. n−1] on the prefix's past, positions q .. n−1 → log P(s[q+1 .. n−1])
 *
 * q is the shared prefix less its last token: that token starts every tail, so each position of a
 * pass has one target (the next token of its own sequence). Prefixes of one pass are right-padded;
 * a tail's attention_mask [rows, Q + T] covers its own q keys and masks the rest of the padded past,
 * and its position_ids start at its own q.
 */

/**
 * Shared prefixes shorter than this (in the prefix pass, q) are run whole: a tail repeats the
 * prefix's last token, so q = 2 saves one token per extra sentence, and on GPT-2 small CrowS-Pairs
 * measured no faster shared than whole (bench/results.md).
 */
export const MIN_SHARED_PREFIX = 4;

/** Sequences (indices) run after one shared prefix of `prefix` tokens. */
export interface PrefixGroup {
  members: number[];
  /** q: tokens of the prefix pass (the common prefix less its last token). */
  prefix: number;
}

/**
 * Which of `groups` (indices into `sequences` whose sequences may begin alike) share a prefix worth
 * running once, and which sequences are run whole. Pure; every index appears once in the result.
 */
export function planSharedPrefixes(
  sequences: readonly (readonly number[])[],
  groups: readonly (readonly number[])[],
  minimumPrefix = MIN_SHARED_PREFIX,
): { shared: PrefixGroup[]; alone: number[] } {
  const shared: PrefixGroup[] = [];
  const alone: number[] = [];
  const seen = new Set<number>();
  for (const group of groups) {
    const members = group.filter((k) => {
      if (!(Number.isInteger(k) && k >= 0 && k < sequences.length) || seen.has(k)) throw new RangeError(`prefix group index ${k} is out of range or repeated`);
      seen.add(k);
      return true;
    });
    const prefix = commonPrefixLength(members.map((k) => sequences[k]!)) - 1;
    if (members.length >= 2 && prefix >= minimumPrefix) shared.push({ members, prefix });
    else alone.push(...members);
  }
  sequences.forEach((_, k) => seen.has(k) || alone.push(k));
  return { shared, alone };
}

function commonPrefixLength(sequences: readonly (readonly number[])[]): number {
  if (sequences.length === 0) return 0;
  const shortest = Math.min(...sequences.map((sequence) => sequence.length));
  let length = 0;
  while (length < shortest && sequences.every((sequence) => sequence[length] === sequences[0]![length])) length++;
  return length;
}

/** The cache inputs and the matching `present.*` outputs, when the model can run tails on a past. */
interface PastNames {
  inputs: PastKeyValueInput[];
  presents: string[];
}

/**
 * What prefix sharing needs of a model: a KV-cache export whose every `past_key_values.i.*` input has
 * its `present.i.*` output, position_ids (a tail starts at its own prefix length, not at the padded
 * past's), and bias-gate's log-softmax in the graph. Undefined otherwise: the sequences run whole.
 */
export function pastNamesOf(model: LanguageModel): PastNames | undefined {
  const inputs = model.inputs.pastKeyValues ?? [];
  if (inputs.length === 0 || !model.inputs.positionIds || !(model.inputs.targets || model.inputs.readPositions)) return undefined;
  const presents = inputs.map(({ name }) => name.replace(/^past_key_values\./, 'present.'));
  return presents.every((name) => model.session.outputNames.includes(name)) ? { inputs, presents } : undefined;
}

/**
 * {@link causalTokenLogProbs} for `sequences`, running the prefix each of `groups` shares once when the
 * model allows it ({@link pastNamesOf}); otherwise exactly causalTokenLogProbs. Same results layout:
 * for a sequence of length n, log P(s[i] | s[0..i−1]) for i = 1..n−1.
 */
export async function causalTokenLogProbsSharingPrefixes(
  model: LanguageModel,
  sequences: readonly (readonly number[])[],
  groups: readonly (readonly number[])[],
  options: BatchOptions,
): Promise<Float64Array[]> {
  const names = pastNamesOf(model);
  if (names === undefined) return causalTokenLogProbs(model, sequences, options);
  checkIds(model, sequences);
  const { shared, alone } = planSharedPrefixes(sequences, groups);
  const results = sequences.map((sequence) => new Float64Array(Math.max(sequence.length - 1, 0)));
  let done = 0;
  const report = (count: number) => options.onBatch?.((done += count), sequences.length);

  const whole = await causalTokenLogProbs(model, alone.map((k) => sequences[k]!), { ...options, onBatch: undefined });
  alone.forEach((k, j) => results[k]!.set(whole[j]!));
  report(alone.length);

  // Groups are taken a few batches at a time, so that tails from several prefix passes can be
  // batched by their own lengths (little padding) while only those groups' keys and values are held.
  const byPrefix = shared.map((_, j) => j).sort((a, b) => shared[b]!.prefix - shared[a]!.prefix || a - b);
  const chunkSize = options.batchSize * GROUP_CHUNK_BATCHES;
  for (let start = 0; start < byPrefix.length; start += chunkSize) {
    const chunk = byPrefix.slice(start, start + chunkSize).map((j) => shared[j]!);
    const pasts = new Map<PrefixGroup, Float32Array[]>();
    for (const prefixBatch of planBatches(chunk.map((group) => group.prefix), options)) {
      const batchGroups = prefixBatch.map((j) => chunk[j]!);
      const pass = await runPrefixes(model, names, batchGroups.map((group) => sequences[group.members[0]!]!.slice(0, group.prefix + 1)));
      let next = 0;
      batchGroups.forEach((group, row) => {
        const logProbs = pass.logProbs.subarray(next, (next += group.prefix));
        for (const member of group.members) results[member]!.set(logProbs);
        pasts.set(group, rowPast(names, pass, row, group.prefix));
      });
    }
    // A member that is the prefix plus one token has nothing left to predict.
    const tails = chunk.flatMap((group) => group.members.filter((member) => sequences[member]!.length - group.prefix > 1).map((member) => ({ member, group })));
    for (const tailBatch of planBatches(tails.map(({ member, group }) => sequences[member]!.length - group.prefix), options)) {
      const rows = tailBatch.map((j) => tails[j]!);
      const tokens = rows.map(({ member, group }) => sequences[member]!.slice(group.prefix));
      const logProbs = await runTails(model, names, rows.map(({ group }) => ({ prefix: group.prefix, past: pasts.get(group)! })), tokens);
      let read = 0;
      rows.forEach(({ member, group }, row) => results[member]!.set(logProbs.subarray(read, (read += tokens[row]!.length - 1)), group.prefix));
    }
    report(chunk.reduce((sum, group) => sum + group.members.length, 0));
  }
  return results;
}

/** Prefix groups whose keys and values are held at once: this many batches' worth. */
const GROUP_CHUNK_BATCHES = 4;

/** A prefix pass: its log-probabilities (each row's q, row after row) and the keys/values it left, [rows, heads, length, head_dim] per cache input. */
interface PrefixPass {
  logProbs: Float32Array;
  length: number;
  presents: ort.Tensor[];
}

/** One row's keys and values from a prefix pass, its own `prefix` positions only: [heads, prefix, head_dim] per cache input. */
function rowPast(names: PastNames, pass: PrefixPass, row: number, prefix: number): Float32Array[] {
  return names.inputs.map(({ heads, headDim }, k) => {
    const source = pass.presents[k]!.data as Float32Array;
    const past = new Float32Array(heads * prefix * headDim);
    for (let h = 0; h < heads; h++) {
      const from = ((row * heads + h) * pass.length) * headDim;
      past.set(source.subarray(from, from + prefix * headDim), h * prefix * headDim);
    }
    return past;
  });
}

/**
 * Runs the prefixes (each given with the token after it, its last target) on an empty past.
 * Position i predicts token i + 1; the last row position and padding get a dummy target.
 */
async function runPrefixes(model: LanguageModel, names: PastNames, prefixesWithNext: readonly (readonly number[])[]): Promise<PrefixPass> {
  const rows = prefixesWithNext.map((ids) => ids.slice(0, -1));
  const length = Math.max(...rows.map((row) => row.length));
  const reads = prefixesWithNext.flatMap((ids, row) => ids.slice(1).map((target, position) => ({ row, position, target })));
  const { logProbs, outputs } = await runReads(model, languageModelFeeds(model, rows), reads, names.presents);
  const presents = names.presents.map((name, k) => {
    const tensor = outputs[name];
    const { heads, headDim } = names.inputs[k]!;
    if (tensor?.type !== 'float32' || tensor.dims.join() !== [rows.length, heads, length, headDim].join()) {
      throw new Error(`${model.displayPath}: ${name} is ${tensor?.type} [${tensor?.dims.join(', ')}], not float32 [${rows.length}, ${heads}, ${length}, ${headDim}]`);
    }
    return tensor;
  });
  return { logProbs, length, presents };
}

/**
 * Runs tails on their prefixes' keys and values and returns log P(token t + 1) at each tail position
 * t but the last, row after row. Row r's past is its prefix's keys and values ([heads, prefix,
 * head_dim] per cache input), padded to the longest prefix of the batch with the padding masked out;
 * its positions start at its own prefix length.
 */
async function runTails(
  model: LanguageModel,
  names: PastNames,
  rows: readonly { prefix: number; past: readonly Float32Array[] }[],
  tokens: readonly (readonly number[])[],
): Promise<Float32Array> {
  const length = Math.max(...tokens.map((row) => row.length));
  const past = Math.max(...rows.map((row) => row.prefix));
  const dims = [rows.length, length];
  const ids = new BigInt64Array(rows.length * length).fill(BigInt(model.padId));
  const positions = new BigInt64Array(rows.length * length);
  const mask = new BigInt64Array(rows.length * (past + length));
  rows.forEach(({ prefix }, r) => {
    const tail = tokens[r]!;
    for (let k = 0; k < prefix; k++) mask[r * (past + length) + k] = 1n;
    for (let t = 0; t < length; t++) {
      positions[r * length + t] = BigInt(prefix + t);
      if (t < tail.length) {
        ids[r * length + t] = BigInt(tail[t]!);
        mask[r * (past + length) + past + t] = 1n;
      }
    }
  });
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, dims),
    attention_mask: new ort.Tensor('int64', mask, [rows.length, past + length]),
    position_ids: new ort.Tensor('int64', positions, dims),
  };
  names.inputs.forEach(({ name, heads, headDim }, k) => {
    const data = new Float32Array(rows.length * heads * past * headDim);
    rows.forEach(({ prefix, past: own }, r) => {
      for (let h = 0; h < heads; h++) data.set(own[k]!.subarray(h * prefix * headDim, (h + 1) * prefix * headDim), ((r * heads + h) * past) * headDim);
    });
    feeds[name] = new ort.Tensor('float32', data, [rows.length, heads, past, headDim]);
  });
  const reads = tokens.flatMap((tail, row) => tail.slice(1).map((target, position) => ({ row, position, target })));
  return (await runReads(model, feeds, reads)).logProbs;
}
