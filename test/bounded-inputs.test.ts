import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../src/command.ts';
import { MAX_PARSER_MESSAGE_CHARS } from '../src/parser-message.ts';
import { MAX_RESIZED_PIXELS } from '../src/vision/preprocess.ts';
import { createFixtureRepo, editConfig } from './fixture-repo.ts';

/**
 * Issue 9 §4 and §5 through the CLI: inputs that used to take unbounded memory or time, crash
 * with an internal error, or pass a gate on a value that was never scored.
 */

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(args: string[], cwd: string): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const withCache = args[0] === 'run' && !args.includes('--cache-dir') ? [...args, '--cache-dir', path.join(cwd, '.bias-gate-cache')] : args;
  const code = await runCommand(withCache, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd });
  return { code, stdout, stderr };
}

const RUN = ['run', '--config', 'thresholds.yaml', '--base', 'fixtures/base', '--quiet'];

/** Runs the job after `breakIt` and expects exit 2 with `message`, no verdict and no internal error. */
async function expectInputError(breakIt: (root: string) => Promise<void>, message: string | RegExp, args = RUN): Promise<Outcome> {
  const root = await createFixtureRepo();
  await breakIt(root);
  const outcome = await run(args, root);
  expect(outcome.stderr).not.toContain('internal error');
  expect(outcome.code).toBe(2);
  expect(outcome.stdout).toBe('');
  expect(outcome.stderr).toMatch(/^bias-gate: error: /);
  expect(outcome.stderr).toMatch(message);
  return outcome;
}

/** Only the vision half of the fixture config. */
const visionOnly = (text: string) => text.slice(0, text.indexOf('\nlanguage:') + 1);

describe('bounded resources (issue 9 §4)', () => {
  it('a 1×20000 PNG with resize 256 is refused from its header, quickly, naming the file', { timeout: 30_000 }, async () => {
    const started = Date.now();
    await expectInputError(async (root) => {
      await editConfig(root, (t) => visionOnly(t).replace('resize: 8', 'resize: 256').replace('crop: 8', 'crop: 224'));
      await sharp({ create: { width: 1, height: 20_000, channels: 3, background: { r: 9, g: 9, b: 9 } } })
        .png()
        .toFile(path.join(root, 'fixtures/vision/reference-sets/surfboard/strip.png'));
    }, `surfboard/strip.png is 1×20000, which resizing the shorter side to 256 makes 256×5120000 (1310720000 pixels); the limit is ${MAX_RESIZED_PIXELS} pixels (MAX_RESIZED_PIXELS)`);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('a YAML alias bomb in thresholds.yaml is an input error naming the file', { timeout: 30_000 }, async () => {
    const levels = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
    for (let k = 1; k < 10; k++) levels.push(`${String.fromCharCode(97 + k)}: &${String.fromCharCode(97 + k)} [${Array(9).fill(`*${String.fromCharCode(96 + k)}`).join(', ')}]`);
    const outcome = await expectInputError(
      (root) => writeFile(path.join(root, 'thresholds.yaml'), `version: 1\nbomb:\n${levels.map((line) => `  ${line}`).join('\n')}\n`),
      /thresholds\.yaml:\d+:\d+: malformed YAML: Excessive alias count .*\(more than 100 alias expansions\)/,
    );
    expect(outcome.stderr.length).toBeLessThan(1000);
  });

  it('deeply nested YAML is an input error naming the file', async () => {
    await expectInputError((root) => writeFile(path.join(root, 'thresholds.yaml'), `version: 1\nvision: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`), /^bias-gate: error: thresholds\.yaml:\d+:\d+: malformed YAML: /);
  });

  it('a CSV manifest that does not parse names the file and line, without echoing the field', async () => {
    const outcome = await expectInputError(async (root) => {
      const sets = path.join(root, 'fixtures/vision/reference-sets');
      const rows = ['set,path'];
      for (const set of await readdir(sets)) for (const file of await readdir(path.join(sets, set))) rows.push(`${set},${set}/${file}`);
      rows.push(`${'x'.repeat(5000)}"oops,surfboard/00.png`);
      await writeFile(path.join(sets, 'manifest.csv'), `${rows.join('\n')}\n`);
      await editConfig(root, (t) => t.replace('reference_sets: fixtures/vision/reference-sets', 'reference_sets: fixtures/vision/reference-sets/manifest.csv'));
    }, /fixtures\/vision\/reference-sets\/manifest\.csv:\d+: not valid CSV: Invalid Opening Quote/);
    expect(outcome.stderr).not.toContain('x'.repeat(MAX_PARSER_MESSAGE_CHARS));
    expect(outcome.stderr.length).toBeLessThan(1000);
  });
});
