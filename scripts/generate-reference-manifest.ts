// Writes src/vision/builtin/openimages-analysis.json, the shipped manifest of the BTS authors' Open Images
// analysis set (checksums and paths, never images), from the audited MANIFEST.csv of the shared copy:
//
//   npx tsx scripts/generate-reference-manifest.ts [path/to/MANIFEST.csv]
//
// Default input: $BIAS_GATE_SHARED/reference-sets/openimages-analysis/MANIFEST.csv (BIAS_GATE_SHARED
// defaults to ../shared). The output is deterministic: rerunning it on the same CSV changes no byte.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';

const ROOT = path.resolve(import.meta.dirname, '..');
const SHARED = path.resolve(ROOT, process.env.BIAS_GATE_SHARED ?? '../shared');
const input = process.argv[2] ?? path.join(SHARED, 'reference-sets/openimages-analysis/MANIFEST.csv');
const output = path.join(ROOT, 'src/vision/builtin/openimages-analysis.json');

const REPOSITORY = 'uvavision/bias-pretrained-vision-models';
const COMMIT = 'e3c9e715dc630a5caf5581a6b8d57aaf3f8d4a3f';
const FOLDER = 'analysis_sets/oi_png';
/** Every file name in the source folder ends in a newline before the extension. */
const SUFFIX = '\n.png';
const EXPECTED_FILES = 1925;
const EXPECTED_SETS = 16;

const rows = parseCsv(readFileSync(input, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
const files = rows.map((row, index) => {
  const where = `${input}:${index + 2}`;
  const setDir = row.set_dir!;
  const repoPath = JSON.parse(row.repo_path_json!) as string;
  const prefix = `${FOLDER}/${setDir}/`;
  if (!repoPath.startsWith(prefix) || !repoPath.endsWith(SUFFIX)) throw new Error(`${where}: unexpected path ${JSON.stringify(repoPath)}`);
  const id = repoPath.slice(prefix.length, -SUFFIX.length);
  if (!/^[0-9a-f]{16}$/.test(id)) throw new Error(`${where}: unexpected image id ${JSON.stringify(id)}`);
  const blob = row.git_blob!;
  const sha256 = row.sha256!;
  const bytes = Number(row.bytes);
  if (!/^[0-9a-f]{40}$/.test(blob) || !/^[0-9a-f]{64}$/.test(sha256) || !Number.isSafeInteger(bytes)) throw new Error(`${where}: malformed checksums or size`);
  return [setDir, id, blob, sha256, bytes] as const;
});
const sets = new Set(files.map(([setDir]) => setDir));
if (files.length !== EXPECTED_FILES || sets.size !== EXPECTED_SETS) {
  throw new Error(`${input}: expected ${EXPECTED_FILES} files in ${EXPECTED_SETS} sets, found ${files.length} in ${sets.size}`);
}
// Manifest order: by set folder, then by image id (the repository's tree order).
files.sort((a, b) => (a[0] + '/' + a[1] < b[0] + '/' + b[1] ? -1 : 1));

const header = {
  name: 'openimages-analysis',
  description: 'Open Images analysis sets of Ranjit, Wang, Ray and Ordonez (2023), as published with their code',
  repository: REPOSITORY,
  commit: COMMIT,
  folder: FOLDER,
  fileNameSuffix: SUFFIX,
  columns: ['set_dir', 'id', 'git_blob', 'sha256', 'bytes'],
};
const lines = files.map((file) => `    ${JSON.stringify(file)}`);
const text = `${JSON.stringify(header, null, 2).replace(/\n}$/, ',\n  "files": [\n')}${lines.join(',\n')}\n  ]\n}\n`;
JSON.parse(text); // the hand-assembled layout must still be JSON
writeFileSync(output, text);
console.error(`wrote ${path.relative(ROOT, output)}: ${files.length} files in ${sets.size} sets`);
