// The npm package as a user gets it: `npm pack`, then a global install of the
// tarball into an empty prefix with the command README "Install the CLI"
// documents, and the installed `bias-gate` run on the repository's fixtures.
// Slow (npm fetches onnxruntime-node and sharp from the registry or its cache).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createTempDir, repoPath } from '../helpers.ts';

const exec = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe.skipIf(process.platform === 'win32')('the packed tarball, installed globally', () => {
  it('installs without running onnxruntime-node\'s download, runs --version and scores the fixtures', async () => {
    const work = await createTempDir('bias-gate-pack-');
    const { version } = JSON.parse(await readFile(repoPath('package.json'), 'utf8')) as { version: string };
    const [packed] = JSON.parse((await exec(npm, ['pack', '--json', '--pack-destination', work], { cwd: repoPath('') })).stdout) as { filename: string; files: { path: string }[] }[];
    const files = packed!.files.map((f) => f.path).sort();
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'CHANGELOG.md', 'README.md', 'action.yml', 'dist/cli.js', 'dist/cli-main.js', 'dist/index.js', 'dist/THIRD_PARTY_LICENSES.txt', 'package.json']));
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('fixtures/'))).toEqual([]);

    // README: npm install -g --ignore-scripts bias-gate-<version>.tgz. No ONNXRUNTIME_NODE_INSTALL in the environment:
    // the flag alone must keep onnxruntime-node's postinstall (a NuGet download of CUDA binaries) from running.
    const prefix = path.join(work, 'prefix');
    const env: NodeJS.ProcessEnv = { ...process.env, ONNXRUNTIME_NODE_INSTALL: undefined, npm_config_onnxruntime_node_install: undefined };
    await exec(npm, ['install', '--global', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--prefix', prefix, path.join(work, packed!.filename)], { cwd: work, env, maxBuffer: 16 * 1024 * 1024 });
    const installed = path.join(prefix, 'lib/node_modules/bias-gate');
    expect(existsSync(path.join(installed, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so'))).toBe(false);

    const bin = path.join(prefix, 'bin/bias-gate');
    expect((await exec(bin, ['--version'], { cwd: work })).stdout).toBe(`${version}\n`);

    // A run from the installed copy, on the repository's fixtures (cwd: the repository, as a user's checkout).
    const result = await exec(bin, ['run', '--config', 'thresholds.yaml', '--base', 'fixtures/base', '--quiet', '--no-cache'], { cwd: repoPath(''), maxBuffer: 16 * 1024 * 1024 });
    expect(result.stdout).toContain('verdict: WARN');
    expect(result.stdout).toMatch(/bts\.object\s+13 items\s+0\.9121\s+0\.9066/);
  }, 600_000);
});
