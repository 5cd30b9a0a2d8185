import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { linkDestination } from '../report/markdown-escape.ts';

/**
 * GitHub's limit on an issue or PR comment body: "body is too long (maximum is 65536 characters)",
 * answered with a 422.
 */
export const GITHUB_COMMENT_LIMIT = 65_536;

/**
 * Room kept free below the limit. Lengths are measured in UTF-16 code units (at least one per
 * character, whatever unit GitHub counts in) with every line break counted twice, in case line
 * breaks are stored as CRLF; the margin covers anything else.
 */
const SAFETY_MARGIN = 64;

/**
 * The hidden marker that finds this config's and job's sticky comment again on the next run:
 * `<!-- bias-gate:3f9a0c2b71de -->`. Stable across runs and machines (sha256 of the normalised
 * config path and the job name), distinct for two configs or two jobs gating the same PR.
 */
export function commentMarker(configPath: string, jobName: string): string {
  const path = posix.normalize(configPath.replace(/\\/g, '/')).replace(/^\.\//, '');
  const digest = createHash('sha256').update(`${path}\0${jobName}`).digest('hex').slice(0, 12);
  return `<!-- bias-gate:${digest} -->`;
}

/** Options of {@link fitCommentBody}. */
export interface FitCommentOptions {
  /** The hidden marker ({@link commentMarker}); always the first line of the result. */
  marker: string;
  /** Link to the job summary, which holds the whole report; named in the notes when given. */
  summaryUrl?: string;
  /** The body limit; default {@link GITHUB_COMMENT_LIMIT}. */
  limit?: number;
}

/**
 * The comment body: `marker` on the first line, then `markdown`, made to fit GitHub's limit.
 * A report that is too long first loses its folded `<details>` blocks, from the last one
 * backwards, replaced by one line pointing to the job summary; if that is not enough it is cut at
 * a line boundary (never inside a row; an open code fence is closed, a Mermaid chart is dropped
 * whole, a table header is not left without its rows) and ends with a line saying where the
 * full report is.
 */
export function fitCommentBody(markdown: string, options: FitCommentOptions): string {
  const { marker } = options;
  const limit = options.limit ?? GITHUB_COMMENT_LIMIT;
  // What the body may measure once the marker line and the final line break are added.
  const budget = limit - Math.min(SAFETY_MARGIN, Math.floor(limit / 16)) - measure(`${marker}\n\n`);
  const text = markdown.replace(/\r\n?/g, '\n').replace(/\n+$/, '');
  const withMarker = (body: string) => `${marker}\n${body}\n`;
  if (measure(text) <= budget) return withMarker(text);

  const lines = text.split('\n');
  const blocks = findDetailsBlocks(lines);
  let reduced = lines;
  for (let dropped = 1; dropped <= blocks.length; dropped++) {
    reduced = dropDetails(lines, blocks.slice(blocks.length - dropped), options.summaryUrl);
    if (measure(reduced.join('\n')) <= budget) return withMarker(reduced.join('\n'));
  }
  const truncated = truncate(reduced, budget, options.summaryUrl).join('\n');
  // Only a limit smaller than the note itself gets here: the marker alone, so the comment is still found.
  return measure(truncated) <= budget ? withMarker(truncated) : `${marker}\n`;
}

/** Length as counted against the budget: UTF-16 code units plus one more per line break. */
function measure(text: string): number {
  let breaks = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) breaks++;
  return text.length + breaks;
}

function summaryLink(summaryUrl: string | undefined): string {
  return summaryUrl ? `[job summary](${linkDestination(summaryUrl)})` : 'job summary of this workflow run';
}

function detailsNote(count: number, summaryUrl: string | undefined): string {
  const what = count === 1 ? 'One folded section is' : `${count} folded sections are`;
  return `_${what} left out of this comment to fit GitHub's size limit; the ${summaryLink(summaryUrl)} has them._`;
}

function truncationNote(summaryUrl: string | undefined): string {
  return `_The report is cut here to fit GitHub's comment size limit. The full report is in the ${summaryLink(summaryUrl)} and in the JSON report (the \`report-json\` output)._`;
}

