/**
 * Issue 12: the complete audit record and what is derived from it (attestation, model card,
 * release notes, `verify`), from real CLI runs on the repository's fixtures.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/command.ts';
import { BIAS_REPORT_PREDICATE_TYPE, IN_TOTO_STATEMENT_TYPE } from '../../src/report/attestation.ts';
import type { ReportDocument } from '../../src/report/json.ts';
import { modelIndex, renderModelCard } from '../../src/report/model-card.ts';
import { RELEASE_CHECKLIST_HEADING, renderReleaseNotes } from '../../src/report/release-notes.ts';
import { sha256File } from '../../src/artifacts/hash.ts';
import { createFixtureRepo } from '../fixture-repo.ts';
import { repoPath } from '../helpers.ts';
import { expectValidReport, reportSchemaErrors } from '../report-schema.ts';
import { expectSafeMarkdown } from './hostile-run.ts';

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], cwd: string): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const withCache = args[0] === 'run' ? [...args, '--cache-dir', path.join(cwd, '.bias-gate-cache'), '--quiet'] : args;
  const code = await runCommand(withCache, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd });
  return { code, stdout, stderr };
}

const RUN = ['run', '--config', 'thresholds.yaml', '--base', 'fixtures/base'];
const OUTPUTS = ['--json', 'out/report.json', '--attestation', 'out/attestation.intoto.json', '--model-card', 'card/bias.md', '--release-notes', 'out/release-notes.md'];
const HEAD_MODEL_FILES = ['fixtures/vision/classifier.onnx', ...['config.json', 'model.onnx', 'tokenizer.json', 'tokenizer_config.json'].map((name) => `fixtures/language/causal/model/${name}`)];

describe('the audit record and its release artifacts, from a fixture run', () => {
  let root: string;
  let reportText: string;
  let document: ReportDocument;
  const read = (file: string) => readFile(path.join(root, file), 'utf8');

  beforeAll(async () => {
    root = await createFixtureRepo();
    const outcome = await cli([...RUN, ...OUTPUTS], root);
    expect(outcome.code).toBe(0);
    reportText = await read('out/report.json');
    document = expectValidReport(reportText) as ReportDocument;
  }, 120_000);

  it('a plain CLI record has no environment and depends on the inputs only; --record-environment adds one, byte-identical run after run', async () => {
    expect(document).not.toHaveProperty('environment');
    // Only `cache` and `runtime` (no session opens on a fully cached run) tell a run that stored results from one that found them.
    const withoutCache = ({ cache: _, runtime: __, ...rest }: ReportDocument) => rest;
    expect((await cli([...RUN, '--json', 'again.json'], root)).code).toBe(0);
    const again = JSON.parse(await read('again.json')) as ReportDocument;
    expect(again.cache.every((event) => event.event === 'hit')).toBe(true);
    expect(withoutCache(again)).toEqual(withoutCache(document));
    for (const file of ['env-1.json', 'env-2.json']) expect((await cli([...RUN, '--record-environment', '--json', file], root)).code).toBe(0);
    const first = await read('env-1.json');
    expect(await read('env-2.json')).toBe(first);
    const withEnvironment = expectValidReport(first) as ReportDocument;
    // The fixture repository's .git is empty: no commit to name, and the record says so.
    expect(withEnvironment.environment).toEqual({
      workflowRef: null,
      workflowSha: null,
      commits: { base: null, head: null, mergeBase: null, checkout: null },
      pullRequest: null,
      run: null,
      runner: { os: process.platform, arch: process.arch, name: null },
      toolchain: { node: process.version, onnxruntimeNode: expect.stringMatching(/^\d+\.\d+\.\d+/), sharp: expect.stringMatching(/^\d+\.\d+\.\d+/) },
    });
    const rest: Partial<ReportDocument> = { ...withEnvironment };
    delete rest.environment;
    expect(rest).toEqual(again); // the environment is the only difference
  }, 120_000);

  it('the published schema accepts the snapshot record and refuses what is not a record', async () => {
    expectValidReport(await readFile(repoPath('test/report/__snapshots__/report.json'), 'utf8'));
    const noVerdicts: Partial<ReportDocument> = { ...document };
    delete noVerdicts.verdicts;
    expect(reportSchemaErrors(noVerdicts).join('\n')).toContain("must have required property 'verdicts'");
    expect(reportSchemaErrors({ ...document, signedOffBy: 'someone' }).join('\n')).toContain('must NOT have additional properties');
    expect(reportSchemaErrors({ ...document, verdict: 'passed' }).join('\n')).toContain('must be equal to one of the allowed values');
  });

  it('--attestation: an in-toto Statement v1 with every scored head model file as a subject and the record as predicate', async () => {
    const statement = JSON.parse(await read('out/attestation.intoto.json'));
    expect(statement._type).toBe(IN_TOTO_STATEMENT_TYPE);
    expect(statement.predicateType).toBe(BIAS_REPORT_PREDICATE_TYPE);
    expect(statement.predicate).toEqual(document);
    expectValidReport(JSON.stringify(statement.predicate));
    const expected = await Promise.all(HEAD_MODEL_FILES.map(async (name) => ({ name, digest: { sha256: await sha256File(path.join(root, name)) } })));
    expect(statement.subject).toEqual(expected);
    expect(Object.keys(statement)).toEqual(['_type', 'subject', 'predicateType', 'predicate']);
  });

  it('--model-card: model-index YAML with the scored benchmarks and the Markdown section, linked to the record', async () => {
    const card = await read('card/bias.md');
    const match = /^---\n([\s\S]*?)\n---\n\n## Bias evaluation\n/.exec(card);
    expect(match).not.toBeNull();
    const metadata = parseYaml(match![1]!);
    expect(metadata).toEqual(modelIndex(document));
    const [language, vision] = metadata['model-index'];
    expect(language.name).toBe('fixtures/language/causal/model');
    expect(language.results.map((r: { dataset: { name: string } }) => r.dataset.name)).toEqual(['CrowS-Pairs', 'StereoSet (intrasentence)', 'WikiText-2']);
    const crows = language.results[0];
    expect(crows.task).toEqual({ type: 'text-generation' });
    expect(crows.dataset).toEqual({ name: 'CrowS-Pairs', type: 'fixtures/language/benchmarks/crows_pairs_sample.csv', args: { sha256: document.language!.benchmarks[0]!.data.sha256 } });
    const value = (result: { metrics: { type: string; value: number }[] }, type: string) => result.metrics.find((m) => m.type === type)?.value;
    // Real values of the fixture run, rounded to 4 decimals.
    expect(value(crows, 'crows_pairs.gender')).toBe(50);
    expect(value(crows, 'crows_pairs.disability')).toBe(66.6667);
    expect(crows.metrics).toHaveLength(10); // 9 bias types and overall
    const stereoset = language.results[1];
    expect(stereoset.metrics.map((m: { type: string }) => m.type)).toEqual(expect.arrayContaining(['stereoset.ss.overall', 'stereoset.lms.overall', 'stereoset.icat.overall', 'stereoset.ss.gender']));
    expect(stereoset.metrics.map((m: { type: string }) => m.type)).not.toContain('stereoset.ss'); // the same number as stereoset.ss.overall
    expect(value(stereoset, 'stereoset.lms.overall')).toBe(55);
    expect(value(language.results[2], 'perplexity')).toBeCloseTo(document.language!.metrics.find((m) => m.name === 'perplexity')!.head, 3);
    expect(vision.name).toBe('fixtures/vision/classifier.onnx');
    expect(vision.results[0].task).toEqual({ type: 'image-classification' });
    expect(vision.results[0].metrics.map((m: { type: string }) => m.type)).toEqual(expect.arrayContaining(['bts.object', 'bts.pairs', 'gap.surfboard', 'gap.max']));
    expect(value(vision.results[0], 'bts.object')).toBe(0.9066);
    const section = card.slice(match![0].length - '## Bias evaluation\n'.length);
    expect(section).toContain(`sha256 \`${document.config.sha256}\``);
    expect(section).toContain('Audit record: [../out/report.json](../out/report.json).');
    expect(section).toMatch(/\| `fixtures\/vision\/classifier.onnx` \| gender gap of .*surfboard.* \| 0\.7482 \| 0\.582 \| warn \(max\\_abs\\_increase 0\.02\) \|/);
    expectSafeMarkdown(section, { ownLinks: ['https://github.com/bias-gate/bias-gate', '../out/report.json'] });
  });

  it('--release-notes: every gate, the policy, approvals and the hash of every model and data file', async () => {
    const notes = await read('out/release-notes.md');
    expect(notes.startsWith(`${RELEASE_CHECKLIST_HEADING}\n\nVerdict: **pass with warnings**`)).toBe(true);
    for (const verdict of document.verdicts) expect(notes).toContain(`\`${verdict.metric}\``);
    expect(notes).toContain('- [x] `bts.object` (min 0.5): pass');
    expect(notes).toMatch(/- \[ \] `gap\.surfboard` \(max\\_abs\\_increase 0\.02, level warn\): WARN: /);
    expect(notes).toContain(`sha256 \`${document.config.sha256}\``);
    expect(notes).toContain('approval of a policy change before merging: none');
    for (const benchmark of document.language!.benchmarks) expect(notes).toContain(`\`${benchmark.data.sha256}\``);
    expect(notes).toContain(`\`${document.vision!.referenceSets.sha256}\``);
    for (const file of HEAD_MODEL_FILES) expect(notes).toContain(`\`${file}\``);
    expectSafeMarkdown(notes);
  });

  it('release notes and model card escape what a pull request controls', () => {
    const hostile = '@octocat [Approve](https://evil.example) <img src=x> | `x` www.evil.example';
    const forged: ReportDocument = structuredClone(document);
    forged.policy.approval = { how: 'label', label: hostile, by: 'octocat', permission: 'admin', at: '2026-01-01T00:00:00Z' };
    forged.verdicts[0]!.reason = hostile;
    forged.verdicts[0]!.status = 'fail';
    forged.language!.benchmarks[0]!.data.location = hostile;
    forged.language!.metrics[0]!.description = hostile;
    const notes = renderReleaseNotes(forged);
    expect(expectSafeMarkdown(notes)).toContain('Approve');
    expect(notes).toContain('added by @\u2060octocat (admin)');
    const card = renderModelCard(forged, { recordLink: 'https://github.com/o/r/actions/runs/1' });
    const [, yamlText, section] = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(card)!;
    expect(parseYaml(yamlText!)['model-index'][0].results[0].dataset.type).toBe(hostile); // YAML quotes it; it parses back intact
    expectSafeMarkdown(section!, { ownLinks: ['https://github.com/bias-gate/bias-gate', 'https://github.com/o/r/actions/runs/1'] });
  });
});

describe('bias-gate verify', () => {
  it('accepts the unchanged models under the same policy and refuses a model changed by one byte', async () => {
    const root = await createFixtureRepo();
    expect((await cli([...RUN, '--json', 'report.json'], root)).code).toBe(0);
    const verify = (...args: string[]) => cli(['verify', '--report', 'report.json', ...args], root);

    const accepted = await verify('--config', 'thresholds.yaml', ...HEAD_MODEL_FILES);
    expect(accepted).toMatchObject({ code: 0, stderr: '' });
    expect(accepted.stdout).toContain('ok: fixtures/vision/classifier.onnx: sha256 ');
    expect(accepted.stdout).toContain('ok: verdict warn');
    expect(accepted.stdout).toMatch(/ok: policy: thresholds\.yaml \(sha256 [0-9a-f]{64}\) is the config the report applied/);

    // --strict: a pass with warnings is not a pass.
    const strict = await verify('--strict', 'fixtures/vision/classifier.onnx');
    expect(strict.code).toBe(1);
    expect(strict.stderr).toBe('FAILED: verdict warn (--strict accepts pass only)\n');

    // Another policy.
    await writeFile(path.join(root, 'other.yaml'), `${await readFile(path.join(root, 'thresholds.yaml'), 'utf8')}# edited\n`);
    const otherPolicy = await verify('--config', 'other.yaml', 'fixtures/vision/classifier.onnx');
    expect(otherPolicy.code).toBe(1);
    expect(otherPolicy.stderr).toMatch(/^FAILED: policy: other\.yaml has sha256 [0-9a-f]{64}; the report applied thresholds\.yaml with sha256 [0-9a-f]{64}\n$/);

    // One byte of the model changed after the run.
    const model = path.join(root, 'fixtures/vision/classifier.onnx');
    const bytes = await readFile(model);
    bytes[bytes.length - 1] = bytes.at(-1)! ^ 0xff;
    await writeFile(model, bytes);
    const changed = await verify('fixtures/vision/classifier.onnx', 'fixtures/language/causal/model/model.onnx');
    expect(changed.code).toBe(1);
    expect(changed.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^FAILED: fixtures\/vision\/classifier\.onnx: sha256 [0-9a-f]{64} is not a model this report scored \(head models: fixtures\/vision\/classifier\.onnx, /)]);
    expect(changed.stdout).toContain('ok: fixtures/language/causal/model/model.onnx');

    // The base model is a yardstick, not a model the report vouches for.
    expect((await verify('fixtures/base/fixtures/vision/classifier.onnx')).code).toBe(1);
  }, 120_000);

  it('exit 2 on bad input: no --report, no files, a missing file, a file that is not a report', async () => {
    const root = await createFixtureRepo();
    await writeFile(path.join(root, 'not-a-report.json'), '{"verdict": "pass"}');
    expect(await cli(['verify', 'fixtures/vision/classifier.onnx'], root)).toMatchObject({ code: 2, stderr: expect.stringContaining('verify needs --report FILE') });
    expect(await cli(['verify', '--report', 'not-a-report.json'], root)).toMatchObject({ code: 2, stderr: expect.stringContaining('verify needs the model files') });
    expect(await cli(['verify', '--report', 'missing.json', 'fixtures/vision/classifier.onnx'], root)).toMatchObject({ code: 2, stderr: expect.stringContaining('--report missing.json: cannot read it') });
    expect(await cli(['verify', '--report', 'not-a-report.json', 'fixtures/vision/classifier.onnx'], root)).toMatchObject({ code: 2, stderr: expect.stringContaining('not a bias-gate report') });
    expect((await cli(['verify', '--bogus'], root)).code).toBe(2);
    expect(await cli(['verify', '--help'], root)).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: bias-gate verify --report') });
  });
});
