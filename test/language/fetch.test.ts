import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { parseMirror, type Mirror } from '../../src/artifacts/mirror.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import {
  BENCHMARK_SOURCES,
  type BenchmarkSource,
  gitBlobId,
  obtainBenchmarkFile,
  verifyLocalFile,
} from '../../src/language/datasets/fetch.ts';
import { parseStereoSet } from '../../src/language/datasets/stereoset.ts';
import { createTempDir, sharedDirFor } from '../helpers.ts';

const shared = sharedDirFor('the check of pinned checksums against the shared benchmark copies');

/** A one-cluster StereoSet file in the official schema. */
const STEREOSET_BYTES = Buffer.from(
  JSON.stringify({
    version: '1.0-test',
    data: {
      intrasentence: [
        {
          id: 'c1',
          target: 'mother',
          bias_type: 'gender',
          context: 'My mother is BLANK.',
          sentences: [
            { id: 's1', sentence: 'My mother is caring.', labels: [{ human_id: 'h', label: 'stereotype' }], gold_label: 'stereotype' },
            { id: 's2', sentence: 'My mother is strict.', labels: [{ human_id: 'h', label: 'anti-stereotype' }], gold_label: 'anti-stereotype' },
            { id: 's3', sentence: 'My mother is triangle.', labels: [{ human_id: 'h', label: 'unrelated' }], gold_label: 'unrelated' },
          ],
        },
      ],
      intersentence: [],
    },
  }),
);
const STEREOSET_SHA256 = createHash('sha256').update(STEREOSET_BYTES).digest('hex');
/** What `git hash-object` prints: sha1 over "blob <size>\0" + content, computed here independently. */
const STEREOSET_BLOB_ID = createHash('sha1')
  .update(Buffer.concat([Buffer.from(`blob ${STEREOSET_BYTES.length}\0`), STEREOSET_BYTES]))
  .digest('hex');
const LFS_POINTER = 'version https://git-lfs.github.com/spec/v1\noid sha256:0000\nsize 12\n';

let server: Server;
let origin: string;
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    requests.push(request.url ?? '');
    if (request.url === '/data/dev.json') response.writeHead(200, { 'content-type': 'application/json' }).end(STEREOSET_BYTES);
    else if (request.url === '/lfs/dev.json') response.writeHead(200).end(LFS_POINTER);
    else response.writeHead(404, 'Not Found').end('no such file');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
});

function localSource(overrides: Partial<BenchmarkSource> = {}): BenchmarkSource {
  return {
    name: 'StereoSet dev.json (test copy)',
    url: `${origin}/data/dev.json`,
    sha256: STEREOSET_SHA256,
    revision: 'local test server',
    license: 'CC BY-SA 4.0',
    ...overrides,
  };
}

