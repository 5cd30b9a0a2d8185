import { describeProviderOutcome, type ProviderOutcome, type RuntimeRecord } from '../runtime/providers.ts';

/**
 * One line on where the models ran, for the terminal, the comment and the summary: the requested
 * providers and, per model, what each session got when it differs
 * (`cuda, cpu requested; head language model …: cpu (cuda unavailable)`). Undefined for a run that
 * asked for the CPU only, which cannot fall back and needs no line.
 */
export function describeRuntime(runtime: RuntimeRecord | undefined): string | undefined {
  if (!runtime || runtime.requested.join() === 'cpu') return undefined;
  const requested = runtime.requested.join(', ');
  if (runtime.sessions.length === 0) return `${requested} requested; no model was run (all results cached)`;
  const fellBack = runtime.sessions.filter((session) => session.unavailable.length > 0);
  if (fellBack.length === 0) return `${requested} (every model)`;
  const models = fellBack.map((session) => `${session.shard ? `shard ${session.shard} ` : ''}${session.model}: ${describeProviderOutcome(session)}`);
  return `${requested} requested; ${models.join('; ')}`;
}

/** What `report.json` keeps of the runtime: the providers asked for, and each model's outcome. */
export interface RuntimeAuditRecord {
  requested: string[];
  models: Omit<ProviderOutcome, 'shard' | 'requested'>[];
}

/** {@link describeRuntime} of the audit record's view (the comment renders from `report.json`). */
export function describeRuntimeRecord(runtime: RuntimeAuditRecord | undefined): string | undefined {
  return runtime && describeRuntime({ requested: runtime.requested, sessions: runtime.models.map((model) => ({ ...model, requested: runtime.requested })) });
}

/**
 * The audit record's view of {@link RuntimeRecord}: each model once per distinct outcome, in the
 * order first opened, without the shard that opened it, so a merge of shards that ran alike records
 * what the unsharded run records.
 */
export function runtimeAuditRecord(runtime: RuntimeRecord): RuntimeAuditRecord {
  const seen = new Set<string>();
  const models: Omit<ProviderOutcome, 'shard' | 'requested'>[] = [];
  for (const { model, used, unavailable } of runtime.sessions) {
    const entry = { model, used, unavailable };
    const id = JSON.stringify(entry);
    if (seen.has(id)) continue;
    seen.add(id);
    models.push(entry);
  }
  return { requested: runtime.requested, models };
}
