import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import type { BiasGateConfig } from '../../src/config/types.ts';
import { decidePolicy } from '../../src/policy/decide.ts';
import { diffPolicies, isLoosening } from '../../src/policy/diff.ts';
import { createTempDir } from '../helpers.ts';

const BASE = `version: 1
vision:
  pretrained: models/backbone.onnx
  model: models/classifier.onnx
  reference_sets: data/sets
  item_lists: [object]
  bootstrap: { resamples: 1000 }
  gates:
    - metric: bts.object
      min: 0.5
    - metric: gap.surfboard
      max_abs_increase: 0.02
      require_significant: true
    - metric: gap.max
      max: 0.8
language:
  model: models/lm
  kind: causal
  gates:
    - metric: crows_pairs.gender
      max_bias_increase: 0
runtime:
  threads: 2
`;

async function config(text: string): Promise<BiasGateConfig> {
  const root = await createTempDir('bias-gate-policy-');
  await mkdir(path.join(root, '.git'));
  await writeFile(path.join(root, 'thresholds.yaml'), text);
  return loadConfig(path.join(root, 'thresholds.yaml'));
}

describe('diffPolicies: how the PR config differs from the base branch config', () => {
  it('the same text: no change', async () => {
    expect(diffPolicies(await config(BASE), await config(BASE))).toEqual([]);
  });

  it('judges each rule by its bound: raising a max and lowering a min loosen, the reverse tightens', async () => {
    const head = BASE.replace('min: 0.5', 'min: 0.2').replace('max: 0.8', 'max: 0.7').replace('max_bias_increase: 0', 'max_bias_increase: 1.5');
    const changes = diffPolicies(await config(BASE), await config(head));
    expect(changes).toEqual([
      { kind: 'gate-loosened', key: 'vision.gates[bts.object].min threshold', base: '0.5', head: '0.2' },
      { kind: 'gate-tightened', key: 'vision.gates[gap.max].max threshold', base: '0.8', head: '0.7' },
      { kind: 'gate-loosened', key: 'language.gates[crows_pairs.gender].max_bias_increase threshold', base: '0', head: '1.5' },
    ]);
    expect(changes.map(isLoosening)).toEqual([true, false, true]);
  });

  it('dropping require_significant tightens; a warn level loosens; a new gate is added', async () => {
    const head = BASE.replace('      require_significant: true\n', '').replace('      max: 0.8\n', '      max: 0.8\n      level: warn\n    - metric: gap.surfboard\n      max: 0.4\n');
    expect(diffPolicies(await config(BASE), await config(head))).toEqual([
      { kind: 'gate-tightened', key: 'vision.gates[gap.surfboard].max_abs_increase require_significant', base: 'true', head: 'false' },
      { kind: 'gate-loosened', key: 'vision.gates[gap.max].max level', base: 'fail', head: 'warn' },
      { kind: 'gate-added', key: 'vision.gates[gap.surfboard].max', base: null, head: '≤ 0.4' },
    ]);
  });

  it('settings that change what is scored, model paths and a removed section are all listed', async () => {
    const head = BASE.replace('item_lists: [object]', 'item_lists: [object, pairs]')
      .replace('resamples: 1000', 'resamples: 10')
      .replace('model: models/classifier.onnx', 'model: models/classifier-v2.onnx')
      .replace('threads: 2', 'threads: 1')
      .replace(/language:\n( {2}.*\n)+/, '');
    expect(diffPolicies(await config(BASE), await config(head))).toEqual([
      { kind: 'model-moved', key: 'vision.model', base: 'models/classifier.onnx', head: 'models/classifier-v2.onnx' },
      { kind: 'setting-changed', key: 'vision.item_lists', base: '["object"]', head: '["object","pairs"]' },
      { kind: 'setting-changed', key: 'vision.bootstrap.resamples', base: '1000', head: '10' },
      { kind: 'section-removed', key: 'language', base: '1 gate(s)', head: null },
      { kind: 'setting-changed', key: 'runtime.threads', base: '2', head: '1' },
    ]);
  });
});

describe('decidePolicy: which config is in force', () => {
  it('the base config whenever the base side has a valid one', async () => {
    const base = await config(BASE);
    const head = await config(BASE.replace('min: 0.5', 'min: 0'));
    const decision = decidePolicy({ head: { status: 'found', config: head }, base: { status: 'found', config: base }, approval: null });
    expect(decision.source).toBe('base');
    expect(decision.config).toBe(base);
  });

  it('the base config when the PR deleted or broke its own, even if approved', async () => {
    const base = await config(BASE);
    const deleted = decidePolicy({ head: { status: 'absent', displayPath: 'thresholds.yaml' }, base: { status: 'found', config: base }, approval: { how: 'input' } });
    expect(deleted.config).toBe(base);
    expect(deleted.notices[0]).toContain('its config is deleted');
    const broken = decidePolicy({ head: { status: 'invalid', displayPath: 'thresholds.yaml', message: 'thresholds.yaml:3: bad' }, base: { status: 'found', config: base }, approval: null });
    expect(broken.config).toBe(base);
  });

  it('the PR config with an approval, without a base config (with a notice), or without a base side', async () => {
    const base = await config(BASE);
    const head = await config(BASE);
    const approved = decidePolicy({ head: { status: 'found', config: head }, base: { status: 'found', config: base }, approval: { how: 'label', label: 'bias-policy-ok', by: 'octocat', permission: 'admin', at: '2026-12-01T10:00:00Z' } });
    expect(approved).toMatchObject({ source: 'head', reason: expect.stringContaining('label `bias-policy-ok` added by octocat (admin permission) at 2026-12-01T10:00:00Z') });
    const introduced = decidePolicy({ head: { status: 'found', config: head }, base: { status: 'absent', displayPath: 'thresholds.yaml' }, approval: null });
    expect(introduced.source).toBe('head');
    expect(introduced.notices).toEqual(['No base policy: the base side has no thresholds.yaml (as when the pull request introduces bias-gate), so the pull request\'s own config applies.']);
    expect(decidePolicy({ head: { status: 'found', config: head }, base: undefined, approval: null }).source).toBe('head');
  });

  it('no config on either side is an input error naming the file', () => {
    expect(() => decidePolicy({ head: { status: 'absent', displayPath: 'thresholds.yaml' }, base: { status: 'absent', displayPath: 'thresholds.yaml' }, approval: null })).toThrow(/thresholds.yaml: cannot read the config file/);
  });
});
