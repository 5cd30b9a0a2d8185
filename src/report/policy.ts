import type { PolicyChange, PolicyChangeKind, PolicyRecord } from '../policy/types.ts';
import { isLoosening } from '../policy/diff.ts';
import type { Verdict } from '../gate/evaluate.ts';
import { escapeMarkdownText, escapeTableCell } from './markdown-escape.ts';
import { describeCounts } from './summary.ts';

/** How each kind of policy change reads in a report. */
export const POLICY_CHANGE_LABELS: Record<PolicyChangeKind, string> = {
  'config-deleted': 'config deleted',
  'config-invalid': 'config invalid',
  'section-added': 'section added',
  'section-removed': 'section removed',
  'gate-added': 'gate added (tighter)',
  'gate-removed': 'gate removed (looser)',
  'gate-loosened': 'loosened',
  'gate-tightened': 'tightened',
  'model-moved': 'model path moved',
  'setting-changed': 'setting changed',
};

/** Why the pull request cannot simply edit the gate: said wherever the policy is shown. */
export const POLICY_TAKES_EFFECT_WHEN_MERGED = 'A policy change takes effect when it is merged; until then the base branch\'s policy judges this pull request.';

/** The pieces of the policy section as plain sentences and rows, for every report format. */
export interface PolicySummary {
  /** "Policy in force: the base branch's thresholds.yaml (sha256 …, commit …): …" */
  headline: string;
  /** Warnings a reviewer must read (notices, workflow changes, loosening). */
  warnings: string[];
  /** One row per change: kind label, key, base value, PR value. */
  changes: [string, string, string, string][];
  /** "Under the pull request's proposed policy (not in force): fail (…)"; null when there is none. */
  proposed: string | null;
}

/** The policy section's content, independent of the format it is rendered in. */
export function summarisePolicy(policy: PolicyRecord): PolicySummary {
  const where = policy.source === 'base' ? policy.base : policy.head;
  const commit = policy.source === 'base' ? policy.base?.commit : null;
  const identity = where ? ` (${where.path}, sha256 ${where.sha256.slice(0, 12)}${commit ? `, commit ${commit.slice(0, 12)}` : ''})` : '';
  const headline = `Policy in force: ${policy.reason}${identity}.`;
  const warnings = [...policy.notices];
  for (const file of policy.workflowChanges) {
    warnings.push(`This pull request changes ${file}, a workflow that runs bias-gate: a pull request can edit the workflow that gates it. Review that change before merging; make the check required (branch protection or a ruleset) and protect the workflow with CODEOWNERS.`);
  }
  const loosening = policy.changes.filter(isLoosening).length;
  if (policy.changes.length > 0) {
    warnings.push(`This pull request changes the policy: ${policy.changes.length} change(s), ${loosening} of which loosen the gate. ${policy.source === 'base' ? POLICY_TAKES_EFFECT_WHEN_MERGED : 'The pull request\'s policy is in force (see above).'}`);
  }
  const changes = policy.changes.map((change: PolicyChange): [string, string, string, string] => [POLICY_CHANGE_LABELS[change.kind], change.key, change.base ?? '—', change.head ?? '—']);
  let proposed: string | null = null;
  if (policy.proposed && 'error' in policy.proposed) proposed = `Under the pull request's proposed policy (not in force): not evaluated: ${policy.proposed.error.split('\n')[0]}`;
  else if (policy.proposed) proposed = `Under the pull request's proposed policy (not in force) the verdict would be ${policy.proposed.verdict} (${describeCounts(policy.proposed.verdicts)}).`;
  return { headline, warnings, changes, proposed };
}

/** The policy section of the PR comment (issue 9 §1): what applies, what the PR changes, what it would give. */
export function renderPolicyMarkdown(policy: PolicyRecord, renderChecks: (verdicts: readonly Verdict[]) => string[]): string[] {
  const summary = summarisePolicy(policy);
  const lines = ['### Policy', '', escapeMarkdownText(summary.headline), ''];
  for (const warning of summary.warnings) lines.push(`> ⚠️ ${escapeMarkdownText(warning)}`, '');
  if (summary.changes.length > 0) {
    lines.push('| change | key | base branch | this pull request |', '|---|---|---|---|');
    for (const cells of summary.changes) lines.push(`| ${cells.map(escapeTableCell).join(' | ')} |`);
    lines.push('');
  }
  if (summary.proposed) {
    lines.push(`**Not in force:** ${escapeMarkdownText(summary.proposed)}`, '');
    if (policy.proposed && 'verdicts' in policy.proposed && policy.proposed.verdicts.length > 0) {
      lines.push('<details><summary>Checks under the proposed policy (not in force)</summary>', '', ...renderChecks(policy.proposed.verdicts), '</details>', '');
    }
  }
  return lines;
}

/** The policy section of the terminal report. */
export function renderPolicyText(policy: PolicyRecord): string[] {
  const summary = summarisePolicy(policy);
  const lines = ['Policy', `  ${summary.headline}`];
  for (const warning of summary.warnings) lines.push(`  WARNING: ${warning}`);
  for (const [kind, key, base, head] of summary.changes) lines.push(`  ${kind}: ${key}: ${base} -> ${head}`);
  if (summary.proposed) lines.push(`  ${summary.proposed}`);
  return [...lines, ''];
}
