import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { jsonSyntaxProblem } from '../config/json-problem.ts';
import { messageOf } from '../errors.ts';
import { readRegularFile } from './confined-file.ts';
import { sha256Text } from './hash.ts';

/** One cache lookup or store, in the order they happened; the report records the hits. */
export interface CacheEvent {
  /** What is cached: `vision-embeddings`, `language-crows-pairs`… (also the entry's sub-directory). */
  kind: string;
  /** The {@link cacheKey} of the entry. */
  key: string;
  /** `corrupt`: an entry was found but not trusted (deleted, and the caller rescores, as on a miss). */
  event: 'hit' | 'miss' | 'stored' | 'corrupt';
}

/**
 * Scores cached by content (DESIGN §1.3), so an unchanged base model is never scored twice.
 * A cache never fails a run: a broken entry is a miss, a failed store is only logged.
 */
export interface ResultCache {
  /** The value stored under (`kind`, `key`), or undefined when absent or not trustworthy. */
  get<T>(kind: string, key: string): Promise<T | undefined>;
  /** Stores `value` (plain data; Float32Array/Float64Array/Int32Array/Uint8Array round-trip bit-exactly). */
  put<T>(kind: string, key: string, value: T): Promise<void>;
  /** Every lookup and store so far. */
  readonly events: readonly CacheEvent[];
}

/** The `format` field of a cache entry file; bump when the layout changes so old entries read as corrupt. */
export const RESULT_CACHE_FORMAT = 1;

/** A cache entry file, `<directory>/<kind>/<key>.json`. */
interface CacheEntryFile {
  format: number;
  kind: string;
  key: string;
  /** Hex sha256 of `JSON.stringify(payload)`, the payload's text as written. */
  sha256: string;
  /** The value, encoded by {@link encodeValue}. */
  payload: unknown;
}

/**
 * The cache key of a computation: hex sha256 of the canonical JSON of `parts` (object keys
 * sorted at every level), so the order keys were written in never changes the key. Parts are
 * plain data: model and data hashes, scorer version and options (DESIGN §1.3).
 */
export function cacheKey(parts: Record<string, unknown>): string {
  return sha256Text(canonicalJson(parts));
}

/** A cache that always misses and keeps nothing (no `--cache`/Actions cache configured). */
export function noResultCache(): ResultCache {
  const events: CacheEvent[] = [];
  return {
    events,
    async get<T>(kind: string, key: string): Promise<T | undefined> {
      events.push({ kind, key, event: 'miss' });
      return undefined;
    },
    async put(): Promise<void> {},
  };
}

/**
 * A cache with one JSON file per entry, `<directory>/<kind>/<key>.json`, written atomically
 * (temp file + rename, so concurrent writers and interrupted runs never leave half a file).
 * An entry that is unreadable, unparsable, of another format, kind or key, or whose checksum
 * does not match is never trusted: it is logged, deleted and reported as `corrupt`.
 */
