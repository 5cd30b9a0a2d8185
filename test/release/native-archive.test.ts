// The per-platform archive of the pruned native dependencies: its name, URL and
// the install step's choice (pure), scripts/pack-native.mjs on a fake
// node_modules, scripts/fetch-native.mjs against a loopback HTTP server and a
// local directory, and action.yml's install step with and without an archive
// (a fake npm on PATH records whether the npm fallback ran; nothing is
// downloaded from the network).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, readFile, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createTempDir, repoPath } from '../helpers.ts';
import {
  actionFromPath,
  chooseNativeSource,
  FALLBACK_EXIT,
  isReleaseRef,
  manifestMismatch,
  nativeArchiveName,
  parseChecksumFile,
  type NativeManifest,
} from '../../scripts/native-archive.mjs';

const exec = promisify(execFile);
const VERSION = '9.9.9';
const TARGET = { version: VERSION, platform: process.platform, arch: process.arch, abi: process.versions.modules };
const NAME = nativeArchiveName(TARGET);
/** Deep enough that its path is over tar's 100-byte ustar name field. */
const LONG_DIR = 'onnxruntime-node/lib/a-directory-name-that-is-long/and-another-one-that-is-longer/binding';

interface Result {
  code: number;
  stdout: string;
}
const settle = (run: Promise<{ stdout: string }>): Promise<Result> =>
  run.then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
  );

/** A pruned node_modules in miniature: a binary, a file past ustar's name length, an executable and npm's .bin symlink. */
async function fakeNodeModules(): Promise<string> {
  const root = path.join(await createTempDir('bias-gate-native-src-'), 'node_modules');
  await mkdir(path.join(root, `onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}`), { recursive: true });
  await writeFile(path.join(root, `onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`), Buffer.from([0, 1, 2, 255]));
  await writeFile(path.join(root, 'onnxruntime-node/package.json'), '{"name":"onnxruntime-node"}\n');
  await mkdir(path.join(root, LONG_DIR), { recursive: true });
  await writeFile(path.join(root, LONG_DIR, 'a-file-whose-full-path-does-not-fit-in-one-ustar-header.js'), 'export {};\n');
  await mkdir(path.join(root, 'semver/bin'), { recursive: true });
  await writeFile(path.join(root, 'semver/bin/semver.js'), '#!/usr/bin/env node\n');
  await chmod(path.join(root, 'semver/bin/semver.js'), 0o755);
  if (process.platform !== 'win32') {
    await mkdir(path.join(root, '.bin'));
    await symlink('../semver/bin/semver.js', path.join(root, '.bin/semver'));
  }
  return root;
}

/** A directory with what the install step uses of a release: scripts/, package.json, package-lock.json. */
async function actionDirectory(): Promise<string> {
  const dir = await createTempDir('bias-gate-native-action-');
  await cp(repoPath('scripts'), path.join(dir, 'scripts'), { recursive: true });
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'bias-gate', version: VERSION }));
  await writeFile(path.join(dir, 'package-lock.json'), '{"lockfileVersion":3}\n');
  return dir;
}

async function pack(nodeModules: string, outDir: string, lockfile: string): Promise<string> {
  const { stdout } = await exec(process.execPath, [repoPath('scripts/pack-native.mjs'), '--node-modules', nodeModules, '--lockfile', lockfile, '--out-dir', outDir, '--version', VERSION]);
  return stdout;
}

function fetchNative(actionDir: string, env: Record<string, string>): Promise<Result> {
  const clean = { ...process.env, BIAS_GATE_NATIVE_URL: '', BIAS_GATE_ACTION_REPOSITORY: '', BIAS_GATE_ACTION_REF: '', GITHUB_ACTION_REPOSITORY: '', GITHUB_ACTION_REF: '', INPUT_GPU: '' };
  return settle(exec(process.execPath, [path.join(actionDir, 'scripts/fetch-native.mjs')], { cwd: actionDir, env: { ...clean, ...env } }));
}

