import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, readFile, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../src/command.ts';
import { createFixtureRepo, editConfig } from './fixture-repo.ts';
import { git } from './helpers.ts';

/**
 * Issue 9 §3: a pull request's author controls every file of the checkout, so every file
 * bias-gate reads must be a regular file inside the checkout it belongs to. Each escape is
 * driven through the CLI entry and must end in exit 2 naming the file, quickly, and without
 * anything from outside the checkout in the output.
 */

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(root: string, args: string[]): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const code = await runCommand(['run', '--config', 'thresholds.yaml', '--quiet', '--cache-dir', path.join(root, '.bias-gate-cache'), ...args], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    cwd: root,
  });
  return { code, stdout, stderr };
}

/** The fixture repo's config cut to one section, so a test only runs what it breaks. */
async function onlySection(root: string, section: 'vision' | 'language'): Promise<void> {
  await editConfig(root, (text) => {
    const languageAt = text.indexOf('\nlanguage:');
    return section === 'vision' ? text.slice(0, languageAt + 1) : `version: 1\n${text.slice(languageAt + 1)}`;
  });
}

const LM = 'fixtures/language/causal/model';
const CLASSIFIER = 'fixtures/vision/classifier.onnx';
const IMAGE_SET = 'fixtures/vision/reference-sets/man';

/** A link at `relative` (inside `root`) to `target`, replacing the file there. */
async function linkAt(root: string, relative: string, target: string): Promise<void> {
  await rm(path.join(root, relative), { force: true });
  await symlink(target, path.join(root, relative));
}

async function fifoAt(root: string, relative: string): Promise<void> {
  await rm(path.join(root, relative), { force: true });
  execFileSync('mkfifo', [path.join(root, relative)]);
}

function expectRefused(outcome: Outcome, file: string, what: RegExp): void {
  expect(outcome.code).toBe(2);
  expect(outcome.stdout).toBe('');
  expect(outcome.stderr).toMatch(/^bias-gate: error: /);
  expect(outcome.stderr).toContain(file);
  expect(outcome.stderr).toMatch(what);
}

const OUTSIDE = /is a symbolic link that leads outside the checkout|escapes the repository root through a symbolic link/;

