// Run by the release workflow on each runner kind, after `npm ci --omit=dev
// --ignore-scripts` and scripts/prune-native.mjs: writes
// bias-gate-native-<version>-<platform>-<arch>-node<abi>.tar.gz of node_modules
// and its .sha256, which scripts/fetch-native.mjs downloads on a cold job.
//
// The tar stream is written here rather than by the runner's tar: GNU tar
// (Linux) and bsdtar (macOS, Windows) disagree on how to make an archive
// reproducible, and these entries are few and simple (directories, files,
// npm's .bin symlinks). Entries are sorted by path, owned by 0:0, dated
// ARCHIVE_MTIME, with modes 755/644; the gzip header carries no time. Any tar
// reads it (ustar, with pax records for paths over 100 bytes).
//
// node scripts/pack-native.mjs [--node-modules DIR] [--lockfile FILE] [--out-dir DIR]
//   [--platform P] [--arch A] [--abi N] [--version V]
// Defaults: ./node_modules, ./package-lock.json, ., this Node's target, package.json's version.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { formatChecksumFile, MANIFEST_FILE, nativeArchiveName, nativeManifest } from './native-archive.mjs';

/** 2000-01-01T00:00:00Z: a fixed date (GNU tar warns about 1970 as "implausibly old"). */
const ARCHIVE_MTIME = 946684800;
const BLOCK = 512;

/** `value` as a NUL-terminated octal field of `width` bytes. */
function octal(value, width) {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** A pax extended-header record: "<length> <key>=<value>\n", the length counting itself. */
function paxRecord(key, value) {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length += 1;
  return `${length}${body}`;
}

/** A 512-byte ustar header. */
function header({ name, mode, size, type, linkname = '' }) {
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, 'utf8');
  block.write(octal(mode, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii');
  block.write(octal(0, 8), 116, 'ascii');
  block.write(octal(size, 12), 124, 'ascii');
  block.write(octal(ARCHIVE_MTIME, 12), 136, 'ascii');
  block.write('        ', 148, 'ascii');
  block.write(type, 156, 'ascii');
  block.write(linkname, 157, 100, 'utf8');
  block.write('ustar\x0000', 257, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

const padding = (size) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** The header blocks of one entry: a pax header first when the path or link target does not fit ustar's 100 bytes. */
function entryHeaders(entry) {
  const long = Buffer.byteLength(entry.name) > 100 || Buffer.byteLength(entry.linkname ?? '') > 100;
  if (!long) return [header(entry)];
  const records = Buffer.from(paxRecord('path', entry.name) + (entry.linkname ? paxRecord('linkpath', entry.linkname) : ''));
  const short = (text) => Buffer.from(text).subarray(0, 100).toString('utf8').replace(/\uFFFD+$/, '');
  return [
    header({ name: short(`PaxHeaders/${path.posix.basename(entry.name)}`), mode: 0o644, size: records.length, type: 'x' }),
    records,
    padding(records.length),
    header({ ...entry, name: short(entry.name), linkname: entry.linkname ? short(entry.linkname) : '' }),
  ];
}

/** Every directory, file and symlink under `root`, sorted by archive path (`prefix/...`, '/'-separated). */
function listEntries(root, prefix) {
  const entries = [];
  const walk = (absolute, name) => {
    const stat = lstatSync(absolute);
    if (stat.isSymbolicLink()) {
      entries.push({ name, mode: 0o777, size: 0, type: '2', linkname: readlinkSync(absolute).split(path.sep).join('/') });
    } else if (stat.isDirectory()) {
      entries.push({ name: `${name}/`, mode: 0o755, size: 0, type: '5' });
      for (const child of readdirSync(absolute).sort()) walk(path.join(absolute, child), `${name}/${child}`);
    } else if (stat.isFile()) {
      // Windows has no execute bits; elsewhere keep whether a file is executable.
      entries.push({ name, mode: stat.mode & 0o111 ? 0o755 : 0o644, size: stat.size, type: '0', file: absolute });
    }
  };
  walk(root, prefix);
  return entries;
}

/** The tar stream of `entries` (files from disk or given as `contents`), then the two zero blocks that end it. */
async function* tarStream(entries) {
  for (const entry of entries) {
    yield* entryHeaders(entry);
    if (entry.type !== '0') continue;
    if (entry.contents) yield entry.contents;
    else yield* createReadStream(entry.file);
    yield padding(entry.size);
  }
  yield Buffer.alloc(BLOCK * 2);
}

export function sha256File(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * Writes the archive of `nodeModules` (as `node_modules/...`, plus the
 * manifest) and its checksum file into `outDir`.
 * @param {{ nodeModules: string, lockfile: string, outDir: string, target: { version: string, platform: string, arch: string, abi: string } }} options
 */
export async function packNativeArchive({ nodeModules, lockfile, outDir, target }) {
  const name = nativeArchiveName(target);
  const manifest = Buffer.from(`${JSON.stringify(nativeManifest({ ...target, lockfileSha256: sha256File(lockfile) }), null, 2)}\n`);
  const entries = listEntries(nodeModules, 'node_modules').filter((e) => e.name !== `node_modules/${MANIFEST_FILE}`);
  entries.push({ name: `node_modules/${MANIFEST_FILE}`, mode: 0o644, size: manifest.length, type: '0', contents: manifest });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  mkdirSync(outDir, { recursive: true });
  const archive = path.join(outDir, name);
  await pipeline(Readable.from(tarStream(entries)), createGzip({ level: 9 }), createWriteStream(archive));
  const sha256 = sha256File(archive);
  writeFileSync(`${archive}.sha256`, formatChecksumFile(sha256, name));
  return { name, archive, sha256, entries: entries.length };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const actionRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const { values } = parseArgs({
    options: {
      'node-modules': { type: 'string', default: 'node_modules' },
      lockfile: { type: 'string', default: 'package-lock.json' },
      'out-dir': { type: 'string', default: '.' },
      platform: { type: 'string', default: process.platform },
      arch: { type: 'string', default: process.arch },
      abi: { type: 'string', default: process.versions.modules },
      version: { type: 'string' },
    },
  });
  const nodeModules = path.resolve(values['node-modules']);
  if (!existsSync(nodeModules)) {
    console.log(`::error title=bias-gate::${nodeModules} does not exist: run npm ci --omit=dev --ignore-scripts and scripts/prune-native.mjs before packing.`);
    process.exit(1);
  }
  const version = values.version ?? JSON.parse(readFileSync(path.join(actionRoot, 'package.json'), 'utf8')).version;
  const result = await packNativeArchive({
    nodeModules,
    lockfile: path.resolve(values.lockfile),
    outDir: path.resolve(values['out-dir']),
    target: { version, platform: values.platform, arch: values.arch, abi: values.abi },
  });
  const size = lstatSync(result.archive).size;
  console.log(`bias-gate: wrote ${result.name} (${result.entries} entries, ${(size / 1e6).toFixed(1)} MB, sha256 ${result.sha256}).`);
}
