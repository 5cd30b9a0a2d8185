/**
 * Real runs over a repository whose names are hostile to Markdown: reference sets, a model path and
 * a config path named like HTML, links, images, mentions, pipes and backticks. The names get in
 * the way a pull request would put them there (folders, a manifest, config paths), and the report
 * renders them; tests then read the rendered Markdown with a GFM parser.
 */
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { gfm } from 'micromark-extension-gfm';
import { expect } from 'vitest';
import { runBiasGate } from '../../src/pipeline.ts';
import { WORD_JOINER } from '../../src/report/markdown-escape.ts';
import type { RunReport } from '../../src/report/types.ts';
import { createTempDir, repoPath } from '../helpers.ts';

/** Names a folder can have (no `/`): reference-set directories. */
export const HOSTILE_FOLDER_NAMES = ['<img src=x onerror=alert(1)>', 'a|b', 'x`y', '<details open>', '![x](y)', '@octocat', 'www.evil.example', '[Approve](javascript:alert(1))'];

/** Names only a manifest can give a set (they hold `/`). */
export const HOSTILE_MANIFEST_NAMES = ['[Approve](https://evil.example)', '@org/team', 'https://evil.example', '<a href="https://evil.example">x</a>', 'see #1 and x@evil.example'];

/** Directories of the model and config paths (nested, so `@org/team` is a path). */
const HOSTILE_DIRECTORIES = ['@org', 'team', '<img src=x onerror=alert(1)>', 'a|b x`y', '[Approve](https:', 'evil.example)'];

export interface HostileRuns {
  root: string;
  /** Sets from folders, with a hostile model path and config path, and gates on hostile objects. */
  folders: RunReport;
  /** Sets from a CSV manifest whose names hold `/`. */
  manifest: RunReport;
}

const FIXTURE_SETS = repoPath('fixtures/vision/reference-sets');

/** The repository, and both runs (vision only: the language half has no names from the PR beyond paths). */
export async function runHostileRepository(): Promise<HostileRuns> {
  const root = await createTempDir('bias-gate-hostile-');
  await mkdir(path.join(root, '.git'));
  const hostileDir = path.join(root, ...HOSTILE_DIRECTORIES);
  await mkdir(hostileDir, { recursive: true });
  await cp(repoPath('fixtures/vision/backbone.onnx'), path.join(root, 'models/backbone.onnx'));
  const modelName = '<details open>@org|x`y.onnx';
  await cp(repoPath('fixtures/vision/classifier.onnx'), path.join(hostileDir, modelName));
  const baseRoot = path.join(root, 'base-checkout');
  await mkdir(path.join(baseRoot, ...HOSTILE_DIRECTORIES), { recursive: true });
  await cp(repoPath('fixtures/base/fixtures/vision/classifier.onnx'), path.join(baseRoot, ...HOSTILE_DIRECTORIES, modelName));

  // Folders: the fixture sets, and each hostile name as a copy of `umbrella` (an object, with its gendered sets).
  const folders = path.join(root, 'sets');
  await cp(FIXTURE_SETS, folders, { recursive: true });
  for (const name of HOSTILE_FOLDER_NAMES) {
    for (const suffix of ['', '+man', '+woman']) await cp(path.join(FIXTURE_SETS, `umbrella${suffix}`), path.join(folders, `${name}${suffix}`), { recursive: true });
  }
  // Manifest: the fixture sets, and the names with `/` (also copies of umbrella).
  const rows = ['set,path'];
  const csv = (text: string) => `"${text.replace(/"/g, '""')}"`;
  for (const set of await readdir(FIXTURE_SETS)) {
    for (const image of await readdir(path.join(FIXTURE_SETS, set))) rows.push(`${csv(set.replace(/_/g, ' '))},${csv(`sets/${set}/${image}`)}`);
  }
  for (const name of HOSTILE_MANIFEST_NAMES) {
    for (const suffix of ['', '+man', '+woman']) {
      for (const image of await readdir(path.join(FIXTURE_SETS, `umbrella${suffix}`))) rows.push(`${csv(`${name}${suffix}`)},${csv(`sets/umbrella${suffix}/${image}`)}`);
    }
  }
  await writeFile(path.join(root, 'sets.csv'), `${rows.join('\n')}\n`);

  const fromConfig = (target: string) => path.relative(hostileDir, path.join(root, target)).split(path.sep).join('/');
  const config = (referenceSets: string, gates: string[]) =>
    [
      'version: 1',
      'vision:',
      `  pretrained: ${JSON.stringify(fromConfig('models/backbone.onnx'))}`,
      `  model: ${JSON.stringify(modelName)}`,
      '  input: pixels',
      '  embedding_output: embedding',
      `  reference_sets: ${JSON.stringify(fromConfig(referenceSets))}`,
      '  preprocess: { resize: 8, crop: 8, channel_order: RGB, scale: 0-1, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }',
      '  item_lists: [object, pairs]',
      '  bootstrap: { resamples: 50 }',
      '  gates:',
      ...gates.flatMap((metric, index) => [`    - metric: ${JSON.stringify(`gap.${metric}`)}`, index % 2 === 0 ? '      max: 0.01' : '      max_abs_increase: 0.0']),
      '',
    ].join('\n');
  const folderConfig = path.join(hostileDir, 'thresholds.yaml');
  await writeFile(folderConfig, config('sets', HOSTILE_FOLDER_NAMES));
  const manifestConfig = path.join(hostileDir, 'manifest.yaml');
  await writeFile(manifestConfig, config('sets.csv', HOSTILE_MANIFEST_NAMES));
  return {
    root,
    folders: await runBiasGate({ configFile: folderConfig, baseRoot }),
    manifest: await runBiasGate({ configFile: manifestConfig, baseRoot }),
  };
}

