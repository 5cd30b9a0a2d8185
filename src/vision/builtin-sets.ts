import path from 'node:path';
import type { BuiltinReferenceSetsConfig, ItemListName } from '../config/types.ts';
import type { Mirror } from '../artifacts/mirror.ts';
import { mapConcurrently } from '../concurrency.ts';
import { obtainBenchmarkFile, type BenchmarkSource } from '../language/datasets/fetch.ts';
import { seededRng } from '../stats/rng.ts';
import manifest from './builtin/openimages-analysis.json' with { type: 'json' };
import type { SimilarityItem } from './items.ts';
import { parseSetName } from './reference-sets.ts';
import type { ReferenceSet } from './types.ts';

/**
 * Built-in reference sets: a manifest of checksums ships with bias-gate (never the images), and
 * the images are downloaded at the pinned commit, verified by git blob id and sha256, and cached
 * like the benchmark files (language/datasets/fetch.ts). docs/reference-sets.md describes them.
 */

/** One file of a built-in set, as the manifest lists it. */
export interface BuiltinFile {
  /** The authors' folder name: `car_man`, `stop_sign`. */
  setDir: string;
  /** bias-gate's set name: `car+man`, `stop sign`. */
  set: string;
  /** The image id (the file name without the trailing newline and `.png`). */
  id: string;
  gitBlobId: string;
  sha256: string;
  bytes: number;
  /** The path in the source repository, with the newline the authors' names end in. */
  repoPath: string;
  /** The raw.githubusercontent.com address at the pinned commit (`%0A` for the newline). */
  url: string;
}

/** A built-in set: where it comes from, its files, and the authors' item lists for it. */
export interface BuiltinReferenceSetDefinition {
  name: BuiltinReferenceSetsConfig['name'];
  description: string;
  /** `owner/name` on GitHub. */
  repository: string;
  /** The pinned commit every file is fetched at. */
  commit: string;
  /** The folder of the sets in the repository. */
  folder: string;
  /** Every file of the source folder, in manifest order (by folder, then id), empty ones included. */
  files: BuiltinFile[];
  /** The objects, in the authors' order. */
  objects: string[];
  /** The authors' item lists in their order, with the slips of their config fixed (docs/reference-sets.md). */
  itemLists: Record<ItemListName, SimilarityItem[]>;
  license: string;
}

/**
 * The authors' folder names as bias-gate set names: `car_man` → `car+man`, `stop_sign` → `stop sign`.
 * (A local directory reads `_` as a space, so a copy of the images is named `car+man/`, `stop_sign/`.)
 */
export function builtinSetName(setDir: string): string {
  return parseSetName(setDir.replace(/_(man|woman)$/, '+$1')).name;
}

const inter = (first: string, second: string): SimilarityItem => ({ kind: 'inter', first, second });
const intra = (set: string): SimilarityItem => ({ kind: 'intra', set });

/**
 * `MISC_PLOTS` of the authors' `config/openimages.yaml` at the pinned commit (`stopsign` is `stop sign`).
 * Their `COMPS` table resolves `mammal+man vs mammal` and `mammal+woman vs mammal` to the *sports*
 * set (`['mm', 'sa']`, `['mw', 'sa']`); the labels say mammal, so bias-gate uses mammal.
 */
const OPENIMAGES_ITEM_LISTS: Record<ItemListName, SimilarityItem[]> = {
  object: [
    ...['sports', 'mammal', 'fashion', 'car'].flatMap((o) => [inter(o, 'man'), inter(o, 'woman'), inter(o, 'random')]),
    inter('stop sign', 'man'), inter('stop sign', 'woman'), inter('random', 'man'), inter('random', 'woman'),
  ],
  pairs: [...['sports', 'car', 'fashion', 'mammal'].flatMap((o) => [intra(`${o}+man`), intra(`${o}+woman`)]), intra('random')],
  indiv: ['sports', 'fashion', 'mammal', 'car', 'random', 'stop sign', 'man', 'woman'].map(intra),
  comps: [...['sports', 'car', 'fashion', 'mammal'].flatMap((o) => [inter(`${o}+man`, o), inter(`${o}+woman`, o), inter(o, 'random')]), intra('random')],
};

