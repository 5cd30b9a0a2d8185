import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type INode = onnxProto.onnx.INodeProto;
type ITensor = onnxProto.onnx.ITensorProto;

/**
 * Dynamic int8 quantisation of an ONNX model's weight matrices, done in JavaScript at load (no
 * Python at run time), after onnxruntime's `quantize_dynamic` (onnxruntime/python/tools/quantization):
 *
 *   MatMul(A, W)            W a float32 initializer [K, N]
 *   Gemm(A, W, C)           transA 0; W [K, N] (transB 0) or [N, K] (transB 1); C [N] or absent
 *     ──▶ com.microsoft.DynamicQuantizeMatMul(A, W_q int8 [K, N], b_scale [N], b_zero_point [N] = 0, bias)
 *
 * The activations A are quantised by onnxruntime at run time (uint8, asymmetric, per tensor); the
 * weights here are int8, symmetric (zero point 0, as quantize_dynamic does for QInt8 weights) and
 * per column (quantize_dynamic's per_channel: one scale per output column, so a column of small
 * weights keeps its precision): scale_n = max_k |W[k, n]| / 127, W_q = round_half_even(W / scale_n).
 * Gemm's alpha folds into the scales. The dequantised weight differs from W by at most scale_n / 2.
 *
 * Weights used by a node that is not rewritten keep their float copy; external-data initializers
 * (models over 2 GB) are left float, as are 1-D or batched weights. Everything else is unchanged.
 */

/** The operator set that holds onnxruntime's contrib operators. */
export const MICROSOFT_DOMAIN = 'com.microsoft';
/** Largest |quantised weight|: symmetric int8 without −128, so the range is the same both sides. */
const QMAX = 127;

/** What {@link quantiseInt8} changed, for the log and the report. */
export interface QuantisationSummary {
  /** MatMul and Gemm nodes rewritten to DynamicQuantizeMatMul. */
  rewritten: number;
  /** Float32 weight values that are now int8. */
  weights: number;
  /** Nodes left in float32 because their weight is not a float32 [K, N] initializer held in the file. */
  kept: number;
}

/** A weight matrix quantised per column: `values` row-major [K, N], `scales` [N]. */
export interface QuantisedMatrix {
  values: Int8Array;
  scales: Float32Array;
}

/** numpy's rint: nearest, ties to even (quantize_dynamic rounds with it). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Symmetric per-column int8 quantisation of `weights` (row-major [rows, columns]). A column of zeros
 * gets scale 1 (its values quantise to 0 whatever the scale). `scaleFactor` multiplies every scale
 * afterwards (Gemm's alpha).
 */
export function quantiseColumns(weights: Float32Array, rows: number, columns: number, scaleFactor = 1): QuantisedMatrix {
  const absMax = new Float64Array(columns);
  for (let k = 0; k < rows; k++) {
    const row = k * columns;
    for (let n = 0; n < columns; n++) {
      const magnitude = Math.abs(weights[row + n]!);
      if (magnitude > absMax[n]!) absMax[n] = magnitude;
    }
  }
  const scales = new Float32Array(columns);
  for (let n = 0; n < columns; n++) scales[n] = absMax[n]! > 0 ? absMax[n]! / QMAX : 1;
  const values = new Int8Array(rows * columns);
  for (let k = 0; k < rows; k++) {
    const row = k * columns;
    // |w| ≤ absMax = 127·scale, so the quotient is within ±127 (up to rounding): clamp for that.
    for (let n = 0; n < columns; n++) values[row + n] = Math.max(-QMAX, Math.min(QMAX, roundHalfEven(weights[row + n]! / scales[n]!)));
  }
  if (scaleFactor !== 1) for (let n = 0; n < columns; n++) scales[n] = scales[n]! * scaleFactor;
  return { values, scales };
}

/** The float32 values of an initializer held in the file (raw_data or float_data), or undefined. */
function floatValues(tensor: ITensor): Float32Array | undefined {
  if (tensor.dataType !== onnx.TensorProto.DataType.FLOAT || tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) return undefined;
  const count = (tensor.dims ?? []).reduce<number>((product, dim) => product * Number(dim), 1);
  if (tensor.rawData && tensor.rawData.length > 0) {
    if (tensor.rawData.length !== count * 4) return undefined;
    // raw_data is a view into the model's bytes at any offset (a Float32Array needs 4-byte alignment):
    // one byte copy. Little-endian, as ONNX stores it and as every host Node runs on is.
    const values = new Float32Array(count);
    new Uint8Array(values.buffer).set(tensor.rawData);
    return values;
  }
  if (tensor.floatData && tensor.floatData.length === count) return Float32Array.from(tensor.floatData);
  return undefined;
}

