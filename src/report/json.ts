import { metricRow } from './metric-rows.ts';
import { runtimeAuditRecord } from './runtime.ts';
import type { RunReport } from './types.ts';

/** Version of the JSON report's layout; bump on any breaking change. */
export const JSON_REPORT_FORMAT = 1;

/**
 * The audit record (DESIGN §1.5): tool version, config, hashes of every model
 * and image set, every score and every verdict. Deterministic: no timestamps,
 * no absolute paths, fixed key order, so the same inputs give the same bytes.
 * Non-finite numbers (an undefined correlation) are written as null.
 */
export function renderJsonReport(report: RunReport): string {
  const vision = report.vision;
  const document = {
    format: JSON_REPORT_FORMAT,
    tool: report.tool,
    verdict: report.verdict,
    config: report.config,
    policy: report.policy,
    vision: vision && {
      baseStatus: vision.baseStatus,
      models: {
        pretrained: modelRecord(vision.models.pretrained),
        base: vision.models.base && modelRecord(vision.models.base),
        head: modelRecord(vision.models.head),
      },
      referenceSets: vision.referenceSets,
      objects: vision.objects,
      settings: vision.settings,
      estimator: vision.scores.estimator,
      bts: vision.scores.bts,
      gaps: vision.scores.gaps,
      ieat: vision.scores.ieat,
      itemLists: vision.scores.itemLists,
      metrics: vision.scores.metrics.map((metric) => ({ name: metric.name, description: metric.description, head: metric.head, base: metric.base })),
    },
    language: report.language && {
      kind: report.language.kind,
      scoring: report.language.scoring,
      targetDomain: report.language.targetDomain ?? null,
      baseStatus: report.language.baseStatus,
      models: report.language.models,
      settings: report.language.settings,
      benchmarks: report.language.benchmarks,
      metrics: report.language.metrics.map((metric) => {
        const row = metricRow(metric, report.language!.settings.bootstrap.confidence);
        return { name: metric.name, description: metric.description, head: metric.head, base: metric.base, delta: row.delta, deltaInterval: row.interval, biasChange: row.biasChange, mcnemarP: row.changePValue };
      }),
      transfer: report.language.transfer,
    },
    verdicts: report.verdicts,
    cache: report.cache,
    ...(report.runtime ? { runtime: runtimeAuditRecord(report.runtime) } : {}),
    ...(report.environment ? { environment: report.environment } : {}),
  };
  return `${JSON.stringify(document, finiteOrNull, 2)}\n`;
}

function modelRecord(model: { path: string; sha256: string; bytes: number }) {
  return { path: model.path, sha256: model.sha256, bytes: model.bytes };
}

function finiteOrNull(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}