function openImagesAnalysis(): BuiltinReferenceSetDefinition {
  const [suffix, encodedSuffix] = [manifest.fileNameSuffix, encodeURIComponent(manifest.fileNameSuffix)];
  const files = (manifest.files as [string, string, string, string, number][]).map(([setDir, id, gitBlobId, sha256, bytes]) => {
    const repoPath = `${manifest.folder}/${setDir}/${id}${suffix}`;
    const url = `https://raw.githubusercontent.com/${manifest.repository}/${manifest.commit}/${manifest.folder}/${setDir}/${id}${encodedSuffix}`;
    return { setDir, set: builtinSetName(setDir), id, gitBlobId, sha256, bytes, repoPath, url };
  });
  return {
    name: 'openimages-analysis',
    description: manifest.description,
    repository: manifest.repository,
    commit: manifest.commit,
    folder: manifest.folder,
    files,
    objects: ['sports', 'mammal', 'fashion', 'car'],
    itemLists: OPENIMAGES_ITEM_LISTS,
    // SOURCE.md: no licence file in the repository; the images are Open Images (CC BY 2.0 per image).
    license: 'images: Open Images, CC BY 2.0 (each image\'s Flickr author); the source repository has no licence file',
  };
}

/** The built-in sets by name. */
export const BUILTIN_REFERENCE_SETS: Readonly<Record<BuiltinReferenceSetsConfig['name'], BuiltinReferenceSetDefinition>> = {
  'openimages-analysis': openImagesAnalysis(),
};

/** Simultaneous downloads: enough to hide latency, few enough to be polite to the origin. */
export const BUILTIN_DOWNLOAD_CONCURRENCY = 8;

/** What the audit record keeps of a built-in set (`VisionRun.referenceSets.builtin`). */
export interface BuiltinReferenceSetsRecord {
  name: string;
  repository: string;
  commit: string;
  folder: string;
  license: string;
  /** Where the files were read: `origin` (raw.githubusercontent.com) or the mirror, and which setting chose it. */
  mirror: { kind: Mirror['kind']; location: string; setBy: Mirror['setBy'] } | null;
  selection: { maxPerSet: number | null; seed: number; rule: string };
  /** Per set: files in the source, usable (non-empty), used. */
  counts: { set: string; folder: string; files: number; usable: number; used: number }[];
  /** Source files left out because they are empty (0 bytes), by repository path. */
  leftOut: { path: string; reason: string }[];
  /** Every file used: its path in the source repository, checksums, and where its bytes were read this run (URL or mirror path; null: a verified cache hit). */
  files: { set: string; path: string; gitBlobId: string; sha256: string; from: string | null; fromCache: boolean }[];
}

export interface BuiltinLoadOptions {
  /** Verified downloads, by checksum (the benchmark files' cache). */
  cacheDir: string;
  mirror: Mirror | undefined;
  progress: (message: string) => void;
  fetch?: typeof fetch;
  retryDelayMs?: number;
  /**
   * Tests only: keep just the manifest files this accepts, before `max_per_set` (the shared test
   * copy holds 20 images per set). Recorded in the selection rule, never set by users.
   */
  restrictManifest?: (file: BuiltinFile) => boolean;
}

/** The rule `max_per_set` chooses by, as recorded and documented. */
const SELECTION_RULE = 'per set: the non-empty files in manifest order, shuffled (Fisher–Yates, MT19937 seeded with seed), first max_per_set kept, used in manifest order';

/**
 * The images `config` asks for: the non-empty files of every set, or with `max_per_set` the first N
 * of each set's seeded shuffle (a fresh generator per set, so one set's choice never depends on
 * another's size), in manifest order.
 */
export function selectBuiltinFiles(definition: BuiltinReferenceSetDefinition, config: BuiltinReferenceSetsConfig, restrict?: (file: BuiltinFile) => boolean): { used: BuiltinFile[]; leftOut: BuiltinFile[] } {
  const leftOut = definition.files.filter((file) => file.bytes === 0);
  const used: BuiltinFile[] = [];
  for (const setDir of [...new Set(definition.files.map((file) => file.setDir))]) {
    const usable = definition.files.filter((file) => file.setDir === setDir && file.bytes > 0 && (restrict?.(file) ?? true));
    if (config.maxPerSet === undefined || usable.length <= config.maxPerSet) {
      used.push(...usable);
      continue;
    }
    const chosen = new Set(seededRng(config.seed).shuffle([...usable]).slice(0, config.maxPerSet));
    used.push(...usable.filter((file) => chosen.has(file)));
  }
  return { used, leftOut };
}

/**
 * Downloads (or finds in the cache, verified again) the images of a built-in set, 8 at a time with
 * retries, and returns them as reference sets with the audit record. An image is named
 * `<name>/<set folder>/<id>.png` (`openimages-analysis/car+man/0a1b….png`): the path a local copy of
 * the set in the repository would have, so such a copy scores and hashes identically.
 */
