// Which npm packages an esbuild bundle contains (from its metafile), what they
// declare (licence, engines) and the text of THIRD_PARTY_LICENSES.txt. The
// output depends only on the installed package versions (the lockfile), never
// on file order or the machine, because CI rebuilds dist/ and compares.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * @typedef {{ name: string, version: string, dir: string, license: string, engines: string | undefined }} BundledPackage
 */

function readPackage(dir) {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const license = typeof manifest.license === 'string' ? manifest.license : (manifest.license?.type ?? (manifest.licenses ?? []).map((l) => l.type).join(' OR ') ?? 'UNKNOWN');
  return { name: manifest.name, version: manifest.version, dir, license: license || 'UNKNOWN', engines: manifest.engines?.node };
}

/**
 * The packages whose files are in the bundle, plus `external` (loaded from
 * node_modules at run time), one entry per name@version, sorted.
 * @param {import('esbuild').Metafile} metafile
 * @param {string[]} external
 * @returns {BundledPackage[]}
 */
export function bundledPackages(metafile, external) {
  const dirs = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    // The package directory is the path up to the last node_modules/<name> (or <@scope/name>).
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input.split(path.sep).join('/'));
    if (match) dirs.add(match[1]);
  }
  for (const name of external) dirs.add(path.join('node_modules', name));
  const byId = new Map();
  for (const dir of dirs) {
    let found = dir;
    // A file inside a package's own sub-folder that has a package.json (e.g. "type": "module" markers) is not a package root.
    while (existsSync(path.join(found, 'package.json')) && !readPackage(found).name) found = path.dirname(found);
    const pkg = readPackage(found);
    byId.set(`${pkg.name}@${pkg.version}`, pkg);
  }
  return [...byId.values()].sort((a, b) => (a.name === b.name ? a.version.localeCompare(b.version) : a.name < b.name ? -1 : 1));
}

function compareVersions(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/**
 * The lowest Node version an `engines.node` range admits: the smallest lower
 * bound among its `||` alternatives (">=22", "^20.9.0 || >=21.1.0", "*").
 * @param {string | undefined} range
 */
export function rangeMinimum(range) {
  if (!range || range.trim() === '*' || range.trim() === '') return '0.0.0';
  const bounds = range.split('||').map((alternative) => {
    const match = /(?:>=|\^|~|=|^|\s)\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(alternative.trim());
    return match ? `${match[1]}.${match[2] ?? 0}.${match[3] ?? 0}` : '0.0.0';
  });
  return bounds.sort(compareVersions)[0];
}

/**
 * The Node version every package supports, and which packages set it.
 * @param {BundledPackage[]} packages
 */
export function minimumNode(packages) {
  let version = '0.0.0';
  let setters = [];
  for (const pkg of packages) {
    const minimum = rangeMinimum(pkg.engines);
    const order = compareVersions(minimum, version);
    if (order > 0) [version, setters] = [minimum, [pkg.name]];
    else if (order === 0 && version !== '0.0.0') setters.push(pkg.name);
  }
  return { version, packages: setters };
}

const LICENSE_FILE = /^(licen[cs]e|copying|notice)([.-].*)?$/i;

/**
 * THIRD_PARTY_LICENSES.txt: every bundled package with its version and
 * declared licence, then each distinct licence text once, headed by the
 * packages it belongs to (hundreds of @stdlib packages share one Apache-2.0
 * text and NOTICE).
 * @param {BundledPackage[]} packages
 */
export function thirdPartyLicenses(packages) {
  const unique = new Map(packages.map((pkg) => [`${pkg.name}@${pkg.version}`, pkg]));
  const ids = [...unique.keys()].sort();
  const texts = new Map(); // licence text -> package ids
  const withoutFile = [];
  for (const id of ids) {
    const pkg = unique.get(id);
    const files = readdirSync(pkg.dir).filter((name) => LICENSE_FILE.test(name)).sort();
    if (files.length === 0) withoutFile.push(`${id} (${pkg.license})`);
    for (const file of files) {
      const text = readFileSync(path.join(pkg.dir, file), 'utf8').replace(/\r\n?/g, '\n').replace(/[ \t]+$/gm, '').trim();
      texts.set(text, [...(texts.get(text) ?? []), id]);
    }
  }
  const rule = '='.repeat(78);
  const parts = [
    'Third-party software bundled into bias-gate (dist/*.js).',
    'onnxruntime-node and sharp (with its @img/* binaries) are not bundled: npm installs them with their own licence files.',
    '',
    `Packages (${ids.length}):`,
    ...ids.map((id) => `  ${id} (${unique.get(id).license})`),
    '',
  ];
  if (withoutFile.length > 0) parts.push('Packages that ship no licence file (their package.json licence applies):', ...withoutFile.map((line) => `  ${line}`), '');
  const ordered = [...texts.entries()].sort((a, b) => (a[1][0] < b[1][0] ? -1 : a[1][0] > b[1][0] ? 1 : a[0] < b[0] ? -1 : 1));
  for (const [text, owners] of ordered) parts.push(rule, ...owners, rule, text, '');
  return `${parts.join('\n')}\n`;
}
