import type { Verdict } from '../gate/evaluate.ts';
import type { ReportDocument } from './json.ts';
import { codeSpan, escapeMarkdownText, linkDestination } from './markdown-escape.ts';
import { describeApproval, policyInForce, verdictWords } from './release-facts.ts';

/** The heading of the section {@link renderReleaseNotes} writes, so a release workflow can find it. */
export const RELEASE_CHECKLIST_HEADING = '## Bias gate release checklist';

/**
 * The release notes' checklist section (README "Release checklist"): every gate with its outcome,
 * the policy in force (config sha256 and commit), approvals, the sha256 of every model and data
 * file, and where the run was. Markdown; every string from the report is escaped.
 */
export function renderReleaseNotes(document: ReportDocument): string {
  const policy = policyInForce(document);
  const lines = [RELEASE_CHECKLIST_HEADING, '', `Verdict: **${verdictWords(document.verdict)}** (${escapeMarkdownText(`${document.tool.name} ${document.tool.version}`)}).`, '', '### Gates', ''];
  if (document.verdicts.length === 0) lines.push('- no gates configured');
  for (const verdict of document.verdicts) lines.push(gateLine(verdict));
  lines.push(
    '',
    '### Policy',
    '',
    `- [x] policy in force: ${escapeMarkdownText(policy.side)} ${codeSpan(policy.path)}, sha256 ${codeSpan(policy.sha256)}${policy.commit ? `, commit ${codeSpan(policy.commit)}` : ''}`,
    `- [${document.policy.changes.length === 0 ? 'x' : ' '}] policy changes in this change set: ${document.policy.changes.length === 0 ? 'none' : String(document.policy.changes.length)}`,
    `- approval of a policy change before merging: ${escapeMarkdownText(describeApproval(document.policy.approval))}`,
    '',
    '### Models (sha256)',
    '',
  );
  const vision = document.vision;
  if (vision) {
    for (const [role, model] of [['pretrained', vision.models.pretrained], ['base', vision.models.base], ['head', vision.models.head]] as const) {
      if (model) lines.push(`- ${role}: ${codeSpan(model.path)} ${codeSpan(model.sha256)}`);
    }
  }
  const language = document.language;
  if (language) {
    for (const model of [language.models.base, language.models.head]) {
      if (!model) continue;
      for (const file of model.files) lines.push(`- ${model.role}: ${codeSpan(`${model.path}/${file.name}`)} ${codeSpan(file.sha256)}`);
    }
  }
  lines.push('', '### Data (sha256)', '');
  if (vision) lines.push(`- reference sets ${codeSpan(vision.referenceSets.source)}: ${codeSpan(vision.referenceSets.sha256)} (${vision.referenceSets.sets.length} sets)`);
  for (const benchmark of language?.benchmarks ?? []) {
    const revision = benchmark.data.revision ? `, revision ${codeSpan(benchmark.data.revision)}` : '';
    lines.push(`- ${escapeMarkdownText(benchmark.name)} ${codeSpan(benchmark.data.location)}${revision}: ${codeSpan(benchmark.data.sha256)} (${benchmark.data.items} items)`);
  }
  const environment = document.environment;
  if (environment) {
    lines.push('', '### Run', '');
    if (environment.run?.url) lines.push(`- workflow run: [${escapeMarkdownText(environment.run.id)}](${linkDestination(environment.run.url)})`);
    if (environment.workflowRef) lines.push(`- workflow: ${codeSpan(environment.workflowRef)}${environment.workflowSha ? ` at ${codeSpan(environment.workflowSha)}` : ''}`);
    if (environment.commits.checkout) lines.push(`- commit scored: ${codeSpan(environment.commits.checkout)}`);
    if (environment.pullRequest) lines.push(`- pull request: [#${environment.pullRequest.number}](${linkDestination(environment.pullRequest.url)})`);
    const toolchain = environment.toolchain;
    lines.push(`- runner: ${escapeMarkdownText(`${environment.runner.os}/${environment.runner.arch}, Node ${toolchain.node}, onnxruntime-node ${toolchain.onnxruntimeNode ?? 'unknown'}, sharp ${toolchain.sharp ?? 'unknown'}`)}`);
  }
  lines.push('');
  return lines.join('\n');
}

/** A gate as a checklist item: ticked when it passed; a warning, failure or skip says why. */
function gateLine(verdict: Verdict): string {
  const rule = `${verdict.rule} ${verdict.threshold}${verdict.level === 'warn' ? ', level warn' : ''}`;
  const outcome = verdict.status === 'pass' ? 'pass' : `${verdict.status.toUpperCase()}: ${verdict.reason}`;
  return `- [${verdict.status === 'pass' ? 'x' : ' '}] ${codeSpan(verdict.metric)} (${escapeMarkdownText(rule)}): ${escapeMarkdownText(outcome)}`;
}
