import { describe, expect, it } from 'vitest';
import { checkNativeTarget, checkNodeVersion, checkRuntime, MINIMUM_NODE, nodeVersionAtLeast, ONNXRUNTIME_BINARIES, TESTED_TARGETS } from '../../src/platform.mjs';
import { existsSync, readdirSync } from 'node:fs';
import { repoPath } from '../helpers.ts';

describe('Node.js versions', () => {
  it('compares major, minor and patch numerically', () => {
    expect(nodeVersionAtLeast('22.0.0', '22.0.0')).toBe(true);
    expect(nodeVersionAtLeast('v24.1.0', '22.0.0')).toBe(true);
    expect(nodeVersionAtLeast('20.9.0', '20.9.0')).toBe(true);
    expect(nodeVersionAtLeast('20.10.0', '20.9.0')).toBe(true);
    expect(nodeVersionAtLeast('20.8.1', '20.9.0')).toBe(false);
    expect(nodeVersionAtLeast('21.99.99', '22.0.0')).toBe(false);
    expect(nodeVersionAtLeast('garbage', '22.0.0')).toBe(false);
  });

  it('the Action needs 22, the CLI 20.9; the refusal names the fix', () => {
    expect(checkNodeVersion({ nodeVersion: '24.3.0', entry: 'action' })).toEqual({ supported: true });
    expect(checkNodeVersion({ nodeVersion: '22.0.0', entry: 'action' })).toEqual({ supported: true });
    expect(checkNodeVersion({ nodeVersion: '20.19.0', entry: 'action' })).toEqual({
      supported: false,
      message: 'The bias-gate Action needs Node.js >= 22.0.0; this is Node.js 20.19.0. Add actions/setup-node with node-version: 24 before the bias-gate step.',
    });
    expect(checkNodeVersion({ nodeVersion: '20.19.0', entry: 'cli' })).toEqual({ supported: true });
    expect(checkNodeVersion({ nodeVersion: '18.20.4', entry: 'cli' })).toEqual({
      supported: false,
      message: 'bias-gate needs Node.js >= 20.9.0; this is Node.js 18.20.4. Install Node.js 24 or 22 (https://nodejs.org, or nvm install 24).',
    });
    expect(MINIMUM_NODE).toEqual({ action: '22.0.0', cli: '20.9.0' });
  });
});

describe('platforms', () => {
  it.each([
    ['linux', 'x64'],
    ['linux', 'arm64'],
    ['darwin', 'arm64'],
    ['win32', 'x64'],
  ])('%s-%s is supported and tested', (platform, arch) => {
    expect(checkNativeTarget({ platform, arch })).toEqual({ supported: true });
  });

  it('macOS x64 is refused: onnxruntime-node has no binary for it', () => {
    const check = checkNativeTarget({ platform: 'darwin', arch: 'x64' });
    expect(check.supported).toBe(false);
    expect(!check.supported && check.message).toMatch(/^bias-gate does not run on macOS x64 \(Intel\): onnxruntime-node ships no darwin-x64 binary\. Use an Apple silicon runner \(macos-latest/);
  });

  it('Windows arm64 has binaries but is untested: allowed with a note', () => {
    expect(checkNativeTarget({ platform: 'win32', arch: 'arm64' })).toEqual({ supported: true, note: 'win32-arm64 has native binaries but is not tested by bias-gate\'s CI.' });
  });

  it.each([
    ['linux', 'ia32'],
    ['freebsd', 'x64'],
    ['linux', 's390x'],
  ])('%s-%s is refused, listing what is supported', (platform, arch) => {
    const check = checkNativeTarget({ platform, arch });
    expect(check).toEqual({ supported: false, message: `bias-gate does not run on ${platform}-${arch}: onnxruntime-node ships binaries only for darwin-arm64, linux-arm64, linux-x64, win32-arm64, win32-x64. Use a Linux x64/arm64, macOS arm64 or Windows x64 runner.` });
  });

  it('checkRuntime: Node first; native: false (publishing) skips the platform', () => {
    expect(checkRuntime({ platform: 'darwin', arch: 'x64', nodeVersion: '20.0.0', entry: 'action' }).supported).toBe(false);
    expect(checkRuntime({ platform: 'darwin', arch: 'x64', nodeVersion: '24.0.0', entry: 'action', native: false })).toEqual({ supported: true });
    expect(checkRuntime({ platform: 'darwin', arch: 'x64', nodeVersion: '24.0.0', entry: 'action' }).supported).toBe(false);
    expect(checkRuntime({ platform: 'linux', arch: 'arm64', nodeVersion: '24.0.0', entry: 'cli' })).toEqual({ supported: true });
  });

  it('the binary table matches the installed onnxruntime-node', () => {
    const bin = repoPath('node_modules/onnxruntime-node/bin');
    const shipped = readdirSync(bin).flatMap((napi) => readdirSync(`${bin}/${napi}`).flatMap((os) => readdirSync(`${bin}/${napi}/${os}`).map((cpu) => `${os}/${cpu}`)));
    expect([...new Set(shipped)].sort()).toEqual([...ONNXRUNTIME_BINARIES].sort());
    expect(existsSync(`${bin}/napi-v6/darwin/x64`)).toBe(false);
    for (const target of TESTED_TARGETS) expect(ONNXRUNTIME_BINARIES).toContain(target);
  });
});
