import { jsonSyntaxProblem } from '../../config/json-problem.ts';
import { InputError, messageOf } from '../../errors.ts';
import type { SkippedRow } from './skipped.ts';

/** StereoSet's four domains, as spelled in `bias_type`. */
export const STEREOSET_BIAS_TYPES = ['gender', 'profession', 'race', 'religion'] as const;

/** One of {@link STEREOSET_BIAS_TYPES}. */
export type StereoSetBiasType = (typeof STEREOSET_BIAS_TYPES)[number];

/** The three candidate kinds of an intrasentence cluster, as spelled in `gold_label`. */
export const STEREOSET_GOLD_LABELS = ['stereotype', 'anti-stereotype', 'unrelated'] as const;

/** One of {@link STEREOSET_GOLD_LABELS}. */
export type StereoSetGoldLabel = (typeof STEREOSET_GOLD_LABELS)[number];

/** One candidate sentence of a cluster. */
export interface StereoSetSentence {
  /** The sentence's own id (32 hex digits in the published files); per-item outcomes are keyed by it. */
  id: string;
  /** The full sentence, text exactly as stored. */
  sentence: string;
}

/** One intrasentence cluster: a context with a `BLANK` and its three fillings. */
export interface StereoSetCluster {
  /** The cluster id (32 hex digits in the published files). */
  id: string;
  /** The target term; SS and LMS are averaged over target terms (REFERENCE.md §2b). */
  target: string;
  biasType: StereoSetBiasType;
  /** The context sentence; contains the literal word `BLANK`. */
  context: string;
  /** The candidates by gold label (in the file their order varies). */
  sentences: { stereotype: StereoSetSentence; antiStereotype: StereoSetSentence; unrelated: StereoSetSentence };
}

const FORMAT_HINT =
  'Use StereoSet dev.json (moinnadeem/StereoSet) or test.json (McGill-NLP/bias-bench): {"version": ..., "data": {"intrasentence": [...]}}.';

/**
 * Reads a StereoSet file in the official schema (stereoset/SOURCE.md): `data.intrasentence[]`, each
 * cluster with `id`, `target`, `bias_type`, `context` and three `sentences` carrying `id`, `sentence`
 * and `gold_label`. Only the intrasentence task is read; bias-bench does not run intersentence
 * (REFERENCE.md §2b). Human `labels` are not used by the scoring and are not checked.
 *
 * Clusters that cannot be scored (not exactly one sentence per gold label, an unknown `bias_type` or
 * `gold_label`, a context without `BLANK`, a missing or repeated id, an empty field) go to `skipped`
 * with their id and reason. Throws {@link InputError} for text that is not JSON (with the line and
 * column), a file without `data.intrasentence`, or one with no usable cluster. `version` is the
 * file's own `version` field ("unknown" when absent), recorded in the report.
 */
export function parseStereoSet(
  text: string,
  displayPath: string,
): { clusters: StereoSetCluster[]; skipped: SkippedRow[]; version: string } {
  if (text.trim() === '') throw new InputError(`StereoSet file ${displayPath} is empty`, { hint: FORMAT_HINT });
  // A UTF-8 byte-order mark is not JSON; JSON.parse would reject it.
  const json = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let document: unknown;
  try {
    document = JSON.parse(json);
  } catch (error) {
    const position = /at position (\d+)/.exec(messageOf(error))?.[1];
    const where = position === undefined ? '' : `:${lineAndColumn(json, Number(position))}`;
    // The kind of problem only: V8's message quotes an excerpt of the file.
    const problem = jsonSyntaxProblem(error, json).replace(/ at line \d+, column \d+$/, '');
    throw new InputError(`${displayPath}${where}: not valid JSON: ${problem}`, { hint: FORMAT_HINT, cause: error });
  }

  const data = isRecord(document) ? document.data : undefined;
  const intrasentence = isRecord(data) ? data.intrasentence : undefined;
  if (!Array.isArray(intrasentence)) {
    throw new InputError(`${displayPath} has no data.intrasentence list, so it is not a StereoSet file`, { hint: FORMAT_HINT });
  }
  const version = isRecord(document) && typeof document.version === 'string' ? document.version : 'unknown';

  const clusters: StereoSetCluster[] = [];
  const skipped: SkippedRow[] = [];
  const clusterIds = new Set<string>();
  const sentenceIds = new Set<string>();
  const locate = idLocator(json);
  intrasentence.forEach((raw: unknown, index) => {
    const id = isRecord(raw) && typeof raw.id === 'string' && raw.id !== '' ? raw.id : undefined;
    const read = readCluster(raw, id, clusterIds, sentenceIds);
    if (typeof read === 'string') {
      const reason = `data.intrasentence[${index}]: ${read}`;
      skipped.push(id === undefined ? { line: 0, reason } : { line: locate(id), id, reason });
      return;
    }
    clusterIds.add(read.id);
    for (const sentence of Object.values(read.sentences)) sentenceIds.add(sentence.id);
    clusters.push(read);
  });

  if (clusters.length === 0) {
    const first = skipped[0];
    throw new InputError(
      `${displayPath} has no usable StereoSet intrasentence clusters` +
        (first === undefined ? ' (data.intrasentence is empty)' : ` (${skipped.length} skipped; ${first.reason})`),
      { hint: FORMAT_HINT },
    );
  }
  return { clusters, skipped, version };
}

