// dist/cli.js (the bin) refuses an unsupported Node or platform before it
// loads the bundle. The runtime is faked by a preload that redefines
// process.versions / platform / arch, as the entry reads them.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createTempDir, repoPath } from '../helpers.ts';

const exec = promisify(execFile);

async function runCli(preload: string, args: string[]) {
  const file = path.join(await createTempDir('bias-gate-entry-'), 'preload.mjs');
  await writeFile(file, preload);
  return exec(process.execPath, ['--import', file, repoPath('dist/cli.js'), ...args]).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

describe('the bias-gate bin', () => {
  it('on Node 18: exit 2 with the minimum and the fix, nothing else loaded', async () => {
    const result = await runCli("Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '18.20.0' } });", ['--version']);
    expect(result).toEqual({ code: 2, stdout: '', stderr: 'bias-gate needs Node.js >= 20.9.0; this is Node.js 18.20.0. Install Node.js 24 or 22 (https://nodejs.org, or nvm install 24).\n' });
  });

  it('on macOS x64: exit 2, naming the missing onnxruntime binary and what to use', async () => {
    const result = await runCli("Object.defineProperty(process, 'platform', { value: 'darwin' }); Object.defineProperty(process, 'arch', { value: 'x64' });", ['--version']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^bias-gate does not run on macOS x64 \(Intel\): onnxruntime-node ships no darwin-x64 binary\./);
  });

  it('on a supported runtime it hands over to the CLI', async () => {
    const result = await runCli('', ['--version']);
    expect(result.code).toBe(0);
    const { version } = JSON.parse(await readFile(repoPath('package.json'), 'utf8')) as { version: string };
    expect(result.stdout).toBe(`${version}\n`);
  });
});
