// The per-platform archive of the Action's pruned native dependencies
// (onnxruntime-node, sharp): its name, where a job finds it, and whether a job
// uses it or installs from the npm registry. Pure functions only; the I/O is in
// scripts/pack-native.mjs (release workflow) and scripts/fetch-native.mjs
// (action.yml "Install native dependencies"). Only node: builtins, like every
// script the composite runs before anything is installed. Types:
// native-archive.d.mts.

/** Where release assets are downloaded from (a mirror sets BIAS_GATE_NATIVE_URL instead). */
export const RELEASE_SERVER = 'https://github.com';

/** Exit status of fetch-native.mjs that tells the install step to run `npm ci` + prune instead. */
export const FALLBACK_EXIT = 2;

/** The file the archive adds under node_modules: what it was built from, checked after extraction. */
export const MANIFEST_FILE = '.bias-gate-native.json';

/**
 * `bias-gate-native-<version>-<platform>-<arch>-node<abi>.tar.gz`. The Node ABI
 * (`process.versions.modules`) is part of the name as it is of the Actions cache
 * key: the binaries are loaded by that Node.
 * @param {{ version: string, platform: string, arch: string, abi: string }} target
 */
export function nativeArchiveName({ version, platform, arch, abi }) {
  return `bias-gate-native-${version}-${platform}-${arch}-node${abi}.tar.gz`;
}

/** `sha256sum` format, so a user can check a downloaded archive with `sha256sum -c`. */
export function formatChecksumFile(sha256, name) {
  return `${sha256}  ${name}\n`;
}

/**
 * The hex sha256 a checksum file gives for `name`; undefined when it has none
 * (or only one for another file).
 * @param {string} text
 * @param {string} name
 */
export function parseChecksumFile(text, name) {
  for (const line of text.split(/\r?\n/)) {
    const match = /^([0-9a-fA-F]{64})(?:\s+\*?(\S.*))?$/.exec(line.trim());
    if (match && (match[2] === undefined || match[2] === name)) return match[1].toLowerCase();
  }
  return undefined;
}

/**
 * The owner/repo and ref of an action from its checkout path, which the runner
 * lays out as `<runner>/_actions/<owner>/<repo>/<ref>`. A fallback for
 * `github.action_repository` / `github.action_ref`, which the runner leaves
 * empty in some composite steps (actions/runner#2473).
 * @param {string} actionPath
 */
export function actionFromPath(actionPath) {
  const match = /[\\/]_actions[\\/]([^\\/]+)[\\/]([^\\/]+)[\\/]([^\\/]+)[\\/]?$/.exec(actionPath);
  return match ? { repository: `${match[1]}/${match[2]}`, ref: match[3] } : undefined;
}

/**
 * Whether `uses: <repo>@<ref>` names released code: a version tag (v1, v1.2,
 * v1.2.3) or a commit sha (a pinned release). A branch (main) is not, and has
 * no archive: its lockfile may differ from any release's.
 * @param {string} ref
 */
export function isReleaseRef(ref) {
  return /^v\d+(\.\d+){0,2}$/.test(ref) || /^[0-9a-f]{40}$/.test(ref);
}

/**
 * Where the install step gets node_modules from.
 * - `archive`: the per-platform archive at `archive`, its checksum at `checksum`
 *   (URLs, or local paths when the override is a directory).
 * - `npm`: `npm ci` + prune, for `reason` (one line for the log).
 * @param {{
 *   version: string, platform: string, arch: string, abi: string,
 *   gpu: boolean,
 *   override?: string,
 *   repository?: string,
 *   ref?: string,
 * }} job
 */
export function chooseNativeSource(job) {
  const name = nativeArchiveName(job);
  if (job.gpu) return { source: 'npm', reason: "gpu: true needs onnxruntime's CUDA 12 provider libraries, which the per-platform archive does not hold" };
  if (job.override) {
    const base = job.override.replace(/[\\/]+$/, '');
    const local = !/^https?:\/\//i.test(base);
    const join = (file) => (local ? `${base}/${file}` : `${base}/${encodeURIComponent(file)}`);
    return { source: 'archive', name, archive: join(name), checksum: join(`${name}.sha256`), local };
  }
  if (!job.repository) return { source: 'npm', reason: 'the action has no repository (a local `uses: ./` action): no release archive to download' };
  if (!job.ref || !isReleaseRef(job.ref)) return { source: 'npm', reason: `@${job.ref || '(no ref)'} is not a release tag or commit: archives are published only for releases` };
  const base = `${RELEASE_SERVER}/${job.repository}/releases/download/v${job.version}`;
  return { source: 'archive', name, archive: `${base}/${name}`, checksum: `${base}/${name}.sha256`, local: false };
}

/**
 * What the archive records about itself (MANIFEST_FILE), and what fetch-native
 * compares after extraction: a sha-pinned or v1 job whose lockfile differs from
 * the release's must not run with the release's packages.
 * @param {{ version: string, platform: string, arch: string, abi: string, lockfileSha256: string }} build
 */
export function nativeManifest({ version, platform, arch, abi, lockfileSha256 }) {
  return { version, platform, arch, abi, lockfileSha256 };
}

/**
 * Why an extracted archive does not fit this job, or undefined when it does.
 * @param {unknown} manifest the archive's MANIFEST_FILE, parsed (undefined when missing)
 * @param {ReturnType<typeof nativeManifest>} expected
 */
export function manifestMismatch(manifest, expected) {
  if (!manifest || typeof manifest !== 'object') return `the archive has no node_modules/${MANIFEST_FILE}`;
  for (const key of ['platform', 'arch', 'abi', 'version', 'lockfileSha256']) {
    const found = manifest[key];
    if (found !== expected[key]) return `the archive was built for ${key} ${String(found)}, this job needs ${expected[key]}`;
  }
  return undefined;
}
