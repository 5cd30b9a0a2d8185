import { existsSync } from 'node:fs';
import { loadConfig } from '../config/load.ts';
import type { BiasGateConfig } from '../config/types.ts';
import { InputError } from '../errors.ts';
import type { ConfigState, PolicyApproval, PolicySource } from './types.ts';

/** Reads a config file into a {@link ConfigState}: a missing or invalid file is a state, not a throw. */
export async function readConfigState(file: string, repoRoot: string, displayPath: string): Promise<ConfigState> {
  if (!existsSync(file)) return { status: 'absent', displayPath };
  try {
    return { status: 'found', config: await loadConfig(file, { repoRoot }) };
  } catch (error) {
    if (error instanceof InputError) return { status: 'invalid', displayPath, message: error.describe() };
    throw error;
  }
}

/** The config in force and why. */
export interface PolicyDecision {
  config: BiasGateConfig;
  source: PolicySource;
  reason: string;
  notices: string[];
}

export interface DecidePolicyOptions {
  /** The pull request's config. */
  head: ConfigState;
  /** The base side's config; undefined when there is no base side (the head is scored alone). */
  base: ConfigState | undefined;
  /** An approval of the PR's own policy (the workflow's `policy-source: head`, or an approval label). */
  approval: PolicyApproval | null;
}

/**
 * Which config governs the run (issue 9 §1): the base branch's whenever a base side has a
 * valid one, because the pull request must not loosen or delete the gate that judges it.
 * The PR's config applies when there is no base side, when the base has no (valid) config
 * (the PR introduces bias-gate), or when the workflow accepted the PR's policy early.
 */
export function decidePolicy({ head, base, approval }: DecidePolicyOptions): PolicyDecision {
  const notices: string[] = [];
  if (base === undefined) {
    return { config: requireHead(head, 'no base side was given'), source: 'head', reason: "the pull request's config (no base side: the head is scored alone)", notices };
  }
  if (base.status === 'found') {
    if (approval && head.status === 'found') {
      return { config: head.config, source: 'head', reason: `the pull request's config, accepted before merging: ${describeApproval(approval)}`, notices };
    }
    if (approval) notices.push(`The pull request's policy was approved (${describeApproval(approval)}), but its config is ${head.status === 'absent' ? 'deleted' : 'invalid'}; the base branch's policy applies.`);
    return { config: base.config, source: 'base', reason: "the base branch's config, which applies until this pull request is merged", notices };
  }
  const why = base.status === 'absent' ? `the base side has no ${base.displayPath} (as when the pull request introduces bias-gate)` : `the base branch's ${base.displayPath} is invalid (${firstLine(base.message)})`;
  notices.push(`No base policy: ${why}, so the pull request's own config applies.`);
  return { config: requireHead(head, why), source: 'head', reason: `the pull request's config, because ${why}`, notices };
}

/** One sentence for the report: how the PR's policy was accepted. */
export function describeApproval(approval: PolicyApproval): string {
  if (approval.how === 'input') return '`policy-source: head` was chosen (the config is protected another way, e.g. CODEOWNERS)';
  return `label \`${approval.label}\` added by ${approval.by} (${approval.permission} permission) at ${approval.at}`;
}

function requireHead(head: ConfigState, why: string): BiasGateConfig {
  if (head.status === 'found') return head.config;
  if (head.status === 'invalid') throw new InputError(head.message);
  throw new InputError(`${head.displayPath}: cannot read the config file (no such file), and there is no base policy: ${why}`, {
    hint: 'Pass the path of your thresholds.yaml with --config (Action input `config`).',
  });
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