describe('archive name, URL and the install choice', () => {
  const job = { ...TARGET, version: '1.4.2', platform: 'linux', arch: 'x64', abi: '137', gpu: false };

  it('names the archive by version, target and Node ABI', () => {
    expect(nativeArchiveName(job)).toBe('bias-gate-native-1.4.2-linux-x64-node137.tar.gz');
  });

  it('downloads a release ref from the release of package.json\'s version', () => {
    for (const ref of ['v1', 'v1.4', 'v1.4.2', '0123456789abcdef0123456789abcdef01234567']) {
      expect(chooseNativeSource({ ...job, repository: 'bias-gate/bias-gate', ref }), ref).toEqual({
        source: 'archive',
        name: 'bias-gate-native-1.4.2-linux-x64-node137.tar.gz',
        archive: 'https://github.com/bias-gate/bias-gate/releases/download/v1.4.2/bias-gate-native-1.4.2-linux-x64-node137.tar.gz',
        checksum: 'https://github.com/bias-gate/bias-gate/releases/download/v1.4.2/bias-gate-native-1.4.2-linux-x64-node137.tar.gz.sha256',
        local: false,
      });
    }
  });

  it('falls back to npm for a branch, a local action and gpu: true, saying why', () => {
    expect(chooseNativeSource({ ...job, repository: 'bias-gate/bias-gate', ref: 'main' })).toEqual({ source: 'npm', reason: '@main is not a release tag or commit: archives are published only for releases' });
    expect(chooseNativeSource({ ...job, repository: 'bias-gate/bias-gate', ref: '' })).toMatchObject({ source: 'npm', reason: expect.stringContaining('@(no ref)') });
    expect(chooseNativeSource({ ...job, ref: 'v1' })).toMatchObject({ source: 'npm', reason: expect.stringContaining('local `uses: ./` action') });
    expect(chooseNativeSource({ ...job, repository: 'bias-gate/bias-gate', ref: 'v1', gpu: true, override: 'https://mirror.example' })).toMatchObject({ source: 'npm', reason: expect.stringContaining("gpu: true needs onnxruntime's CUDA 12 provider libraries") });
    expect(isReleaseRef('v1-beta')).toBe(false);
    expect(isReleaseRef('release/1.0')).toBe(false);
  });

  it('BIAS_GATE_NATIVE_URL replaces the release: a base URL or a local directory, whatever the ref', () => {
    expect(chooseNativeSource({ ...job, override: 'https://mirror.example/bias-gate/', ref: 'main' })).toMatchObject({
      archive: 'https://mirror.example/bias-gate/bias-gate-native-1.4.2-linux-x64-node137.tar.gz',
      checksum: 'https://mirror.example/bias-gate/bias-gate-native-1.4.2-linux-x64-node137.tar.gz.sha256',
      local: false,
    });
    expect(chooseNativeSource({ ...job, override: '/srv/mirror' })).toMatchObject({ archive: '/srv/mirror/bias-gate-native-1.4.2-linux-x64-node137.tar.gz', local: true });
  });

  it('reads the repository and ref from the runner\'s action path when the variables are empty', () => {
    expect(actionFromPath('/home/runner/work/_actions/bias-gate/bias-gate/v1')).toEqual({ repository: 'bias-gate/bias-gate', ref: 'v1' });
    expect(actionFromPath('D:\\a\\_actions\\bias-gate\\bias-gate\\v1.4.2\\')).toEqual({ repository: 'bias-gate/bias-gate', ref: 'v1.4.2' });
    expect(actionFromPath('/home/runner/work/repo/repo')).toBeUndefined();
  });

  it('reads sha256sum-format checksum files', () => {
    const hex = 'ab'.repeat(32);
    expect(parseChecksumFile(`${hex}  x.tar.gz\n`, 'x.tar.gz')).toBe(hex);
    expect(parseChecksumFile(`${hex.toUpperCase()} *x.tar.gz\r\n`, 'x.tar.gz')).toBe(hex);
    expect(parseChecksumFile(`${hex}\n`, 'x.tar.gz')).toBe(hex);
    expect(parseChecksumFile(`${hex}  y.tar.gz\n`, 'x.tar.gz')).toBeUndefined();
    expect(parseChecksumFile('<html>Not Found</html>', 'x.tar.gz')).toBeUndefined();
  });

  it('an archive built from another lockfile or for another runner does not fit', () => {
    const expected: NativeManifest = { ...job, lockfileSha256: 'aa' };
    expect(manifestMismatch({ ...expected }, expected)).toBeUndefined();
    expect(manifestMismatch({ ...expected, lockfileSha256: 'bb' }, expected)).toBe('the archive was built for lockfileSha256 bb, this job needs aa');
    expect(manifestMismatch({ ...expected, arch: 'arm64' }, expected)).toBe('the archive was built for arch arm64, this job needs x64');
    expect(manifestMismatch(undefined, expected)).toBe('the archive has no node_modules/.bias-gate-native.json');
  });
});