// ---------------------------------------------------------------------------------------------
// Reading the Markdown as GitHub would

/** A node of the mdast tree (only what the checks read). */
export interface MarkdownNode {
  type: string;
  value?: string;
  url?: string;
  lang?: string | null;
  children?: MarkdownNode[];
}

/** The GFM syntax tree of `markdown` (mdast, with tables, autolink literals, strikethrough, footnotes). */
export function parseGfm(markdown: string): MarkdownNode {
  return fromMarkdown(markdown, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] }) as MarkdownNode;
}

export function* walk(node: MarkdownNode): Generator<MarkdownNode> {
  yield node;
  for (const child of node.children ?? []) yield* walk(child);
}

/** The raw HTML the report writes itself, exactly; nothing else may be HTML. */
const OWN_HTML = [
  /^<!-- bias-gate:[0-9a-f]{12} -->$/,
  /^<\/details>$/,
  // The summary's text is entity-escaped: no `<` or `>` but the report's own tags.
  /^<details><summary>(?:[^<>]|<code>[^<>]*<\/code>)*<\/summary>$/,
];

/** What GitHub turns into a mention in text: `@` then a letter or digit (`@user`, `@org/team`). */
const MENTION = /(?:^|[^\w`])@[a-z0-9]/i;

export interface SafetyOptions {
  /** Link targets the report creates itself (the job summary, the scoring run). */
  ownLinks?: readonly string[];
}

/**
 * Asserts that `markdown` parses (as GFM) to nothing a PR could have injected: no HTML but the
 * report's own tags, no link or image but the report's own links, no text GitHub would turn into
 * a mention or an autolink, and tables whose every row has the header's cell count. Returns the
 * literal text of the document (text, code and HTML values, word joiners removed), so callers can
 * check that the hostile names are shown, not dropped.
 */
export function expectSafeMarkdown(markdown: string, options: SafetyOptions = {}): string {
  const tree = parseGfm(markdown);
  const literal: string[] = [];
  for (const node of walk(tree)) {
    switch (node.type) {
      case 'html':
        expect(OWN_HTML.some((pattern) => pattern.test(node.value!)), `raw HTML the report did not write: ${node.value}`).toBe(true);
        literal.push(node.value!);
        break;
      case 'link':
        expect(options.ownLinks ?? [], `a link the report did not make: ${node.url}`).toContain(node.url);
        break;
      case 'image':
      case 'imageReference':
      case 'linkReference':
      case 'definition':
      case 'footnoteReference':
      case 'footnoteDefinition':
        throw new Error(`the report holds a ${node.type}: ${JSON.stringify(node)}`);
      case 'text':
        expect(node.value!, 'text GitHub would turn into a mention').not.toMatch(MENTION);
        expect(node.value!, 'text GitHub would autolink').not.toMatch(/[a-z][a-z0-9+.-]*:\/\/|\bwww\./i);
        literal.push(node.value!);
        break;
      case 'inlineCode':
        literal.push(node.value!);
        break;
      case 'code':
        if (node.lang === 'mermaid') expectSafeMermaid(node.value!);
        break;
      case 'table': {
        const [header, ...rows] = node.children!;
        for (const row of rows) expect(row.children!.length, `a table row split differently from its header: ${JSON.stringify(row)}`).toBe(header!.children!.length);
        break;
      }
    }
  }
  return literal.join('\n').replaceAll(WORD_JOINER, '');
}

/** Every label of the chart is one quoted string with nothing Mermaid would read as markup. */
function expectSafeMermaid(chart: string): void {
  for (const line of chart.split('\n')) {
    const axis = /^\s*x-axis \[(.*)\]$/.exec(line);
    if (axis) expect(axis[1]!, `a chart label that is not one plain quoted string: ${line}`).toMatch(/^"[^"<>`#;%&[\]{}]*"(?:, "[^"<>`#;%&[\]{}]*")*$/);
  }
}
