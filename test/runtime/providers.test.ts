import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { runBiasGate } from '../../src/pipeline.ts';
import { renderJsonReport } from '../../src/report/json.ts';
import { describeRuntime, runtimeAuditRecord } from '../../src/report/runtime.ts';
import { renderText } from '../../src/report/text.ts';
import { noProviderError, parseProviderList, unsupportedReason, type ProviderOutcome } from '../../src/runtime/providers.ts';
import { openModel } from '../../src/runtime/session.ts';
import { createFixtureRepo, editConfig } from '../fixture-repo.ts';
import { inputErrorOf, repoPath } from '../helpers.ts';

/**
 * These tests exercise the paths of a runner without CUDA: onnxruntime-node's CUDA provider
 * libraries are downloaded by its postinstall and are absent here. Where they are present (a GPU
 * machine) the fallback cannot be observed, so the tests skip and say so.
 */
const ORT_BIN = path.join(path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')), 'bin/napi-v6', process.platform, process.arch);
const CUDA_INSTALLED = existsSync(path.join(ORT_BIN, 'libonnxruntime_providers_cuda.so'));
if (CUDA_INSTALLED) console.warn('skipping the no-CUDA provider tests: onnxruntime-node has its CUDA provider libraries here');

const BACKBONE = 'fixtures/vision/backbone.onnx';

describe.skipIf(CUDA_INSTALLED)('execution providers without CUDA', () => {
  it('[cuda] alone fails with an InputError that names cuda and what to install', async () => {
    const error = await inputErrorOf(openModel(repoPath(BACKBONE), BACKBONE, { providers: ['cuda'] }));
    expect(error.message).toContain(`${BACKBONE}: runtime.providers [cuda] cannot be used here (cuda: `);
    expect(error.message).toContain('cpu is not listed as a fallback');
    expect(error.hint).toContain('--onnxruntime-node-install=cuda12');
    expect(error.hint).toContain('providers: [cuda, cpu]');
  });

  it('[cuda, cpu] falls back to cpu and says so: the session and onProviders record cpu with cuda unavailable', async () => {
    const outcomes: ProviderOutcome[] = [];
    const model = await openModel(repoPath(BACKBONE), BACKBONE, { providers: ['cuda', 'cpu'], onProviders: (outcome) => outcomes.push(outcome) });
    try {
      expect(model.providers).toEqual(['cpu']);
      expect(outcomes).toHaveLength(1);
      expect(outcomes[0]).toMatchObject({ model: BACKBONE, requested: ['cuda', 'cpu'], used: ['cpu'] });
      expect(outcomes[0]!.unavailable.map((u) => u.provider)).toEqual(['cuda']);
      // What onnxruntime-node 1.30 says when the CUDA provider library is missing (measured).
      expect(outcomes[0]!.unavailable[0]!.reason).toMatch(/Cuda.*Failed to load shared library/i);
    } finally {
      await model.release();
    }
  });

  it('[cpu] records cpu with nothing unavailable', async () => {
    const outcomes: ProviderOutcome[] = [];
    const model = await openModel(repoPath(BACKBONE), BACKBONE, { onProviders: (outcome) => outcomes.push(outcome) });
    await model.release();
    expect(outcomes).toEqual([{ model: BACKBONE, requested: ['cpu'], used: ['cpu'], unavailable: [] }]);
  });

  it('a model that does not load is the model\'s error, not a provider\'s, even with [cuda]', async () => {
    // The vision fixture directory is not a model: the CPU-only probe fails too, so no provider is blamed.
    const error = await openModel(repoPath('fixtures/language/causal/model/tokenizer.json'), 'tokenizer.json', { providers: ['cuda', 'cpu'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toContain('could not be loaded as an ONNX model');
  });

  describe('in a run: the report records the providers each model got', async () => {
    const root = await createFixtureRepo();
    await editConfig(root, (text) => `${text}runtime:\n  providers: [cuda, cpu]\n`);
    const report = await runBiasGate({ configFile: path.join(root, 'thresholds.yaml'), baseRoot: path.join(root, 'fixtures/base') });

    it('every session ran on cpu with cuda unavailable', () => {
      expect(report.runtime!.requested).toEqual(['cuda', 'cpu']);
      // pretrained, base and head vision models; base and head language models.
      expect(report.runtime!.sessions.map((s) => s.model)).toEqual([
        'pretrained model fixtures/vision/backbone.onnx',
        'base model fixtures/vision/classifier.onnx',
        'head model fixtures/vision/classifier.onnx',
        'head language model fixtures/language/causal/model/model.onnx',
        'base language model fixtures/language/causal/model/model.onnx',
      ]);
      for (const session of report.runtime!.sessions) {
        expect(session.used).toEqual(['cpu']);
        expect(session.unavailable.map((u) => u.provider)).toEqual(['cuda']);
      }
    });

    it('the terminal report and the JSON record show the fallback', () => {
      expect(renderText(report)).toContain('runtime: cuda, cpu requested; pretrained model fixtures/vision/backbone.onnx: cpu (cuda unavailable);');
      const json = JSON.parse(renderJsonReport(report)) as { runtime: { requested: string[]; models: ProviderOutcome[] } };
      expect(json.runtime.requested).toEqual(['cuda', 'cpu']);
      expect(json.runtime.models).toHaveLength(5);
      expect(json.runtime.models[0]).toMatchObject({ model: 'pretrained model fixtures/vision/backbone.onnx', used: ['cpu'], unavailable: [{ provider: 'cuda' }] });
    });
  });

  it('the providers option (Action input `providers`) replaces runtime.providers and is what the report records', async () => {
    const root = await createFixtureRepo();
    const report = await runBiasGate({ configFile: path.join(root, 'thresholds.yaml'), providers: ['cuda', 'cpu'] });
    expect(report.runtime!.requested).toEqual(['cuda', 'cpu']);
    expect(report.runtime!.sessions.every((s) => s.used.join() === 'cpu' && s.unavailable[0]?.provider === 'cuda')).toBe(true);
  });

  it('[cuda] alone stops the run with the InputError (no verdict on a silent CPU run)', async () => {
    const root = await createFixtureRepo();
    await editConfig(root, (text) => `${text}runtime:\n  providers: [cuda]\n`);
    const error = await inputErrorOf(runBiasGate({ configFile: path.join(root, 'thresholds.yaml'), baseRoot: path.join(root, 'fixtures/base') }));
    expect(error.message).toMatch(/runtime\.providers \[cuda\] cannot be used here \(cuda: .*\), and cpu is not listed as a fallback/);
  });
});

describe('provider helpers', () => {
  it('a provider this build lacks is refused before onnxruntime can drop it silently', () => {
    expect(unsupportedReason('cuda', ['cpu', 'cuda'])).toBeUndefined();
    expect(unsupportedReason('dml', ['cpu', 'webgpu'])).toMatch(/has no dml execution provider \(it has cpu, webgpu\)/);
  });

  it('parses a provider list as a workflow input writes it', () => {
    expect(parseProviderList('cuda, cpu', 'input providers')).toEqual(['cuda', 'cpu']);
    expect(parseProviderList(' cuda  cpu ', 'input providers')).toEqual(['cuda', 'cpu']);
    for (const bad of ['', 'gpu', 'cuda, cuda', 'cuda,,dml']) {
      expect(() => parseProviderList(bad, 'input providers')).toThrow(InputError);
    }
    expect(() => parseProviderList('gpu', 'input providers')).toThrow('input providers: "gpu" is not a list of execution providers; expected distinct names from cuda, tensorrt, webgpu, cpu');
  });

  it('the no-fallback error names every provider that failed and how to install it', () => {
    const error = noProviderError('m.onnx', { requested: ['tensorrt', 'cuda'], unavailable: [{ provider: 'tensorrt', reason: 'no lib' }, { provider: 'cuda', reason: 'no lib' }] });
    expect(error.message).toBe('m.onnx: runtime.providers [tensorrt, cuda] cannot be used here (tensorrt: no lib; cuda: no lib), and cpu is not listed as a fallback');
    expect(error.hint).toContain('TensorRT 10');
  });

  it('describeRuntime: nothing for a cpu-only run; the fallbacks otherwise', () => {
    expect(describeRuntime(undefined)).toBeUndefined();
    expect(describeRuntime({ requested: ['cpu'], sessions: [] })).toBeUndefined();
    expect(describeRuntime({ requested: ['cpu'], sessions: [{ model: 'a', requested: ['cpu'], used: ['cpu'], unavailable: [] }] })).toBeUndefined();
    expect(describeRuntime({ requested: ['cuda', 'cpu'], sessions: [] })).toBe('cuda, cpu requested; no model was run (all results cached)');
    expect(describeRuntime({ requested: ['cuda', 'cpu'], sessions: [{ model: 'a', requested: ['cuda', 'cpu'], used: ['cuda', 'cpu'], unavailable: [] }] })).toBe('cuda, cpu (every model)');
    const fallback = { model: 'head model m.onnx', requested: ['cuda', 'cpu'], used: ['cpu'], unavailable: [{ provider: 'cuda', reason: 'r' }] };
    expect(describeRuntime({ requested: ['cuda', 'cpu'], sessions: [{ ...fallback, shard: '2/4' }] })).toBe('cuda, cpu requested; shard 2/4 head model m.onnx: cpu (cuda unavailable)');
  });

  it('the audit record lists each model once per outcome, without shards, as an unsharded run does', () => {
    const session = { model: 'head model m.onnx', requested: ['cuda', 'cpu'], used: ['cpu'], unavailable: [{ provider: 'cuda', reason: 'r' }] };
    const merged = runtimeAuditRecord({ requested: ['cuda', 'cpu'], sessions: [{ ...session, shard: '1/2' }, { ...session, shard: '2/2' }] });
    expect(merged).toEqual(runtimeAuditRecord({ requested: ['cuda', 'cpu'], sessions: [session] }));
    expect(merged.models).toEqual([{ model: 'head model m.onnx', used: ['cpu'], unavailable: [{ provider: 'cuda', reason: 'r' }] }]);
  });
});
