import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { EXIT_GATE_FAILED, EXIT_PASS, INPUT_ERROR_EXIT_CODE, InputError, messageOf } from './errors.ts';
import { defaultCacheDir } from './artifacts/cache-dir.ts';
import { directoryBaseSide, gitBaseSide, type BaseSide } from './artifacts/base-side.ts';
import { isGitRef, resolveBaseCommit } from './artifacts/git.ts';
import { changedGateWorkflows } from './artifacts/workflow-changes.ts';
import { parseShard } from './artifacts/item-scoring.ts';
import { directoryResultCache, noResultCache, parseResultsJson, stringifyResults } from './artifacts/result-cache.ts';
import { findRepositoryRoot, toRepoRelative } from './config/paths.ts';
import { readConfigState } from './policy/decide.ts';
import type { ConfigState, PolicyApproval } from './policy/types.ts';
import { checkPartialResult, mergeShards, runBiasGate, scoreShard, type PartialResult } from './pipeline.ts';
import { buildReportDocument, renderJsonReport } from './report/json.ts';
import { renderHtml } from './report/html.ts';
import { renderMarkdown } from './report/markdown.ts';
import { renderText } from './report/text.ts';
import { TOOL_NAME, TOOL_VERSION } from './version.ts';
import { parserMessage } from './parser-message.ts';

export const USAGE = `Usage: ${TOOL_NAME} run --config thresholds.yaml [--base DIR|REF] [--head DIR] [--json FILE] [--markdown FILE]
                     [--html FILE] [--dump-items FILE] [--cache-dir DIR] [--no-cache] [--threads N] [--quiet]
                     [--policy-source base|head]
       ${TOOL_NAME} run --shard I/N --partial FILE [same options]
       ${TOOL_NAME} merge --config thresholds.yaml [--base DIR|REF] [--json FILE] [--markdown FILE] [--html FILE] PARTIAL...

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

merge combines the partial results of shards 1..N into the report an unsharded
run gives, byte for byte; it runs no model.

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
        'dump-items': { type: 'string' },
        'cache-dir': { type: 'string' },
        'no-cache': { type: 'boolean', default: false },
        shard: { type: 'string' },
        partial: { type: 'string' },
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
    if (command !== 'run' && command !== 'merge') {
      throw new InputError(command === undefined ? 'missing command' : `unknown command "${positionals.join(' ')}"`, { hint: USAGE });
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
    const report = command === 'merge' ? await mergeShards(runOptions, await readPartials(positionals.slice(1).map(resolve))) : await runBiasGate(runOptions);
    if (values.json) await writeReport(resolve(values.json), renderJsonReport(report));
    if (values.markdown) await writeReport(resolve(values.markdown), renderMarkdown(buildReportDocument(report)));
    if (values.html) await writeReport(resolve(values.html), renderHtml(buildReportDocument(report)));
    if (values['dump-items']) {
      if (!report.language) throw new InputError('--dump-items writes language benchmark items, and the config has no `language:` section');
      await writeReport(resolve(values['dump-items']), report.language.itemLines().map((line) => `${line}\n`).join(''));
    }
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

/**
 * `--base`: a directory is a base checkout; anything else must be a git ref of the
 * head repository, whose config and every path it names are written to a temporary
 * directory from git (DESIGN §1.2). Either way the base side's own config is read,
 * because it, not the pull request's, is the policy in force (issue 9 §1).
 */
async function baseSide(text: string, asPath: string, headRoot: string, configPath: string, head: ConfigState, progress: ((message: string) => void) | undefined): Promise<{ side: BaseSide }> {
  if (existsSync(asPath) && statSync(asPath).isDirectory()) return { side: await directoryBaseSide(asPath, configPath) };
  if (!(await isGitRef(headRoot, text))) {
    throw new InputError(`--base ${text}: neither a directory nor a git ref of ${headRoot}`, { hint: '--base takes the root of a base checkout or a branch, tag or commit.' });
  }
  const log = progress ?? (() => {});
  const commit = await resolveBaseCommit({ repoRoot: headRoot, baseRef: text, log });
  const target = await mkdtemp(path.join(os.tmpdir(), 'bias-gate-base-'));
  const side = await gitBaseSide({ repoRoot: headRoot, commit: commit.sha, configPath, head, targetDir: target, log });
  log(`base: ${commit.how} (${commit.sha})`);
  return { side };
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
      hint: 'Choose an output path whose parent is a directory you can write to (--json, --markdown, --html, --dump-items, --partial).',
      cause: error,
    });
  }
}

function isArgumentError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}
