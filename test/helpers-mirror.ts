import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { BUILTIN_REFERENCE_SETS } from '../src/vision/builtin-sets.ts';

/**
 * A loopback stand-in for an internal mirror of raw.githubusercontent.com: serves
 * `/<owner>/<repo>/<commit>/analysis_sets/oi_png/<set_dir>/<id>%0A.png` from the shared copy
 * `$BIAS_GATE_SHARED/reference-sets/openimages-analysis/<set_dir>/<id>.png` (whose names lost the
 * newline), 404 for anything else. Counts requests; `failFirst` answers each path's first request
 * with a 503 to exercise the retries.
 */
export async function startReferenceSetMirror(shared: string, options: { failFirst?: boolean } = {}): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const definition = BUILTIN_REFERENCE_SETS['openimages-analysis'];
  const prefix = `/${definition.repository}/${definition.commit}/${definition.folder}/`;
  const directory = path.join(shared, 'reference-sets/openimages-analysis');
  const requests: string[] = [];
  const seen = new Set<string>();
  const server: Server = createServer((request, response) => {
    const url = request.url ?? '';
    requests.push(url);
    const match = url.startsWith(prefix) ? /^([a-z_]+)\/([0-9a-f]{16})%0A\.png$/.exec(url.slice(prefix.length)) : null;
    if (!match) return void response.writeHead(404).end('not in this mirror');
    if (options.failFirst && !seen.has(url)) {
      seen.add(url);
      return void response.writeHead(503, 'Service Unavailable').end('try again');
    }
    readFile(path.join(directory, match[1]!, `${match[2]!}.png`)).then(
      (bytes) => response.writeHead(200, { 'content-type': 'image/png' }).end(bytes),
      () => response.writeHead(404).end('not in this mirror'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

/** The manifest files the shared copy holds (its MANIFEST.csv's `in_subset`), as `<set_dir>/<id>`: the first 20 per set by name. */
export async function sharedSubset(shared: string): Promise<Set<string>> {
  const csv = await readFile(path.join(shared, 'reference-sets/openimages-analysis/MANIFEST.csv'), 'utf8');
  const subset = new Set<string>();
  for (const line of csv.split('\n').slice(1)) {
    const match = /oi_png\/([a-z_]+)\/([0-9a-f]{16})\\n\.png/.exec(line);
    if (match && line.endsWith(',1')) subset.add(`${match[1]}/${match[2]}`);
  }
  return subset;
}
