import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { bigramLanguageModel, linearEmbeddingModel, neighbourMaskedModel } from '../fixtures/generate/onnx-writer.ts';
import { CAUSAL_VOCABULARY_SIZE, MASKED_VOCABULARY_SIZE } from '../fixtures/generate/tokenizer-json.ts';
import { causalFixtureTable } from '../fixtures/generate/language-models.ts';
import { byteIds } from '../fixtures/generate/tokenizer-json.ts';
import { parseStereoSet } from '../src/language/datasets/stereoset.ts';
import { MAX_PARSER_MESSAGE_CHARS } from '../src/parser-message.ts';
import { MAX_RESIZED_PIXELS } from '../src/vision/preprocess.ts';
import { expectInputErrorOutcome, runCli, type CliOutcome } from './cli-runner.ts';
import { createFixtureRepo, editConfig } from './fixture-repo.ts';
import { expectValidReport } from './report-schema.ts';

/**
 * Issue 9 §4 and §5 through the CLI: inputs that used to take unbounded memory or time, crash
 * with an internal error, or pass a gate on a value that was never scored.
 */

const run = runCli;
type Outcome = CliOutcome;

const RUN = ['run', '--config', 'thresholds.yaml', '--base', 'fixtures/base', '--quiet'];

/** Runs the job after `breakIt` and expects exit 2 with `message`, no verdict and no internal error. */
async function expectInputError(breakIt: (root: string) => Promise<void>, message: string | RegExp, args = RUN): Promise<Outcome> {
  const root = await createFixtureRepo();
  await breakIt(root);
  const outcome = await run(args, root);
  expect(outcome.stderr).not.toContain('internal error');
  return expectInputErrorOutcome(outcome, message);
}