export function directoryResultCache(directory: string, log: (message: string) => void = () => {}): ResultCache {
  const events: CacheEvent[] = [];
  const entryPath = (kind: string, key: string) => path.join(directory, kind, `${key}.json`);

  const discard = async (kind: string, key: string, file: string, reason: string): Promise<undefined> => {
    events.push({ kind, key, event: 'corrupt' });
    log(`result cache: ignoring ${file}: ${reason}; it is deleted and the result recomputed`);
    await rm(file, { force: true }).catch((error: unknown) => log(`result cache: could not delete ${file}: ${messageOf(error)}`));
    return undefined;
  };

  return {
    events,
    async get<T>(kind: string, key: string): Promise<T | undefined> {
      checkName(kind, 'kind');
      checkName(key, 'key');
      const file = entryPath(kind, key);
      let text: string;
      try {
        // Only a regular file, opened without blocking (confined-file.ts).
        text = await readRegularFile(file, file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          events.push({ kind, key, event: 'miss' });
          return undefined;
        }
        return discard(kind, key, file, `unreadable (${messageOf(error)})`);
      }
      let entry: Partial<CacheEntryFile>;
      try {
        entry = JSON.parse(text) as Partial<CacheEntryFile>;
      } catch (error) {
        return discard(kind, key, file, `not valid JSON (${jsonSyntaxProblem(error, text)})`);
      }
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return discard(kind, key, file, 'not a cache entry object');
      if (entry.format !== RESULT_CACHE_FORMAT) return discard(kind, key, file, `format ${JSON.stringify(entry.format)}, expected ${RESULT_CACHE_FORMAT}`);
      if (entry.kind !== kind || entry.key !== key) return discard(kind, key, file, `it holds ${JSON.stringify(entry.kind)}/${JSON.stringify(entry.key)}, not ${kind}/${key}`);
      if (!('payload' in entry)) return discard(kind, key, file, 'no payload');
      if (sha256Text(JSON.stringify(entry.payload)) !== entry.sha256) return discard(kind, key, file, 'checksum mismatch');
      let value: T;
      try {
        value = decodeValue(entry.payload) as T;
      } catch (error) {
        return discard(kind, key, file, `payload cannot be decoded (${messageOf(error)})`);
      }
      events.push({ kind, key, event: 'hit' });
      // The file's mtime is its last use, which pruning goes by (result-cache-prune.ts).
      const now = new Date();
      await utimes(file, now, now).catch(() => undefined);
      return value;
    },

    async put<T>(kind: string, key: string, value: T): Promise<void> {
      checkName(kind, 'kind');
      checkName(key, 'key');
      // Encoding problems are programming errors (a value that is not plain data): thrown, not logged.
      const payloadText = JSON.stringify(encodeValue(value, 'value'));
      const file = entryPath(kind, key);
      const text = `{"format":${RESULT_CACHE_FORMAT},"kind":${JSON.stringify(kind)},"key":${JSON.stringify(key)},"sha256":"${sha256Text(payloadText)}","payload":${payloadText}}\n`;
      // Unique per writer, so two runs storing the same key each rename a whole file into place.
      const temp = path.join(path.dirname(file), `.${key}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
      try {
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(temp, text);
        await rename(temp, file);
        events.push({ kind, key, event: 'stored' });
      } catch (error) {
        await rm(temp, { force: true }).catch(() => undefined);
        log(`result cache: could not store ${file}: ${messageOf(error)}; the run goes on without caching it`);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Canonical JSON (keys)

/** JSON with object keys sorted at every level; non-finite numbers and -0 are spelled out so they never collide with null or 0. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(encodeValue(value, 'parts')));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const name of Object.keys(value).sort()) sorted[name] = sortKeys((value as Record<string, unknown>)[name]);
    return sorted;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Value encoding (payloads)

/** Typed arrays stored as `{ <marker>: base64 of little-endian bytes }`. */
const TYPED_ARRAYS = {
  $f32: Float32Array,
  $f64: Float64Array,
  $i32: Int32Array,
  $u8: Uint8Array,
} as const;
type TypedMarker = keyof typeof TYPED_ARRAYS;
/** A number JSON cannot hold: `{ $num: 'NaN' | 'Infinity' | '-Infinity' | '-0' }`. */
const NUMBER_MARKER = '$num';
/** A plain object that would read as a marker (`{ $f32: … }` written by the caller): `{ $obj: {…} }`. */
const OBJECT_MARKER = '$obj';
const MARKERS = new Set<string>([...Object.keys(TYPED_ARRAYS), NUMBER_MARKER, OBJECT_MARKER]);

const LITTLE_ENDIAN = os.endianness() === 'LE';

/**
 * Plain data → JSON-safe data. Follows JSON.stringify (undefined properties dropped, undefined
 * array elements → null, `toJSON` honoured) except where JSON would lose information silently:
 * typed arrays, NaN/±Infinity/-0; Map, Set, functions, symbols and bigints are refused.
 */
/** JSON text of a value holding typed arrays and non-finite numbers, which {@link parseResultsJson} restores bit for bit. */
export function stringifyResults(value: unknown, where = 'value'): string {
  return JSON.stringify(encodeValue(value, where));
}

/** The inverse of {@link stringifyResults}. */
export function parseResultsJson(text: string): unknown {
  return decodeValue(JSON.parse(text));
}

function encodeValue(value: unknown, where: string): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Object.is(value, -0)) return { [NUMBER_MARKER]: '-0' };
      return Number.isFinite(value) ? value : { [NUMBER_MARKER]: String(value) };
    case 'undefined':
      // Only reachable at the top: undefined properties are dropped and undefined elements become null below.
      throw new TypeError(`cannot cache undefined as ${where}`);
    case 'object':
      break;
    default:
      throw new TypeError(`cannot cache ${where}: a ${typeof value} is not plain data`);
  }
  if (value === null) return null;
  if (ArrayBuffer.isView(value)) {
    const marker = typedMarker(value);
    if (marker === undefined) throw new TypeError(`cannot cache ${where}: ${value.constructor.name} is not supported (use Float32Array, Float64Array, Int32Array or Uint8Array)`);
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return { [marker]: (LITTLE_ENDIAN ? bytes : swapToLittleEndian(Buffer.from(bytes), value)).toString('base64') };
  }
  if (Array.isArray(value)) return value.map((element, index) => (element === undefined || typeof element === 'function' || typeof element === 'symbol' ? null : encodeValue(element, `${where}[${index}]`)));
  if (value instanceof Map || value instanceof Set) throw new TypeError(`cannot cache ${where}: a ${value.constructor.name} is not plain data (JSON would turn it into {})`);
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return encodeValue(withJson.toJSON(), where);
  const encoded: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(value)) {
    if (property === undefined) continue;
    encoded[name] = encodeValue(property, `${where}.${name}`);
  }
  const names = Object.keys(encoded);
  return names.length === 1 && MARKERS.has(names[0]!) ? { [OBJECT_MARKER]: encoded } : encoded;
}

/** The inverse of {@link encodeValue}; throws on a malformed marker. */
function decodeValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeValue);
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  const names = Object.keys(record);
  if (names.length === 1) {
    const name = names[0]!;
    const inner = record[name];
    if (name === OBJECT_MARKER) {
      if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) throw new Error(`${OBJECT_MARKER} must hold an object`);
      return decodeObject(inner as Record<string, unknown>);
    }
    if (name === NUMBER_MARKER) {
      if (inner === 'NaN') return NaN;
      if (inner === 'Infinity') return Infinity;
      if (inner === '-Infinity') return -Infinity;
      if (inner === '-0') return -0;
      throw new Error(`${NUMBER_MARKER} holds ${JSON.stringify(inner)}`);
    }
    if (name in TYPED_ARRAYS) {
      const type = TYPED_ARRAYS[name as TypedMarker];
      if (typeof inner !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(inner)) throw new Error(`${name} must hold base64 text`);
      const bytes = Buffer.from(inner, 'base64');
      if (bytes.length % type.BYTES_PER_ELEMENT !== 0) throw new Error(`${name} holds ${bytes.length} bytes, not a whole number of elements`);
      // A fresh, aligned buffer (Buffer.from may return a view into a shared pool at any offset).
      const copy = new Uint8Array(bytes.length);
      copy.set(bytes);
      if (!LITTLE_ENDIAN) swapToLittleEndian(Buffer.from(copy.buffer), new type(0));
      return new type(copy.buffer);
    }
  }
  return decodeObject(record);
}

function decodeObject(record: Record<string, unknown>): Record<string, unknown> {
  const decoded: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(record)) decoded[name] = decodeValue(property);
  return decoded;
}

function typedMarker(view: ArrayBufferView): TypedMarker | undefined {
  for (const [marker, type] of Object.entries(TYPED_ARRAYS)) {
    if (view.constructor === type) return marker as TypedMarker;
  }
  return undefined;
}

/** Byte-swaps `bytes` in place for big-endian hosts, so files are little-endian everywhere. */
function swapToLittleEndian(bytes: Buffer, like: ArrayBufferView): Buffer {
  const size = (like as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  if (size === 4) bytes.swap32();
  else if (size === 8) bytes.swap64();
  return bytes;
}

/** Kinds and keys become file names: letters, digits, `.`, `_`, `-`, not starting with a dot. */
function checkName(name: string, what: string): void {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(name) || name.length > 200) {
    throw new TypeError(`result cache ${what} "${name}" is not usable as a file name (letters, digits, ".", "_", "-")`);
  }
}
