import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../../src/command.ts';
import { createTempDir, git, repoPath } from '../helpers.ts';
import { expectValidReport } from '../report-schema.ts';

/** A git repository whose main branch holds the base models and `baseConfig`; HEAD is a PR branch with the head models and `headConfig`. */
async function repositoryWithPolicies(baseConfig: string, headConfig: string | null): Promise<string> {
  const root = await createTempDir('bias-gate-cli-policy-');
  git(root, 'init', '-q', '-b', 'main');
  await writeFile(path.join(root, 'thresholds.yaml'), baseConfig);
  await cp(repoPath('fixtures/vision'), path.join(root, 'fixtures/vision'), { recursive: true });
  await cp(repoPath('fixtures/base/fixtures/vision/classifier.onnx'), path.join(root, 'fixtures/vision/classifier.onnx'));
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'base');
  git(root, 'checkout', '-q', '-b', 'pr');
  await cp(repoPath('fixtures/vision/classifier.onnx'), path.join(root, 'fixtures/vision/classifier.onnx'));
  if (headConfig === null) await rm(path.join(root, 'thresholds.yaml'));
  else await writeFile(path.join(root, 'thresholds.yaml'), headConfig);
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'PR');
  return root;
}

async function run(args: string[], cwd: string) {
  let stdout = '';
  let stderr = '';
  const code = await runCommand([...args, '--quiet', '--no-cache'], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd });
  return { code, stdout, stderr };
}

/** The fixtures' vision section alone, with the surfboard gate failing instead of warning. */
async function strictVisionConfig(): Promise<string> {
  const text = await readFile(repoPath('thresholds.yaml'), 'utf8');
  return text.replace(/^language:[\s\S]*$/m, '').replace(/(require_significant: true[^\n]*\n)\s+level: warn\n/, '$1');
}

describe('the CLI applies the base side policy with --base REF', () => {
  it('a PR that loosens its threshold still fails; --policy-source head accepts its policy', async () => {
    const strict = await strictVisionConfig();
    const loose = strict.replace(/(gap\.surfboard\n\s+max_abs_increase:) 0\.02/, '$1 0.5');
    const root = await repositoryWithPolicies(strict, loose);
    const gated = await run(['run', '--config', 'thresholds.yaml', '--base', 'main', '--json', 'report.json'], root);
    expect(gated.stderr).toBe('');
    expect(gated.code).toBe(1);
    expect(gated.stdout).toContain("Policy in force: the base branch's config, which applies until this pull request is merged");
    expect(gated.stdout).toContain('loosened: vision.gates[gap.surfboard].max_abs_increase threshold: 0.02 -> 0.5');
    expect(gated.stdout).toContain("Under the pull request's proposed policy (not in force) the verdict would be pass (0 failed · 0 warnings · 4 passed · 0 skipped)");
    const record = expectValidReport(await readFile(path.join(root, 'report.json'), 'utf8'));
    expect(record.policy.base.commit).toBe(git(root, 'rev-parse', 'main'));
    expect(record.config.sha256).toBe(record.policy.base.sha256);

    const accepted = await run(['run', '--config', 'thresholds.yaml', '--base', 'main', '--policy-source', 'head'], root);
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toContain("verdict: PASS");
    expect(accepted.stdout).toContain("accepted before merging: `policy-source: head` was chosen");
  }, 120_000);

  it('a PR that deletes the config is still gated by the base policy', async () => {
    const root = await repositoryWithPolicies(await strictVisionConfig(), null);
    const gated = await run(['run', '--config', 'thresholds.yaml', '--base', 'main'], root);
    expect(gated.code).toBe(1);
    expect(gated.stdout).toContain('config deleted: thresholds.yaml: present -> —');
  }, 120_000);

  it('--policy-source takes base or head only', async () => {
    const root = await repositoryWithPolicies(await strictVisionConfig(), await strictVisionConfig());
    const outcome = await run(['run', '--base', 'main', '--policy-source', 'pr'], root);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain('--policy-source expects base or head, found "pr"');
  }, 60_000);
});
