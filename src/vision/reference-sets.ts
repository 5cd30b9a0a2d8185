import type { Dirent } from 'node:fs';
import { readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { confinementError, inspectConfined, readRegularFile } from '../artifacts/confined-file.ts';
import { jsonSyntaxProblem } from '../config/json-problem.ts';
import { isInside, toRepoRelative } from '../config/paths.ts';
import { InputError } from '../errors.ts';
import { parserMessage, shortened } from '../parser-message.ts';
import { IMAGE_EXTENSIONS } from './preprocess.ts';
import { GENDERS, type Gender, type ReferenceImage, type ReferenceSet } from './types.ts';

/** A set name as bias-gate reads it: `stop_sign` → `stop sign`; `surfboard+man` → object `surfboard`, gender `man`. */
export interface ParsedSetName {
  name: string;
  object?: string;
  gender?: Gender;
}

const LAYOUT_HINT =
  'Give a directory with one sub-directory of images per set (man/, woman/, surfboard+man/), ' +
  'or a .csv (header set,path) or .jsonl ({"set": ..., "path": ...}) manifest with paths relative to it.';

/**
 * Reads a set name (DESIGN §2 "Reference sets"): `_` stands for a space, because
 * directory names rarely carry one (`stop_sign` is the control set `stop sign`);
 * `object+gender` names a combination set. Case is kept.
 */
export function parseSetName(name: string): ParsedSetName {
  const spaced = name.replaceAll('_', ' ').replace(/\s+/g, ' ').trim();
  if (spaced === '') throw new InputError(`Reference set name '${name}' is empty`, { hint: 'Name every set, e.g. man, woman, surfboard, stop_sign.' });
  const parts = spaced.split('+').map((part) => part.trim());
  if (parts.length === 1) return { name: spaced };
  const [object, gender] = parts as [string, string];
  if (parts.length > 2 || object === '') {
    throw new InputError(`Reference set name '${name}' is not of the form object+gender`, {
      hint: 'Combination sets are named object+man or object+woman, e.g. surfboard+man.',
    });
  }
  if (!isGender(gender)) {
    throw new InputError(`Reference set '${name}': the part after '+' must be 'man' or 'woman', found '${gender}'`, {
      hint: 'Combination sets are named object+man or object+woman (lower case), e.g. surfboard+woman.',
    });
  }
  return { name: `${object}+${gender}`, object, gender };
}

function isGender(value: string): value is Gender {
  return (GENDERS as readonly string[]).includes(value);
}

/** One image as listed by the source, before the checks. */
interface ListedImage {
  /** The set name as written (directory name or manifest value). */
  setName: string;
  /** Absolute path as listed (not symlink-resolved). */
  path: string;
  /** Where it was listed, for messages: a repo-relative path, or `manifest:line`. */
  where: string;
}

/** A set found in a directory (kept so an empty one can be reported). */
interface ListedSet {
  setName: string;
  where: string;
}

/**
 * Loads the named reference sets from `source` (absolute): a directory with one
 * sub-directory of images per set, or a `.csv` / `.jsonl` manifest of `set,path` rows
 * with paths relative to the manifest. Every image must resolve, also through
 * symbolic links, inside `repoRoot` (absolute). Sets come sorted by name, images
 * by `relativePath`, so every run sees the same order.
 */
export async function loadReferenceSets(source: string, repoRoot: string): Promise<ReferenceSet[]> {
  const paths = new RepoPaths(path.resolve(repoRoot), await realpath(repoRoot));
  const sourcePath = path.resolve(source);
  const shown = paths.display(sourcePath);
  // The PR's files: only directories and regular files inside the checkout are read (confined-file.ts).
  const found = await inspectConfined(paths.root, sourcePath);
  if (found.kind === 'missing') throw new InputError(`Reference sets ${shown} do not exist`, { hint: LAYOUT_HINT });
  if (found.kind === 'outside') {
    throw new InputError(`Reference sets ${shown} escape the repository root through a symbolic link`, {
      hint: 'Keep reference images inside the repository, so base and head are scored on the same files.',
    });
  }
  if (found.kind !== 'file' && found.kind !== 'directory') throw confinementError(found, `Reference sets ${shown}`, 'a directory or a .csv/.jsonl manifest');

  let listed: { sets: ListedSet[]; images: ListedImage[] };
  if (found.kind === 'directory') {
    listed = await listDirectory(sourcePath, paths);
  } else {
    const extension = path.extname(sourcePath).toLowerCase();
    if (extension === '.csv') listed = { sets: [], images: await listCsvManifest(sourcePath, found.real, shown) };
    else if (extension === '.jsonl') listed = { sets: [], images: await listJsonlManifest(sourcePath, found.real, shown) };
    else throw new InputError(`Reference sets ${shown} is neither a directory nor a .csv/.jsonl manifest`, { hint: LAYOUT_HINT });
    if (listed.images.length === 0) throw new InputError(`Reference-set manifest ${shown} lists no images`, { hint: LAYOUT_HINT });
  }
  return assembleSets(listed.sets, listed.images, paths);
}

/** Repository root as given and as resolved, for checks (real) and for display (as given). */
class RepoPaths {
  constructor(
    readonly root: string,
    readonly realRoot: string,
  ) {}

  /** Repo-relative when inside the root, absolute otherwise. */
  display(absolute: string): string {
    return isInside(this.root, absolute) ? toRepoRelative(this.root, absolute) || '.' : absolute;
  }
}

async function listDirectory(directory: string, paths: RepoPaths): Promise<{ sets: ListedSet[]; images: ListedImage[] }> {
  const sets: ListedSet[] = [];
  const images: ListedImage[] = [];
  for (const entry of await visibleEntries(directory)) {
    const setDirectory = path.join(directory, entry.name);
    if ((await entryKind(entry, setDirectory, paths)) !== 'directory') continue;
    const where = paths.display(setDirectory);
    sets.push({ setName: entry.name, where });
    for (const file of await visibleEntries(setDirectory)) {
      if (!IMAGE_EXTENSIONS.includes(path.extname(file.name).toLowerCase())) continue;
      const imagePath = path.join(setDirectory, file.name);
      if ((await entryKind(file, imagePath, paths, true)) !== 'file') continue;
      images.push({ setName: entry.name, path: imagePath, where: paths.display(imagePath) });
    }
  }
  if (sets.length === 0) {
    throw new InputError(`Reference sets directory ${paths.display(directory)} has no set sub-directories`, { hint: LAYOUT_HINT });
  }
  return { sets, images };
}

/** Non-hidden entries of a directory (`.git`, `.DS_Store` and the like are not data). */
async function visibleEntries(directory: string): Promise<Dirent[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  return entries.filter((entry) => !entry.name.startsWith('.'));
}

/**
 * What an entry is, following symbolic links; a broken link is an error, not silently skipped.
 * A link out of the repository is an error (confined-file.ts), and so is a device, FIFO or socket
 * where an image is expected (`image`): it would be read.
 */
async function entryKind(entry: Dirent, fullPath: string, paths: RepoPaths, image = false): Promise<'file' | 'directory' | 'other'> {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'directory';
  const found = await inspectConfined(paths.root, fullPath);
  if (found.kind === 'file' || found.kind === 'directory') return found.kind;
  if (found.kind === 'broken-link' || found.kind === 'missing') {
    throw new InputError(`${paths.display(fullPath)} is a broken symbolic link`, { hint: 'Remove the link or point it at a file inside the repository.' });
  }
  if (found.kind === 'outside') {
    throw new InputError(`${paths.display(fullPath)}: ${image ? 'image' : 'reference set'} escapes the repository root through a symbolic link`, {
      hint: 'Keep reference images inside the repository, so base and head are scored on the same files.',
    });
  }
  if (image) throw confinementError(found, `Reference image ${paths.display(fullPath)}`, 'an image file');
  return 'other';
}

async function listCsvManifest(manifest: string, real: string, shown: string): Promise<ListedImage[]> {
  const text = await readRegularFile(real, `Reference-set manifest ${shown}`, 'utf8');
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    // `info` adds the line number of each record; the typings do not model that option.
    rows = parseCsv(text, { bom: true, info: true, relax_column_count: true, skip_empty_lines: true }) as unknown as typeof rows;
  } catch (error) {
    const line = (error as { lines?: number }).lines;
    throw new InputError(`${shown}${line === undefined ? '' : `:${line}`}: not valid CSV: ${parserMessage(error)}`, {
      hint: 'Write one set,path row per image, quoting fields that contain commas.',
      cause: error,
    });
  }
  const [header, ...records] = rows;
  const columns = header?.record.map((name) => name.trim()) ?? [];
  const setColumn = columns.indexOf('set');
  const pathColumn = columns.indexOf('path');
  if (setColumn < 0 || pathColumn < 0) {
    throw new InputError(`${shown}:1: the manifest header must name the columns set and path, found '${columns.join(',')}'`, {
      hint: 'Start the file with the line: set,path',
    });
  }
  return records.map(({ record, info }) => {
    const setName = record[setColumn]?.trim() ?? '';
    const written = record[pathColumn]?.trim() ?? '';
    const missing = setName === '' ? 'set' : written === '' ? 'path' : undefined;
    if (missing !== undefined) {
      throw new InputError(`${shown}:${info.lines}: the row has no '${missing}' value`, { hint: 'Every row needs both columns: set,path' });
    }
    return manifestImage(manifest, shown, info.lines, setName, written);
  });
}

