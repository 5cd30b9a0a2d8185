import { git } from './git.ts';

/** Where GitHub reads workflows from. */
export const WORKFLOW_DIRECTORY = '.github/workflows';

/** Text that marks a workflow as one that runs bias-gate (`uses: owner/bias-gate@v1`, `npx bias-gate`). */
const RUNS_BIAS_GATE = /bias-gate/i;

/**
 * Workflow files that differ between `baseCommit` and HEAD and run bias-gate on either side
 * (issue 9 §1): a `pull_request` workflow runs the PR's own version of its workflow file, so a
 * PR can weaken or skip the gate there, and the report must say so.
 */
export async function changedGateWorkflows(repoRoot: string, baseCommit: string): Promise<string[]> {
  const diff = await git(repoRoot, ['diff', '--name-only', '-z', baseCommit, 'HEAD', '--', WORKFLOW_DIRECTORY]);
  if (diff.code !== 0) return [];
  const files = diff.stdout.toString('utf8').split('\0').filter((file) => /\.ya?ml$/.test(file));
  const running: string[] = [];
  for (const file of files) {
    const versions = await Promise.all([baseCommit, 'HEAD'].map(async (commit) => {
      const shown = await git(repoRoot, ['show', `${commit}:${file}`]);
      return shown.code === 0 ? shown.stdout.toString('utf8') : '';
    }));
    if (versions.some((text) => RUNS_BIAS_GATE.test(text))) running.push(file);
  }
  return running.sort();
}
