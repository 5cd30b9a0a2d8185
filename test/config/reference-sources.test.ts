import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { InputError } from '../../src/errors.ts';
import { createTempDir } from '../helpers.ts';

const withReferenceSets = (value: string, extra = '') => `version: 1
vision:
  pretrained: models/backbone.onnx
  model: models/classifier.onnx
  reference_sets: ${value}
${extra}`;

async function load(text: string) {
  const root = await createTempDir('bias-gate-config-');
  await mkdir(path.join(root, '.git'));
  const file = path.join(root, 'thresholds.yaml');
  await writeFile(file, text);
  return loadConfig(file);
}

async function loadError(text: string): Promise<InputError> {
  const error = await load(text).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe('vision.reference_sets', () => {
  it('keeps the path form', async () => {
    const vision = (await load(withReferenceSets('data/sets'))).vision!;
    expect(vision.referenceSets?.repoRelative).toBe('data/sets');
    expect(vision.builtinReferenceSets).toBeUndefined();
  });

  it('takes a built-in set, with max_per_set and a seed (default 1)', async () => {
    const builtin = (await load(withReferenceSets('{ builtin: openimages-analysis }'))).vision!;
    expect(builtin.referenceSets).toBeUndefined();
    expect(builtin.builtinReferenceSets).toEqual({ name: 'openimages-analysis', maxPerSet: undefined, seed: 1 });
    const limited = (await load(withReferenceSets('{ builtin: openimages-analysis, max_per_set: 40, seed: 7 }'))).vision!;
    expect(limited.builtinReferenceSets).toEqual({ name: 'openimages-analysis', maxPerSet: 40, seed: 7 });
  });

  it('names the key and what is expected when the built-in form is wrong', async () => {
    expect((await loadError(withReferenceSets('{ builtin: coco }'))).message).toBe(
      'thresholds.yaml:5: vision.reference_sets.builtin: expected one of "openimages-analysis", found string "coco"',
    );
    expect((await loadError(withReferenceSets('{ builtin: openimages-analysis, max_per_sets: 4 }'))).message).toBe(
      'thresholds.yaml:5: vision.reference_sets.max_per_sets: unknown key "max_per_sets" (did you mean "max_per_set"?); expected one of: builtin, max_per_set, seed',
    );
    expect((await loadError(withReferenceSets('{ max_per_set: 4 }'))).message).toBe('thresholds.yaml:5: vision.reference_sets: missing required key "builtin"');
    expect((await loadError(withReferenceSets('12'))).message).toBe(
      'thresholds.yaml:5: vision.reference_sets: expected a path (directory or .csv/.jsonl manifest) or a mapping { builtin: openimages-analysis }, found number 12',
    );
  });
});

describe('sources.mirror', () => {
  it('is read as written, and absent by default', async () => {
    expect((await load(withReferenceSets('data/sets'))).sources).toEqual({ mirror: undefined });
    expect((await load(withReferenceSets('data/sets', 'sources: { mirror: "https://mirror.example/raw" }\n'))).sources).toEqual({ mirror: 'https://mirror.example/raw' });
  });

  it('rejects unknown keys under sources', async () => {
    expect((await loadError(withReferenceSets('data/sets', 'sources: { mirorr: x }\n'))).message).toMatch(/sources\.mirorr: unknown key "mirorr" \(did you mean "mirror"\?\); expected one of: mirror$/);
  });
});