async function listJsonlManifest(manifest: string, real: string, shown: string): Promise<ListedImage[]> {
  const text = await readRegularFile(real, `Reference-set manifest ${shown}`, 'utf8');
  const images: ListedImage[] = [];
  const hint = 'Write one JSON object per line: {"set": "surfboard+man", "path": "images/001.jpg"}';
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((line, index) => {
      const lineNumber = index + 1;
      if (line.trim() === '') return;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (error) {
        throw new InputError(`${shown}:${lineNumber}: not valid JSON: ${jsonSyntaxProblem(error, line)}`, { hint, cause: error });
      }
      const fields = typeof row === 'object' && row !== null && !Array.isArray(row) ? (row as Record<string, unknown>) : {};
      const [setName, written] = (['set', 'path'] as const).map((key) => {
        const value = fields[key];
        if (typeof value !== 'string' || value.trim() === '') {
          throw new InputError(`${shown}:${lineNumber}: expected a non-empty string '${key}', found ${shortened(JSON.stringify(value ?? row))}`, { hint });
        }
        return value.trim();
      }) as [string, string];
      images.push(manifestImage(manifest, shown, lineNumber, setName, written));
    });
  return images;
}

function manifestImage(manifest: string, shown: string, line: number, setName: string, written: string): ListedImage {
  return { setName, path: path.resolve(path.dirname(manifest), written), where: `${shown}:${line} ('${written}')` };
}

