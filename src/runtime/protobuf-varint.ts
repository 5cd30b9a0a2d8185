/**
 * A protobuf varint at `offset` of `bytes` and the offset after it, or undefined when it is
 * truncated at `end` or longer than the 10 bytes a varint may take. Lengths and tags only: values up
 * to 2^53 are exact. The model walkers (external-data.ts, read-positions.ts) read tags and lengths
 * with it and skip every weight byte.
 */
export function readVarint(bytes: Uint8Array, offset: number, end: number): [number, number] | undefined {
  let result = 0;
  let scale = 1;
  for (let at = offset; at < end && at < offset + 10; at++) {
    const byte = bytes[at]!;
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) return [result, at + 1];
    scale *= 128;
  }
  return undefined;
}
