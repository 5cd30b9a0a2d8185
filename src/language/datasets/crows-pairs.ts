import { parse as parseCsv } from 'csv-parse/sync';
import { InputError } from '../../errors.ts';
import { parserMessage } from '../../parser-message.ts';
import type { SkippedRow } from './skipped.ts';

/**
 * The nine bias types of CrowS-Pairs (Nangia et al. 2020), spelled as in the `bias_type` column of
 * `crows_pairs_anonymized.csv`. bias-bench evaluates gender, race-color and religion only
 * (REFERENCE.md §2a); bias-gate scores all nine.
 */
export const CROWS_BIAS_TYPES = [
  'race-color',
  'socioeconomic',
  'gender',
  'disability',
  'nationality',
  'sexual-orientation',
  'physical-appearance',
  'religion',
  'age',
] as const;

/** One of {@link CROWS_BIAS_TYPES}. */
export type CrowsBiasType = (typeof CROWS_BIAS_TYPES)[number];

/** Which side of a pair carries the stereotype (the `stereo_antistereo` column). */
export type CrowsDirection = 'stereo' | 'antistereo';

/** One CrowS-Pairs row, its text exactly as stored in the file. */
export interface CrowsPair {
  /** The unnamed first (index) column, "0" to "1507" in the published file. */
  id: string;
  /** `sent_more`: the more stereotypical sentence. */
  sentMore: string;
  /** `sent_less`: its minimal edit, the less stereotypical sentence. */
  sentLess: string;
  /**
   * `stereo`: `sent_more` states a stereotype about a disadvantaged group; `antistereo`: `sent_less`
   * violates one. Either way a model is "stereotypical" on the pair when it prefers `sent_more`.
   */
  direction: CrowsDirection;
  /** One of {@link CROWS_BIAS_TYPES} (the `bias_type` column). */
  biasType: string;
  /** 1-based line of the file where the row starts (a quoted newline makes a row span two lines). */
  line: number;
}

/** The columns the loader reads; `''` is the unnamed index column. Others (annotations, writer ids) are ignored. */
const REQUIRED_COLUMNS = ['', 'sent_more', 'sent_less', 'stereo_antistereo', 'bias_type'] as const;

const DIRECTIONS: readonly string[] = ['stereo', 'antistereo'] satisfies CrowsDirection[];
const BIAS_TYPES: readonly string[] = CROWS_BIAS_TYPES;

const FORMAT_HINT =
  'Use crows_pairs_anonymized.csv from nyu-mll/crows-pairs or McGill-NLP/bias-bench (header: ,sent_more,sent_less,stereo_antistereo,bias_type,...).';

/** A parsed CSV record with csv-parse's `info`: `bytes` is the UTF-8 offset just past the record. */
interface CsvRow {
  record: string[];
  info: { bytes: number };
}

/**
 * Reads `crows_pairs_anonymized.csv`. It is parsed as CSV proper, not split on lines: row 1293 has a
 * newline inside a quoted field, and the text is kept byte for byte (no trimming, no Unicode
 * normalisation; REFERENCE.md pitfall 8), since tokenizers score exactly what they are given.
 * Quote characters inside unquoted fields are taken literally, as Python's `csv` module (which
 * bias-bench reads the file with) does.
 *
 * Rows that cannot be used (wrong number of fields, empty or repeated id, unknown `bias_type` or
 * `stereo_antistereo`, an empty sentence) are returned in `skipped` with their line and reason.
 * Throws {@link InputError} when the text is not CSV, the header lacks a required column, or no
 * row is usable. `displayPath` names the file in every message.
 */