/** The parts of the JSON report these tests read. */
interface JsonReport {
  verdicts: { metric: string; status: string }[];
  language: {
    benchmarks: { name: string; skippedItems: { head: { id: string; reason: string }[] }; settings: Record<string, unknown> }[];
    metrics: { name: string; head: number }[];
  };
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

/** Language-only config on the causal fixture, head scored alone, with gates a NaN model used to pass. */
const LANGUAGE_ONLY = `version: 1
language:
  model: fixtures/language/MODEL/model
  kind: MODEL
  benchmarks:
    crows_pairs: { path: fixtures/language/benchmarks/crows_pairs_sample.csv }
    stereoset: { path: fixtures/language/benchmarks/stereoset_sample.json }
PERPLEXITY  bootstrap: { resamples: 20 }
  gates:
    - metric: stereoset.ss
      max: 60
    - metric: stereoset.icat
      min: 0
    - metric: crows_pairs.overall
      max: 100
`;
const PERPLEXITY_LINE = '    perplexity: { path: fixtures/language/benchmarks/perplexity_sample.txt, window: 128 }\n';
const languageConfig = (kind: 'causal' | 'masked') => LANGUAGE_ONLY.replaceAll('MODEL', kind).replace('PERPLEXITY', kind === 'causal' ? PERPLEXITY_LINE : '');
const HEAD_ONLY = ['run', '--config', 'thresholds.yaml', '--quiet'];

async function languageRepo(kind: 'causal' | 'masked', model: Uint8Array | undefined, extraGates = ''): Promise<string> {
  const root = await createFixtureRepo();
  await writeFile(path.join(root, 'thresholds.yaml'), languageConfig(kind) + extraGates);
  if (model) await writeFile(path.join(root, `fixtures/language/${kind}/model/model.onnx`), model);
  return root;
}

describe('nothing unscored counts as a score (issue 9 §5)', () => {
  it('a causal model with NaN logits: StereoSet and CrowS items are excluded, the metrics are NaN and their gates fail', { timeout: 60_000 }, async () => {
    const V = CAUSAL_VOCABULARY_SIZE;
    const root = await languageRepo('causal', bigramLanguageModel({ table: new Float32Array(V * V).fill(Number.NaN), vocabularySize: V }));
    const outcome = await run([...HEAD_ONLY, '--json', 'out/report.json'], root);
    expect(outcome.code).toBe(1);
    // Before: SS = LMS = ICAT = 0 and `stereoset.ss max: 60` passed.
    for (const metric of ['stereoset.ss', 'stereoset.icat', 'crows_pairs.overall']) {
      expect(outcome.stdout).toMatch(new RegExp(`FAIL\\s+${metric.replace('.', '\\.')}\\s+\\S+ [≤≥] \\d+\\s+NaN\\s+—\\s+head could not be computed`));
    }
    expect(outcome.stdout).toContain('40 items not scored');
    expect(outcome.stdout).toContain('24 items not scored');
    const report = expectValidReport(await readFile(path.join(root, 'out/report.json'), 'utf8')) as JsonReport;
    const skipped = Object.fromEntries(report.language.benchmarks.map((b) => [b.name, b.skippedItems.head]));
    expect(skipped.stereoset).toHaveLength(24);
    expect(skipped.stereoset![0]!.reason).toContain('NaN or infinite log-probability');
    expect(skipped.crows_pairs).toHaveLength(40);
    expect(skipped.crows_pairs![0]!.reason).toBe('the model gave a NaN or infinite log-probability');
    const windows = report.language.benchmarks.find((b) => b.name === 'perplexity')!.settings.windows;
    expect(windows).toBeGreaterThan(1);
    expect(skipped.perplexity).toHaveLength(windows as number);
    expect(report.verdicts.map((v) => [v.metric, v.status])).toEqual([
      ['stereoset.ss', 'fail'],
      ['stereoset.icat', 'fail'],
      ['crows_pairs.overall', 'fail'],
    ]);
  });

  it('a causal model with NaN logits after one token excludes exactly the items that read it', { timeout: 60_000 }, async () => {
    const V = CAUSAL_VOCABULARY_SIZE;
    const table = Float32Array.from(causalFixtureTable('head'));
    // Logits after "k" are NaN: a sentence is unscored when "k" is anywhere but its last token.
    const k = byteIds('k')[0]!;
    table.fill(Number.NaN, k * V, (k + 1) * V);
    const root = await languageRepo('causal', bigramLanguageModel({ table, vocabularySize: V }));
    const outcome = await run([...HEAD_ONLY, '--json', 'out/report.json'], root);
    const report = expectValidReport(await readFile(path.join(root, 'out/report.json'), 'utf8')) as JsonReport;
    const reads = (sentence: string) => byteIds(sentence).slice(0, -1).includes(k);
    const { clusters } = parseStereoSet(await readFile(path.join(root, 'fixtures/language/benchmarks/stereoset_sample.json'), 'utf8'), 'stereoset');
    const unscored = clusters.filter((c) => [c.sentences.stereotype, c.sentences.antiStereotype, c.sentences.unrelated].some((s) => reads(s.sentence)));
    expect(unscored.length).toBeGreaterThan(0);
    expect(unscored.length).toBeLessThan(clusters.length);
    const stereoset = report.language.benchmarks.find((b) => b.name === 'stereoset')!;
    expect(stereoset.skippedItems.head.map((item) => item.id)).toEqual(unscored.map((c) => c.id));
    const ss = report.language.metrics.find((m) => m.name === 'stereoset.ss')!.head;
    expect(Number.isFinite(ss)).toBe(true);
    expect(outcome.code).toBeLessThan(2);
  });

  it('a masked model with NaN logits: CrowS pairs are not counted as anti-stereotypical, the gate fails', { timeout: 60_000 }, async () => {
    const V = MASKED_VOCABULARY_SIZE;
    const d = 4;
    const model = neighbourMaskedModel({
      E: new Float32Array(V * d).fill(0.1),
      F: new Float32Array(V * d).fill(0.1),
      W: new Float32Array(d * V).fill(0.1),
      bias: new Float32Array(V).fill(Number.NaN),
      vocabularySize: V,
      hiddenSize: d,
    });
    const root = await languageRepo('masked', model);
    const outcome = await run([...HEAD_ONLY, '--json', 'out/report.json'], root);
    expect(outcome.code).toBe(1);
    const report = expectValidReport(await readFile(path.join(root, 'out/report.json'), 'utf8')) as JsonReport;
    const crows = report.language.benchmarks.find((b) => b.name === 'crows_pairs')!;
    const reasons = crows.skippedItems.head.map((item) => item.reason);
    expect(reasons.filter((reason) => reason === 'the model gave a NaN or infinite log-probability').length).toBeGreaterThan(30);
    expect(reasons.every((reason) => reason.startsWith('insertion-only') || reason === 'the model gave a NaN or infinite log-probability')).toBe(true);
    expect(report.verdicts.map((v) => [v.metric, v.status])).toEqual([
      ['stereoset.ss', 'fail'],
      ['stereoset.icat', 'fail'],
      ['crows_pairs.overall', 'fail'],
    ]);
  });
});

describe('broken outputs and wrong paths are input errors, not internal errors (issue 9 §5)', () => {
  const classifier = (root: string) => path.join(root, 'fixtures/vision/classifier.onnx');
  const embeddingModel = (value: number) => linearEmbeddingModel({ imageShape: [3, 8, 8], W: new Float32Array(3 * 8 * 8 * 16).fill(value), embeddingSize: 16 });

  it('a vision model whose embedding is NaN names the model, the output and an image', async () => {
    await expectInputError(
      async (root) => {
        await editConfig(root, visionOnly);
        await writeFile(classifier(root), embeddingModel(Number.NaN));
      },
      /head model fixtures\/vision\/classifier\.onnx: output "embedding" is NaN in the embedding of reference image fixtures\/vision\/reference-sets\/\S+\.png/,
    );
  });

  it('a vision model whose embedding is all zeros says it cannot be compared', async () => {
    await expectInputError(
      async (root) => {
        await editConfig(root, visionOnly);
        await writeFile(classifier(root), embeddingModel(0));
      },
      /head model fixtures\/vision\/classifier\.onnx: output "embedding" is all zeros in the embedding of reference image \S+\.png/,
    );
  });

  it('perplexity on a text of one token is an input error, not a perfect score of 1', async () => {
    await expectInputError(
      async (root) => {
        await writeFile(path.join(root, 'thresholds.yaml'), languageConfig('causal'));
        await writeFile(path.join(root, 'fixtures/language/benchmarks/perplexity_sample.txt'), 'a');
      },
      "perplexity text fixtures/language/benchmarks/perplexity_sample.txt under the head model's tokenizer has 1 token; perplexity needs at least 2",
      HEAD_ONLY,
    );
  });

  it('language.model naming a file instead of a directory', async () => {
    await expectInputError(
      (root) => writeFile(path.join(root, 'thresholds.yaml'), languageConfig('causal').replace('model: fixtures/language/causal/model', 'model: fixtures/language/causal/model/model.onnx')),
      'head language model fixtures/language/causal/model/model.onnx is a file; a language model is a directory with model.onnx and tokenizer.json',
      HEAD_ONLY,
    );
  });

  it('merge given a JSON that is not a partial result names the file', async () => {
    const root = await createFixtureRepo();
    await writeFile(path.join(root, 'report.json'), JSON.stringify({ verdict: 'pass', tool: { name: 'bias-gate' } }));
    await writeFile(path.join(root, 'array.json'), '[1, 2]');
    const notPartial = await run(['merge', '--config', 'thresholds.yaml', 'report.json'], root);
    expect(notPartial).toMatchObject({ code: 2, stdout: '' });
    expect(notPartial.stderr).toMatch(/^bias-gate: error: merge: \S+report\.json is not a bias-gate partial result: it has no "format": 1\n/);
    const array = await run(['merge', '--config', 'thresholds.yaml', 'array.json'], root);
    expect(array.stderr).toMatch(/^bias-gate: error: merge: \S+array\.json is not a bias-gate partial result: expected a JSON object, found an array/);
    const partial = { format: 1, tool: { name: 'bias-gate', version: '0' }, configSha256: 'x', shard: { index: 1, count: 1 }, entries: [{ kind: 'k', key: 'k', count: 1e12, indices: [0], values: [1] }] };
    await writeFile(path.join(root, 'huge.json'), JSON.stringify(partial));
    const huge = await run(['merge', '--config', 'thresholds.yaml', 'huge.json'], root);
    expect(huge.code).toBe(2);
    expect(huge.stderr).toContain('huge.json is not a bias-gate partial result: entries[0] is not a scored slice');
  });

  it('--json into a path whose parent is a file', async () => {
    await expectInputError(
      async (root) => {
        await editConfig(root, visionOnly);
        await writeFile(path.join(root, 'out'), 'a file, not a directory');
      },
      /^bias-gate: error: cannot write \S+out\/report\.json: /,
      [...RUN, '--json', 'out/report.json'],
    );
  });
});