/** The InputError `promise` rejects with (fails the test for anything else). */
async function inputErrorFrom(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe('obtainBenchmarkFile', () => {
  it('downloads once, then serves verified cache hits without a request, and repairs a corrupted cache file', async () => {
    const cacheDir = await createTempDir();
    const progress: string[] = [];
    const options = { cacheDir, onProgress: (message: string) => progress.push(message) };
    const before = requests.length;

    const first = await obtainBenchmarkFile(localSource(), options);
    expect(first).toEqual({ path: join(cacheDir, STEREOSET_SHA256, 'dev.json'), sha256: STEREOSET_SHA256, fromCache: false, from: `${origin}/data/dev.json` });
    expect(requests.length - before).toBe(1);
    expect(await readFile(first.path)).toEqual(STEREOSET_BYTES);
    expect(parseStereoSet(await readFile(first.path, 'utf8'), 'dev.json').clusters).toHaveLength(1);
    expect(progress[0]).toMatch(/^Downloading StereoSet dev\.json \(test copy\) from http:\/\/127\.0\.0\.1:\d+\/data\/dev\.json$/);

    const second = await obtainBenchmarkFile(localSource(), options);
    expect(second).toEqual({ ...first, fromCache: true, from: null });
    expect(requests.length - before).toBe(1);

    await writeFile(first.path, 'corrupted');
    const third = await obtainBenchmarkFile(localSource(), options);
    expect(third).toEqual(first);
    expect(requests.length - before).toBe(2);
    expect(await readFile(first.path)).toEqual(STEREOSET_BYTES);
    expect(progress.some((line) => /is corrupt \(expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}\)/.test(line))).toBe(true);
    // Nothing but the verified file is left in the cache (no .part files).
    expect(await readdir(join(cacheDir, STEREOSET_SHA256))).toEqual(['dev.json']);
  });

  it('rejects bytes that do not match the pinned sha256, naming the URL and both hashes, and caches nothing', async () => {
    const cacheDir = await createTempDir();
    const wrong = 'a'.repeat(64);
    const error = await inputErrorFrom(obtainBenchmarkFile(localSource({ sha256: wrong }), { cacheDir }));
    expect(error.message).toContain(`${origin}/data/dev.json`);
    expect(error.message).toContain(`expected sha256 ${wrong}, got ${STEREOSET_SHA256}`);
    expect(await readdir(join(cacheDir, wrong))).toEqual([]);
  });

  it('verifies by git blob id where no sha256 is pinned, and caches under the blob id', async () => {
    const cacheDir = await createTempDir();
    const source = localSource({ sha256: undefined, gitBlobId: STEREOSET_BLOB_ID });
    const obtained = await obtainBenchmarkFile(source, { cacheDir });
    expect(obtained).toEqual({ path: join(cacheDir, STEREOSET_BLOB_ID, 'dev.json'), sha256: STEREOSET_SHA256, fromCache: false, from: `${origin}/data/dev.json` });
    expect((await obtainBenchmarkFile(source, { cacheDir })).fromCache).toBe(true);

    const wrongBlob = 'b'.repeat(40);
    const error = await inputErrorFrom(obtainBenchmarkFile(localSource({ sha256: undefined, gitBlobId: wrongBlob }), { cacheDir }));
    expect(error.message).toContain(`expected git blob id ${wrongBlob}, got ${STEREOSET_BLOB_ID}`);
  });

  it('turns an HTTP error into an InputError naming the URL and pointing to a local path:', async () => {
    const cacheDir = await createTempDir();
    const error = await inputErrorFrom(obtainBenchmarkFile(localSource({ url: `${origin}/missing/dev.json` }), { cacheDir }));
    expect(error.message).toBe(`Could not download StereoSet dev.json (test copy) from ${origin}/missing/dev.json: HTTP 404 Not Found`);
    expect(error.hint).toMatch(/set path: to it/);
  });

  it('turns a network failure into an InputError naming the URL', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const url = `http://127.0.0.1:${port}/data/dev.json`;
    const error = await inputErrorFrom(obtainBenchmarkFile(localSource({ url }), { cacheDir: await createTempDir(), retryDelayMs: 1 }));
    expect(error.message).toMatch(new RegExp(`^Could not download .* from ${url.replace(/\./g, '\\.')}: .*ECONNREFUSED.* \\(after 4 attempts\\)$`));
    expect(error.hint).toMatch(/path:/);
  });

  it('passes its own fetch through, and rejects a Git LFS pointer in place of the data', async () => {
    const cacheDir = await createTempDir();
    const pointerBlob = gitBlobId(Buffer.from(LFS_POINTER));
    // Pinned by the pointer's own blob id, as a git tree would list an LFS-tracked file.
    const source = localSource({ url: `${origin}/lfs/dev.json`, sha256: undefined, gitBlobId: pointerBlob });
    const fetched: string[] = [];
    const countingFetch: typeof fetch = (input, init) => {
      fetched.push(String(input));
      return fetch(input, init);
    };
    const error = await inputErrorFrom(obtainBenchmarkFile(source, { cacheDir, fetch: countingFetch }));
    expect(error.message).toBe(`${origin}/lfs/dev.json served a Git LFS pointer, not StereoSet dev.json (test copy)`);
    expect(fetched).toEqual([`${origin}/lfs/dev.json`]);
  });
});

