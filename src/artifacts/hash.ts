import { createHash } from 'node:crypto';
import { openRegularFile } from './confined-file.ts';

/**
 * Hex sha256 of a file's bytes, streamed so that multi-gigabyte models never sit in memory at once.
 * Only a regular file is read (a FIFO or device is refused, never blocked on); checkout files are
 * checked against their root first (`confinedFile`).
 */
export async function sha256File(path: string, what: string = path): Promise<string> {
  const hash = createHash('sha256');
  const { handle } = await openRegularFile(path, what);
  try {
    for await (const chunk of handle.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** Hex sha256 of a text's UTF-8 bytes (cache keys, config fingerprints). */
export function sha256Text(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
