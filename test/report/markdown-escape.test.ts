import { describe, expect, it } from 'vitest';
import { commentMarker, fitCommentBody } from '../../src/github/comment-body.ts';
import { buildReportDocument } from '../../src/report/json.ts';
import { renderMarkdown } from '../../src/report/markdown.ts';
import { codeSpan, escapeHtmlText, escapeMarkdownText, escapeTableCell, mermaidLabel, WORD_JOINER } from '../../src/report/markdown-escape.ts';
import { expectSafeMarkdown, HOSTILE_FOLDER_NAMES, HOSTILE_MANIFEST_NAMES, parseGfm, runHostileRepository, walk, type MarkdownNode } from './hostile-run.ts';

const HOSTILE = [...HOSTILE_FOLDER_NAMES, ...HOSTILE_MANIFEST_NAMES, '`', '``a``', ' `x` ', 'a\\|b', '| x |', '- item', '1. item', '# heading', '&lt;img&gt;', 'line\nbreak', '\u202Eevil'];

/** The one paragraph's (or table cell's) inline children. */
function inlineOf(markdown: string): MarkdownNode[] {
  const tree = parseGfm(markdown);
  const block = tree.children![0]!;
  return block.type === 'table' ? block.children![1]!.children![1]!.children! : block.children!;
}

const visible = (text: string) => text.replaceAll(WORD_JOINER, '');
const oneLine = (text: string) => text.replace(/\n/g, ' ').replace(/\u202E/g, '');

describe('markdown-escape: each context reads back as the literal text', () => {
  it.each(HOSTILE)('text: %j', (name) => {
    const markdown = `${escapeMarkdownText(name)}`;
    expectSafeMarkdown(markdown);
    const nodes = inlineOf(markdown);
    expect(nodes.map((node) => node.type)).toEqual(['text']);
    // Markdown trims a paragraph's outer white space.
    expect(visible(nodes[0]!.value!)).toBe(oneLine(name).trim());
  });

  it.each(HOSTILE)('table cell: %j', (name) => {
    const markdown = `| a | b | c |\n|---|---|---|\n| x | ${escapeTableCell(name)} | ${codeSpan(name, 'table-cell')} |\n`;
    expectSafeMarkdown(markdown);
    const cell = inlineOf(markdown);
    expect(cell.map((node) => node.type)).toEqual(['text']);
    expect(visible(cell[0]!.value!)).toBe(oneLine(name).trim());
    const code = parseGfm(markdown).children![0]!.children![1]!.children![2]!.children!;
    expect(code.map((node) => node.type)).toEqual(['inlineCode']);
    expect(visible(code[0]!.value!)).toBe(oneLine(name));
  });

  it.each(HOSTILE)('code span: %j', (name) => {
    const nodes = inlineOf(`see ${codeSpan(name)} here`);
    expect(nodes.map((node) => node.type)).toEqual(['text', 'inlineCode', 'text']);
    expect(nodes[1]!.value).toBe(oneLine(name));
  });

  it.each(HOSTILE)('summary (HTML text): %j', (name) => {
    const markdown = `<details><summary>Items: <code>${escapeHtmlText(name)}</code></summary>\n\nbody\n\n</details>\n`;
    const text = expectSafeMarkdown(markdown);
    const decoded = text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
    expect(decoded).toContain(`<code>${oneLine(name)}</code>`);
  });

  it('Mermaid labels are one quoted string with look-alikes for markup', () => {
    for (const name of HOSTILE) expect(mermaidLabel(name)).toMatch(/^"[^"<>`#;%&[\]{}\n]*"$/);
    expect(mermaidLabel('stop sign')).toBe('"stop sign"');
    expect(mermaidLabel('<img src=x>')).toBe('"‹img src=x›"');
  });

  it('plain names are left as they are', () => {
    expect(escapeMarkdownText('stop sign')).toBe('stop sign');
    expect(escapeMarkdownText('inter(surfboard, man)')).toBe('inter(surfboard, man)');
    expect(codeSpan('models/lm')).toBe('`models/lm`');
    expect(codeSpan('x`y')).toBe('``x`y``');
    expect(codeSpan('`x')).toBe('`` `x ``');
  });
});

describe('the safety check itself', () => {
  it.each(['<img src=x onerror=alert(1)>', '<details open>', '[Approve](https://evil.example)', '![x](y)', 'hi @org/team', 'see https://evil.example', 'www.evil.example', '| a | b |\n|---|---|\n| a|b | c |'])('catches %j unescaped', (bad) => {
    expect(() => expectSafeMarkdown(bad)).toThrow();
  });
});

describe('the comment of a real run over hostile names', async () => {
  const runs = await runHostileRepository();

  it.each(['folders', 'manifest'] as const)('%s: no HTML, link, image or mention the report did not make; every row has its header\'s cells', (which) => {
    const report = runs[which];
    const markdown = renderMarkdown(buildReportDocument(report));
    const marker = commentMarker(report.config.path, 'bias-gate');
    const summaryUrl = 'https://github.com/octo-org/model-zoo/actions/runs/4242';
    const body = fitCommentBody(markdown, { marker, summaryUrl });
    const literal = expectSafeMarkdown(body, { ownLinks: [summaryUrl] });
    // The names are shown as the text they are, not dropped.
    const names = which === 'folders' ? HOSTILE_FOLDER_NAMES : HOSTILE_MANIFEST_NAMES;
    for (const name of names) expect(literal).toContain(name);
    expect(literal).toContain(report.config.path);
    expect(literal).toContain(report.vision!.models.head.path);
    // Gates on hostile objects quote them in their reasons, and the gap table lists each one.
    expect(report.verdicts.map((v) => v.metric)).toEqual(names.map((name) => `gap.${name}`));
    const tables = [...walk(parseGfm(body))].filter((node) => node.type === 'table');
    expect(tables.length).toBeGreaterThanOrEqual(4);
  });

  it('a comment cut to fit GitHub\'s limit is as safe', () => {
    const markdown = renderMarkdown(buildReportDocument(runs.folders));
    const marker = commentMarker('x', 'y');
    for (const limit of [1_500, 3_000, 6_000]) expectSafeMarkdown(fitCommentBody(markdown, { marker, limit }));
  });
});
