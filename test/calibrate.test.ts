import { runCli } from './cli-runner.ts';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { mcnemarFlipsNeeded } from '../src/calibrate.ts';
import { closestName } from '../src/config/suggest.ts';
import { createFixtureRepo, editConfig } from './fixture-repo.ts';

const run = runCli;

describe('bias-gate calibrate', () => {
  it('McNemar needs 6 one-way flips at 95% (2 · 0.5⁶ = 0.031), 8 at 99%', () => {
    expect(mcnemarFlipsNeeded(0.05)).toBe(6);
    expect(mcnemarFlipsNeeded(0.01)).toBe(8);
  });

  it('measures the fixtures\' noise and proposes gates as commented YAML', async () => {
    const root = await createFixtureRepo();
    const outcome = await run(['calibrate', '--config', 'thresholds.yaml', '--quiet', '--out', 'out/proposed.yaml', '--cache-dir', path.join(root, '.cache')], root);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toBe('proposed thresholds written to out/proposed.yaml\n');
    const text = await readFile(path.join(root, 'out/proposed.yaml'), 'utf8');
    // Real values computed on the fixtures (1000 resamples, seed 1).
    expect(text).toContain('# bts.object = 0.9066; bootstrap SD 0.059, 95% interval [0.7198, 0.9451]');
    expect(text).toContain('#   n = 8 paired outcomes: one flip moves the score 12.5 points; McNemar needs ≥ 6 flips one way, a change of ≥ 75 points');
    expect(text).toContain('#   n = 40 paired outcomes: one flip moves the score 2.5 points; McNemar needs ≥ 6 flips one way, a change of ≥ 15 points');
    expect(text).toContain('#   n = 4 paired outcomes: one flip moves the score 25 points; McNemar needs ≥ 6 flips one way, more than there are: no change of this metric can be significant');
    const proposed = parse(text) as { vision: { gates: Record<string, unknown>[] }; language: { gates: Record<string, unknown>[] } };
    expect(proposed.vision.gates.find((gate) => gate.metric === 'bts.object')).toEqual({ metric: 'bts.object', min: 0.71 });
    expect(proposed.vision.gates.find((gate) => gate.metric === 'gap.surfboard')).toEqual({ metric: 'gap.surfboard', max_abs_increase: 0.084, require_significant: true });
    expect(proposed.language.gates.find((gate) => gate.metric === 'crows_pairs.gender')).toEqual({ metric: 'crows_pairs.gender', max_bias_increase: 0, require_significant: true });
    expect(proposed.language.gates.find((gate) => gate.metric === 'perplexity')).toEqual({ metric: 'perplexity', max_increase_pct: 3.2, require_significant: true, level: 'warn' });
    // The proposal is a valid config section: pasted into the config, validate accepts it.
    await editConfig(root, (config) => config.replace(/(\n {2}gates:\n)(?= {4}- metric: crows_pairs\.gender)/, `$1    - metric: crows_pairs.overall\n      max_bias_increase: 0\n      require_significant: true\n`));
    expect((await run(['validate', '--config', 'thresholds.yaml'], root)).code).toBe(0);
  }, 120_000);
});

describe('bias-gate validate', () => {
  it('accepts the default config without running a model', async () => {
    const root = await createFixtureRepo();
    expect(await run(['validate', '--config', 'thresholds.yaml'], root)).toEqual({ code: 0, stdout: 'thresholds.yaml: valid (8 gates, 38 gateable metrics)\n', stderr: '' });
  });

  it('a language metric typo gets the closest language name and a language hint', async () => {
    const root = await createFixtureRepo();
    await editConfig(root, (t) => t.replace('metric: crows_pairs.race-color', 'metric: crows_pairs.race-colour'));
    const outcome = await run(['validate', '--config', 'thresholds.yaml'], root);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain('language.gates[1].metric: unknown metric "crows_pairs.race-colour". Did you mean "crows_pairs.race-color"? Language metrics come from language.benchmarks');
    expect(outcome.stderr).not.toContain('reference set');
  });

  it('a vision gap typo is checked against the reference-set directories, with a vision hint', async () => {
    const root = await createFixtureRepo();
    await editConfig(root, (t) => t.replace('metric: gap.umbrella', 'metric: gap.umbrela'));
    const outcome = await run(['validate', '--config', 'thresholds.yaml'], root);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain('unknown metric "gap.umbrela". Did you mean "gap.umbrella"? gap.<object> needs a reference set named after the object');
  });

  it('missing paths, unknown keys with a suggestion, and the scale 0-255 warning', async () => {
    const root = await createFixtureRepo();
    await editConfig(root, (t) => t.replace('fixtures/vision/backbone.onnx', 'fixtures/vision/missing.onnx').replace('    scale: 0-1\n    mean: [0.5, 0.5, 0.5]\n    std: [0.25, 0.25, 0.25]\n', '    scale: 0-255\n'));
    const outcome = await run(['validate', '--config', 'thresholds.yaml'], root);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain('vision.pretrained: "fixtures/vision/missing.onnx" does not exist');
    expect(outcome.stderr).toContain('bias-gate: warning: vision.preprocess: scale 0-255 is combined with the default ImageNet mean/std');
    const typo = await createFixtureRepo();
    await editConfig(typo, (t) => t.replace('  embedding_output: embedding', '  embeding_output: embedding'));
    expect((await run(['validate', '--config', 'thresholds.yaml'], typo)).stderr).toContain('unknown key "embeding_output" (did you mean "embedding_output"?)');
  });

  it('closest names only when close enough to be a typo', () => {
    expect(closestName('gap.surfbord', ['gap.surfboard', 'gap.kitchen'])).toBe('gap.surfboard');
    expect(closestName('toxicity', ['perplexity', 'stereoset.lms'])).toBeUndefined();
  });
});

describe('bias-gate metrics', () => {
  it('lists every gateable name of the config with a line each', async () => {
    const root = await createFixtureRepo();
    const outcome = await run(['metrics', '--config', 'thresholds.yaml'], root);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toMatch(/^vision:\n {2}bts\.object +Bias Transfer Score/);
    expect(outcome.stdout).toMatch(/\n {2}gap\.surfboard +gender gap G\(surfboard\)/);
    expect(outcome.stdout).toMatch(/\nlanguage:\n {2}crows_pairs\.race-color +CrowS-Pairs % stereotypical/);
    expect(outcome.stdout).toMatch(/\n {2}perplexity +perplexity on held-out text/);
  });
});
