import { InputError, messageOf } from '../errors.ts';
import { JSON_REPORT_FORMAT, type ReportDocument } from './json.ts';

/**
 * A `report.json` read back: parsed, and every field {@link renderMarkdown} reads checked for its
 * type, enumerations against their values, so rendering cannot meet a value it does not expect.
 * The fork-safe comment job reads the document from an artifact of the pull request's own run:
 * the numbers are the PR's claim, but nothing in it can change the comment's structure (strings
 * are escaped when rendered, enumerations are checked here). `source` names the file in errors.
 */
export function parseReportDocument(text: string, source: string): ReportDocument {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${source} is not JSON (${messageOf(error)})`, { hint: 'Upload the report-dir output of the scoring run unchanged.' });
  }
  REPORT_DOCUMENT(value, source, '');
  return value as ReportDocument;
}

/** Checks `value` at key path `at` of `source`; throws an InputError naming the path. */
type Check = (value: unknown, source: string, at: string) => void;

function wrong(source: string, at: string, expected: string, value: unknown): never {
  const found = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'string' ? `the string ${JSON.stringify(value.slice(0, 40))}` : typeof value;
  throw new InputError(`${source}: ${at || '(top level)'} is ${found}, expected ${expected}: not a bias-gate report (format ${JSON_REPORT_FORMAT})`, {
    hint: 'Upload the report-dir output of the scoring run, written by the same bias-gate version, unchanged.',
  });
}

const string: Check = (value, source, at) => {
  if (typeof value !== 'string') wrong(source, at, 'a string', value);
};
const boolean: Check = (value, source, at) => {
  if (typeof value !== 'boolean') wrong(source, at, 'true or false', value);
};
/** A number, or null where the run had a non-finite value. */
const number: Check = (value, source, at) => {
  if (value !== null && typeof value !== 'number') wrong(source, at, 'a number or null', value);
};
const oneOf =
  (...allowed: readonly (string | number)[]): Check =>
  (value, source, at) => {
    if (!allowed.includes(value as string | number)) wrong(source, at, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, value);
  };
const nullable =
  (check: Check): Check =>
  (value, source, at) => {
    if (value !== null) check(value, source, at);
  };
const arrayOf =
  (check: Check): Check =>
  (value, source, at) => {
    if (!Array.isArray(value)) wrong(source, at, 'an array', value);
    value.forEach((item, index) => check(item, source, `${at}[${index}]`));
  };
/** An object with at least these fields (the audit record holds more than the report shows). */
const object =
  (fields: Record<string, Check>): Check =>
  (value, source, at) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) wrong(source, at, 'an object', value);
    for (const [key, check] of Object.entries(fields)) check((value as Record<string, unknown>)[key], source, at ? `${at}.${key}` : key);
  };
const anyObject = object({});
/** A field a report of an earlier layout may lack; checked when present. */
const optional =
  (check: Check): Check =>
  (value, source, at) => {
    if (value !== undefined) check(value, source, at);
  };
const METRIC_SIZE = nullable(object({ n: number, unit: string, detail: optional(string) }));

const INTERVAL = nullable(object({ low: number, high: number }));
const ESTIMATE = object({ value: number, interval: INTERVAL });
const BASE_STATUS = oneOf('scored', 'new', 'not-given');
const BOOTSTRAP_SETTINGS = object({ bootstrap: object({ confidence: number }) });
const ITEM_LIST = oneOf('object', 'pairs', 'indiv', 'comps');
const VISION_MODEL = object({ path: string, sha256: string });
const IEAT_RESULT = object({ effectSize: number, pValue: number });
const LANGUAGE_MODEL = object({ role: string, path: string, files: arrayOf(object({ name: string, sha256: string, bytes: number })) });

const VERDICT = object({
  metric: string,
  rule: oneOf('max', 'min', 'max_increase', 'max_abs_increase', 'max_decrease', 'max_bias_increase', 'max_increase_pct'),
  threshold: number,
  requireSignificant: boolean,
  status: oneOf('pass', 'fail', 'warn', 'skipped'),
  reason: string,
  quantity: optional(string),
  compared: number,
  interval: INTERVAL,
});

const VISION = object({
  baseStatus: BASE_STATUS,
  models: object({ pretrained: VISION_MODEL, base: nullable(VISION_MODEL), head: VISION_MODEL }),
  referenceSets: object({ source: string, sha256: string, sets: arrayOf(object({ name: string, images: number })) }),
  settings: object({ bootstrap: object({ confidence: number }), preprocess: object({ scale: oneOf('0-1', '0-255'), mean: arrayOf(number), std: arrayOf(number) }) }),
  estimator: oneOf('exact', 'paper'),
  bts: arrayOf(
    object({
      list: ITEM_LIST,
      n: number,
      base: nullable(object({ rho: number })),
      head: object({ rho: number, interval: INTERVAL }),
      change: nullable(object({ value: number })),
    }),
  ),
  gaps: arrayOf(object({ object: string, pretrained: ESTIMATE, base: nullable(ESTIMATE), head: ESTIMATE, magnitudeChange: nullable(ESTIMATE), signFlip: boolean })),
  ieat: arrayOf(object({ name: string, attributes: arrayOf(string), base: nullable(IEAT_RESULT), head: IEAT_RESULT })),
  itemLists: arrayOf(object({ list: ITEM_LIST, n: number, items: arrayOf(object({ label: string, pretrained: number, base: number, head: number })) })),
});

const LANGUAGE = object({
  kind: oneOf('causal', 'masked'),
  scoring: oneOf('bias-bench', 'sum-logprob'),
  baseStatus: BASE_STATUS,
  models: object({ base: nullable(LANGUAGE_MODEL), head: LANGUAGE_MODEL }),
  settings: BOOTSTRAP_SETTINGS,
  metrics: arrayOf(object({ name: string, base: number, head: number, delta: number, deltaInterval: INTERVAL, biasChange: number, biasChangeInterval: optional(INTERVAL), mcnemarP: number, size: optional(METRIC_SIZE), headInterval: optional(INTERVAL), baseInterval: optional(INTERVAL) })),
  transfer: nullable(
    object({
      target: string,
      summary: string,
      rows: arrayOf(object({ domain: string, metric: string, base: number, head: number, biasChange: ESTIMATE, pValue: number, direction: oneOf('target', 'with', 'against', 'moved', 'unclear') })),
    }),
  ),
  benchmarks: arrayOf(
    object({
      name: string,
      data: object({ location: string, revision: nullable(string), sha256: string, items: number, skippedRows: arrayOf(anyObject) }),
      skippedItems: object({ head: arrayOf(anyObject) }),
      settings: anyObject,
    }),
  ),
});

const POLICY_CHANGE = object({
  kind: oneOf('config-deleted', 'config-invalid', 'section-added', 'section-removed', 'gate-added', 'gate-removed', 'gate-loosened', 'gate-tightened', 'model-moved', 'setting-changed'),
  key: string,
  base: nullable(string),
  head: nullable(string),
});

const POLICY = object({
  source: oneOf('base', 'head'),
  reason: string,
  base: nullable(object({ path: string, sha256: string, commit: nullable(string) })),
  head: nullable(object({ path: string, sha256: string })),
  changes: arrayOf(POLICY_CHANGE),
  approval: nullable(object({ how: oneOf('label', 'input') })),
  proposed: nullable((value, source, at) => {
    if (typeof value === 'object' && value !== null && 'error' in value) object({ error: string })(value, source, at);
    else object({ verdict: oneOf('pass', 'warn', 'fail'), verdicts: arrayOf(VERDICT) })(value, source, at);
  }),
  workflowChanges: arrayOf(string),
  notices: arrayOf(string),
});

const RUNTIME = object({
  requested: arrayOf(string),
  models: arrayOf(object({ model: string, used: arrayOf(string), unavailable: arrayOf(object({ provider: string, reason: string })) })),
});

/** The history read from the data branch: its strings reach the comment (escaped) and the HTML report. */
const HISTORY_STATUS = oneOf('pass', 'fail', 'warn', 'skipped');
const recordOf =
  (check: Check): Check =>
  (value, source, at) => {
    anyObject(value, source, at);
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) check(item, source, `${at}[${JSON.stringify(key)}]`);
  };
const HISTORY = object({
  branch: string,
  path: string,
  entries: arrayOf(object({ commit: string, date: string, verdict: oneOf('pass', 'warn', 'fail'), metrics: recordOf(number), gates: recordOf(HISTORY_STATUS) })),
});

const REPORT_DOCUMENT = object({
  format: oneOf(JSON_REPORT_FORMAT),
  tool: object({ name: string, version: string }),
  verdict: oneOf('pass', 'warn', 'fail'),
  config: object({ path: string }),
  policy: POLICY,
  vision: nullable(VISION),
  language: nullable(LANGUAGE),
  verdicts: arrayOf(VERDICT),
  runtime: optional(RUNTIME),
  history: optional(HISTORY),
});
