import type { CacheEvent } from '../artifacts/result-cache.ts';
import type { OverallVerdict, Verdict } from '../gate/evaluate.ts';
import type { LanguageBenchmarkRun, LanguageRun } from '../language/run.ts';
import type { TransferTable } from '../language/transfer.ts';
import type { BaseStatus, Interval, MetricSize } from '../scores.ts';
import type { VisionRun } from '../vision/run.ts';
import type { BtsScore, GapScore, IeatScore, ItemListScores, VisionScores } from '../vision/score.ts';
import type { HistoryRecord } from '../history/history.ts';
import { metricRow, modelInterval } from './metric-rows.ts';
import type { PolicyRecord } from '../policy/types.ts';
import { runtimeAuditRecord, type RuntimeAuditRecord } from './runtime.ts';
import type { RunEnvironment, RunReport } from './types.ts';

/** Version of the JSON report's layout; bump on any breaking change. */
export const JSON_REPORT_FORMAT = 1;

/** A model file as the audit record names it. */
export interface ModelRecord {
  /** Repository-relative path. */
  path: string;
  sha256: string;
  bytes: number;
}

/** A language-metric row of the audit record: the metric and what the report shows for it. */
export interface LanguageMetricRecord {
  name: string;
  description: string;
  head: number;
  base: number | null;
  delta: number | null;
  deltaInterval: Interval | null;
  biasChange: number | null;
  /** Interval of `biasChange`: the quantity a `max_bias_increase` gate tests. */
  biasChangeInterval: Interval | null;
  mcnemarP: number | null;
  /** What the head value is computed over: n pairs, target terms, windows. */
  size: MetricSize | null;
  /** Bootstrap interval of the head's value alone (the HTML report's whiskers); absent in older records. */
  headInterval?: Interval | null;
  /** Bootstrap interval of the base's value alone; absent in older records. */
  baseInterval?: Interval | null;
}

/**
 * The audit record (DESIGN §1.5) as data: what `report.json` holds, and the single input of every
 * Markdown rendering ({@link renderMarkdown}), so the comment of the PR's own run and the one the
 * fork-safe job renders from a downloaded `report.json` are the same text. Non-finite numbers (an
 * undefined correlation) are null here, as in the JSON; {@link buildReportDocument} gives the
 * document exactly as it reads back.
 */
export interface ReportDocument {
  format: typeof JSON_REPORT_FORMAT;
  tool: { name: string; version: string };
  verdict: OverallVerdict;
  config: RunReport['config'];
  /** The policy in force and how the PR's config differs (issue 9 §1). */
  policy: PolicyRecord;
  vision: {
    baseStatus: BaseStatus;
    models: { pretrained: ModelRecord; base: ModelRecord | null; head: ModelRecord };
    referenceSets: VisionRun['referenceSets'];
    objects: string[];
    settings: VisionRun['settings'];
    estimator: VisionScores['estimator'];
    bts: BtsScore[];
    gaps: GapScore[];
    ieat: IeatScore[];
    itemLists: ItemListScores[];
    metrics: { name: string; description: string; head: number; base: number | null }[];
  } | null;
  language: {
    kind: LanguageRun['kind'];
    scoring: LanguageRun['scoring'];
    targetDomain: string | null;
    baseStatus: BaseStatus;
    models: LanguageRun['models'];
    settings: LanguageRun['settings'];
    benchmarks: LanguageBenchmarkRun[];
    metrics: LanguageMetricRecord[];
    transfer: TransferTable | null;
  } | null;
  verdicts: Verdict[];
  cache: CacheEvent[];
  /** Where the models ran, when other providers than the CPU were asked for (see runtime.ts). */
  runtime?: RuntimeAuditRecord;
  /** Commits, workflow run, runner and toolchain (report/environment.ts); absent in CLI runs without `--record-environment`. */
  environment?: RunEnvironment;
  /** The last default-branch runs from the history data branch (Action input `history-branch`); absent when off. */
  history?: HistoryRecord;
}

/**
 * The audit record of a run: tool version, config, hashes of every model and image set, every
 * score and every verdict. Deterministic: no timestamps, no absolute paths, fixed key order, so
 * the same inputs give the same bytes. Returned as it reads back from {@link renderJsonReport}'s
 * text (non-finite numbers as null).
 */
export function buildReportDocument(report: RunReport): ReportDocument {
  const vision = report.vision;
  const document: ReportDocument = {
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
        const confidence = report.language!.settings.bootstrap.confidence;
        const row = metricRow(metric, confidence);
        return { name: metric.name, description: metric.description, head: metric.head, base: metric.base, delta: row.delta, deltaInterval: row.interval, biasChange: row.biasChange, biasChangeInterval: row.biasChangeInterval, mcnemarP: row.changePValue, size: row.size, headInterval: modelInterval(metric.headReplicates, confidence), baseInterval: modelInterval(metric.baseReplicates, confidence) };
      }),
      transfer: report.language.transfer,
    },
    verdicts: report.verdicts,
    cache: report.cache,
    ...(report.runtime ? { runtime: runtimeAuditRecord(report.runtime) } : {}),
    ...(report.environment ? { environment: report.environment } : {}),
    ...(report.history ? { history: report.history } : {}),
  };
  return JSON.parse(serializeReportDocument(document)) as ReportDocument;
}

/** The JSON report's text: {@link buildReportDocument}, pretty-printed, non-finite numbers as null. */
export function renderJsonReport(report: RunReport): string {
  return serializeReportDocument(buildReportDocument(report));
}

/** A document as `report.json` holds it. */
export function serializeReportDocument(document: ReportDocument): string {
  return `${JSON.stringify(document, finiteOrNull, 2)}\n`;
}

function modelRecord(model: { path: string; sha256: string; bytes: number }) {
  return { path: model.path, sha256: model.sha256, bytes: model.bytes };
}

function finiteOrNull(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}
