import type { CacheEvent } from '../artifacts/result-cache.ts';
import type { OverallVerdict, Verdict } from '../gate/evaluate.ts';
import type { HistoryRecord } from '../history/history.ts';
import type { LanguageRun } from '../language/run.ts';
import type { PolicyRecord } from '../policy/types.ts';
import type { RuntimeRecord } from '../runtime/providers.ts';
import type { VisionRun } from '../vision/run.ts';

/** Everything one run produced: the single source every report format renders. */
export interface RunReport {
  tool: { name: string; version: string };
  verdict: OverallVerdict;
  config: {
    /** Repository-relative path of the config file. */
    path: string;
    sha256: string;
    /** The config as written (parsed YAML), so the audit record holds the thresholds applied. */
    content: unknown;
  };
  /** The policy in force, where it came from, and how the pull request's config differs (issue 9 §1). */
  policy: PolicyRecord;
  vision: VisionRun | null;
  language: LanguageRun | null;
  verdicts: Verdict[];
  /**
   * Result-cache activity (hits, stores, corrupt entries ignored). The only part
   * of the report that depends on the cache's state rather than on the inputs.
   */
  cache: CacheEvent[];
  /**
   * The execution providers asked for (`runtime.providers`) and those each opened model session
   * got, so a GPU run that fell back to the CPU shows it. Like {@link cache}, it depends on the
   * machine and on what was cached (a fully cached run opens no session). Absent in reports built
   * without a pipeline run.
   */
  runtime?: RuntimeRecord;
  /**
   * Where the run happened (commits, workflow run, runner, toolchain), apart from the scored
   * content so that the rest of the record stays byte-identical for identical inputs; absent in
   * CLI runs without `--record-environment`.
   */
  environment?: RunEnvironment;
  /** The last default-branch runs read from the history data branch (issue 12); absent when history is off. */
  history?: HistoryRecord;
}

/**
 * Where and by what the run happened, as the audit record keeps it: commits, pull request, workflow
 * run, runner and toolchain. Filled by the Action, and by the CLI only with `--record-environment`,
 * so a plain CLI report stays byte-identical for identical inputs (report/environment.ts).
 */
export interface RunEnvironment {
  /** `GITHUB_WORKFLOW_REF`: the workflow file and ref that ran the gate (null outside Actions). */
  workflowRef: string | null;
  /** `GITHUB_WORKFLOW_SHA`: the commit of that workflow file. */
  workflowSha: string | null;
  commits: RunCommits;
  /** The pull request the run gated; null on push, tag and release runs and in the CLI. */
  pullRequest: { number: number; url: string } | null;
  /** The workflow run (`GITHUB_RUN_ID`, `GITHUB_RUN_ATTEMPT`); null in the CLI. */
  run: { id: string; attempt: number; url: string | null } | null;
  /** The machine: `process.platform`/`process.arch`, and the runner's name in Actions (`RUNNER_NAME`). */
  runner: { os: string; arch: string; name: string | null };
  /** Versions of what computed the scores. */
  toolchain: { node: string; onnxruntimeNode: string | null; sharp: string | null };
}

/** The commits of a run, full 40-hex shas; null where the run has none. */
export interface RunCommits {
  /** The pull request's base commit (`pull_request.base.sha`), or the commit `--base REF` named in the CLI. */
  base: string | null;
  /** The pull request's head commit (`pull_request.head.sha`); on other events the commit the run is for. */
  head: string | null;
  /** The commit the base side was read from: the merge-base of base and head (or `base-ref`). */
  mergeBase: string | null;
  /** The commit checked out and scored (`GITHUB_SHA`: on pull_request events GitHub's test merge commit; in the CLI `git rev-parse HEAD`). */
  checkout: string | null;
}
