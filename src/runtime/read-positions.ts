import onnxProto from 'onnx-proto';
import { graphExtension } from './graph-extension.ts';
import { readVarint as readProtobufVarint } from './protobuf-varint.ts';

const { onnx } = onnxProto;
type NodeProto = onnxProto.onnx.INodeProto;

/**
 * A masked model's scorer reads one position per row, yet its graph projects every position of
 * [B, T] onto the vocabulary (V ≈ 30–50k) and bias-gate's log-softmax then runs over all of them.
 * onnxruntime runs every node of a graph whatever outputs are asked for, so this rewrite moves the
 * projection behind a gather of the positions that are read:
 *
 *   hidden [B, T, D] ──Flatten(axis −1)──▶ [B·T, D] ──Gather(axis 0, read positions [1, N])──▶ [1, N, D]
 *     ──MatMul(W [D, V]) (──Add(bias) …: copies of the model's own projection nodes)──▶ read logits [1, N, V]
 *     ──LogSoftmax(axis −1)──GatherElements(targets [1, N, 1])──▶ log-probabilities [1, N, 1]
 *
 * and removes the original projection nodes and the `logits` output. The gathered rows keep a
 * leading axis of 1 so that the copied MatMul sees a 3-D input like the original, and
 * onnxruntime's optimizer treats both alike (a 2-D MatMul + Add would be fused into a Gemm, which
 * adds the bias in another order and changes the last bits). A read position is row·T + position.
 *
 * Only the graph's node list and outputs are edited, on the protobuf wire and in place: a removed
 * node or output is overwritten by GraphProto's reserved field 3 of the same length, which every
 * protobuf parser skips, so no byte of the weights (raw_data, or external data files) is decoded,
 * moved or copied. New nodes are appended as a graph extension (graph-extension.ts).
 */

/** int64 [1, N]: the rows of the flattened [B·T] positions to project (row·T + position). */
export const READ_POSITIONS_INPUT = 'bias_gate_read_positions';
/** int64 [1, N, 1]: the token whose log-probability is read at each read position. */
export const READ_TARGETS_INPUT = 'bias_gate_read_targets';
/** float [1, N, V]: the model's logits at the read positions only (the load-time vocabulary probe reads it). */
export const READ_LOGITS_OUTPUT = 'bias_gate_read_logits';
/** float [1, N, 1]: log P(target) at each read position. */
export const READ_LOG_PROBS_OUTPUT = 'bias_gate_read_log_probs';

/** The rewrite does not understand this graph; the message says why (it is logged, and the model opened without the rewrite). */
export class UnsupportedGraph extends Error {}

/** Ops between the projection and `logits` that act on each position alone when their other operand is a constant broadcast along the last axis. */
const POSITION_WISE_BINARY = new Set(['Add', 'Sub', 'Mul', 'Div']);
/** A head longer than this between MatMul and `logits` is not a plain vocabulary projection. */
const MAX_HEAD_NODES = 8;
/** GatherElements and Flatten with a negative axis need opset 11. */
const MIN_OPSET = 11;

/** What {@link readPositionsModel} did, for tests and logs. */
export interface ReadPositionsRewrite {
  /** The rewritten model: a view of the input buffer when the new nodes fit in its room, else a copy. */
  bytes: Uint8Array;
  /** The tensor gathered from (the projection's input, [B, T, D]). */
  hidden: string;
  /** The op types of the projection nodes moved behind the gather, in order (`MatMul`, `Add`, …). */
  projection: string[];
  /** Hidden size D and vocabulary size V of the projection weight. */
  hiddenSize: number;
  vocabularySize: number;
}

/**
 * The model in `buffer[0, size)` (a serialized ModelProto) with its vocabulary projection onto the
 * float output `logits` moved behind a gather of the read positions (see above). The buffer is
 * edited in place, and the new nodes are written after `size` when the buffer has room for them
 * (a few hundred bytes); nothing is changed when it throws {@link UnsupportedGraph}
 * when the graph is not one it understands: `logits` must come from a MatMul whose second operand is
 * a constant [D, V] (an initializer, a Constant, or a Transpose of a constant [V, D] as a tied
 * embedding exports), followed only by position-wise ops with constant operands (a bias Add), none
 * of whose results is used elsewhere.
 */
