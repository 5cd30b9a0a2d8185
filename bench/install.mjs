// npm run bench:install: what a cold Action job downloads, installs and caches
// (action.yml "Install native dependencies"): npm ci before and after pruning
// other platforms' native binaries (the fallback), and the per-platform archive
// the release publishes (scripts/pack-native.mjs, installed by
// scripts/fetch-native.mjs). Writes the "Cold install" section of
// bench/results.md (bench/run.ts keeps it when it rewrites the rest).
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = path.join(ROOT, 'bench/results.md');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function bytes(target) {
  const stat = statSync(target, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(target).reduce((sum, entry) => sum + bytes(path.join(target, entry)), 0);
}
const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;

/** The cache archive actions/cache would upload: tar + zstd (its Linux default), gzip where zstd is missing. */
function archiveBytes(dir) {
  const zstd = spawnSync('zstd', ['--version']).status === 0;
  const command = `tar -cf - node_modules | ${zstd ? 'zstd -T0 --long=30 -q -c' : 'gzip -c'} | wc -c`;
  return { bytes: Number(execFileSync('sh', ['-c', command], { cwd: dir, encoding: 'utf8' }).trim()), codec: zstd ? 'zstd' : 'gzip' };
}

const work = mkdtempSync(path.join(os.tmpdir(), 'bias-gate-install-'));
try {
  for (const file of ['package.json', 'package-lock.json']) copyFileSync(path.join(ROOT, file), path.join(work, file));
  const cache = path.join(work, '.npm-cache');
  const started = process.hrtime.bigint();
  // The step's command, with an empty npm cache so every tarball is downloaded.
  execFileSync(npm, ['ci', '--omit=dev', '--no-audit', '--no-fund', '--ignore-scripts', '--cache', cache], { cwd: work, stdio: 'inherit', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
  const installSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const downloaded = bytes(path.join(cache, '_cacache/content-v2'));
  const nodeModules = path.join(work, 'node_modules');
  const before = { disk: bytes(nodeModules), archive: archiveBytes(work), onnx: bytes(path.join(nodeModules, 'onnxruntime-node')), img: readdirSync(path.join(nodeModules, '@img')).filter((n) => n.startsWith('sharp-')).sort() };
  // What each runner kind keeps of onnxruntime-node's binaries (its only per-platform files npm does not filter).
  const onnxBin = path.join(nodeModules, 'onnxruntime-node/bin');
  const perTarget = readdirSync(onnxBin).flatMap((napi) => readdirSync(path.join(onnxBin, napi)).flatMap((platform) => readdirSync(path.join(onnxBin, napi, platform)).map((arch) => ({ target: `${platform}-${arch}`, bytes: bytes(path.join(onnxBin, napi, platform, arch)) }))));

  const pruneStarted = process.hrtime.bigint();
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/prune-native.mjs')], { cwd: work, stdio: 'inherit' });
  const pruneSeconds = Number(process.hrtime.bigint() - pruneStarted) / 1e9;
  const after = { disk: bytes(nodeModules), archive: archiveBytes(work), onnx: bytes(path.join(nodeModules, 'onnxruntime-node')) };
  const packages = readdirSync(nodeModules).filter((n) => !n.startsWith('.')).length;

  // The release workflow's part on this runner kind: pack the pruned node_modules.
  const mirror = path.join(work, 'mirror');
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/pack-native.mjs'), '--out-dir', mirror], { cwd: work, stdio: 'inherit' });
  const archiveName = readdirSync(mirror).find((n) => n.endsWith('.tar.gz'));
  // A cold job's part: fetch-native.mjs into a bare action directory, from a local mirror (so no network time is counted).
  const action = path.join(work, 'action');
  mkdirSync(action);
  for (const file of ['package.json', 'package-lock.json']) copyFileSync(path.join(work, file), path.join(action, file));
  cpSync(path.join(ROOT, 'scripts'), path.join(action, 'scripts'), { recursive: true });
  const fetchStarted = process.hrtime.bigint();
  execFileSync(process.execPath, ['scripts/fetch-native.mjs'], { cwd: action, stdio: 'inherit', env: { ...process.env, BIAS_GATE_NATIVE_URL: mirror } });
  const fetchSeconds = Number(process.hrtime.bigint() - fetchStarted) / 1e9;
  const fetched = { download: bytes(path.join(mirror, archiveName)), disk: bytes(path.join(action, 'node_modules')), archive: archiveBytes(action), onnx: bytes(path.join(action, 'node_modules/onnxruntime-node')) };

  const cpu = os.cpus();
  const section = `## Cold install

What the Action's "Install native dependencies" step costs on a runner with an
empty Actions cache, and what it then caches. Measured by \`npm run bench:install\`:
\`npm ci --omit=dev --ignore-scripts\` of package-lock.json in an empty
directory with an empty npm cache, then \`scripts/prune-native.mjs\` (what a
job did before the per-platform archive, and still does when there is none:
a branch ref, \`gpu: true\`, a failed download or check); then
\`scripts/pack-native.mjs\` of the pruned node_modules (what the release
workflow publishes per runner kind) and \`scripts/fetch-native.mjs\` of that
archive into a bare action directory (what a cold job does now). Download is
the npm cache's content after the install (the registry tarballs), or the
archive's size; disk is the bytes of node_modules' files; cache archive is
node_modules as tar + ${after.archive.codec}${after.archive.codec === 'zstd' ? ' -T0 --long=30 (what actions/cache uploads on Linux)' : ''}. One run. Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${process.platform} ${process.arch}, Node ${process.versions.node}, npm ${execFileSync(npm, ['--version'], { encoding: 'utf8' }).trim()}.

| | npm ci (every platform's binaries) | npm ci + prune (${process.platform}-${process.arch} only; the fallback) | per-platform archive (${process.platform}-${process.arch}) |
|---|---:|---:|---:|
| download | ${mb(downloaded)} from the npm registry | ${mb(downloaded)} (one onnxruntime-node tarball holds every platform) | **${mb(fetched.download)}** from the release (${archiveName}) |
| node_modules on disk (${packages} packages) | ${mb(before.disk)} | ${mb(after.disk)} | ${mb(fetched.disk)} |
| of which onnxruntime-node | ${mb(before.onnx)} | ${mb(after.onnx)} | ${mb(fetched.onnx)} |
| Actions cache archive (saved once, restored by every warm job) | ${mb(before.archive.bytes)} | ${mb(after.archive.bytes)} | ${mb(fetched.archive.bytes)} |
| time | npm ci ${installSeconds.toFixed(1)} s | + prune ${pruneSeconds.toFixed(1)} s | verify + extract ${fetchSeconds.toFixed(1)} s, plus the download |

- The archive is tar + gzip -9 (only Node built-ins and the runner's tar
  unpack it, before anything is installed); its node_modules is the pruned
  one plus \`.bias-gate-native.json\` (target and lockfile digest, checked
  after extraction), so a warm job restores the same cache either way.
- sharp's per-platform packages are optionalDependencies with \`os\`/\`cpu\`
  fields, so npm already installs only this runner's: ${before.img.map((n) => `@img/${n}`).join(', ')}.
- onnxruntime-node's binaries per platform, of which a pruned install keeps
  one: ${perTarget.map((t) => `${t.target} ${mb(t.bytes)}`).join(', ')}.
- The fork-safe publishing job (\`publish-report\`) restores, downloads and
  installs nothing (0 MB).
`;

  const previous = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '# Benchmark results\n';
  writeFileSync(RESULTS, replaceSection(previous, section));
  console.log(section);
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** `text` with its "## Cold install" section replaced by `section` (appended when absent). */
export function replaceSection(text, section) {
  const start = text.indexOf('## Cold install');
  if (start < 0) return `${text.trimEnd()}\n\n${section}`;
  const next = text.indexOf('\n## ', start + 1);
  return `${text.slice(0, start)}${section}${next < 0 ? '' : `\n${text.slice(next + 1)}`}`;
}
