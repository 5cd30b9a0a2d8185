import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { EXIT_GATE_FAILED, EXIT_PASS, INPUT_ERROR_EXIT_CODE, InputError, messageOf } from './errors.ts';
import { defaultCacheDir } from './artifacts/cache-dir.ts';
import { directoryBaseSide, gitBaseSide, type BaseSide } from './artifacts/base-side.ts';
import { checkedOutCommit, isGitRef, resolveBaseCommit } from './artifacts/git.ts';
import { changedGateWorkflows } from './artifacts/workflow-changes.ts';
import { parseShard } from './artifacts/item-scoring.ts';
import { directoryResultCache, noResultCache, parseResultsJson, stringifyResults } from './artifacts/result-cache.ts';
import { findRepositoryRoot, toRepoRelative } from './config/paths.ts';
import { readConfigState } from './policy/decide.ts';
import type { ConfigState, PolicyApproval } from './policy/types.ts';
import { checkPartialResult, mergeShards, runBiasGate, scoreShard, type PartialResult } from './pipeline.ts';
import { buildReportDocument, serializeReportDocument } from './report/json.ts';
import { renderAttestation } from './report/attestation.ts';
import { renderHtml } from './report/html.ts';
import { renderModelCard } from './report/model-card.ts';
import { renderReleaseNotes } from './report/release-notes.ts';
import type { RunEnvironment } from './report/types.ts';
import { runnerRecord, toolchainVersions } from './runtime/versions.ts';
import { runVerifyCommand, VERIFY_USAGE } from './verify-command.ts';
import { renderMarkdown } from './report/markdown.ts';
import { renderText } from './report/text.ts';
import { TOOL_NAME, TOOL_VERSION } from './version.ts';
import { loadConfig } from './config/load.ts';
import { didYouMean } from './config/suggest.ts';
import { checkConfig, gateableMetrics } from './config/validate.ts';
import { measureNoise, renderCalibration } from './calibrate.ts';
import { preprocessWarnings } from './vision/preprocess-warnings.ts';
import { parserMessage } from './parser-message.ts';

export const USAGE = `Usage: ${TOOL_NAME} run --config thresholds.yaml [--base DIR|REF] [--head DIR] [--json FILE] [--markdown FILE]
                     [--html FILE] [--dump-items FILE] [--cache-dir DIR] [--no-cache] [--threads N] [--quiet]
                     [--policy-source base|head] [--attestation FILE] [--model-card FILE]
                     [--release-notes FILE] [--record-environment]
       ${TOOL_NAME} run --shard I/N --partial FILE [same options]
       ${TOOL_NAME} merge --config thresholds.yaml [--base DIR|REF] [--json FILE] [--markdown FILE] [--html FILE] PARTIAL...
       ${TOOL_NAME} validate --config thresholds.yaml
       ${TOOL_NAME} metrics --config thresholds.yaml
       ${TOOL_NAME} calibrate --config thresholds.yaml [--out FILE] [--cache-dir DIR] [--no-cache]
       ${TOOL_NAME} verify --report report.json [--config thresholds.yaml] [--strict] FILE...

Scores the models named in the config for the head tree and the base tree,
applies the gates and prints the report.

  --config FILE    thresholds file (default: thresholds.yaml)
  --head DIR       root of the pull request's checkout (default: the config's repository)
  --base DIR|REF   the base side: a checkout's root, or a git ref/sha of the head repository
                   (its model files are read with git); without it the head is scored alone
  --json FILE      write the JSON audit record
  --markdown FILE  write the Markdown report (the PR comment)
  --html FILE      write the HTML report: one self-contained file (inline CSS and SVG charts,
                   no script, loads nothing when opened)
  --attestation FILE  write an in-toto Statement v1: every scored head model file as a
                   subject, the JSON record as the predicate (sign it with actions/attest)
  --model-card FILE  write a "Bias evaluation" section for a Hugging Face model card
                   (model-index YAML and a Markdown table)
  --release-notes FILE  write the release checklist section of the release notes (Markdown)
  --record-environment  add the environment section to the JSON record: git commits
                   (--base REF), platform, Node, onnxruntime-node and sharp versions;
                   without it the record depends on the inputs only
  --dump-items FILE  write one JSON line per language benchmark item with each model's scores
  --cache-dir DIR  where downloaded benchmark files and scored results are kept
                   (default: $XDG_CACHE_HOME/bias-gate or ~/.cache/bias-gate)
  --no-cache       score every model afresh and store nothing
  --policy-source base|head
                   whose config sets the gates when a base side exists (default: base: the
                   pull request cannot loosen the gate that judges it); head accepts the
                   pull request's own config before it is merged
  --threads N      onnxruntime intra-op threads (default: onnxruntime's choice)
  --quiet          no progress on stderr
  --shard I/N      score only shard I of N (every N-th item of every list) and write the
                   partial result to --partial; nothing is gated
  --partial FILE   where a shard run writes its partial result

verify checks offline that model files are the ones a report scored, that it
passed and (--config) under which config; see \`${TOOL_NAME} verify --help\`.

merge combines the partial results of shards 1..N into the report an unsharded
run gives, byte for byte; it runs no model.

validate checks a config without running a model: the schema, that every path
exists inside the repository, that every gate names a metric the config can
produce; warnings (e.g. scale 0-255 with 0-1 mean/std) go to stderr.
metrics lists the metric names the config can gate, one line each.
calibrate scores the models of the head tree alone and writes, as a commented
YAML snippet, each metric's bootstrap noise, for CrowS-Pairs and StereoSet what
one flipped pair is worth and the smallest change McNemar can detect, and
proposed gates (to stdout, or --out FILE).

Exit status: 0 pass (warnings included), 1 a gate failed, 2 bad input or usage.`;