function transpose(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c]!;
  return out;
}

function attribute(node: INode, name: string): onnxProto.onnx.IAttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}

function floatAttribute(node: INode, name: string, fallback: number): number {
  const found = attribute(node, name);
  return found?.f ?? fallback;
}

function intAttribute(node: INode, name: string, fallback: number): number {
  const found = attribute(node, name);
  return found?.i === undefined || found.i === null ? fallback : Number(found.i);
}

function bytesOf(array: Int8Array | Float32Array): Uint8Array {
  // Little-endian hosts only (x86, ARM as Node runs them), the byte order ONNX's raw_data uses.
  return new Uint8Array(array.buffer.slice(array.byteOffset, array.byteOffset + array.byteLength));
}

/** The rewrite of one node, or undefined when it stays float32. */
function rewriteNode(node: INode, initializers: Map<string, ITensor>, added: ITensor[], prefix: string): INode | undefined {
  const inputs = node.input ?? [];
  const weightName = inputs[1];
  const weight = weightName === undefined ? undefined : initializers.get(weightName);
  if (weight === undefined || (weight.dims ?? []).length !== 2) return undefined;
  let [rows, columns] = (weight.dims ?? []).map(Number) as [number, number];
  let values = floatValues(weight);
  if (values === undefined) return undefined;
  let alpha = 1;
  let bias: string | undefined;
  if (node.opType === 'Gemm') {
    if (intAttribute(node, 'transA', 0) !== 0) return undefined;
    alpha = floatAttribute(node, 'alpha', 1);
    const beta = floatAttribute(node, 'beta', 1);
    if (intAttribute(node, 'transB', 0) !== 0) {
      values = transpose(values, rows, columns);
      [rows, columns] = [columns, rows];
    }
    const c = inputs[2];
    if (c !== undefined && c !== '') {
      // Only a [N] bias added once (the exported form of nn.Linear / Conv1D) becomes DynamicQuantizeMatMul's bias.
      const tensor = initializers.get(c);
      if (tensor === undefined || beta !== 1 || (tensor.dims ?? []).length !== 1 || Number(tensor.dims![0]) !== columns) return undefined;
      bias = c;
    }
  }
  if (!(alpha > 0)) return undefined;
  const quantised = quantiseColumns(values, rows, columns, alpha);
  const { INT8, FLOAT } = onnx.TensorProto.DataType;
  const names = { values: `${prefix}/${weightName}/int8`, scales: `${prefix}/${weightName}/scale`, zeros: `${prefix}/${weightName}/zero_point` };
  if (alpha !== 1) for (const key of ['values', 'scales', 'zeros'] as const) names[key] += `/alpha_${alpha}`;
  if (!initializers.has(names.values)) {
    const tensors: ITensor[] = [
      { name: names.values, dataType: INT8, dims: [rows, columns], rawData: bytesOf(quantised.values) },
      { name: names.scales, dataType: FLOAT, dims: [columns], rawData: bytesOf(quantised.scales) },
      { name: names.zeros, dataType: INT8, dims: [columns], rawData: new Uint8Array(columns) },
    ];
    for (const tensor of tensors) initializers.set(tensor.name!, tensor);
    added.push(...tensors);
  }
  return {
    name: `${prefix}/${node.name ?? node.output?.[0]}`,
    opType: 'DynamicQuantizeMatMul',
    domain: MICROSOFT_DOMAIN,
    input: [inputs[0]!, names.values, names.scales, names.zeros, ...(bias ? [bias] : [])],
    output: [node.output![0]!],
  };
}

/**
 * The model in `bytes` with its float32 weight MatMuls and Gemms rewritten to int8
 * DynamicQuantizeMatMul (see the top of this file), re-encoded, with the summary of what changed.
 * Float initializers no node uses any more are dropped. Nodes inside subgraphs (If, Loop) are left as they are.
 */