describe('gitBlobId', () => {
  it('is the sha1 of "blob <size>\\0" + content, as git hash-object prints', () => {
    expect(gitBlobId(new Uint8Array())).toBe('e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
    expect(gitBlobId(STEREOSET_BYTES)).toBe(STEREOSET_BLOB_ID);
    // `printf 'hello\n' | git hash-object --stdin`
    expect(gitBlobId(Buffer.from('hello\n'))).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
  });
});

describe('verifyLocalFile', () => {
  it('returns the sha256 of a matching file and rejects a mismatch or a missing file', async () => {
    const dir = await createTempDir();
    const path = join(dir, 'dev.json');
    await writeFile(path, STEREOSET_BYTES);
    expect(await verifyLocalFile(path)).toEqual({ path, sha256: STEREOSET_SHA256 });
    expect(await verifyLocalFile(path, { sha256: STEREOSET_SHA256.toUpperCase(), gitBlobId: STEREOSET_BLOB_ID })).toEqual({
      path,
      sha256: STEREOSET_SHA256,
    });

    const wrong = 'c'.repeat(64);
    const mismatch = await inputErrorFrom(verifyLocalFile(path, { sha256: wrong }, 'benchmarks/dev.json'));
    expect(mismatch.message).toBe(
      `Benchmark file benchmarks/dev.json does not match the configured checksum: expected sha256 ${wrong}, got ${STEREOSET_SHA256}`,
    );
    const missing = await inputErrorFrom(verifyLocalFile(join(dir, 'absent.json'), {}, 'benchmarks/absent.json'));
    expect(missing.message).toMatch(/^Benchmark file benchmarks\/absent\.json cannot be read \(ENOENT/);
  });
});

describe('BENCHMARK_SOURCES', () => {
  it('pins every file to a commit and a checksum', () => {
    for (const source of Object.values(BENCHMARK_SOURCES)) {
      expect(source.url).toMatch(/^https:\/\/raw\.githubusercontent\.com\/[^/]+\/[^/]+\/[0-9a-f]{40}\//);
      expect(source.sha256 ?? source.gitBlobId).toBeDefined();
      if (source.sha256 !== undefined) expect(source.sha256).toMatch(/^[0-9a-f]{64}$/);
      if (source.gitBlobId !== undefined) expect(source.gitBlobId).toMatch(/^[0-9a-f]{40}$/);
    }
    expect(BENCHMARK_SOURCES['stereoset-test'].sha256).toBeUndefined();
    expect(BENCHMARK_SOURCES['stereoset-test'].gitBlobId).toBe('dc0204cca28144732f14cb2466ffdb87c86ca5ec');
  });

  it.skipIf(!shared)('matches the copies under $BIAS_GATE_SHARED/benchmarks by sha256 and git blob id', async () => {
    for (const [id, file] of [
      ['crows-pairs', 'crows-pairs/crows_pairs_anonymized.csv'],
      ['wikitext-2-test', 'wikitext-2/test.txt'],
    ] as const) {
      const source = BENCHMARK_SOURCES[id];
      const verified = await verifyLocalFile(join(shared ?? '', 'benchmarks', file), source);
      expect(verified.sha256).toBe(source.sha256);
      expect((await readFile(verified.path)).length).toBe(source.bytes);
    }
  });
});

describe('obtainBenchmarkFile through a mirror (BIAS_GATE_MIRROR / sources.mirror)', () => {
  const pinned = (overrides: Partial<BenchmarkSource> = {}) =>
    localSource({ url: 'https://raw.githubusercontent.com/moinnadeem/StereoSet/abc123/data/dev.json', revision: 'moinnadeem/StereoSet@abc123', ...overrides });

  it('reads the file from the mirror URL under <owner>/<repo>/<commit>/<path>, never from the origin', async () => {
    const mirrorServer = createServer((request, response) => {
      requests.push(`mirror:${request.url}`);
      if (request.url === '/raw/moinnadeem/StereoSet/abc123/data/dev.json') response.writeHead(200).end(STEREOSET_BYTES);
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => mirrorServer.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(mirrorServer.address() as AddressInfo).port}/raw`;
      const fetched: string[] = [];
      const recordingFetch: typeof fetch = (input, init) => (fetched.push(String(input)), fetch(input, init));
      const obtained = await obtainBenchmarkFile(pinned(), { cacheDir: await createTempDir(), fetch: recordingFetch, mirror: parseMirror(base, '/', 'BIAS_GATE_MIRROR') });
      expect(obtained).toMatchObject({ sha256: STEREOSET_SHA256, fromCache: false, from: `${base}/moinnadeem/StereoSet/abc123/data/dev.json` });
      expect(fetched).toEqual([`${base}/moinnadeem/StereoSet/abc123/data/dev.json`]);
    } finally {
      await new Promise<void>((resolve) => mirrorServer.close(() => resolve()));
    }
  });

  it('copies from a mirror directory with the same checks, and a wrong file there is a checksum error naming its path', async () => {
    const mirror = await createTempDir();
    const file = join(mirror, 'moinnadeem/StereoSet/abc123/data/dev.json');
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, STEREOSET_BYTES);
    const options = { cacheDir: await createTempDir(), mirror: parseMirror(mirror, '/', 'sources.mirror') as Mirror };
    expect(await obtainBenchmarkFile(pinned(), options)).toMatchObject({ sha256: STEREOSET_SHA256, from: file });
    const error = await inputErrorFrom(obtainBenchmarkFile(pinned({ sha256: '0'.repeat(64) }), { ...options, cacheDir: await createTempDir() }));
    expect(error.message).toBe(`StereoSet dev.json (test copy) downloaded from ${file} does not match its pinned checksum: expected sha256 ${'0'.repeat(64)}, got ${STEREOSET_SHA256}`);
    const missing = await inputErrorFrom(obtainBenchmarkFile(pinned({ url: 'https://raw.githubusercontent.com/o/r/c/absent.json' }), options));
    expect(missing.message).toBe(`Could not download StereoSet dev.json (test copy) from ${join(mirror, 'o/r/c/absent.json')}: no such file`);
    expect(missing.hint).toMatch(/The mirror in use is .* \(set by sources\.mirror\); its layout is <mirror>\/<owner>\/<repo>\/<commit>\/<path>\.$/);
  });

  it('retries a transient HTTP failure with backoff, and does not retry a 403', async () => {
    let calls = 0;
    const flaky: typeof fetch = async () => (++calls < 3 ? new Response('busy', { status: 503, statusText: 'Service Unavailable' }) : new Response(STEREOSET_BYTES));
    const progress: string[] = [];
    const obtained = await obtainBenchmarkFile(localSource(), { cacheDir: await createTempDir(), fetch: flaky, retryDelayMs: 1, onProgress: (m) => progress.push(m) });
    expect(obtained.sha256).toBe(STEREOSET_SHA256);
    expect(calls).toBe(3);
    expect(progress.filter((m) => m.includes('retrying'))).toHaveLength(2);

    let forbidden = 0;
    const denying: typeof fetch = async () => (forbidden++, new Response('no', { status: 403, statusText: 'Forbidden' }));
    const error = await inputErrorFrom(obtainBenchmarkFile(localSource(), { cacheDir: await createTempDir(), fetch: denying, retryDelayMs: 1 }));
    expect(error.message).toMatch(/: HTTP 403 Forbidden$/);
    expect(forbidden).toBe(1);
  });
});
