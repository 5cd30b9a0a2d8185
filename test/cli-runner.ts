import path from 'node:path';
import { expect } from 'vitest';
import { runCommand } from '../src/command.ts';

/** What one CLI invocation printed and returned. */
export interface CliOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI in-process (`runCommand`) in `cwd` and collects its output. A `run` without
 * `--cache-dir` or `--no-cache` gets the repository's own cache directory, so no test sees
 * another's results (or the user's ~/.cache).
 */
export async function runCli(args: readonly string[], cwd: string): Promise<CliOutcome> {
  let stdout = '';
  let stderr = '';
  const ownCache = args[0] === 'run' && !args.includes('--cache-dir') && !args.includes('--no-cache');
  const withCache = ownCache ? [...args, '--cache-dir', path.join(cwd, '.bias-gate-cache')] : [...args];
  const code = await runCommand(withCache, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd });
  return { code, stdout, stderr };
}

/**
 * Expects an input error: exit 2, no verdict on stdout, and `bias-gate: error: ` followed by a
 * message matching `message` on stderr.
 */
export function expectInputErrorOutcome(outcome: CliOutcome, message: string | RegExp): CliOutcome {
  expect(outcome.code).toBe(2);
  expect(outcome.stdout).toBe(''); // never a verdict
  expect(outcome.stderr).toMatch(/^bias-gate: error: /);
  expect(outcome.stderr).toMatch(message);
  return outcome;
}