export async function loadBuiltinReferenceSets(config: BuiltinReferenceSetsConfig, options: BuiltinLoadOptions): Promise<{ sets: ReferenceSet[]; record: BuiltinReferenceSetsRecord }> {
  const definition = BUILTIN_REFERENCE_SETS[config.name];
  const { used, leftOut } = selectBuiltinFiles(definition, config, options.restrictManifest);
  const where = options.mirror ? `mirror ${options.mirror.location}` : `${definition.repository}@${definition.commit.slice(0, 7)}`;
  options.progress(`reference sets ${definition.name}: ${used.length} images in ${new Set(used.map((f) => f.set)).size} sets from ${where} (cache ${options.cacheDir})`);
  let done = 0;
  let fromCache = 0;
  const obtained = await mapConcurrently(used, BUILTIN_DOWNLOAD_CONCURRENCY, async (file) => {
    const result = await obtainBenchmarkFile(sourceOf(definition, file), {
      cacheDir: options.cacheDir,
      mirror: options.mirror,
      fetch: options.fetch,
      retryDelayMs: options.retryDelayMs,
      // Per-file lines would be thousands; retries and repairs still get through.
      onProgress: (message) => !message.startsWith('Downloading') && !message.startsWith('Verified') && options.progress(message),
    });
    done++;
    if (result.fromCache) fromCache++;
    if (done % 100 === 0 || done === used.length) options.progress(`reference sets ${definition.name}: ${done}/${used.length} images verified (${fromCache} from cache)`);
    return result;
  });

  const bySet = new Map<string, ReferenceSet>();
  used.forEach((file, k) => {
    const set = bySet.get(file.set) ?? { ...parseSetName(file.set), images: [] };
    set.images.push({ path: obtained[k]!.path, relativePath: displayPath(definition, file) });
    bySet.set(file.set, set);
  });
  const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const sets = [...bySet.values()].sort((a, b) => compare(a.name, b.name));
  for (const set of sets) set.images.sort((a, b) => compare(a.relativePath, b.relativePath));

  const setDirs = [...new Set(definition.files.map((file) => file.setDir))];
  const record: BuiltinReferenceSetsRecord = {
    name: definition.name,
    repository: definition.repository,
    commit: definition.commit,
    folder: definition.folder,
    license: definition.license,
    mirror: options.mirror ? { kind: options.mirror.kind, location: options.mirror.location, setBy: options.mirror.setBy } : null,
    selection: { maxPerSet: config.maxPerSet ?? null, seed: config.seed, rule: options.restrictManifest ? `${SELECTION_RULE}; manifest restricted by a test hook` : SELECTION_RULE },
    counts: setDirs.map((setDir) => {
      const files = definition.files.filter((file) => file.setDir === setDir);
      return { set: builtinSetName(setDir), folder: setDir, files: files.length, usable: files.filter((f) => f.bytes > 0).length, used: used.filter((f) => f.setDir === setDir).length };
    }),
    leftOut: leftOut.map((file) => ({ path: file.repoPath, reason: 'empty file (0 bytes) in the source repository' })),
    files: used.map((file, k) => ({ set: file.set, path: file.repoPath, gitBlobId: file.gitBlobId, sha256: file.sha256, from: obtained[k]!.from, fromCache: obtained[k]!.fromCache })),
  };
  return { sets, record };
}

/** `openimages-analysis/car+man/0a1b….png`: the repository path of a local copy (see loadBuiltinReferenceSets). */
function displayPath(definition: BuiltinReferenceSetDefinition, file: BuiltinFile): string {
  const folder = file.set === 'stop sign' ? file.setDir : file.set;
  return `${definition.name}/${folder}/${file.id}.png`;
}

function sourceOf(definition: BuiltinReferenceSetDefinition, file: BuiltinFile): BenchmarkSource {
  return {
    name: `reference image ${file.setDir}/${file.id}.png of ${definition.name}`,
    url: file.url,
    sha256: file.sha256,
    gitBlobId: file.gitBlobId,
    bytes: file.bytes,
    revision: `${definition.repository}@${definition.commit}`,
    license: definition.license,
    // The same id may sit in two sets (e.g. random and mammal_man): one cache file per set, as a local copy has.
    cacheName: `${file.setDir}-${file.id}.png`,
    hint: `Check the network, or copy the images of ${definition.repository} at ${definition.commit} into the repository and give reference_sets their path (docs/reference-sets.md).`,
  };
}

/** For tests and docs: where a file lives under a mirror directory, newline kept (`…/<id>\n.png`). */
export function mirrorPathOf(definition: BuiltinReferenceSetDefinition, file: BuiltinFile): string {
  return path.posix.join(definition.repository, definition.commit, file.repoPath);
}
