import type { BiasGateConfig } from '../config/types.ts';
import type { OverallVerdict, Verdict } from '../gate/evaluate.ts';

/**
 * One side's config file as it was found: the base branch's (read from the base commit)
 * or the pull request's. A missing or invalid file is a state, not an error: the PR may
 * delete or break its own config, and the base policy must still apply.
 */
export type ConfigState =
  | { status: 'found'; config: BiasGateConfig }
  | { status: 'absent'; displayPath: string }
  | { status: 'invalid'; displayPath: string; message: string };

/** Where the policy in force came from. */
export type PolicySource = 'base' | 'head';

/**
 * An acceptance of the pull request's own policy before it is merged (issue: "a policy change
 * takes effect when it is merged"). Only the workflow can grant it, never the config.
 */
export interface PolicyApproval {
  /** `label`: a user with write or admin permission added the approval label; `input`: the workflow sets `policy-source: head`. */
  how: 'label' | 'input';
  /** The label's name, for `label`. */
  label?: string;
  /** Login of the user who added the label. */
  by?: string;
  /** That user's permission on the repository when checked (`admin`, `write`). */
  permission?: string;
  /** When the label was added (ISO 8601, from the event). */
  at?: string;
}

/** What a policy change does to the gate. */
export type PolicyChangeKind =
  | 'config-deleted'
  | 'config-invalid'
  | 'section-added'
  | 'section-removed'
  | 'gate-added'
  | 'gate-removed'
  | 'gate-loosened'
  | 'gate-tightened'
  | 'model-moved'
  | 'setting-changed';

/** One difference between the base branch's config and the pull request's. */
export interface PolicyChange {
  kind: PolicyChangeKind;
  /** Where in the config: `language.gates[crows_pairs.gender].max_bias_increase`, `vision.bootstrap.resamples`. */
  key: string;
  /** The base branch's value, as text; null when it has none. */
  base: string | null;
  /** The pull request's value, as text; null when it has none. */
  head: string | null;
}

/** The config a run applies, and how the pull request's config differs from it (audit record and comment). */
export interface PolicyRecord {
  /** Which side's config supplied the gates, thresholds and scoring settings. */
  source: PolicySource;
  /** One sentence: why that side. */
  reason: string;
  /** The base branch's config: its path and sha256 (null when there is no base side or no config there). */
  base: { path: string; sha256: string; commit: string | null } | null;
  /** The pull request's config (null when it deleted it or it is invalid). */
  head: { path: string; sha256: string } | null;
  /** Empty when both configs are the same text or only one side exists. */
  changes: PolicyChange[];
  approval: PolicyApproval | null;
  /**
   * The verdict the pull request's own policy would give (not in force), when it differs from
   * the base's; `error` when it cannot be evaluated (the PR's config is invalid, say).
   */
  proposed: { verdict: OverallVerdict; verdicts: Verdict[] } | { error: string } | null;
  /** Workflow files the pull request changes that run bias-gate (the PR can edit the gate's own workflow). */
  workflowChanges: string[];
  /** Things a reviewer must know (no base config, a model the PR deleted). */
  notices: string[];
}