export function readPositionsModel(buffer: Uint8Array, logits: string, size = buffer.length): ReadPositionsRewrite {
  const bytes = buffer.subarray(0, size);
  const model = fieldsOf(bytes, 0, bytes.length);
  const graphs = model.filter((field) => field.number === 7 && field.body !== undefined);
  if (graphs.length !== 1) throw new UnsupportedGraph(`the model has ${graphs.length} graph fields, not 1`);
  const opset = model
    .filter((field) => field.number === 8 && field.body !== undefined)
    .map((field) => onnx.OperatorSetIdProto.decode(bytes.subarray(field.body, field.end)))
    .find((entry) => !entry.domain || entry.domain === 'ai.onnx');
  const version = opset === undefined ? 0 : Number(opset.version);
  if (version < MIN_OPSET) throw new UnsupportedGraph(`opset ${version} is before ${MIN_OPSET}`);

  const graph = graphs[0]!;
  const graphFields = fieldsOf(bytes, graph.body!, graph.end);
  const nodes = graphFields.filter((field) => field.number === 1 && field.body !== undefined).map((field) => ({ field, node: onnx.NodeProto.decode(bytes.subarray(field.body, field.end)) }));
  const initializers = new Map<string, number[]>();
  for (const field of graphFields) {
    if (field.number !== 5 || field.body === undefined) continue;
    const tensor = onnx.TensorProto.decode(bytes.subarray(field.body, field.end));
    initializers.set(tensor.name, tensor.dims.map(Number));
  }
  const outputs = graphFields.filter((field) => field.number === 12 && field.body !== undefined).map((field) => ({ field, info: onnx.ValueInfoProto.decode(bytes.subarray(field.body, field.end)) }));

  const logitsOutput = outputs.find(({ info }) => info.name === logits);
  if (logitsOutput === undefined) throw new UnsupportedGraph(`the graph has no output \`${logits}\``);
  const tensorType = logitsOutput.info.type?.tensorType;
  if (tensorType?.elemType !== onnx.TensorProto.DataType.FLOAT) throw new UnsupportedGraph(`\`${logits}\` is not declared float32`);
  const rank = tensorType.shape?.dim?.length;
  if (rank !== undefined && rank !== 3) throw new UnsupportedGraph(`\`${logits}\` is declared with ${rank} axes, not [batch, sequence, vocabulary]`);

  const producers = new Map<string, { field: Field; node: NodeProto }>();
  for (const entry of nodes) for (const output of entry.node.output ?? []) producers.set(output, entry);
  const uses = new Map<string, number>();
  const use = (name: string): void => void uses.set(name, (uses.get(name) ?? 0) + 1);
  for (const { node } of nodes) for (const name of namesReadBy(node)) use(name);
  for (const { info } of outputs) use(info.name);
  const constantDims = (name: string): number[] | undefined => initializers.get(name) ?? constantNodeDims(producers.get(name)?.node);

  // Walk back from `logits` through position-wise ops to the MatMul with the vocabulary weight.
  const head: { field: Field; node: NodeProto }[] = [];
  let name = logits;
  let weight: [number, number] | undefined;
  while (weight === undefined) {
    if (head.length >= MAX_HEAD_NODES) throw new UnsupportedGraph(`no MatMul within ${MAX_HEAD_NODES} nodes of \`${logits}\``);
    const entry = producers.get(name);
    if (entry === undefined) throw new UnsupportedGraph(`\`${name}\` is not computed by a node`);
    const { node } = entry;
    const described = `${node.opType} node ${JSON.stringify(node.name ?? '')}`;
    if (node.domain) throw new UnsupportedGraph(`\`${name}\` comes from ${described} of domain ${node.domain}`);
    if ((uses.get(name) ?? 0) !== 1) throw new UnsupportedGraph(`\`${name}\` is used ${uses.get(name) ?? 0} times, not only on the way to \`${logits}\``);
    const inputs = node.input ?? [];
    if (node.opType === 'MatMul' && inputs.length === 2) {
      weight = projectionWeight(inputs[1]!, constantDims, producers);
      if (weight === undefined) throw new UnsupportedGraph(`the MatMul before \`${logits}\` does not multiply by a constant [hidden, vocabulary] weight`);
      if (constantDims(inputs[0]!) !== undefined) throw new UnsupportedGraph(`the MatMul before \`${logits}\` multiplies two constants`);
    } else if (POSITION_WISE_BINARY.has(node.opType ?? '') && inputs.length === 2) {
      const dims = inputs.map(constantDims);
      const constant = dims.findIndex((d) => d !== undefined && d.slice(0, -1).every((size) => size === 1));
      if (constant === -1 || dims[1 - constant] !== undefined) throw new UnsupportedGraph(`${described} before \`${logits}\` has no constant operand broadcast along the vocabulary`);
      name = inputs[1 - constant]!;
    } else if (node.opType === 'Identity') {
      name = inputs[0]!;
    } else {
      throw new UnsupportedGraph(`\`${name}\` comes from ${described}, not from a vocabulary projection (MatMul by a constant weight, then a bias)`);
    }
    head.unshift(entry);
  }

  const hidden = head[0]!.node.input![0]!;
  const prefix = 'bias_gate/read/';
  const rows = `${prefix}hidden_rows`;
  const gathered = `${prefix}hidden`;
  const renamed = new Map<string, string>([[hidden, gathered]]);
  const copies = head.map(({ node }, k): NodeProto => {
    const output = node.output![0]!;
    const copy = k === head.length - 1 ? READ_LOGITS_OUTPUT : `${prefix}${output}`;
    const input = node.input!.map((name) => renamed.get(name) ?? name);
    renamed.set(output, copy);
    return { ...node, name: `${prefix}${node.name || node.opType}`, input, output: [copy] };
  });
  const axis = (value: number): onnxProto.onnx.IAttributeProto => ({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: value });
  const logProbabilities = `${prefix}log_probabilities`;
  const extension = graphExtension({
    node: [
      { name: `${prefix}flatten`, opType: 'Flatten', input: [hidden], output: [rows], attribute: [axis(-1)] },
      { name: `${prefix}gather_positions`, opType: 'Gather', input: [rows, READ_POSITIONS_INPUT], output: [gathered], attribute: [axis(0)] },
      ...copies,
      { name: `${prefix}log_softmax`, opType: 'LogSoftmax', input: [READ_LOGITS_OUTPUT], output: [logProbabilities], attribute: [axis(-1)] },
      { name: `${prefix}gather_targets`, opType: 'GatherElements', input: [logProbabilities, READ_TARGETS_INPUT], output: [READ_LOG_PROBS_OUTPUT], attribute: [axis(-1)] },
    ],
    input: [valueInfo(READ_POSITIONS_INPUT, INT64, ['one', 'reads']), valueInfo(READ_TARGETS_INPUT, INT64, ['one', 'reads', 'one'])],
    output: [valueInfo(READ_LOGITS_OUTPUT, FLOAT, ['one', 'reads', weight[1]]), valueInfo(READ_LOG_PROBS_OUTPUT, FLOAT, ['one', 'reads', 'one'])],
  });

  // Everything is checked: from here on the buffer changes. The original head and `logits` output go.
  for (const { field } of [...head, logitsOutput]) blank(bytes, field.start, field.end);
  let rewritten: Uint8Array;
  if (buffer.length - size >= extension.length) {
    buffer.set(extension, size);
    rewritten = buffer.subarray(0, size + extension.length);
  } else {
    rewritten = Buffer.concat([bytes, extension]);
  }
  return { bytes: rewritten, hidden, projection: head.map(({ node }) => node.opType ?? ''), hiddenSize: weight[0], vocabularySize: weight[1] };
}

