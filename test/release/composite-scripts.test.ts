// The composite's node scripts (action.yml) under each runner platform's path:
// pruning a fake node_modules as npm installs it, and the first step's checks.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createTempDir, repoPath } from '../helpers.ts';

const exec = promisify(execFile);
const ONNX_TARGETS = ['darwin/arm64', 'linux/arm64', 'linux/x64', 'win32/arm64', 'win32/x64'];

/** A node_modules shaped like `npm ci --omit=dev` leaves it on `platform`-`arch` (sharp's @img package for it only). */
async function fakeNodeModules(platform: string, arch: string): Promise<string> {
  const root = path.join(await createTempDir('bias-gate-prune-'), 'node_modules');
  for (const target of ONNX_TARGETS) {
    await mkdir(path.join(root, 'onnxruntime-node/bin/napi-v6', target), { recursive: true });
    await writeFile(path.join(root, 'onnxruntime-node/bin/napi-v6', target, 'onnxruntime_binding.node'), Buffer.alloc(1000));
  }
  await writeFile(path.join(root, 'onnxruntime-node/package.json'), '{"name":"onnxruntime-node"}');
  const img = async (name: string, manifest: object) => {
    await mkdir(path.join(root, '@img', name), { recursive: true });
    await writeFile(path.join(root, '@img', name, 'package.json'), JSON.stringify({ name: `@img/${name}`, ...manifest }));
  };
  await img('colour', {});
  await img(`sharp-${platform}-${arch}`, { os: [platform], cpu: [arch] });
  if (platform !== 'win32') await img(`sharp-libvips-${platform}-${arch}`, { os: [platform], cpu: [arch] });
  return root;
}

async function prune(nodeModules: string, platform: string, arch: string) {
  const { stdout } = await exec(process.execPath, [repoPath('scripts/prune-native.mjs'), '--node-modules', nodeModules, '--platform', platform, '--arch', arch]);
  return stdout;
}

describe('scripts/prune-native.mjs', () => {
  it.each([
    ['linux', 'x64'],
    ['linux', 'arm64'],
    ['darwin', 'arm64'],
    ['win32', 'x64'],
  ])('on %s-%s keeps only that onnxruntime binary and the @img packages npm installed', async (platform, arch) => {
    const nodeModules = await fakeNodeModules(platform, arch);
    const log = await prune(nodeModules, platform, arch);
    for (const target of ONNX_TARGETS) {
      expect(existsSync(path.join(nodeModules, 'onnxruntime-node/bin/napi-v6', target)), target).toBe(target === `${platform}/${arch}`);
    }
    expect(existsSync(path.join(nodeModules, 'onnxruntime-node/package.json'))).toBe(true);
    expect(existsSync(path.join(nodeModules, `@img/sharp-${platform}-${arch}`))).toBe(true);
    expect(existsSync(path.join(nodeModules, '@img/colour'))).toBe(true);
    expect(log).toContain(`bias-gate: kept native binaries for ${platform}-${arch}; freed 0.0 MB`);
    // Running it again (a restored cache) changes nothing.
    expect(await prune(nodeModules, platform, arch)).not.toContain('pruned ');
  });

  it('deletes an @img package for another platform (a node_modules copied between runners)', async () => {
    const nodeModules = await fakeNodeModules('linux', 'x64');
    await mkdir(path.join(nodeModules, '@img/sharp-darwin-arm64'), { recursive: true });
    await writeFile(path.join(nodeModules, '@img/sharp-darwin-arm64/package.json'), JSON.stringify({ os: ['darwin'], cpu: ['arm64'] }));
    await mkdir(path.join(nodeModules, '@img/sharp-wasm32'), { recursive: true });
    await writeFile(path.join(nodeModules, '@img/sharp-wasm32/package.json'), JSON.stringify({ cpu: ['wasm32'] }));
    const log = await prune(nodeModules, 'linux', 'x64');
    expect(log).toContain('pruned @img/sharp-darwin-arm64');
    expect(existsSync(path.join(nodeModules, '@img/sharp-darwin-arm64'))).toBe(false);
    expect(existsSync(path.join(nodeModules, '@img/sharp-wasm32'))).toBe(true);
    expect(existsSync(path.join(nodeModules, '@img/sharp-linux-x64'))).toBe(true);
  });

  it('a missing node_modules is an error that says to install first', async () => {
    const dir = await createTempDir('bias-gate-prune-');
    const failure = await exec(process.execPath, [repoPath('scripts/prune-native.mjs'), '--node-modules', path.join(dir, 'node_modules')]).catch((e: { code: number; stdout: string }) => e);
    expect('code' in failure && failure.code).toBe(1);
    expect(failure.stdout).toContain('does not exist: run npm ci --omit=dev before pruning.');
  });
});

describe('scripts/runner-check.mjs', () => {
  async function runnerCheck(env: Record<string, string>, node = process.execPath) {
    const output = path.join(await createTempDir('bias-gate-check-'), 'output');
    await writeFile(output, '');
    const result = await exec(node, [repoPath('scripts/runner-check.mjs')], { env: { ...process.env, GITHUB_OUTPUT: output, ...env } }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );
    return { ...result, output: await readFile(output, 'utf8') };
  }

  const major = Number(process.versions.node.split('.')[0]);
  // The Action's Node (>= 22): this one, or the one .ci/run installs from the npm registry.
  const actionNode = major >= 22 ? process.execPath : process.env.BIAS_GATE_ACTION_NODE;
  if (!actionNode) console.warn('skipping the runner-check cache-key test: the Action needs Node >= 22; set BIAS_GATE_ACTION_NODE to a newer node binary (.ci/run does)');
  it.runIf(actionNode)('writes a cache key of platform, version, lockfile, pruning and Node ABI', async () => {
    const result = await runnerCheck({}, actionNode);
    expect(result.code).toBe(0);
    const version = JSON.parse(await readFile(repoPath('package.json'), 'utf8')).version;
    const abi = (await exec(actionNode!, ['-p', 'process.versions.modules'])).stdout.trim();
    expect(result.output).toMatch(new RegExp(`^key=bias-gate-deps-${process.platform}-${process.arch}-${version.replace(/\./g, '\\.')}-[0-9a-f]{16}-[0-9a-f]{16}-node${abi}\\n$`));
  });

  it.runIf(major < 22)('refuses a Node the Action does not support, even for publishing', async () => {
    for (const env of [{}, { 'INPUT_PUBLISH-REPORT': 'bundle' }] as Record<string, string>[]) {
      const result = await runnerCheck(env);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('::error title=bias-gate::The bias-gate Action needs Node.js >= 22.0.0');
      expect(result.output).toBe('');
    }
  });
});
