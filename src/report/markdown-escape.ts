/**
 * Escaping for GitHub-flavoured Markdown, one function per context a string can land in.
 *
 * Every string a pull request controls (reference set names from folders or manifests, model and
 * config paths, file names, gate reasons that quote them, and, in the fork-safe comment job, every
 * field of the downloaded report) goes through one of these before it reaches the PR comment or the
 * job summary, so that it renders as the literal text it is: no raw HTML, no links or images, no
 * autolinked URLs or e-mail addresses, no `@user` / `@org/team` mentions (GitHub links those in the
 * rendered text, after Markdown), no `#123` cross-references, no `|` that splits a table cell and
 * no backtick that closes a code span.
 */

/**
 * U+2060 WORD JOINER: invisible and zero-width. Put after `@`, `#`, `:` (before `//`) and `www`,
 * it keeps GitHub from seeing a mention, an issue reference or an autolink, while the text reads
 * the same.
 */
export const WORD_JOINER = '\u2060';

/**
 * ASCII punctuation that means something in GFM inline text: emphasis, code, links, images, raw
 * HTML, entities, strikethrough, table pipes, math (`$`), footnotes (`^`), headings. CommonMark
 * lets any ASCII punctuation be backslash-escaped, so escaping these leaves only literal text.
 */
const MARKDOWN_PUNCTUATION = /[\\`*_[\]<>!|~&$#{}^]/g;

/** Line breaks, tabs and other control characters: a name is one line of text. */
// eslint-disable-next-line no-control-regex -- control characters are what this matches
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** Bidirectional overrides and isolates, which can make a name display as something else. */
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/g;

/** One line of plain text: control characters become a space, bidi controls are removed. */
function oneLine(text: string): string {
  return String(text).replace(CONTROL, ' ').replace(BIDI_CONTROL, '');
}

/**
 * Breaks what GitHub would link in rendered text: `@name` mentions (and e-mail addresses),
 * `#123` references, `scheme://` and `www.` autolinks.
 */
function breakAutolinks(text: string): string {
  return text
    .replace(/@/g, `@${WORD_JOINER}`)
    .replace(/#(?=\d)/g, `#${WORD_JOINER}`)
    .replace(/:(?=\/\/)/g, `:${WORD_JOINER}`)
    .replace(/\b(www)(?=\.)/gi, `$1${WORD_JOINER}`);
}

/**
 * Inline Markdown text: a paragraph, a heading, a block quote or a table cell. Every
 * Markdown-significant punctuation character is backslash-escaped (`|` included, so the result is
 * also a safe table cell), a leading list or heading marker is escaped, and mentions and
 * autolinks are broken with {@link WORD_JOINER}.
 */
export function escapeMarkdownText(text: string): string {
  const escaped = breakAutolinks(oneLine(text)).replace(MARKDOWN_PUNCTUATION, (char) => `\\${char}`);
  // At the start of a line, `-`, `+`, `=` and `1.` / `1)` start lists or underline headings.
  return escaped.replace(/^(\s*)([-+=])/, '$1\\$2').replace(/^(\s*\d{1,9})([.)])/, '$1\\$2');
}

/**
 * A table cell's text. The same as {@link escapeMarkdownText}, named for the context: `|` is
 * escaped (GFM splits cells before inline parsing, and `\|` keeps the pipe inside the cell).
 */
export function escapeTableCell(text: string): string {
  return escapeMarkdownText(text);
}

/** Where a code span stands: in running text, or inside a GFM table cell (where `|` must be `\|`). */
export type CodeSpanContext = 'text' | 'table-cell';

/**
 * `text` as a code span: literal (no Markdown, no HTML, no mentions: GitHub links nothing inside
 * code), delimited by a backtick run longer than any inside it, padded with a space when it
 * starts or ends with a backtick or a space (CommonMark 6.1 strips one space from each side).
 * In a table cell, `|` is written `\|`: GFM unescapes it before the code span is read.
 */
export function codeSpan(text: string, context: CodeSpanContext = 'text'): string {
  let content = oneLine(text);
  if (context === 'table-cell') {
    // A backslash right before a pipe would escape the pipe's own escape: keep them apart.
    content = content.replace(/\\(?=\|)/g, `\\${WORD_JOINER}`).replace(/\|/g, '\\|');
  }
  if (content === '') return '` `';
  const longestRun = Math.max(0, ...(content.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = content.startsWith('`') || content.endsWith('`') || (content.startsWith(' ') && content.endsWith(' ') && content.trim() !== '');
  return pad ? `${fence} ${content} ${fence}` : `${fence}${content}${fence}`;
}

/**
 * Text inside raw HTML that the report writes itself (`<summary>…</summary>`, `<code>…</code>`):
 * GitHub does not read Markdown there, so characters are written as HTML entities; mentions and
 * autolinks are broken as in text.
 */
export function escapeHtmlText(text: string): string {
  return htmlEntities(breakAutolinks(oneLine(text)));
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `&`, `<`, `>` and both quotes as entities: text that HTML (and SVG) reads back literally. */
export function htmlEntities(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ENTITIES[char]!);
}

/** Look-alikes for what would end or change a quoted Mermaid label. */
const MERMAID_REPLACEMENTS: Record<string, string> = { '"': "'", '`': "'", '<': '‹', '>': '›', '[': '(', ']': ')', '{': '(', '}': ')', '|': '¦', '#': '＃', ';': ',', '%': '％', '&': '＆', '\\': '∖' };

/**
 * A quoted Mermaid label (`"surfboard"` in `x-axis [...]`). Mermaid strings have no escape
 * syntax, and its labels may be read as HTML or entity codes (`#quot;`), so characters that would
 * end the string, start markup or an entity, or a comment (`%%`) are replaced by look-alikes.
 */
export function mermaidLabel(text: string): string {
  const safe = oneLine(text).replace(/["`<>[\]{}|#;%&\\]/g, (char) => MERMAID_REPLACEMENTS[char]!);
  return `"${safe}"`;
}

/**
 * A link destination the report builds itself (the job summary URL, the run URL): anything that
 * could end the destination or the link (white space, `<`, `>`, parentheses, backslash) is
 * percent-encoded.
 */
export function linkDestination(url: string): string {
  return oneLine(url).replace(/[\s<>()\\]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}