const { FLOAT, INT64 } = onnx.TensorProto.DataType;
/** GraphProto's field 3 is reserved (onnx.proto): parsers skip it as an unknown field. */
const FILLER_FIELD = 3;

/**
 * Overwrites the graph field bytes[start, end) with a filler field of the same length: one
 * length-delimited field 3, preceded by a 2-byte varint field 3 = 0 when no length-delimited field
 * fits the span exactly (its length prefix would need one byte more or less).
 */
function blank(bytes: Uint8Array, start: number, end: number): void {
  let at = start;
  const fits = (length: number): number[] | undefined => {
    for (let prefix = 1; prefix <= 5; prefix++) {
      const encoded = varint(length - 1 - prefix);
      if (length - 1 - prefix >= 0 && encoded.length === prefix) return [(FILLER_FIELD << 3) | 2, ...encoded];
    }
    return undefined;
  };
  let header = fits(end - at);
  if (header === undefined) {
    bytes.set([FILLER_FIELD << 3, 0], at);
    at += 2;
    header = fits(end - at)!;
  }
  bytes.set(header, at);
  bytes.fill(0, at + header.length, end);
}

function valueInfo(name: string, elemType: number, shape: (string | number)[]): onnxProto.onnx.IValueInfoProto {
  const dim = shape.map((size) => (typeof size === 'number' ? { dimValue: size } : { dimParam: size }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

/** [D, V] of a MatMul's second operand when it is a constant [D, V] or the Transpose of a constant [V, D]. */
function projectionWeight(
  name: string,
  constantDims: (name: string) => number[] | undefined,
  producers: ReadonlyMap<string, { node: NodeProto }>,
): [number, number] | undefined {
  const dims = constantDims(name);
  if (dims !== undefined) return dims.length === 2 ? [dims[0]!, dims[1]!] : undefined;
  const transpose = producers.get(name)?.node;
  if (transpose?.opType !== 'Transpose' || transpose.domain) return undefined;
  const perm = transpose.attribute?.find((attribute) => attribute.name === 'perm')?.ints?.map(Number);
  const source = constantDims(transpose.input?.[0] ?? '');
  if (source?.length !== 2 || !(perm === undefined || perm.join() === '1,0')) return undefined;
  return [source[1]!, source[0]!];
}

/** Dims of a Constant node's tensor (a scalar for value_float etc.), undefined for any other node. */
function constantNodeDims(node: NodeProto | undefined): number[] | undefined {
  if (node?.opType !== 'Constant' || node.domain) return undefined;
  const attribute = node.attribute?.[0];
  if (attribute?.t) return attribute.t.dims?.map(Number) ?? [];
  if (attribute?.name === 'value_float' || attribute?.name === 'value_int') return [];
  return undefined;
}

/** Every name a node reads, those of the subgraphs in its attributes (If, Loop, Scan) included: a subgraph may read outer names. */
function namesReadBy(node: NodeProto): string[] {
  const names = [...(node.input ?? [])];
  for (const attribute of node.attribute ?? []) {
    for (const graph of [attribute.g, ...(attribute.graphs ?? [])]) {
      for (const inner of graph?.node ?? []) names.push(...namesReadBy(inner));
    }
  }
  return names;
}

/** One protobuf field: where its tag starts, where a length-delimited body starts (undefined for other wire types), where it ends. */
interface Field {
  number: number;
  start: number;
  body: number | undefined;
  end: number;
}

/** The fields of the message in bytes[start, end). Malformed bytes are an {@link UnsupportedGraph} (onnxruntime will say more). */
function fieldsOf(bytes: Uint8Array, start: number, end: number): Field[] {
  const fields: Field[] = [];
  let offset = start;
  while (offset < end) {
    const [tag, afterTag] = readVarint(bytes, offset, end);
    let body: number | undefined;
    let fieldEnd: number;
    switch (tag % 8) {
      case 0:
        fieldEnd = readVarint(bytes, afterTag, end)[1];
        break;
      case 1:
        fieldEnd = afterTag + 8;
        break;
      case 5:
        fieldEnd = afterTag + 4;
        break;
      case 2: {
        const [length, afterLength] = readVarint(bytes, afterTag, end);
        body = afterLength;
        fieldEnd = afterLength + length;
        break;
      }
      default:
        throw new UnsupportedGraph(`the model is not valid protobuf (wire type ${tag % 8})`);
    }
    if (fieldEnd > end) throw new UnsupportedGraph('the model is not valid protobuf (a field runs past its end)');
    fields.push({ number: Math.floor(tag / 8), start: offset, body, end: fieldEnd });
    offset = fieldEnd;
  }
  return fields;
}

function readVarint(bytes: Uint8Array, offset: number, end: number): [number, number] {
  const read = readProtobufVarint(bytes, offset, end);
  if (read === undefined) throw new UnsupportedGraph('the model is not valid protobuf (a truncated varint)');
  return read;
}

function varint(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}