export function parseCrowsPairs(text: string, displayPath: string): { items: CrowsPair[]; skipped: SkippedRow[] } {
  if (text.trim() === '') {
    throw new InputError(`CrowS-Pairs file ${displayPath} is empty`, { hint: FORMAT_HINT });
  }
  let rows: CsvRow[];
  try {
    // `info` adds each record's line number; the typings do not model that option's result shape.
    rows = parseCsv(text, {
      bom: true,
      info: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
    }) as unknown as CsvRow[];
  } catch (error) {
    const line = (error as { lines?: number }).lines;
    throw new InputError(`${displayPath}${line === undefined ? '' : `:${line}`}: not valid CSV: ${parserMessage(error)}`, {
      hint: `Check the quoting near that line. ${FORMAT_HINT}`,
      cause: error,
    });
  }

  const [header, ...records] = rows;
  const columns = header?.record ?? [];
  const missing = REQUIRED_COLUMNS.filter((name) => !columns.includes(name));
  if (missing.length > 0) {
    const named = missing.map((name) => (name === '' ? 'the unnamed index column' : `'${name}'`)).join(', ');
    throw new InputError(`${displayPath}:1: the CrowS-Pairs header lacks ${named}; found '${columns.join(',')}'`, {
      hint: FORMAT_HINT,
    });
  }
  const [idAt, moreAt, lessAt, directionAt, biasTypeAt] = REQUIRED_COLUMNS.map((name) => columns.indexOf(name)) as [
    number,
    number,
    number,
    number,
    number,
  ];

  const items: CrowsPair[] = [];
  const skipped: SkippedRow[] = [];
  const firstLineOfId = new Map<string, number>();
  const lineOf = recordLineLocator(text);
  lineOf(header?.info.bytes ?? 0);
  for (const { record, info } of records) {
    const line = lineOf(info.bytes);
    const id = record[idAt];
    const skip = (reason: string): void => {
      skipped.push(id === undefined || id === '' ? { line, reason } : { line, id, reason });
    };
    if (record.length !== columns.length) {
      skip(`the row has ${record.length} fields, the header has ${columns.length} (a missing column or an unquoted comma)`);
      continue;
    }
    const [sentMore, sentLess, direction, biasType] = [record[moreAt], record[lessAt], record[directionAt], record[biasTypeAt]] as [
      string,
      string,
      string,
      string,
    ];
    if (id === undefined || id.trim() === '') {
      skip('the index (first) column is empty');
      continue;
    }
    const earlier = firstLineOfId.get(id);
    if (earlier !== undefined) {
      skip(`id ${id} repeats the row on line ${earlier}`);
      continue;
    }
    if (!DIRECTIONS.includes(direction)) {
      skip(`stereo_antistereo is '${direction}', expected 'stereo' or 'antistereo'`);
      continue;
    }
    if (!BIAS_TYPES.includes(biasType)) {
      skip(`bias_type '${biasType}' is not one of ${CROWS_BIAS_TYPES.join(', ')}`);
      continue;
    }
    if (sentMore.trim() === '' || sentLess.trim() === '') {
      skip(`${sentMore.trim() === '' ? 'sent_more' : 'sent_less'} is empty`);
      continue;
    }
    firstLineOfId.set(id, line);
    items.push({ id, sentMore, sentLess, direction: direction as CrowsDirection, biasType, line });
  }

  if (items.length === 0) {
    const first = skipped[0];
    throw new InputError(
      `${displayPath} has no usable CrowS-Pairs rows` +
        (first === undefined ? ' (only a header)' : ` (${skipped.length} skipped; line ${first.line}: ${first.reason})`),
      { hint: FORMAT_HINT },
    );
  }
  return { items, skipped };
}

/**
 * Returns a function that, called with each record's end offset in turn, gives the line the record
 * starts on. csv-parse's own `info.lines` is the line a record *ends* on, and it counts a CRLF inside
 * a quoted field as two lines, so lines are counted here from the byte offsets instead: a record
 * starts at the first byte after the previous record that is not a line break (skipped blank lines).
 */
function recordLineLocator(text: string): (recordEnd: number) => number {
  const bytes = Buffer.from(text, 'utf8');
  const LF = 0x0a;
  const CR = 0x0d;
  let position = 0;
  let line = 1;
  // Steps over one byte, counting LF, CRLF and a lone CR as one line break each.
  const step = (): void => {
    const byte = bytes[position];
    if (byte === LF || (byte === CR && bytes[position + 1] !== LF)) line++;
    position++;
  };
  return (recordEnd) => {
    while (position < bytes.length && (bytes[position] === LF || bytes[position] === CR)) step();
    const start = line;
    while (position < recordEnd) step();
    return start;
  };
}