describe('every file read stays inside the checkout', () => {
  const canary = 'ghs_secret_canary';
  let savedToken: string | undefined;
  beforeAll(() => {
    savedToken = process.env.GITHUB_TOKEN;
    process.env.GITHUB_TOKEN = canary;
  });
  afterAll(() => {
    if (savedToken === undefined) delete process.env.GITHUB_TOKEN;
    else process.env.GITHUB_TOKEN = savedToken;
  });

  it('a language model file linked to /dev/zero is refused at once, not read until the job times out', async () => {
    const root = await createFixtureRepo();
    await onlySection(root, 'language');
    await linkAt(root, `${LM}/tokenizer.json`, '/dev/zero');
    const outcome = await run(root, ['--base', 'fixtures/base']);
    expectRefused(outcome, `head language model ${LM}/tokenizer.json`, OUTSIDE);
    expect(outcome.stderr).not.toContain('/dev/zero');
  }, 20_000);

  it('a tokenizer file linked to /proc/self/environ never shows the environment', async () => {
    const root = await createFixtureRepo();
    await onlySection(root, 'language');
    await linkAt(root, `${LM}/tokenizer_config.json`, '/proc/self/environ');
    const outcome = await run(root, ['--base', 'fixtures/base']);
    expectRefused(outcome, `${LM}/tokenizer_config.json`, OUTSIDE);
    for (const text of [outcome.stdout, outcome.stderr]) {
      expect(text).not.toContain(canary);
      expect(text).not.toContain('GITHUB_TOKEN');
      expect(text).not.toContain('PATH=');
    }
  }, 20_000);

  it('a vision model linked to /etc/passwd is refused and its hash appears nowhere', async () => {
    const root = await createFixtureRepo();
    await onlySection(root, 'vision');
    // The base side: no config path check stands before it, only the read.
    await linkAt(root, `fixtures/base/${CLASSIFIER}`, '/etc/passwd');
    const passwdHash = createHash('sha256').update(await readFile('/etc/passwd')).digest('hex');
    const outcome = await run(root, ['--base', 'fixtures/base', '--json', 'out/report.json', '--markdown', 'out/report.md']);
    expectRefused(outcome, `base model ${CLASSIFIER}`, OUTSIDE);
    expect(outcome.stdout + outcome.stderr).not.toContain(passwdHash);
    expect(outcome.stderr).not.toContain('root:');
    expect(existsSync(path.join(root, 'out/report.json'))).toBe(false);
    expect(existsSync(path.join(root, 'out/report.md'))).toBe(false);
  }, 20_000);

  it('a configured head path linked out of the repository is refused with the config key', async () => {
    const root = await createFixtureRepo();
    await onlySection(root, 'vision');
    await linkAt(root, CLASSIFIER, '/etc/passwd');
    const outcome = await run(root, ['--base', 'fixtures/base']);
    expectRefused(outcome, `vision.model: "${CLASSIFIER}" escapes the repository root`, /thresholds\.yaml:\d+/);
    expect(outcome.stderr).not.toContain('root:');
  }, 20_000);

  it('a reference image linked to /etc/passwd is refused and its hash appears nowhere', async () => {
    const root = await createFixtureRepo();
    await onlySection(root, 'vision');
    await symlink('/etc/passwd', path.join(root, IMAGE_SET, 'zz-passwd.png'));
    const passwdHash = createHash('sha256').update(await readFile('/etc/passwd')).digest('hex');
    const outcome = await run(root, ['--base', 'fixtures/base', '--json', 'out/report.json']);
    expectRefused(outcome, `${IMAGE_SET}/zz-passwd.png`, OUTSIDE);
    expect(outcome.stdout + outcome.stderr).not.toContain(passwdHash);
    expect(outcome.stderr).not.toContain('/etc/passwd');
    expect(existsSync(path.join(root, 'out/report.json'))).toBe(false);
  }, 20_000);

  it('a FIFO as a reference image is refused without blocking', async () => {
    const root = await createFixtureRepo();
    await onlySection(root, 'vision');
    await fifoAt(root, `${IMAGE_SET}/zz-fifo.png`);
    const outcome = await run(root, ['--base', 'fixtures/base']);
    expectRefused(outcome, `${IMAGE_SET}/zz-fifo.png`, /is a FIFO \(named pipe\), not an image file/);
  }, 20_000);

  it('a FIFO as tokenizer.json is refused without blocking', async () => {
    const root = await createFixtureRepo();
    await onlySection(root, 'language');
    await fifoAt(root, `${LM}/tokenizer.json`);
    const outcome = await run(root, ['--base', 'fixtures/base']);
    expectRefused(outcome, `head language model ${LM}/tokenizer.json`, /is a FIFO \(named pipe\), not a regular file/);
  }, 20_000);

  it('a config file linked out of the repository is refused', async () => {
    const root = await createFixtureRepo();
    await linkAt(root, 'thresholds.yaml', '/etc/passwd');
    const outcome = await run(root, []);
    expectRefused(outcome, 'thresholds.yaml: cannot read the config file', OUTSIDE);
    expect(outcome.stderr).not.toContain('root:');
  }, 20_000);

  it('a local benchmark file linked out of the repository is refused', async () => {
    const root = await createFixtureRepo();
    await onlySection(root, 'language');
    await linkAt(root, 'fixtures/language/benchmarks/crows_pairs_sample.csv', '/etc/passwd');
    const outcome = await run(root, ['--base', 'fixtures/base']);
    expectRefused(outcome, 'fixtures/language/benchmarks/crows_pairs_sample.csv', /escapes the repository root/);
    expect(outcome.stderr).not.toContain('root:');
  }, 60_000);

  it('a symbolic link to another file inside the checkout is still read', async () => {
    const root = await createFixtureRepo();
    await onlySection(root, 'vision');
    // The head model is a link to a copy elsewhere in the repository, relative as git stores it.
    await copyFile(path.join(root, CLASSIFIER), path.join(root, 'fixtures/classifier-copy.onnx'));
    await linkAt(root, CLASSIFIER, '../classifier-copy.onnx');
    const outcome = await run(root, ['--base', 'fixtures/base']);
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toContain('verdict: WARN');
  }, 60_000);

  it('a base tree from git with a symbolic link out of it is refused when read', async () => {
    const root = await createFixtureRepo();
    await rm(path.join(root, '.git'), { recursive: true });
    await onlySection(root, 'language');
    git(root, 'init', '-q');
    // The base commit: the model's tokenizer.json is a link to /etc/passwd.
    await linkAt(root, `${LM}/tokenizer.json`, '/etc/passwd');
    git(root, 'add', '-A');
    git(root, 'commit', '-q', '-m', 'base with a link out');
    // The head: a real tokenizer again.
    await rm(path.join(root, LM, 'tokenizer.json'));
    await copyFile(path.join(root, 'fixtures/base', LM, 'tokenizer.json'), path.join(root, LM, 'tokenizer.json'));
    git(root, 'add', '-A');
    git(root, 'commit', '-q', '-m', 'head');
    const passwdHash = createHash('sha256').update(await readFile('/etc/passwd')).digest('hex');
    const outcome = await run(root, ['--base', 'HEAD~1']);
    expectRefused(outcome, `base language model ${LM}/tokenizer.json`, OUTSIDE);
    expect(outcome.stdout + outcome.stderr).not.toContain(passwdHash);
  }, 30_000);
});