interface Fence {
  /** Index of the opening line. */
  start: number;
  /** The fence characters (three or more backticks or tildes); a closing fence repeats them. */
  token: string;
  /** The info string (`mermaid`, `json`, …). */
  info: string;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

/** The code fence open before each line (index i: state before line i; index n: at the end). */
function fenceStates(lines: string[]): (Fence | null)[] {
  const states: (Fence | null)[] = [];
  let open: Fence | null = null;
  lines.forEach((line, index) => {
    states.push(open);
    const match = FENCE.exec(line);
    if (!match) return;
    const token = match[1]!;
    const rest = match[2]!;
    if (open === null) {
      // A backtick fence's info string may not contain a backtick (CommonMark 4.5).
      if (token[0] === '`' && rest.includes('`')) return;
      open = { start: index, token, info: rest.trim().split(/\s+/)[0] ?? '' };
    } else if (token[0] === open.token[0] && token.length >= open.token.length && rest.trim() === '') {
      open = null;
    }
  });
  states.push(open);
  return states;
}

interface LineRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/** Top-level `<details>…</details>` blocks outside code fences, in document order. */
function findDetailsBlocks(lines: string[]): LineRange[] {
  const fences = fenceStates(lines);
  const blocks: LineRange[] = [];
  let depth = 0;
  let start = -1;
  lines.forEach((line, index) => {
    if (fences[index] !== null || FENCE.test(line)) return;
    const opens = line.match(/<details[\s>]/gi)?.length ?? 0;
    const closes = line.match(/<\/details\s*>/gi)?.length ?? 0;
    if (depth === 0 && opens > 0) start = index;
    depth = Math.max(0, depth + opens - closes);
    if (depth === 0 && start !== -1) {
      blocks.push({ start, end: index });
      start = -1;
    }
  });
  // An unclosed block runs to the end of the report.
  if (start !== -1) blocks.push({ start, end: lines.length - 1 });
  return blocks;
}

/** The lines without `blocks`; one note, between blank lines, stands where the first of them was. */
function dropDetails(lines: string[], blocks: LineRange[], summaryUrl: string | undefined): string[] {
  const out: string[] = [];
  let next = 0;
  blocks.forEach((block, index) => {
    out.push(...lines.slice(next, block.start));
    next = block.end + 1;
    if (index === 0) {
      if (out.length > 0 && out.at(-1)!.trim() !== '') out.push('');
      out.push(detailsNote(blocks.length, summaryUrl));
      if (next < lines.length && lines[next]!.trim() !== '') out.push('');
    } else if (out.at(-1)?.trim() === '' && lines[next]?.trim() === '') {
      next++;
    }
  });
  out.push(...lines.slice(next));
  while (out.length > 0 && out.at(-1)!.trim() === '') out.pop();
  return out;
}

const TABLE_DELIMITER = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

/** The longest prefix of whole lines that fits `budget` with the closing fence and the note. */
function truncate(lines: string[], budget: number, summaryUrl: string | undefined): string[] {
  const note = truncationNote(summaryUrl);
  const fences = fenceStates(lines);
  // Worst case added after the cut: "\n" + closing fence + "\n\n" + note.
  const longestFence = Math.max(3, ...fences.map((fence) => fence?.token.length ?? 0));
  const room = budget - measure(`\n${'`'.repeat(longestFence)}\n\n${note}`);
  let kept = 0;
  let size = 0;
  for (const line of lines) {
    const added = measure(line) + (kept > 0 ? 2 : 0);
    if (size + added > room) break;
    size += added;
    kept++;
  }
  let open = fences[kept] ?? null;
  // A Mermaid chart cut in half is a syntax error on the page: leave it out whole.
  if (open && open.info.toLowerCase() === 'mermaid') {
    kept = open.start;
    open = null;
  }
  const out = lines.slice(0, kept);
  if (!open) {
    // A table header without the delimiter row after it renders as a paragraph of pipes.
    const last = out.at(-1);
    if (last !== undefined && last.trim().startsWith('|') && TABLE_DELIMITER.test(lines[kept] ?? '')) out.pop();
    while (out.length > 0 && out.at(-1)!.trim() === '') out.pop();
  } else {
    out.push(open.token);
  }
  if (out.length > 0) out.push('');
  out.push(note);
  return out;
}
