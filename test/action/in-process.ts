/**
 * Runs the Action's entry point (`runAction`) in this process, as a runner would call it: the
 * inputs and GITHUB_* variables in the environment, an event payload file, and GITHUB_OUTPUT /
 * GITHUB_STEP_SUMMARY files whose contents come back. For tests that drive many runs against the
 * GitHub stand-in (governance, history); the release-directory e2e test runs the real composite.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runAction } from '../../src/github/action.ts';
import { createTempDir } from '../helpers.ts';

/** `name<<DELIMITER\nvalue\nDELIMITER` entries of a GITHUB_OUTPUT file. */
export function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const match of text.matchAll(/^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)) outputs[match[1]!] = match[3]!;
  return outputs;
}

/** What one in-process run left. */
export interface InProcessRun {
  /** The step failed (core.setFailed sets process.exitCode to 1). */
  failed: boolean;
  outputs: Record<string, string>;
  /** Everything the Action wrote to stdout (log lines, workflow commands). */
  log: string;
  summary: string;
}

export interface InProcessRunOptions {
  eventName: string;
  payload: object;
  /** The checkout (GITHUB_WORKSPACE). */
  workspace: string;
  apiUrl: string;
  /** Action inputs by name (`fail-on`), as a workflow's `with:` gives them. */
  inputs: Record<string, string>;
  /** Further variables (GITHUB_SHA, GITHUB_RUN_ID, …), set after the defaults. */
  env?: Record<string, string>;
}

/** Runs the Action once; the caller restores the environment with {@link restoreEnvironment} after each test. */
export async function runActionInProcess(options: InProcessRunOptions): Promise<InProcessRun> {
  const work = await createTempDir('bias-gate-action-run-');
  await writeFile(path.join(work, 'event.json'), JSON.stringify(options.payload));
  for (const file of ['summary.md', 'output.txt']) await writeFile(path.join(work, file), '');
  Object.assign(process.env, {
    'INPUT_CONFIG': 'thresholds.yaml', 'INPUT_GITHUB-TOKEN': 'ghs_installation_token', 'INPUT_COMMENT': 'update', 'INPUT_FAIL-ON': 'fail', 'INPUT_WORKING-DIRECTORY': '.',
    GITHUB_EVENT_NAME: options.eventName, GITHUB_EVENT_PATH: path.join(work, 'event.json'), GITHUB_REPOSITORY: 'Codertocat/Hello-World', GITHUB_API_URL: options.apiUrl,
    GITHUB_SERVER_URL: 'https://github.com', GITHUB_JOB: 'bias-gate', GITHUB_WORKSPACE: options.workspace, GITHUB_STEP_SUMMARY: path.join(work, 'summary.md'),
    GITHUB_OUTPUT: path.join(work, 'output.txt'), RUNNER_TEMP: path.join(work, 'tmp'), RUNNER_OS: 'Linux',
    ...options.env,
    ...Object.fromEntries(Object.entries(options.inputs).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value])),
  });
  delete process.env.ACTIONS_CACHE_URL;
  const logged: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => (logged.push(String(chunk)), true)) as typeof process.stdout.write;
  try {
    await runAction();
  } finally {
    process.stdout.write = write;
  }
  return {
    failed: process.exitCode === 1,
    outputs: parseOutputs(await readFile(path.join(work, 'output.txt'), 'utf8')),
    log: logged.join(''),
    summary: await readFile(path.join(work, 'summary.md'), 'utf8'),
  };
}

/** Puts the environment back as `saved` had it and clears the exit code a failed run set. */
export function restoreEnvironment(saved: NodeJS.ProcessEnv): void {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
  process.exitCode = 0;
}