async function assembleSets(listedSets: ListedSet[], images: ListedImage[], paths: RepoPaths): Promise<ReferenceSet[]> {
  const sets = new Map<string, { parsed: ParsedSetName; where: string; images: Map<string, { image: ReferenceImage; where: string }> }>();
  const lowerCaseNames = new Map<string, string>();

  const setFor = (setName: string, where: string) => {
    let parsed: ParsedSetName;
    try {
      parsed = parseSetName(setName);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      throw new InputError(`${where}: ${error.message}`, { hint: error.hint, cause: error });
    }
    const existing = sets.get(parsed.name);
    if (existing !== undefined) return { set: existing, isNew: false };
    const clash = lowerCaseNames.get(parsed.name.toLowerCase());
    if (clash !== undefined) {
      throw new InputError(`${where}: reference set '${parsed.name}' differs from '${clash}' only by case`, {
        hint: 'Spell each set name the same way everywhere (set names are case-sensitive).',
      });
    }
    lowerCaseNames.set(parsed.name.toLowerCase(), parsed.name);
    const created = { parsed, where, images: new Map<string, { image: ReferenceImage; where: string }>() };
    sets.set(parsed.name, created);
    return { set: created, isNew: true };
  };

  // Directory form: two directories may not read as the same set (`stop_sign/` and `stop sign/`).
  for (const listed of listedSets) {
    const { set, isNew } = setFor(listed.setName, listed.where);
    if (!isNew) {
      throw new InputError(`${listed.where} and ${set.where} both name the reference set '${set.parsed.name}'`, {
        hint: "Keep one of them ('_' in a directory name reads as a space).",
      });
    }
  }

  for (const listed of images) {
    const { set } = setFor(listed.setName, listed.where);
    const real = await resolveImage(listed, paths);
    const duplicate = set.images.get(real);
    if (duplicate !== undefined) {
      throw new InputError(`Reference set '${set.parsed.name}' contains the same image twice: ${duplicate.where} and ${listed.where}`, {
        hint: 'List each image once per set; duplicates would be counted as identical pairs.',
      });
    }
    const relativePath = isInside(paths.root, listed.path) ? toRepoRelative(paths.root, listed.path) : toRepoRelative(paths.realRoot, real);
    set.images.set(real, { image: { path: listed.path, relativePath }, where: listed.where });
  }

  const result: ReferenceSet[] = [];
  for (const { parsed, where, images: setImages } of sets.values()) {
    if (setImages.size === 0) {
      throw new InputError(`Reference set '${parsed.name}' (${where}) has no images`, {
        hint: `Put image files (${IMAGE_EXTENSIONS.join(', ')}) directly inside it; sub-directories and hidden files are ignored.`,
      });
    }
    const sortedImages = [...setImages.values()].map((entry) => entry.image).sort((a, b) => compareCodeUnits(a.relativePath, b.relativePath));
    result.push({ ...parsed, images: sortedImages });
  }
  return result.sort((a, b) => compareCodeUnits(a.name, b.name));
}

/** Checks that a listed image exists and stays inside the repository; returns its real path. */
async function resolveImage(listed: ListedImage, paths: RepoPaths): Promise<string> {
  const escapes = (resolved: string) =>
    new InputError(`${listed.where}: image ${resolved} escapes the repository root`, {
      hint: 'Keep reference images inside the repository, so base and head are scored on the same files.',
    });
  if (!isInside(paths.root, listed.path) && !isInside(paths.realRoot, listed.path)) throw escapes(listed.path);
  // Only a regular file inside the checkout (confined-file.ts); where a link leads is never shown.
  const found = await inspectConfined(paths.root, listed.path);
  switch (found.kind) {
    case 'file':
      return found.real;
    case 'missing':
    case 'broken-link':
      throw new InputError(`${listed.where}: image ${paths.display(listed.path)} does not exist`, { hint: 'Manifest paths are relative to the manifest file.' });
    case 'outside':
      throw new InputError(`${listed.where}: image escapes the repository root through a symbolic link`, {
        hint: 'Keep reference images inside the repository, so base and head are scored on the same files.',
      });
    case 'directory':
      throw new InputError(`${listed.where}: ${paths.display(listed.path)} is not a file`, { hint: 'List image files, not directories.' });
    case 'special':
      throw confinementError(found, `${listed.where}: ${paths.display(listed.path)}`, 'an image file');
  }
}

/** Locale-independent order, so sorting is the same on every runner. */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