describe.skipIf(process.platform === 'win32')('pack, serve, fetch, verify, extract', () => {
  let nodeModules: string;
  let actionDir: string;
  let archives: string;
  let server: Server;
  let base: string;
  /** Request paths the server saw, and per-path answers that replace the file (status, or a body). */
  const requests: string[] = [];
  const answers = new Map<string, { status: number; times?: number } | { body: string }>();

  beforeAll(async () => {
    nodeModules = await fakeNodeModules();
    actionDir = await actionDirectory();
    archives = await createTempDir('bias-gate-native-out-');
    await pack(nodeModules, archives, path.join(actionDir, 'package-lock.json'));
    server = createServer(async (request, response) => {
      const file = decodeURIComponent(new URL(request.url!, 'http://x').pathname).replace(/^\/releases\//, '');
      requests.push(file);
      const answer = answers.get(file);
      if (answer && 'status' in answer && (answer.times === undefined || answer.times-- > 0)) return void response.writeHead(answer.status).end();
      if (answer && 'body' in answer) return void response.end(answer.body);
      const local = path.join(archives, path.basename(file));
      if (!existsSync(local)) return void response.writeHead(404).end('Not Found');
      response.end(await readFile(local));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/releases`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  it('packs a deterministic archive with a sha256sum-format checksum, readable by tar', async () => {
    const again = await createTempDir('bias-gate-native-out-');
    const log = await pack(nodeModules, again, path.join(actionDir, 'package-lock.json'));
    expect(log).toContain(`bias-gate: wrote ${NAME} (`);
    expect(await readFile(path.join(again, NAME))).toEqual(await readFile(path.join(archives, NAME)));
    const checksum = await readFile(path.join(archives, `${NAME}.sha256`), 'utf8');
    expect(checksum).toMatch(new RegExp(`^[0-9a-f]{64}  ${NAME.replace(/\./g, '\\.')}\\n$`));
    const listing = (await exec('tar', ['-tzf', path.join(archives, NAME)])).stdout.split('\n');
    expect(listing).toContain(`node_modules/${LONG_DIR}/a-file-whose-full-path-does-not-fit-in-one-ustar-header.js`);
    expect(listing).toContain('node_modules/.bias-gate-native.json');
  });

  it('fetches over HTTP, verifies the sha256 and extracts node_modules into the action directory', async () => {
    requests.length = 0;
    const result = await fetchNative(actionDir, { BIAS_GATE_NATIVE_URL: base });
    expect(result.stdout).toContain(`bias-gate: installed native dependencies from ${base}/${NAME} (`);
    expect(result.stdout).toContain('verified');
    expect(result.code).toBe(0);
    expect(requests).toEqual([`${NAME}.sha256`, NAME]);
    const installed = path.join(actionDir, 'node_modules');
    expect(await readFile(path.join(installed, `onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`))).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(await readFile(path.join(installed, LONG_DIR, 'a-file-whose-full-path-does-not-fit-in-one-ustar-header.js'), 'utf8')).toBe('export {};\n');
    expect(await readlink(path.join(installed, '.bin/semver'))).toBe('../semver/bin/semver.js');
    expect(JSON.parse(await readFile(path.join(installed, '.bias-gate-native.json'), 'utf8'))).toMatchObject({ ...TARGET });
    // Nothing left behind but node_modules.
    expect((await readdir(actionDir)).sort()).toEqual(['node_modules', 'package-lock.json', 'package.json', 'scripts']);
  });

  it('refuses an archive whose sha256 does not match its checksum file, and installs nothing', async () => {
    const dir = await actionDirectory();
    answers.set(`${NAME}.sha256`, { body: `${'0'.repeat(64)}  ${NAME}\n` });
    try {
      const result = await fetchNative(dir, { BIAS_GATE_NATIVE_URL: base });
      expect(result.code).toBe(FALLBACK_EXIT);
      expect(result.stdout).toContain(`::warning title=bias-gate::Native archive not used: refused ${base}/${NAME}: its sha256 is `);
      expect(result.stdout).toContain(`says ${'0'.repeat(64)} (a corrupted or altered download). Installing with npm ci instead.`);
      expect(existsSync(path.join(dir, 'node_modules'))).toBe(false);
      expect(existsSync(path.join(dir, '.bias-gate-native'))).toBe(false);
    } finally {
      answers.clear();
    }
  });

  it('a 404 falls back to npm at once, saying so', async () => {
    const dir = await actionDirectory();
    answers.set(`${NAME}.sha256`, { status: 404 });
    requests.length = 0;
    try {
      const result = await fetchNative(dir, { BIAS_GATE_NATIVE_URL: base });
      expect(result.code).toBe(FALLBACK_EXIT);
      expect(result.stdout).toBe(`bias-gate: installing native dependencies with npm ci: no archive at ${base}/${NAME}.sha256 (404).\n`);
      expect(requests).toEqual([`${NAME}.sha256`]);
    } finally {
      answers.clear();
    }
  });

  it('retries a 503, then installs', async () => {
    const dir = await actionDirectory();
    answers.set(NAME, { status: 503, times: 1 });
    requests.length = 0;
    try {
      const result = await fetchNative(dir, { BIAS_GATE_NATIVE_URL: base });
      expect(result.stdout).toContain(`bias-gate: HTTP 503 from ${base}/${NAME}; retrying in 1 s.`);
      expect(result.code).toBe(0);
      expect(requests).toEqual([`${NAME}.sha256`, NAME, NAME]);
    } finally {
      answers.clear();
    }
  }, 20_000);

  it('an archive built from another lockfile is not used', async () => {
    const dir = await actionDirectory();
    await writeFile(path.join(dir, 'package-lock.json'), '{"lockfileVersion":3,"changed":true}\n');
    const result = await fetchNative(dir, { BIAS_GATE_NATIVE_URL: base });
    expect(result.code).toBe(FALLBACK_EXIT);
    expect(result.stdout).toContain(`does not fit: the archive was built for lockfileSha256 `);
    expect(existsSync(path.join(dir, 'node_modules'))).toBe(false);
  });

  it('without an override, a branch ref or gpu: true falls back before any download', async () => {
    const dir = await actionDirectory();
    const branch = await fetchNative(dir, { BIAS_GATE_ACTION_REPOSITORY: 'bias-gate/bias-gate', BIAS_GATE_ACTION_REF: 'main' });
    expect(branch).toEqual({ code: FALLBACK_EXIT, stdout: 'bias-gate: installing native dependencies with npm ci: @main is not a release tag or commit: archives are published only for releases.\n' });
    const gpu = await fetchNative(dir, { BIAS_GATE_ACTION_REPOSITORY: 'bias-gate/bias-gate', BIAS_GATE_ACTION_REF: 'v1', INPUT_GPU: 'true', BIAS_GATE_NATIVE_URL: base });
    expect(gpu.code).toBe(FALLBACK_EXIT);
    expect(gpu.stdout).toContain("installing native dependencies with npm ci: gpu: true needs onnxruntime's CUDA 12 provider libraries");
  });
});

describe.skipIf(process.platform === 'win32')('action.yml "Install native dependencies"', () => {
  interface Step {
    name: string;
    run?: string;
    env?: Record<string, string>;
  }
  const values: Record<string, string> = { 'inputs.gpu': 'false', 'github.action_repository': '', 'github.action_ref': '' };

  /** Runs the step's script as the runner does (bash -e, the step's env), with an npm on PATH that only records its arguments. */
  async function installStep(actionDir: string, env: Record<string, string>): Promise<Result & { npm: string }> {
    const metadata = parseYaml(await readFile(repoPath('action.yml'), 'utf8')) as { runs: { steps: Step[] } };
    const step = metadata.runs.steps.find((s) => s.name === 'Install native dependencies')!;
    const stepEnv = Object.fromEntries(
      Object.entries(step.env ?? {}).map(([name, value]) => [name, value.replace(/\$\{\{\s*([\w.-]+)\s*\}\}/g, (_, expression: string) => values[expression] ?? expect.fail(`unknown ${expression}`))]),
    );
    const bin = await createTempDir('bias-gate-fake-npm-');
    const record = path.join(bin, 'npm-calls');
    // npm ci, as far as prune-native.mjs is concerned: a node_modules appears.
    await writeFile(path.join(bin, 'npm'), `#!/usr/bin/env bash\necho "$*" >> "${record}"\nmkdir -p node_modules/onnxruntime-node\n`);
    await chmod(path.join(bin, 'npm'), 0o755);
    const PATH = [bin, path.dirname(process.execPath), process.env.PATH].join(path.delimiter);
    const result = await settle(exec('bash', ['-e', '-c', step.run!], { cwd: actionDir, env: { ...process.env, BIAS_GATE_NATIVE_URL: '', ...stepEnv, ...env, PATH } }));
    return { ...result, npm: existsSync(record) ? await readFile(record, 'utf8') : '' };
  }

  it('with BIAS_GATE_NATIVE_URL naming a local directory that has the archive: installs it, no npm', async () => {
    const actionDir = await actionDirectory();
    const archives = await createTempDir('bias-gate-native-mirror-');
    await pack(await fakeNodeModules(), archives, path.join(actionDir, 'package-lock.json'));
    const result = await installStep(actionDir, { BIAS_GATE_NATIVE_URL: archives });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`bias-gate: installed native dependencies from ${archives}/${NAME} (`);
    expect(result.npm).toBe('');
    expect(existsSync(path.join(actionDir, `node_modules/onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`))).toBe(true);
  });

  it('with a directory that lacks it: npm ci and prune, after a line saying why', async () => {
    const actionDir = await actionDirectory();
    const empty = await createTempDir('bias-gate-native-mirror-');
    const result = await installStep(actionDir, { BIAS_GATE_NATIVE_URL: empty });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`bias-gate: installing native dependencies with npm ci: no archive at ${empty}/${NAME}.sha256.`);
    expect(result.npm).toBe('ci --omit=dev --no-audit --no-fund --ignore-scripts\n');
    expect(result.stdout).toContain(`bias-gate: kept native binaries for ${process.platform}-${process.arch}`);
  });

  it('a local action (no repository, no ref) goes to npm, saying so', async () => {
    const actionDir = await actionDirectory();
    const result = await installStep(actionDir, {});
    expect(result.stdout).toContain('bias-gate: installing native dependencies with npm ci: the action has no repository (a local `uses: ./` action)');
    expect(result.npm).toBe('ci --omit=dev --no-audit --no-fund --ignore-scripts\n');
  });
});

describe('release.yml', () => {
  interface Workflow {
    jobs: Record<string, { needs?: string[] | string; strategy?: { matrix: { os: string[]; node: number[] } }; steps: { run?: string; uses?: string; with?: Record<string, unknown> }[] }>;
  }

  it('packs the native archive on every supported runner kind under Node 24 and attaches archives and checksums to the release', async () => {
    const workflow = parseYaml(await readFile(repoPath('.github/workflows/release.yml'), 'utf8')) as Workflow;
    const native = workflow.jobs.native!;
    expect(native.strategy!.matrix.os).toEqual(['ubuntu-latest', 'ubuntu-24.04-arm', 'macos-latest', 'windows-latest']);
    expect(native.strategy!.matrix.node).toContain(24);
    const script = native.steps.map((s) => s.run ?? '').join('\n');
    expect(script.indexOf('npm ci --omit=dev --no-audit --no-fund --ignore-scripts')).toBeGreaterThanOrEqual(0);
    expect(script.indexOf('node scripts/prune-native.mjs')).toBeGreaterThan(script.indexOf('npm ci'));
    expect(script.indexOf('node scripts/pack-native.mjs')).toBeGreaterThan(script.indexOf('prune-native'));
    expect(script).toContain('node scripts/fetch-native.mjs');
    expect(workflow.jobs.publish!.needs).toContain('native');
    const upload = workflow.jobs.publish!.steps.map((s) => s.run ?? '').find((run) => run.includes('gh release upload'))!;
    expect(upload).toContain('native/bias-gate-native-*.tar.gz ');
    expect(upload).toContain('native/bias-gate-native-*.tar.gz.sha256');
  });
});
