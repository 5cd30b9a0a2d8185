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
   * Where the run happened (the Action's workflow), apart from the scored content so that the
   * rest of the record stays byte-identical for identical inputs; absent in CLI runs.
   */
  environment?: RunEnvironment;
  /** The last default-branch runs read from the history data branch (issue 12); absent when history is off. */
  history?: HistoryRecord;
}

/** The run's environment as the audit record keeps it. */
export interface RunEnvironment {
  /** `GITHUB_WORKFLOW_REF`: the workflow file and ref that ran the gate. */
  workflowRef: string | null;
  /** `GITHUB_WORKFLOW_SHA`: the commit of that workflow file. */
  workflowSha: string | null;
}