export function quantiseInt8(bytes: Uint8Array): { bytes: Uint8Array; summary: QuantisationSummary } {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  const summary: QuantisationSummary = { rewritten: 0, weights: 0, kept: 0 };
  if (!graph) return { bytes, summary };
  const initializers = new Map<string, ITensor>((graph.initializer ?? []).map((tensor) => [tensor.name ?? '', tensor]));
  const added: ITensor[] = [];
  const nodes: INode[] = [];
  for (const node of graph.node ?? []) {
    if ((node.domain ?? '') !== '' || (node.opType !== 'MatMul' && node.opType !== 'Gemm')) {
      nodes.push(node);
      continue;
    }
    const rewritten = rewriteNode(node, initializers, added, 'bias_gate_int8');
    if (rewritten === undefined) {
      summary.kept++;
      nodes.push(node);
    } else {
      summary.rewritten++;
      const dims = initializers.get(node.input![1]!)!.dims!;
      summary.weights += Number(dims[0]) * Number(dims[1]);
      nodes.push(rewritten);
    }
  }
  if (summary.rewritten === 0) return { bytes, summary };
  // A float weight is dropped only when nothing reads it any more (a tied embedding is still gathered).
  const used = new Set<string>();
  const collect = (list: readonly INode[]) => {
    for (const node of list) {
      for (const input of node.input ?? []) used.add(input);
      for (const a of node.attribute ?? []) {
        if (a.g) collect(a.g.node ?? []);
        for (const g of a.graphs ?? []) collect(g.node ?? []);
      }
    }
  };
  collect(nodes);
  for (const output of graph.output ?? []) used.add(output.name ?? '');
  graph.node = nodes;
  graph.initializer = [...(graph.initializer ?? []).filter((tensor) => used.has(tensor.name ?? '')), ...added];
  // An initializer listed as a graph input (old IR) must keep its input entry only while it exists.
  const kept = new Set(graph.initializer.map((tensor) => tensor.name ?? ''));
  const original = new Set(initializers.keys());
  graph.input = (graph.input ?? []).filter((input) => !original.has(input.name ?? '') || kept.has(input.name ?? ''));
  if (!(model.opsetImport ?? []).some((opset) => opset.domain === MICROSOFT_DOMAIN)) {
    model.opsetImport = [...(model.opsetImport ?? []), { domain: MICROSOFT_DOMAIN, version: 1 }];
  }
  return { bytes: encodeModel(model), summary };
}

/** A protobuf field key and length prefix for a length-delimited field. */
function lengthDelimitedKey(field: number, length: number): Uint8Array {
  const bytes = [(field << 3) | 2];
  for (let value = length; ; value = Math.floor(value / 128)) {
    if (value < 128) {
      bytes.push(value);
      break;
    }
    bytes.push((value % 128) | 128);
  }
  return Uint8Array.from(bytes);
}

// Field numbers in onnx.proto: ModelProto.graph, GraphProto.initializer, TensorProto.raw_data.
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_RAW_DATA = 9;

/**
 * `onnx.ModelProto.encode(model)`, with each initializer's raw_data written by one copy:
 * protobufjs copies a bytes field byte by byte (8 s for GPT-2-small's 650 MB), while fields of a
 * message may come in any order and a message is its fields concatenated, so each tensor is its
 * other fields, encoded, followed by raw_data's key, length and bytes.
 */
function encodeModel(model: onnxProto.onnx.ModelProto): Uint8Array {
  const graph = onnx.GraphProto.create({ ...model.graph!, initializer: [] });
  const parts: Uint8Array[] = [onnx.GraphProto.encode(graph).finish()];
  for (const tensor of model.graph!.initializer ?? []) {
    const raw = tensor.rawData;
    const shell = onnx.TensorProto.encode(onnx.TensorProto.create({ ...tensor, rawData: undefined })).finish();
    const rawPart = raw && raw.length > 0 ? [lengthDelimitedKey(TENSOR_RAW_DATA, raw.length), raw] : [];
    const length = shell.length + rawPart.reduce((sum, part) => sum + part.length, 0);
    parts.push(lengthDelimitedKey(GRAPH_INITIALIZER, length), shell, ...rawPart);
  }
  const graphLength = parts.reduce((sum, part) => sum + part.length, 0);
  const head = onnx.ModelProto.encode(onnx.ModelProto.create({ ...model, graph: undefined })).finish();
  return Buffer.concat([head, lengthDelimitedKey(MODEL_GRAPH, graphLength), ...parts]);
}
