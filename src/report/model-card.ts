import { stringify } from 'yaml';
import type { ReportDocument } from './json.ts';
import { codeSpan, escapeMarkdownText, escapeTableCell, linkDestination } from './markdown-escape.ts';
import { policyInForce, roundScore, verdictWords } from './release-facts.ts';

/** Where bias-gate is documented, linked from the card. */
export const BIAS_GATE_URL = 'https://github.com/bias-gate/bias-gate';

/**
 * Hugging Face Hub ids of the benchmarks' public origins, for `dataset.type` (the Hub's
 * model-index convention). Used only when the data came from that origin; a local file is named
 * by its path.
 */
const HUB_DATASETS: Record<string, { name: string; type: string; config?: string; split?: string }> = {
  crows_pairs: { name: 'CrowS-Pairs', type: 'nyu-mll/crows_pairs', split: 'test' },
  stereoset: { name: 'StereoSet (intrasentence)', type: 'McGill-NLP/stereoset', config: 'intrasentence' },
  perplexity: { name: 'WikiText-2', type: 'Salesforce/wikitext', config: 'wikitext-2-raw-v1', split: 'test' },
};

/** One `model-index` entry's result (https://huggingface.co/docs/hub/model-cards#evaluation-results). */
export interface ModelIndexResult {
  task: { type: string; name?: string };
  dataset: { name: string; type: string; config?: string; split?: string; revision?: string; args?: Record<string, string> };
  metrics: { type: string; name: string; value: number }[];
}

/** `model-index` as the card's YAML metadata holds it: one entry per scored head model. */
export interface ModelIndex {
  'model-index': { name: string; results: ModelIndexResult[] }[];
}

/** Options of {@link renderModelCard}. */
export interface ModelCardOptions {
  /** Link to the audit record: the run URL, or a path relative to the card. Null: named, not linked. */
  recordLink: string | null;
}

/** The `model-index` results for the scored benchmarks and vision metrics, head values only. */
export function modelIndex(document: ReportDocument): ModelIndex {
  const entries: ModelIndex['model-index'] = [];
  const language = document.language;
  if (language) {
    const names = new Set(language.metrics.map((metric) => metric.name));
    const results: ModelIndexResult[] = [];
    for (const benchmark of language.benchmarks) {
      const hub = HUB_DATASETS[benchmark.name];
      const local = benchmark.data.source === 'local' || !hub;
      // `stereoset.ss` repeats `stereoset.ss.overall`: one of each is enough.
      const metrics = language.metrics
        .filter((metric) => (metric.name === benchmark.name || metric.name.startsWith(`${benchmark.name}.`)) && !names.has(`${metric.name}.overall`))
        .flatMap((metric) => {
          const value = roundScore(metric.head);
          return value === null ? [] : [{ type: metric.name, name: metric.description, value }];
        });
      if (metrics.length === 0) continue;
      results.push({
        task: { type: language.kind === 'causal' ? 'text-generation' : 'fill-mask' },
        dataset: {
          name: hub?.name ?? benchmark.name,
          type: local ? benchmark.data.location : hub.type,
          ...(!local && hub.config ? { config: hub.config } : {}),
          ...(!local && hub.split ? { split: hub.split } : {}),
          ...(benchmark.data.revision ? { revision: benchmark.data.revision } : {}),
          args: { sha256: benchmark.data.sha256 },
        },
        metrics,
      });
    }
    entries.push({ name: language.models.head.path, results });
  }
  const vision = document.vision;
  if (vision) {
    const metrics = vision.metrics.flatMap((metric) => {
      const value = roundScore(metric.head);
      return value === null ? [] : [{ type: metric.name, name: metric.description, value }];
    });
    entries.push({
      name: vision.models.head.path,
      results: [{ task: { type: 'image-classification' }, dataset: { name: 'bias-gate reference sets', type: vision.referenceSets.source, args: { sha256: vision.referenceSets.sha256 } }, metrics }],
    });
  }
  return { 'model-index': entries };
}

/**
 * A "Bias evaluation" section for a Hugging Face model card: the `model-index` YAML metadata block
 * (to merge into the card's front matter) and a Markdown section with the scores, the policy and a
 * link to the audit record. Every string from the report is escaped.
 */
export function renderModelCard(document: ReportDocument, options: ModelCardOptions): string {
  const yaml = stringify(modelIndex(document), { lineWidth: 0 });
  const policy = policyInForce(document);
  const lines = [
    '---',
    yaml.trimEnd(),
    '---',
    '',
    '## Bias evaluation',
    '',
    `Evaluated by [bias-gate](${BIAS_GATE_URL}) version ${codeSpan(document.tool.version)}: **${verdictWords(document.verdict)}**.`,
    '',
    '| model | metric | value | base | gate |',
    '|---|---|---:|---:|---|',
  ];
  const gateOf = (metric: string) => {
    const verdicts = document.verdicts.filter((verdict) => verdict.metric === metric);
    return verdicts.length === 0 ? '' : verdicts.map((verdict) => `${verdict.status} (${verdict.rule} ${verdict.threshold})`).join(', ');
  };
  const cell = (value: number | null) => (value === null ? '' : String(roundScore(value) ?? ''));
  for (const entry of modelIndex(document)['model-index']) {
    for (const result of entry.results) {
      for (const metric of result.metrics) {
        const record = [...(document.language?.metrics ?? []), ...(document.vision?.metrics ?? [])].find((m) => m.name === metric.type);
        lines.push(`| ${codeSpan(entry.name, 'table-cell')} | ${escapeTableCell(metric.name)} | ${metric.value} | ${cell(record?.base ?? null)} | ${escapeTableCell(gateOf(metric.type))} |`);
      }
    }
  }
  lines.push(
    '',
    `Policy: ${escapeMarkdownText(policy.side)} ${codeSpan(policy.path)}, sha256 ${codeSpan(policy.sha256)}${policy.commit ? `, commit ${codeSpan(policy.commit)}` : ''}.`,
    '',
    options.recordLink ? `Audit record: [${escapeMarkdownText(recordLabel(options.recordLink))}](${linkDestination(options.recordLink)}).` : 'Audit record: `report.json` of the run that scored this model.',
    '',
  );
  return lines.join('\n');
}

function recordLabel(link: string): string {
  return /^https?:\/\//.test(link) ? 'workflow run' : link;
}
