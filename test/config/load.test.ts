import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { InputError } from '../../src/errors.ts';
import { createTempDir, repoPath } from '../helpers.ts';

/** A throwaway repository (it has .git) holding `thresholds.yaml` with `text`. */
async function repoWithConfig(text: string, configRelative = 'thresholds.yaml'): Promise<{ root: string; file: string }> {
  const root = await createTempDir('bias-gate-config-');
  await mkdir(path.join(root, '.git'));
  const file = path.join(root, configRelative);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  return { root, file };
}

const VALID = `version: 1
vision:
  pretrained: models/backbone.onnx
  model: models/classifier.onnx
  reference_sets: data/sets
  gates:
    - metric: bts.object
      max: 0.9
    - metric: gap.surfboard
      max_abs_increase: 0.02
      require_significant: true
      level: warn
`;

async function loadError(text: string): Promise<InputError> {
  const { file } = await repoWithConfig(text);
  const error = await loadConfig(file).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe('loadConfig', () => {
  it('applies defaults and resolves paths against the config file', async () => {
    const { root, file } = await repoWithConfig(VALID, 'ci/thresholds.yaml');
    const config = await loadConfig(file);
    expect(config.repoRoot).toBe(root);
    expect(config.displayPath).toBe('ci/thresholds.yaml');
    const vision = config.vision!;
    expect(vision.model.absolute).toBe(path.join(root, 'ci/models/classifier.onnx'));
    expect(vision.model.repoRelative).toBe('ci/models/classifier.onnx');
    expect(vision.preprocess).toEqual({
      resize: 256, crop: 224, channelOrder: 'RGB', scale: '0-1',
      mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], interpolation: 'bilinear', layout: 'NCHW',
    });
    expect(vision.estimator).toBe('exact');
    expect(vision.itemLists).toEqual(['object']);
    expect(vision.bootstrap).toEqual({ resamples: 1000, confidence: 0.95 });
    expect(vision.gates).toEqual([
      { metric: 'bts.object', rules: [{ rule: 'max', threshold: 0.9 }], requireSignificant: false, level: 'fail', keyPath: 'vision.gates[0]', line: 7 },
      { metric: 'gap.surfboard', rules: [{ rule: 'max_abs_increase', threshold: 0.02 }], requireSignificant: true, level: 'warn', keyPath: 'vision.gates[1]', line: 9 },
    ]);
  });

  it('loads the repository default thresholds.yaml', async () => {
    const config = await loadConfig(repoPath('thresholds.yaml'));
    expect(config.vision?.gates.length).toBeGreaterThan(0);
  });

  it('names file, line and column of malformed YAML', async () => {
    const error = await loadError('version: 1\nvision:\n  model: [unclosed\n');
    expect(error.message).toMatch(/^thresholds\.yaml:\d+:\d+: malformed YAML: /);
  });

  it('rejects a config that is not a mapping', async () => {
    const error = await loadError('- 1\n- 2\n');
    expect(error.message).toBe('thresholds.yaml: expected a mapping with `version: 1` at the top, found a list');
  });

  it('names the unknown key, its line and the keys that are allowed', async () => {
    const error = await loadError(VALID.replace('  reference_sets: data/sets\n', '  reference_sets: data/sets\n  refrence: x\n'));
    expect(error.message).toContain('thresholds.yaml:6: vision.refrence: unknown key "refrence"; expected one of: pretrained, model, input');
  });

  it('says what type was expected and what was found', async () => {
    const error = await loadError(VALID.replace('max: 0.9', 'max: high'));
    expect(error.message).toBe('thresholds.yaml:8: vision.gates[0].max: expected a number, found string "high"');
    expect(error.hint).toContain('schema/thresholds.schema.json');
  });

  it('lists allowed values of an enum', async () => {
    const error = await loadError(VALID.replace('level: warn', 'level: maybe'));
    expect(error.message).toBe('thresholds.yaml:12: vision.gates[1].level: expected one of "fail", "warn", found string "maybe"');
  });

  it('requires a rule in every gate', async () => {
    const error = await loadError(VALID.replace('      max: 0.9\n', ''));
    expect(error.message).toBe('thresholds.yaml:7: vision.gates[0]: a gate needs at least one rule; expected one of: max, min, max_increase, max_abs_increase, max_decrease, max_bias_increase, max_increase_pct');
  });

  it('reports a missing required key and a wrong version together', async () => {
    const error = await loadError(VALID.replace('version: 1', 'version: 2').replace('  model: models/classifier.onnx\n', ''));
    expect(error.message).toContain('2 problems');
    expect(error.message).toContain('thresholds.yaml:1: version: expected 1, found number 2');
    expect(error.message).toContain('vision: missing required key "model"');
  });

  it('refuses a path that escapes the repository root', async () => {
    const error = await loadError(VALID.replace('models/classifier.onnx', '../../outside/classifier.onnx'));
    expect(error.message).toMatch(/^thresholds\.yaml:4: vision\.model: "\.\.\/\.\.\/outside\/classifier\.onnx" escapes the repository root/);
  });

  it('refuses crop larger than resize', async () => {
    const error = await loadError(VALID.replace('  gates:', '  preprocess: { resize: 8, crop: 10 }\n  gates:'));
    expect(error.message).toContain('crop (10) is larger than resize (8)');
  });

  it('names a missing config file', async () => {
    const error = await loadConfig('/nonexistent/thresholds.yaml').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toContain('cannot read the config file');
  });
});

describe('language section', () => {
  it('bounds the tokens per forward pass by default', async () => {
    const { file } = await repoWithConfig('version: 1\nlanguage:\n  model: lm\n  kind: causal\n');
    const language = (await loadConfig(file)).language!;
    expect([language.batchSize, language.maxBatchTokens]).toEqual([32, 4096]);
    expect(language.benchmarks.perplexity).toMatchObject({ window: 992, stride: 992, maxTokens: undefined });
  });

  it('precision: float32 by default, int8-screen on request, anything else named with the allowed values', async () => {
    const base = 'version: 1\nlanguage:\n  model: lm\n  kind: causal\n';
    expect((await loadConfig((await repoWithConfig(base)).file)).language!.precision).toBe('float32');
    expect((await loadConfig((await repoWithConfig(`${base}  precision: int8-screen\n`)).file)).language!.precision).toBe('int8-screen');
    const error = await loadError(`${base}  precision: int8\n`);
    expect(error.message).toBe('thresholds.yaml:5: language.precision: expected one of "float32", "int8-screen", found string "int8"');
  });
});

describe('runtime section', () => {
  it('defaults to cpu and every core; accepts providers and threads', async () => {
    const { file } = await repoWithConfig(VALID);
    const defaults = await loadConfig(file);
    expect(defaults.runtime).toEqual({ providers: ['cpu'], threads: (await import('node:os')).availableParallelism() });
    const { file: second } = await repoWithConfig(`${VALID}runtime:\n  providers: [cuda, cpu]\n  threads: 2\n`);
    expect((await loadConfig(second)).runtime).toEqual({ providers: ['cuda', 'cpu'], threads: 2 });
    const error = await loadError(`${VALID}runtime:\n  providers: [gpu]\n`);
    expect(error.message).toContain('runtime.providers[0]: expected one of "cuda", "tensorrt", "webgpu", "cpu", found string "gpu"');
  });
});
