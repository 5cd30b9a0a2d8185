import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMirror } from '../../src/artifacts/mirror.ts';
import { gitBlobId } from '../../src/language/datasets/fetch.ts';
import { BUILTIN_REFERENCE_SETS, builtinSetName, loadBuiltinReferenceSets, mirrorPathOf, selectBuiltinFiles, type BuiltinFile } from '../../src/vision/builtin-sets.ts';
import { buildItemList, itemLabel } from '../../src/vision/items.ts';
import { createTempDir, inputErrorOf, sharedDirFor } from '../helpers.ts';
import { sharedSubset, startReferenceSetMirror } from '../helpers-mirror.ts';

const openImages = BUILTIN_REFERENCE_SETS['openimages-analysis'];
const config = (maxPerSet?: number, seed = 1) => ({ name: 'openimages-analysis' as const, maxPerSet, seed });

describe('the openimages-analysis manifest', () => {
  it('pins 1,925 files in 16 sets of the authors\' repository at e3c9e71, three of them empty', () => {
    expect(openImages.repository).toBe('uvavision/bias-pretrained-vision-models');
    expect(openImages.commit).toBe('e3c9e715dc630a5caf5581a6b8d57aaf3f8d4a3f');
    expect(openImages.files).toHaveLength(1925);
    expect(new Set(openImages.files.map((f) => f.setDir)).size).toBe(16);
    const empty = openImages.files.filter((f) => f.bytes === 0);
    expect(empty.map((f) => `${f.setDir}/${f.id}`)).toEqual(['fashion/cf0b02ccf0961130', 'fashion_man/ad8a5f8704a897c7', 'mammal_man/615d353bd6fa0705']);
    // The empty blob: `git hash-object /dev/null`.
    for (const file of empty) expect(file.gitBlobId).toBe(gitBlobId(new Uint8Array()));
  });

  it('keeps the newline every source name ends in: in the repository path, and as %0A in the URL', () => {
    const file = openImages.files.find((f) => f.setDir === 'car' && f.id === '0119db1a3ebc3f65')!;
    expect(file.repoPath).toBe('analysis_sets/oi_png/car/0119db1a3ebc3f65\n.png');
    expect(file.url).toBe('https://raw.githubusercontent.com/uvavision/bias-pretrained-vision-models/e3c9e715dc630a5caf5581a6b8d57aaf3f8d4a3f/analysis_sets/oi_png/car/0119db1a3ebc3f65%0A.png');
    expect(mirrorPathOf(openImages, file)).toBe('uvavision/bias-pretrained-vision-models/e3c9e715dc630a5caf5581a6b8d57aaf3f8d4a3f/analysis_sets/oi_png/car/0119db1a3ebc3f65\n.png');
  });

  it('names the authors\' folders as bias-gate sets: car_man → car+man, stop_sign → stop sign', () => {
    expect(builtinSetName('car_man')).toBe('car+man');
    expect(builtinSetName('fashion_woman')).toBe('fashion+woman');
    expect(builtinSetName('stop_sign')).toBe('stop sign');
    expect(builtinSetName('random')).toBe('random');
    expect([...new Set(openImages.files.map((f) => f.set))].sort()).toEqual(
      ['car', 'car+man', 'car+woman', 'fashion', 'fashion+man', 'fashion+woman', 'mammal', 'mammal+man', 'mammal+woman', 'man', 'random', 'sports', 'sports+man', 'sports+woman', 'stop sign', 'woman'],
    );
  });

  const shared = sharedDirFor('the check of the shipped manifest against the shared MANIFEST.csv');
  it.skipIf(!shared)('equals the audited MANIFEST.csv of the shared copy, row for row', async () => {
    const rows = parseCsv(await readFile(path.join(shared!, 'reference-sets/openimages-analysis/MANIFEST.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    const shipped = new Map(openImages.files.map((f) => [`${openImages.folder}/${f.setDir}/${f.id}\n.png`, f]));
    expect(rows).toHaveLength(shipped.size);
    for (const row of rows) {
      const file = shipped.get(JSON.parse(row.repo_path_json!) as string)!;
      expect([file.setDir, file.gitBlobId, file.sha256, file.bytes]).toEqual([row.set_dir, row.git_blob, row.sha256, Number(row.bytes)]);
    }
  });
});

describe('the authors\' item lists', () => {
  const context = { objects: openImages.objects, setNames: new Set(openImages.files.map((f) => f.set)) };
  const labels = (list: 'object' | 'pairs' | 'indiv' | 'comps', declared: boolean) =>
    buildItemList(list, declared ? { ...context, declared: openImages.itemLists } : context).map(itemLabel);

  it('object: 16 items, sports, mammal, fashion, car against man, woman and random, then the controls', () => {
    expect(openImages.objects).toEqual(['sports', 'mammal', 'fashion', 'car']);
    expect(labels('object', true)).toEqual([
      'inter(sports, man)', 'inter(sports, woman)', 'inter(sports, random)', 'inter(mammal, man)', 'inter(mammal, woman)', 'inter(mammal, random)',
      'inter(fashion, man)', 'inter(fashion, woman)', 'inter(fashion, random)', 'inter(car, man)', 'inter(car, woman)', 'inter(car, random)',
      'inter(stop sign, man)', 'inter(stop sign, woman)', 'inter(random, man)', 'inter(random, woman)',
    ]);
  });

  it('pairs (9), indiv (8) and comps (13) in the authors\' order; comps pairs mammal+gender with mammal, not sports', () => {
    expect(labels('pairs', true)).toEqual(['sports+man', 'sports+woman', 'car+man', 'car+woman', 'fashion+man', 'fashion+woman', 'mammal+man', 'mammal+woman', 'random'].map((s) => `intra(${s})`));
    expect(labels('indiv', true)).toEqual(['sports', 'fashion', 'mammal', 'car', 'random', 'stop sign', 'man', 'woman'].map((s) => `intra(${s})`));
    const comps = labels('comps', true);
    expect(comps).toHaveLength(13);
    expect(comps.slice(9)).toEqual(['inter(mammal+man, mammal)', 'inter(mammal+woman, mammal)', 'inter(mammal, random)', 'intra(random)']);
  });

  it('hold the same items as the generic lists over these objects, only ordered as the authors had them', () => {
    for (const list of ['object', 'pairs', 'indiv', 'comps'] as const) expect([...labels(list, true)].sort()).toEqual([...labels(list, false)].sort());
  });
});

describe('max_per_set', () => {
  it('takes the first N of a seeded shuffle of each set, in manifest order, never an empty file', () => {
    const { used, leftOut } = selectBuiltinFiles(openImages, config(10, 7));
    expect(leftOut).toHaveLength(3);
    const bySet = new Map<string, BuiltinFile[]>();
    for (const file of used) bySet.set(file.setDir, [...(bySet.get(file.setDir) ?? []), file]);
    expect(bySet.size).toBe(16);
    for (const [setDir, files] of bySet) {
      expect(files).toHaveLength(10);
      const order = openImages.files.filter((f) => f.setDir === setDir);
      expect(files.map((f) => order.indexOf(f))).toEqual(files.map((f) => order.indexOf(f)).sort((a, b) => a - b));
      expect(files.every((f) => f.bytes > 0)).toBe(true);
    }
    // Repeatable, and another seed draws other images.
    expect(selectBuiltinFiles(openImages, config(10, 7)).used).toEqual(used);
    expect(selectBuiltinFiles(openImages, config(10, 8)).used).not.toEqual(used);
  });

  it('keeps every usable image of a set no larger than N, and all 1,922 without max_per_set', () => {
    expect(selectBuiltinFiles(openImages, config()).used).toHaveLength(1922);
    const small = selectBuiltinFiles(openImages, config(40)).used;
    expect(small.filter((f) => f.setDir === 'stop_sign')).toHaveLength(22);
    expect(small.filter((f) => f.setDir === 'car_woman')).toHaveLength(40);
  });

  it('chooses a set\'s images independently of the other sets', () => {
    const all = selectBuiltinFiles(openImages, config(5, 3)).used.filter((f) => f.setDir === 'man');
    const onlyMan = selectBuiltinFiles(openImages, config(5, 3), (f) => f.setDir === 'man' || f.setDir === 'woman').used.filter((f) => f.setDir === 'man');
    expect(onlyMan).toEqual(all);
  });
});

const shared = sharedDirFor('the built-in reference set download test (loopback mirror of the shared copy)');
describe.skipIf(!shared)('loadBuiltinReferenceSets from a loopback mirror', () => {
  let mirror: Awaited<ReturnType<typeof startReferenceSetMirror>>;
  let inSubset: (file: BuiltinFile) => boolean;
  beforeAll(async () => {
    mirror = await startReferenceSetMirror(shared!, { failFirst: true });
    const subset = await sharedSubset(shared!);
    inSubset = (file) => subset.has(`${file.setDir}/${file.id}`);
  });
  afterAll(() => mirror.close());

  it('downloads with retries, verifies, caches, and records where every file came from', async () => {
    const cacheDir = await createTempDir();
    const progress: string[] = [];
    const options = { cacheDir, mirror: parseMirror(mirror.url, '/', 'sources.mirror'), progress: (m: string) => progress.push(m), retryDelayMs: 1, restrictManifest: inSubset };
    const first = await loadBuiltinReferenceSets(config(3, 5), options);
    expect(first.sets).toHaveLength(16);
    expect(first.sets.every((set) => set.images.length === 3)).toBe(true);
    const carMan = first.sets.find((set) => set.name === 'car+man')!;
    expect(carMan).toMatchObject({ object: 'car', gender: 'man' });
    expect(carMan.images[0]!.relativePath).toMatch(/^openimages-analysis\/car\+man\/[0-9a-f]{16}\.png$/);
    expect(first.sets.find((set) => set.name === 'stop sign')!.images[0]!.relativePath).toMatch(/^openimages-analysis\/stop_sign\//);
    // Each of the 48 files: a 503 first, then the file (the mirror asks %0A, as raw.githubusercontent.com does).
    expect(mirror.requests.filter((r) => r.endsWith('%0A.png'))).toHaveLength(96);
    expect(progress.some((m) => /HTTP 503 Service Unavailable .* retrying/.test(m))).toBe(true);
    expect(progress.at(-1)).toBe('reference sets openimages-analysis: 48/48 images verified (0 from cache)');
    const record = first.record;
    expect(record).toMatchObject({ name: 'openimages-analysis', commit: openImages.commit, mirror: { kind: 'url', location: mirror.url, setBy: 'sources.mirror' }, selection: { maxPerSet: 3, seed: 5 } });
    expect(record.leftOut.map((f) => f.path)).toEqual(['analysis_sets/oi_png/fashion/cf0b02ccf0961130\n.png', 'analysis_sets/oi_png/fashion_man/ad8a5f8704a897c7\n.png', 'analysis_sets/oi_png/mammal_man/615d353bd6fa0705\n.png']);
    expect(record.counts.find((c) => c.folder === 'stop_sign')).toEqual({ set: 'stop sign', folder: 'stop_sign', files: 22, usable: 22, used: 3 });
    expect(record.files).toHaveLength(48);
    for (const file of record.files) {
      expect(file.from).toBe(`${mirror.url}/${encodeURIComponent(openImages.repository.split('/')[0]!)}/bias-pretrained-vision-models/${openImages.commit}/${file.path.split('/').map(encodeURIComponent).join('/')}`);
      expect(file.fromCache).toBe(false);
    }
    // The bytes on disk are the pinned ones.
    const image = carMan.images[0]!;
    const bytes = await readFile(image.path);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(record.files.find((f) => f.set === 'car+man')!.sha256);

    // Second run: verified cache hits, no request; a corrupted cache file is fetched again.
    const before = mirror.requests.length;
    await writeFile(image.path, 'corrupted');
    const second = await loadBuiltinReferenceSets(config(3, 5), options);
    expect(mirror.requests.length - before).toBe(1);
    expect(second.sets).toEqual(first.sets);
    expect(second.record.files.filter((f) => !f.fromCache)).toHaveLength(1);
    expect(second.record.files.filter((f) => f.fromCache).every((f) => f.from === null)).toBe(true);
  });

  it('reads a mirror directory too, where the newline may be dropped from the names', async () => {
    const directory = await createTempDir();
    const used = selectBuiltinFiles(openImages, config(2, 9), inSubset).used;
    for (const file of used) {
      const target = path.join(directory, path.dirname(mirrorPathOf(openImages, file)), `${file.id}.png`);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, await readFile(path.join(shared!, 'reference-sets/openimages-analysis', file.setDir, `${file.id}.png`)));
    }
    const loaded = await loadBuiltinReferenceSets(config(2, 9), { cacheDir: await createTempDir(), mirror: parseMirror(directory, '/', 'BIAS_GATE_MIRROR'), progress: () => undefined, restrictManifest: inSubset });
    expect(loaded.record.files.map((f) => f.from)).toEqual(used.map((f) => path.join(directory, path.dirname(mirrorPathOf(openImages, f)), `${f.id}.png`)));
  });

  it('fails naming the file and every place it looked when the mirror lacks it', async () => {
    const error = await inputErrorOf(
      loadBuiltinReferenceSets(config(2), { cacheDir: await createTempDir(), mirror: parseMirror(mirror.url, '/', 'sources.mirror'), progress: () => undefined, restrictManifest: (f) => f.setDir === 'car' && !inSubset(f) }),
    );
    expect(error.message).toMatch(/^Could not download reference image car\/[0-9a-f]{16}\.png of openimages-analysis: not found at http:\/\/127\.0\.0\.1:\d+\/uvavision\/.*%0A\.png \(HTTP 404 Not Found\), nor at .*[0-9a-f]{16}\.png \(HTTP 404 Not Found\)$/);
    expect(error.hint).toMatch(/The mirror in use is http:\/\/127\.0\.0\.1:\d+ \(set by sources\.mirror\)/);
  });
});
