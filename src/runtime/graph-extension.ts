import onnxProto from 'onnx-proto';
import { openRegularFile } from '../artifacts/confined-file.ts';

const { onnx } = onnxProto;

/**
 * Adds nodes, inputs and outputs to an ONNX model without decoding it. A protobuf message followed
 * by another of the same type parses as their merge: repeated fields (a graph's nodes, inputs,
 * outputs, initializers) are concatenated and embedded messages are merged field by field. So a
 * model's bytes followed by a ModelProto that holds only `graph { node…, input…, output… }` are the
 * model with those additions: a 500 MB model needs no decode and re-encode in JavaScript.
 *
 * The extension must set no scalar field (a graph name, an IR version), which would overwrite the
 * model's, and its nodes may only use operators of the model's own opset.
 */
export function graphExtension(graph: onnxProto.onnx.IGraphProto): Uint8Array {
  if (graph.name !== undefined || graph.docString !== undefined) throw new RangeError('a graph extension must not set scalar fields');
  return onnx.ModelProto.encode(onnx.ModelProto.create({ graph })).finish();
}

/** The model file at `path` followed by `extension`, read into one buffer (no second copy of the model). */
export async function readExtendedModel(path: string, extension: Uint8Array): Promise<Uint8Array> {
  // Never blocks on a FIFO or reads a device (confined-file.ts); the caller checked the path.
  const { handle, size } = await openRegularFile(path, path);
  try {
    const bytes = Buffer.allocUnsafe(size + extension.length);
    let offset = 0;
    while (offset < size) {
      const { bytesRead } = await handle.read(bytes, offset, size - offset, offset);
      if (bytesRead === 0) throw new Error(`${path} shrank while it was read`);
      offset += bytesRead;
    }
    bytes.set(extension, size);
    return bytes;
  } finally {
    await handle.close();
  }
}