/** The cluster, or why it cannot be scored. */
function readCluster(
  raw: unknown,
  id: string | undefined,
  clusterIds: ReadonlySet<string>,
  sentenceIds: ReadonlySet<string>,
): StereoSetCluster | string {
  if (!isRecord(raw)) return 'the cluster is not an object';
  if (id === undefined) return 'the cluster has no id';
  if (clusterIds.has(id)) return `cluster id ${id} appears twice`;
  const { target, bias_type: biasType, context, sentences } = raw;
  if (typeof target !== 'string' || target.trim() === '') return 'target is missing or empty';
  if (typeof biasType !== 'string' || !(STEREOSET_BIAS_TYPES as readonly string[]).includes(biasType)) {
    return `bias_type ${JSON.stringify(biasType)} is not one of ${STEREOSET_BIAS_TYPES.join(', ')}`;
  }
  if (typeof context !== 'string') return 'context is missing';
  // The masked scorer fills the BLANK word; bias-bench's loader raises "No blank word found." without it.
  if (!context.includes('BLANK')) return `context ${JSON.stringify(context)} has no BLANK`;
  if (!Array.isArray(sentences)) return 'sentences is not a list';

  const byLabel = new Map<string, StereoSetSentence>();
  const seen = new Set<string>();
  for (const [at, sentence] of sentences.entries()) {
    if (!isRecord(sentence)) return `sentences[${at}] is not an object`;
    const { id: sentenceId, sentence: words, gold_label: label } = sentence;
    if (typeof sentenceId !== 'string' || sentenceId === '') return `sentences[${at}] has no id`;
    if (sentenceIds.has(sentenceId) || seen.has(sentenceId)) return `sentence id ${sentenceId} appears twice`;
    if (typeof words !== 'string' || words.trim() === '') return `sentence ${sentenceId} has an empty sentence`;
    if (typeof label !== 'string' || !(STEREOSET_GOLD_LABELS as readonly string[]).includes(label)) {
      return `sentence ${sentenceId} has gold_label ${JSON.stringify(label)}, expected one of ${STEREOSET_GOLD_LABELS.join(', ')}`;
    }
    if (byLabel.has(label)) return `more than one ${label} sentence`;
    seen.add(sentenceId);
    byLabel.set(label, { id: sentenceId, sentence: words });
  }
  const stereotype = byLabel.get('stereotype');
  const antiStereotype = byLabel.get('anti-stereotype');
  const unrelated = byLabel.get('unrelated');
  if (stereotype === undefined || antiStereotype === undefined || unrelated === undefined) {
    const missing = STEREOSET_GOLD_LABELS.filter((label) => !byLabel.has(label));
    return `no ${missing.join(' or ')} sentence (each cluster needs exactly one per gold label)`;
  }
  return {
    id,
    target,
    biasType: biasType as StereoSetBiasType,
    context,
    sentences: { stereotype, antiStereotype, unrelated },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `line:column` (both 1-based) of a character offset, for JSON.parse's "at position N". */
function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  return `${line}:${position - before.lastIndexOf('\n')}`;
}

/**
 * The line of a cluster id's first occurrence as a JSON string. Ids are unique hex strings in the
 * published files, so this finds the cluster's own `"id"` value. In JSON written on one line every
 * skip is on line 1, and the id and the `data.intrasentence[i]` in the reason identify it.
 */
function idLocator(text: string): (id: string) => number {
  return (id) => {
    const at = text.indexOf(JSON.stringify(id));
    return at < 0 ? 0 : text.slice(0, at).split('\n').length;
  };
}
