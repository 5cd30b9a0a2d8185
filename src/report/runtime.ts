import { describeProviderOutcome, type RuntimeRecord } from '../runtime/providers.ts';

/**
 * One line on where the models ran: `cpu`, or the requested providers and, per model, what each
 * session got when it differs (`cuda, cpu requested; head language model …: cpu (cuda unavailable)`).
 * Undefined when the run opened no model (everything came from the cache) and asked for cpu only.
 */
export function describeRuntime(runtime: RuntimeRecord | undefined): string | undefined {
  if (!runtime) return undefined;
  const requested = runtime.requested.join(', ');
  if (runtime.sessions.length === 0) return requested === 'cpu' ? undefined : `${requested} requested; no model was run (all results cached)`;
  const fellBack = runtime.sessions.filter((session) => session.unavailable.length > 0);
  if (fellBack.length === 0) return `${requested} (every model)`;
  const models = fellBack.map((session) => `${session.model}: ${describeProviderOutcome(session)}`);
  return `${requested} requested; ${models.join('; ')}`;
}
