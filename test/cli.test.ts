import { execFile } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { createFixtureRepo, editConfig } from './fixture-repo.ts';
import { expectInputErrorOutcome, runCli, type CliOutcome } from './cli-runner.ts';
import { repoPath } from './helpers.ts';
import { expectValidReport } from './report-schema.ts';


const run = runCli;
type Outcome = CliOutcome;

const RUN = ['run', '--config', 'thresholds.yaml', '--base', 'fixtures/base', '--quiet'];

/** Runs the job in a fixture repo after `breakIt` and expects exit 2 with `message`, and no verdict. */
async function expectInputError(breakIt: (root: string) => Promise<void>, message: string | RegExp, args = RUN): Promise<Outcome> {
  const root = await createFixtureRepo();
  await breakIt(root);
  return expectInputErrorOutcome(await run(args, root), message);
}

describe('bias-gate run: exit codes', () => {
  it('0 when the gates pass (warnings included), with the report on stdout and progress on stderr', async () => {
    const root = await createFixtureRepo();
    const outcome = await run(['run', '--config', 'thresholds.yaml', '--base', 'fixtures/base', '--json', 'out/report.json', '--markdown', 'out/report.md'], root);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toContain('verdict: WARN');
    expect(outcome.stdout).toMatch(/bts\.object\s+13 items\s+0\.9121\s+0\.9066/);
    expect(outcome.stderr).toContain('bias-gate: embedding with head model fixtures/vision/classifier.onnx: 78/78');
    expect(expectValidReport(await readFile(path.join(root, 'out/report.json'), 'utf8')).verdict).toBe('warn');
    expect(await readFile(path.join(root, 'out/report.md'), 'utf8')).toMatch(/^## ⚠️ bias-gate: pass with warnings/);
  });

  it('1 when a gate fails', async () => {
    const root = await createFixtureRepo();
    await editConfig(root, (text) => text.replace('      level: warn\n', ''));
    const outcome = await run(RUN, root);
    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toContain('verdict: FAIL');
    expect(outcome.stdout).toMatch(/FAIL\s+gap\.surfboard/);
  });

  it('2 on usage errors', async () => {
    expect((await run([], repoPath(''))).code).toBe(2);
    expect((await run(['score'], repoPath(''))).stderr).toContain('unknown command "score"');
    const unknownFlag = await run(['run', '--bogus'], repoPath(''));
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toContain("Unknown option '--bogus'");
    expect((await run(['run', '--base', 'no/such/dir'], repoPath(''))).stderr).toContain('--base');
  });

  it('--help and --version exit 0', async () => {
    expect(await run(['--help'], repoPath(''))).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: bias-gate run') });
    expect((await run(['--version'], repoPath(''))).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('the built dist/cli.js behaves the same as a process', async () => {
    const exec = promisify(execFile);
    const result = await exec(process.execPath, [repoPath('dist/cli.js'), ...RUN, '--no-cache'], { cwd: repoPath('') });
    expect(result.stdout).toContain('verdict: WARN');
    const failure = await exec(process.execPath, [repoPath('dist/cli.js'), 'run', '--config', 'missing.yaml'], { cwd: repoPath('') }).catch((e: { code: number; stderr: string }) => e);
    expect(failure).toMatchObject({ code: 2, stderr: expect.stringContaining('missing.yaml: cannot read the config file') });
  });
});

describe('bias-gate run: bad input gives a clear message and exit 2', () => {
  const model = (root: string) => path.join(root, 'fixtures/vision/classifier.onnx');
  const image = (root: string, set = 'surfboard', name = '00.png') => path.join(root, 'fixtures/vision/reference-sets', set, name);

  it('a corrupt ONNX file', async () => {
    await expectInputError(async (root) => {
      const bytes = await readFile(model(root));
      await writeFile(model(root), bytes.subarray(0, 200));
    }, /fixtures\/vision\/classifier\.onnx could not be loaded as an ONNX model/);
  });

  it('a Git LFS pointer instead of the model', async () => {
    await expectInputError(
      (root) => writeFile(model(root), 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n'),
      /Git LFS pointer.*lfs: true/s,
    );
  });

  it('a wrong embedding output name lists the real ones', async () => {
    await expectInputError((root) => editConfig(root, (t) => t.replace('embedding_output: embedding', 'embedding_output: pooled')), /no output named "pooled"; its outputs are .*embedding.*logits/);
  });

  it('a wrong input name lists the real ones', async () => {
    await expectInputError((root) => editConfig(root, (t) => t.replace('input: pixels', 'input: images')), /no input named "images"; its inputs are .*pixels/);
  });

  it('an image that does not decode', async () => {
    await expectInputError((root) => writeFile(image(root), 'not a png at all'), /surfboard\/00\.png could not be decoded/);
  });

  it('a CMYK image', async () => {
    await expectInputError(async (root) => {
      await rm(image(root));
      await sharp({ create: { width: 10, height: 8, channels: 3, background: { r: 200, g: 10, b: 10 } } }).toColourspace('cmyk').jpeg().toFile(image(root, 'surfboard', '00.jpg'));
    }, /surfboard\/00\.jpg.*CMYK/s);
  });

  it('a 16-bit image', async () => {
    await expectInputError(async (root) => {
      // A Uint16Array input makes sharp read 16-bit samples; rgb16 keeps them 16-bit in the PNG.
      await sharp(new Uint16Array(10 * 8 * 3).fill(40000), { raw: { width: 10, height: 8, channels: 3 } }).toColourspace('rgb16').png().toFile(image(root));
    }, /surfboard\/00\.png.*16-bit/s);
  });

  it('an empty reference set', async () => {
    await expectInputError(async (root) => {
      for (const file of await readdir(path.join(root, 'fixtures/vision/reference-sets/umbrella'))) await rm(image(root, 'umbrella', file));
    }, /Reference set 'umbrella' \(.*\) has no images/);
  });

  it('a reference set too small for the items it feeds', async () => {
    await expectInputError(async (root) => {
      for (const file of ['01.png', '02.png', '03.png', '04.png', '05.png']) await rm(image(root, 'umbrella+man', file));
    }, 'reference set "umbrella+man" has 1 image; the "pairs" item list (exact estimator) needs at least 2');
  });

  it('malformed YAML', async () => {
    await expectInputError((root) => writeFile(path.join(root, 'thresholds.yaml'), 'version: 1\nvision: [\n'), /thresholds\.yaml:\d+:\d+: malformed YAML/);
  });

  it('an unknown metric lists the valid ones', async () => {
    await expectInputError(
      (root) => editConfig(root, (t) => t.replace('metric: gap.umbrella', 'metric: gap.umbrela')),
      'thresholds.yaml:37: vision.gates[3].metric: unknown metric "gap.umbrela"; valid metrics: bts.object, bts.pairs, bts.indiv, bts.comps, gap.kitchen, gap.surfboard, gap.umbrella, gap.max, ieat.sport_vs_home',
    );
  });

  it('a path escaping the repository', async () => {
    await expectInputError((root) => editConfig(root, (t) => t.replace('pretrained: fixtures/vision/backbone.onnx', 'pretrained: ../../etc/backbone.onnx')), /vision\.pretrained: "\.\.\/\.\.\/etc\/backbone\.onnx" escapes the repository root/);
  });

  it('a missing model file', async () => {
    await expectInputError((root) => rm(path.join(root, 'fixtures/vision/backbone.onnx')), /pretrained model fixtures\/vision\/backbone\.onnx: file not found/);
  });
});

describe('bias-gate run: a model new in the pull request', () => {
  it('is scored alone and reported as new; change rules are skipped', async () => {
    const root = await createFixtureRepo();
    await rm(path.join(root, 'fixtures/base/fixtures/vision/classifier.onnx'));
    const outcome = await run(RUN.filter((a) => a !== '--quiet'), root);
    expect(outcome.code).toBe(0);
    expect(outcome.stderr).toContain('the model is new in this pull request');
    expect(outcome.stdout).toMatch(/SKIPPED\s+gap\.surfboard/);
  });
});

describe('bias-gate run: bad language input gives a clear message and exit 2', () => {
  const modelDir = (root: string) => path.join(root, 'fixtures/language/causal/model');

  it('a model directory without tokenizer.json', async () => {
    await expectInputError((root) => rm(path.join(modelDir(root), 'tokenizer.json')), /tokenizer\.json/);
  });

  it('an empty benchmark file', async () => {
    await expectInputError((root) => writeFile(path.join(root, 'fixtures/language/benchmarks/stereoset_sample.json'), ''), /stereoset_sample\.json is empty/);
  });

  it('a local benchmark file that does not match its configured sha256 names both hashes', async () => {
    const wrong = '0'.repeat(64);
    const outcome = await expectInputError(
      (root) => editConfig(root, (t) => t.replace('crows_pairs: { path: fixtures/language/benchmarks/crows_pairs_sample.csv }', `crows_pairs: { path: fixtures/language/benchmarks/crows_pairs_sample.csv, sha256: "${wrong}" }`)),
      /crows_pairs_sample\.csv does not match the configured checksum/,
    );
    expect(outcome.stderr).toContain(wrong);
    expect(outcome.stderr).toMatch(/[0-9a-f]{64}[\s\S]*[0-9a-f]{64}/);
  });

  it('an unknown language metric lists the valid ones', async () => {
    await expectInputError((root) => editConfig(root, (t) => t.replace('metric: crows_pairs.race-color', 'metric: crows_pairs.race')), /unknown metric "crows_pairs\.race"; valid metrics: crows_pairs\.race-color, .*stereoset\.lms, .*perplexity/);
  });

  it('max_bias_increase on a metric without an unbiased value', async () => {
    await expectInputError((root) => editConfig(root, (t) => t.replace('      max_increase_pct: 10\n', '      max_bias_increase: 0\n')), /"perplexity" has no unbiased value of 50/);
  });

  it('sum-logprob with a masked model', async () => {
    await expectInputError(
      (root) => editConfig(root, (t) => t.replace('  kind: causal\n', '  kind: masked\n  scoring: sum-logprob\n').replace(/ {4}perplexity: .*\n/, '')),
      /language\.scoring: sum-logprob is the lm-evaluation-harness convention for causal models/,
    );
  });
});

describe('bias-gate run --dump-items', () => {
  it('writes one JSON line per benchmark item with both sides', async () => {
    const root = await createFixtureRepo();
    const outcome = await run([...RUN, '--dump-items', 'out/items.jsonl'], root);
    expect(outcome.code).toBe(0);
    const lines = (await readFile(path.join(root, 'out/items.jsonl'), 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines.filter((l) => l.benchmark === 'crows_pairs')).toHaveLength(40);
    expect(lines.filter((l) => l.benchmark === 'stereoset')).toHaveLength(24);
    expect(lines[0]).toMatchObject({ benchmark: 'crows_pairs', id: '0', base: { outcome: expect.any(String) }, head: { more: expect.any(Number) } });
  });
});

describe('bias-gate run: result cache', () => {
  it('a second run of unchanged models is a cache hit with the same scores; a corrupt entry is rescored', async () => {
    const root = await createFixtureRepo();
    const args = [...RUN.filter((a) => a !== '--quiet'), '--json', 'first.json'];
    const first = await run(args, root);
    expect(first.stderr).not.toContain('cache hit');
    const second = await run([...RUN.filter((a) => a !== '--quiet'), '--json', 'second.json'], root);
    expect(second.code).toBe(first.code);
    expect(second.stderr).toContain('embedding with head model fixtures/vision/classifier.onnx: cache hit');
    expect(first.stderr).toContain('preprocessing 78 reference images');
    expect(second.stderr).not.toContain('preprocessing'); // a cached run decodes no image
    expect(second.stderr).toContain('crows_pairs (base): cache hit');
    const [a, b] = await Promise.all(['first.json', 'second.json'].map(async (f) => expectValidReport(await readFile(path.join(root, f), 'utf8'))))
    expect(b.vision).toEqual(a.vision);
    expect(b.language).toEqual(a.language);
    expect(b.verdicts).toEqual(a.verdicts);
    expect(a.cache.every((e: { event: string }) => e.event === 'stored')).toBe(true);
    expect(b.cache.filter((e: { event: string }) => e.event === 'hit').length).toBe(a.cache.length);

    // Damage one stored entry: it must be ignored and rescored, never trusted.
    const directory = path.join(root, '.bias-gate-cache/results/vision-embeddings');
    const [entry] = await readdir(directory);
    const file = path.join(directory, entry!);
    await writeFile(file, (await readFile(file, 'utf8')).replace(/"\$f32":"[A-Za-z]/, '"$f32":"#'));
    const third = await run([...RUN, '--json', 'third.json'], root);
    const c = expectValidReport(await readFile(path.join(root, 'third.json'), 'utf8'));
    expect(c.cache.some((e: { event: string }) => e.event === 'corrupt')).toBe(true);
    expect(c.vision).toEqual(a.vision);
    expect(third.code).toBe(first.code);
  });
});
