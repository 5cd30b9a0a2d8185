/**
 * The `gpu: true` input on this machine, which has no CUDA: the runner check gives GPU jobs
 * their own dependency cache, and the preflight step stops the job with the reason instead of
 * letting a GPU gate run silently on the CPU. (The `[cuda, cpu]` fallback and the `[cuda]`
 * failure inside a run are tested in test/runtime/providers.test.ts.)
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createTempDir, repoPath } from '../helpers.ts';

const exec = promisify(execFile);
const major = Number(process.versions.node.split('.')[0]);
/** The Action's scripts need Node >= 22: this Node, or the one .ci/run installs from the npm registry. */
const ACTION_NODE = major >= 22 ? process.execPath : process.env.BIAS_GATE_ACTION_NODE;
if (!ACTION_NODE) console.warn('test/release/gpu: skipped: the Action needs Node >= 22; set BIAS_GATE_ACTION_NODE to a newer node binary (.ci/run does)');

async function node(script: string, env: Record<string, string>): Promise<{ code: number; stdout: string }> {
  return exec(ACTION_NODE!, [script], { cwd: repoPath(''), env: { ...process.env, ...env } }).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
  );
}

describe.runIf(ACTION_NODE && process.platform === 'linux' && process.arch === 'x64')('gpu: true', () => {
  it('gives GPU jobs their own native-dependency cache key', async () => {
    const output = path.join(await createTempDir('bias-gate-gpu-'), 'output');
    await writeFile(output, '');
    const result = await node(repoPath('scripts/runner-check.mjs'), { GITHUB_OUTPUT: output, INPUT_GPU: 'true' });
    expect(result.code).toBe(0);
    expect(await readFile(output, 'utf8')).toMatch(/^key=bias-gate-deps-linux-x64-.*-cuda12\n$/);
  });

  it('stops the job in preflight when the CUDA provider does not load, naming the reason and the fix', async () => {
    const result = await node(repoPath('dist/preflight.js'), { BIAS_GATE_GPU: 'true' });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("::error title=bias-gate::gpu: true, but onnxruntime's CUDA provider does not load on this runner: ");
    expect(result.stdout).toMatch(/Failed to load shared library|providers_cuda|cuda/i);
    expect(result.stdout).toContain('Use a GPU runner with CUDA 12 and cuDNN 9 installed, or remove gpu: true.');
  });

  it('without gpu the preflight does not try CUDA', async () => {
    const result = await node(repoPath('dist/preflight.js'), {});
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('CUDA');
  });
});