/** Where the command writes; injectable for tests. */
export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function runCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  try {
    if (argv[0] === 'verify') {
      if (argv.includes('--help') || argv.includes('-h')) return io.stdout(`${VERIFY_USAGE}\n`), EXIT_PASS;
      return await runVerifyCommand(argv.slice(1), io);
    }
    const parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', default: 'thresholds.yaml' },
        head: { type: 'string' },
        base: { type: 'string' },
        json: { type: 'string' },
        markdown: { type: 'string' },
        html: { type: 'string' },
        attestation: { type: 'string' },
        'model-card': { type: 'string' },
        'release-notes': { type: 'string' },
        'record-environment': { type: 'boolean', default: false },
        'dump-items': { type: 'string' },
        'cache-dir': { type: 'string' },
        'no-cache': { type: 'boolean', default: false },
        shard: { type: 'string' },
        partial: { type: 'string' },
        out: { type: 'string' },
        threads: { type: 'string' },
        quiet: { type: 'boolean', default: false },
        'policy-source': { type: 'string', default: 'base' },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', default: false },
      },
    });
    const { values, positionals } = parsed;
    if (values.help) return io.stdout(`${USAGE}\n`), EXIT_PASS;
    if (values.version) return io.stdout(`${TOOL_VERSION}\n`), EXIT_PASS;
    const command = positionals[0];
    if (command === 'validate' || command === 'metrics' || command === 'calibrate') {
      if (positionals.length > 1) throw new InputError(`unexpected arguments: ${positionals.slice(1).join(' ')}`, { hint: USAGE });
      return await configCommand(command, values, io);
    }
    if (command !== 'run' && command !== 'merge') {
      const known = ['run', 'merge', 'validate', 'metrics', 'calibrate'];
      throw new InputError(command === undefined ? 'missing command' : `unknown command "${positionals.join(' ')}"`, { hint: `${didYouMean(command ?? '', known)}${USAGE}` });
    }
    if (command === 'run' && positionals.length > 1) throw new InputError(`unexpected arguments: ${positionals.slice(1).join(' ')}`, { hint: USAGE });
    if (command === 'merge' && positionals.length < 2) throw new InputError('merge needs the partial result files of every shard', { hint: USAGE });
    const resolve = (value: string) => path.resolve(io.cwd, value);
    const progress = values.quiet ? undefined : (message: string) => io.stderr(`${TOOL_NAME}: ${message}\n`);
    const configFile = resolve(values.config);
    const repoRoot = findRepositoryRoot(configFile);
    const configPath = toRepoRelative(repoRoot, configFile) || path.basename(configFile);
    const head = await readConfigState(configFile, repoRoot, configPath);
    const headRoot = values.head === undefined ? (head.status === 'found' ? head.config.repoRoot : repoRoot) : existingDirectory(resolve(values.head), '--head');
    const cacheDir = values['cache-dir'] === undefined ? defaultCacheDir() : resolve(values['cache-dir']);
    const base = values.base === undefined ? undefined : await baseSide(values.base, resolve(values.base), headRoot, configPath, head, progress);
    const runOptions = {
      configFile,
      config: head.status === 'found' ? head.config : undefined,
      headRoot,
      base: base?.side,
      workflowChanges: base?.side.commit ? await changedGateWorkflows(headRoot, base.side.commit) : [],
      approval: policySourceApproval(values['policy-source']),
      intraOpThreads: values.threads === undefined ? undefined : positiveInteger(values.threads, '--threads'),
      progress,
      cacheDir: path.join(cacheDir, 'benchmarks'),
      resultCache: values['no-cache'] ? noResultCache() : directoryResultCache(path.join(cacheDir, 'results'), progress),
    };
    if (command === 'run' && values.shard !== undefined) {
      if (values.partial === undefined) throw new InputError('--shard needs --partial FILE: where to write the shard\'s partial result');
      const partial = await scoreShard(runOptions, parseShard(values.shard, '--shard'));
      await writeReport(resolve(values.partial), `${stringifyResults(partial)}\n`);
      io.stdout(`shard ${partial.shard.index}/${partial.shard.count}: ${partial.entries.reduce((n, e) => n + e.indices.length, 0)} item results written to ${values.partial}; combine all shards with \`${TOOL_NAME} merge\`\n`);
      return EXIT_PASS;
    }
    const scored = command === 'merge' ? await mergeShards(runOptions, await readPartials(positionals.slice(1).map(resolve))) : await runBiasGate(runOptions);
    const report = values['record-environment'] ? { ...scored, environment: await cliEnvironment(headRoot, base?.commit ?? null) } : scored;
    const document = buildReportDocument(report);
    if (values.json) await writeReport(resolve(values.json), serializeReportDocument(document));
    if (values.markdown) await writeReport(resolve(values.markdown), renderMarkdown(document));
    if (values.html) await writeReport(resolve(values.html), renderHtml(document));
    if (values.attestation) await writeReport(resolve(values.attestation), renderAttestation(document));
    if (values['model-card']) {
      const card = resolve(values['model-card']);
      // The card links the record beside it: the run when there is one, else the --json file relative to the card.
      const recordLink = document.environment?.run?.url ?? (values.json ? path.relative(path.dirname(card), resolve(values.json)).split(path.sep).join('/') : null);
      await writeReport(card, renderModelCard(document, { recordLink }));
    }
    if (values['release-notes']) await writeReport(resolve(values['release-notes']), renderReleaseNotes(document));
    if (values['dump-items']) {
      if (!report.language) throw new InputError('--dump-items writes language benchmark items, and the config has no `language:` section');
      await writeReport(resolve(values['dump-items']), report.language.itemLines().map((line) => `${line}\n`).join(''));
    }
    if (report.vision) for (const warning of preprocessWarnings(report.vision.settings.preprocess)) io.stderr(`${TOOL_NAME}: warning: ${warning}\n`);
    io.stdout(renderText(report));
    return report.verdict === 'fail' ? EXIT_GATE_FAILED : EXIT_PASS;
  } catch (error) {
    if (error instanceof InputError) {
      io.stderr(`${TOOL_NAME}: error: ${error.describe()}\n`);
    } else if (isArgumentError(error)) {
      io.stderr(`${TOOL_NAME}: error: ${messageOf(error)}\n${USAGE}\n`);
    } else {
      // Not the user's input, but still no verdict: report it as such, with the stack for a bug report.
      io.stderr(`${TOOL_NAME}: internal error, no verdict: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    return INPUT_ERROR_EXIT_CODE;
  }
}

/** `validate`, `metrics` and `calibrate`: commands on one config, without a base side. */
async function configCommand(command: 'validate' | 'metrics' | 'calibrate', values: { config: string; out?: string; 'cache-dir'?: string; 'no-cache': boolean; quiet: boolean }, io: CommandIo): Promise<number> {
  const configFile = path.resolve(io.cwd, values.config);
  const config = await loadConfig(configFile);
  if (command === 'metrics') {
    const metrics = gateableMetrics(config);
    const width = Math.max(...metrics.map((metric) => metric.name.length));
    for (const section of ['vision', 'language'] as const) {
      const own = metrics.filter((metric) => metric.section === section);
      if (own.length > 0) io.stdout(`${section}:\n${own.map((metric) => `  ${metric.name.padEnd(width)}  ${metric.description}\n`).join('')}`);
    }
    return EXIT_PASS;
  }
  if (command === 'validate') {
    const check = checkConfig(config);
    for (const warning of check.warnings) io.stderr(`${TOOL_NAME}: warning: ${warning}\n`);
    for (const note of check.unchecked) io.stderr(`${TOOL_NAME}: note: ${note}\n`);
    if (check.problems.length > 0) {
      io.stderr(`${TOOL_NAME}: error: ${config.displayPath}: ${check.problems.length} problem${check.problems.length === 1 ? '' : 's'}:\n${check.problems.map((problem) => `  - ${problem}\n`).join('')}`);
      return INPUT_ERROR_EXIT_CODE;
    }
    const gates = (config.vision?.gates.length ?? 0) + (config.language?.gates.length ?? 0);
    io.stdout(`${config.displayPath}: valid (${gates} gate${gates === 1 ? '' : 's'}, ${check.metrics.length} gateable metrics${check.warnings.length > 0 ? `, ${check.warnings.length} warning${check.warnings.length === 1 ? '' : 's'}` : ''})\n`);
    return EXIT_PASS;
  }
  const progress = values.quiet ? undefined : (message: string) => io.stderr(`${TOOL_NAME}: ${message}\n`);
  const cacheDir = values['cache-dir'] === undefined ? defaultCacheDir() : path.resolve(io.cwd, values['cache-dir']);
  const report = await runBiasGate({
    configFile, config, progress, cacheDir: path.join(cacheDir, 'benchmarks'),
    resultCache: values['no-cache'] ? noResultCache() : directoryResultCache(path.join(cacheDir, 'results'), progress),
  });
  const snippet = renderCalibration(config, report, measureNoise(report));
  if (values.out === undefined) io.stdout(snippet);
  else {
    await writeReport(path.resolve(io.cwd, values.out), snippet);
    io.stdout(`proposed thresholds written to ${values.out}\n`);
  }
  return EXIT_PASS;
}

/**
 * `--base`: a directory is a base checkout; anything else must be a git ref of the
 * head repository, whose config and every path it names are written to a temporary
 * directory from git (DESIGN §1.2). Either way the base side's own config is read,
 * because it, not the pull request's, is the policy in force (issue 9 §1).
 */
async function baseSide(text: string, asPath: string, headRoot: string, configPath: string, head: ConfigState, progress: ((message: string) => void) | undefined): Promise<{ side: BaseSide; commit: string | null }> {
  if (existsSync(asPath) && statSync(asPath).isDirectory()) return { side: await directoryBaseSide(asPath, configPath), commit: null };
  if (!(await isGitRef(headRoot, text))) {
    throw new InputError(`--base ${text}: neither a directory nor a git ref of ${headRoot}`, { hint: '--base takes the root of a base checkout or a branch, tag or commit.' });
  }
  const log = progress ?? (() => {});
  const commit = await resolveBaseCommit({ repoRoot: headRoot, baseRef: text, log });
  const target = await mkdtemp(path.join(os.tmpdir(), 'bias-gate-base-'));
  const side = await gitBaseSide({ repoRoot: headRoot, commit: commit.sha, configPath, head, targetDir: target, log });
  log(`base: ${commit.how} (${commit.sha})`);
  return { side, commit: commit.sha };
}

/**
 * `--record-environment`: the CLI's environment section. The base side is read from the commit
 * `--base REF` names, so that commit is both `base` and `mergeBase`; head and checkout are the
 * checkout's HEAD (uncommitted changes show in the model hashes, not here). No clock, no user, no
 * path: the same checkout on the same machine gives the same bytes.
 */
async function cliEnvironment(headRoot: string, baseCommit: string | null): Promise<RunEnvironment> {
  const head = await checkedOutCommit(headRoot);
  return {
    workflowRef: null,
    workflowSha: null,
    commits: { base: baseCommit, head, mergeBase: baseCommit, checkout: head },
    pullRequest: null,
    run: null,
    runner: runnerRecord(),
    toolchain: toolchainVersions(),
  };
}

/** `--policy-source head`: the caller accepts the pull request's own config (e.g. protected by CODEOWNERS). */
function policySourceApproval(value: string | undefined): PolicyApproval | null {
  if (value === undefined || value === 'base') return null;
  if (value === 'head') return { how: 'input' };
  throw new InputError(`--policy-source expects base or head, found "${value}"`);
}

function existingDirectory(directory: string, flag: string): string {
  if (!existsSync(directory) || !statSync(directory).isDirectory()) {
    throw new InputError(`${flag} ${directory}: no such directory`, { hint: `${flag} takes the root of a checkout of the repository.` });
  }
  return directory;
}

function positiveInteger(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new InputError(`${flag} expects a positive integer, found "${text}"`);
  return value;
}

async function readPartials(files: readonly string[]): Promise<PartialResult[]> {
  const partials: PartialResult[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new InputError(`merge: cannot read ${file} (${messageOf(error)})`);
    }
    let parsed: unknown;
    try {
      parsed = parseResultsJson(text);
    } catch (error) {
      throw new InputError(`merge: ${file} is not a partial result (${parserMessage(error)})`);
    }
    partials.push(checkPartialResult(parsed, file));
  }
  return partials;
}

/** Writes an output file, creating its directory; a path that cannot be written (its parent is a file) is the user's to fix. */
async function writeReport(file: string, content: string): Promise<void> {
  try {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  } catch (error) {
    throw new InputError(`cannot write ${file}: ${messageOf(error)}`, {
      hint: 'Choose an output path whose parent is a directory you can write to (--json, --markdown, --html, --attestation, --model-card, --release-notes, --dump-items, --partial).',
      cause: error,
    });
  }
}

function isArgumentError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}
