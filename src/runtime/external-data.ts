import { readVarint as readProtobufVarint } from './protobuf-varint.ts';

/**
 * The external-data files an ONNX model names (`TensorProto.external_data` entries with key
 * `location`, relative to the model's directory). onnxruntime opens them itself, so bias-gate must
 * check them before a session is created: a hostile model could name `/dev/zero` or a link out of
 * the checkout (confined-file.ts).
 *
 * The protobuf wire format is walked directly rather than decoded, so weight bytes (raw_data) are
 * skipped, never copied: only the messages that can hold tensors are entered.
 */

/** Field numbers (onnx.proto) of the messages that lead to a TensorProto; each maps to the message it holds. */
type MessageName = 'model' | 'graph' | 'function' | 'trainingInfo' | 'node' | 'attribute' | 'tensor' | 'sparseTensor' | 'entry';
const CHILDREN: Record<MessageName, Partial<Record<number, MessageName>>> = {
  model: { 7: 'graph', 20: 'trainingInfo', 25: 'function' },
  trainingInfo: { 1: 'graph', 2: 'graph' },
  graph: { 1: 'node', 5: 'tensor', 15: 'sparseTensor' },
  function: { 7: 'node' },
  node: { 5: 'attribute' },
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparseTensor', 23: 'sparseTensor' },
  sparseTensor: { 1: 'tensor', 2: 'tensor' },
  tensor: { 13: 'entry' },
  entry: {},
};

/** Nesting beyond this is not a model anyone exported; the walk stops rather than overflow the stack. */
const MAX_DEPTH = 64;

/**
 * Every distinct external-data `location` in the serialized ModelProto `bytes`, in order of first
 * appearance. Bytes that are not valid protobuf end the walk (onnxruntime will refuse the model).
 */
export function externalDataLocations(bytes: Uint8Array): string[] {
  const found = new Set<string>();
  try {
    walk(bytes, 0, bytes.length, 'model', 0, found);
  } catch (error) {
    if (!(error instanceof MalformedProtobuf)) throw error;
  }
  return [...found];
}

class MalformedProtobuf extends Error {}

function walk(bytes: Uint8Array, start: number, end: number, message: MessageName, depth: number, found: Set<string>): void {
  if (depth > MAX_DEPTH) throw new MalformedProtobuf('nesting too deep');
  let key: string | undefined;
  let value: string | undefined;
  let offset = start;
  while (offset < end) {
    const [tag, afterTag] = readVarint(bytes, offset, end);
    const field = Math.floor(tag / 8);
    offset = afterTag;
    switch (tag % 8) {
      case 0:
        offset = readVarint(bytes, offset, end)[1];
        break;
      case 1:
        offset += 8;
        break;
      case 5:
        offset += 4;
        break;
      case 2: {
        const [length, afterLength] = readVarint(bytes, offset, end);
        const contentEnd = afterLength + length;
        if (contentEnd > end) throw new MalformedProtobuf('length past the end');
        const child = CHILDREN[message][field];
        if (child !== undefined) walk(bytes, afterLength, contentEnd, child, depth + 1, found);
        if (message === 'entry' && (field === 1 || field === 2)) {
          const text = Buffer.from(bytes.buffer, bytes.byteOffset + afterLength, length).toString('utf8');
          if (field === 1) key = text;
          else value = text;
        }
        offset = contentEnd;
        break;
      }
      default:
        throw new MalformedProtobuf(`wire type ${tag % 8}`);
    }
    if (offset > end) throw new MalformedProtobuf('field past the end');
  }
  if (message === 'entry' && key === 'location' && value !== undefined) found.add(value);
}

function readVarint(bytes: Uint8Array, offset: number, end: number): [number, number] {
  const read = readProtobufVarint(bytes, offset, end);
  if (read === undefined) throw new MalformedProtobuf('truncated varint');
  return read;
}
