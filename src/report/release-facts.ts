import type { PolicyApproval, PolicyRecord } from '../policy/types.ts';
import type { OverallVerdict } from '../gate/evaluate.ts';
import type { ReportDocument } from './json.ts';

/** The policy in force as plain facts: which side's config, its path, sha256 and commit. */
export interface PolicyInForce {
  source: PolicyRecord['source'];
  /** "the base branch's config" or "the pull request's config". */
  side: string;
  path: string;
  sha256: string;
  /** The base commit it was read from, when it is the base branch's. */
  commit: string | null;
}

/** The policy that judged the report: the side the policy record names, else the report's `config`. */
export function policyInForce(document: ReportDocument): PolicyInForce {
  const { policy } = document;
  const where = policy.source === 'base' ? policy.base : policy.head;
  return {
    source: policy.source,
    side: policy.source === 'base' ? "the base branch's config" : "the pull request's config",
    path: where?.path ?? document.config.path,
    sha256: where?.sha256 ?? document.config.sha256,
    commit: policy.source === 'base' ? (policy.base?.commit ?? null) : null,
  };
}

/** One sentence on an early acceptance of the pull request's policy (plain text: escape it where rendered). */
export function describeApproval(approval: PolicyApproval | null): string {
  if (!approval) return 'none';
  if (approval.how === 'input') return 'the workflow sets policy-source: head (the pull request\'s config applies)';
  const by = approval.by ? ` added by @${approval.by}${approval.permission ? ` (${approval.permission})` : ''}` : '';
  return `label ${approval.label ?? '(unnamed)'}${by}${approval.at ? ` at ${approval.at}` : ''}`;
}

/** The verdict in words, as the comment's headline says it. */
export function verdictWords(verdict: OverallVerdict): string {
  return verdict === 'pass' ? 'pass' : verdict === 'warn' ? 'pass with warnings' : 'fail';
}

/** Rounds a score for display in cards and notes (the record keeps every digit). */
export function roundScore(value: number | null): number | null {
  return value === null || !Number.isFinite(value) ? null : Number(value.toFixed(4));
}
