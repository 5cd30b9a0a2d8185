import { isMap, isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { parserMessage } from '../parser-message.ts';

/**
 * Most alias expansions a config may need (the `yaml` package's `maxAliasCount`, its default). Nested
 * aliases expand exponentially ("billion laughs"): a few hundred bytes could otherwise take all memory.
 */
export const MAX_YAML_ALIAS_COUNT = 100;

/** A parsed YAML file that can say on which line a key path stands. */
export interface YamlSource {
  value: unknown;
  /** 1-based line of the node at `path` (or of its nearest existing ancestor). */
  lineOf(path: readonly (string | number)[]): number;
  /** 1-based line of the key `key` inside the mapping at `parent`. */
  lineOfKey(parent: readonly (string | number)[], key: string): number;
}

export interface YamlSyntaxProblem {
  line: number;
  column: number;
  message: string;
}

/**
 * Parses YAML text; returns the problems instead of throwing so the caller can name the file. Parser
 * limits (alias expansion past {@link MAX_YAML_ALIAS_COUNT}, nesting past the stack) are problems too.
 */
export function parseYamlSource(text: string): YamlSource | YamlSyntaxProblem {
  const lineCounter = new LineCounter();
  let document: Document;
  try {
    document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  } catch (error) {
    return { line: 1, column: 1, message: parserMessage(error) };
  }
  const first = document.errors[0];
  if (first) {
    const position = lineCounter.linePos(first.pos[0]);
    return { line: position.line, column: position.col, message: parserMessage(first.message) };
  }
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT });
  } catch (error) {
    // The yaml package throws a bare ReferenceError, without a position: point at the first alias.
    const position = lineCounter.linePos(firstAliasOffset(document) ?? 0);
    return { line: position.line, column: position.col, message: `${parserMessage(error)} (more than ${MAX_YAML_ALIAS_COUNT} alias expansions)` };
  }
  const lineAt = (offset: number | undefined): number => (offset === undefined ? 1 : lineCounter.linePos(offset).line);
  return {
    value,
    lineOf: (path) => lineAt(nearestNode(document, path)?.range?.[0]),
    lineOfKey: (parent, key) => {
      const node = nearestNode(document, parent);
      if (isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && item.key.value === key);
        if (pair && isScalar(pair.key)) return lineAt(pair.key.range?.[0]);
      }
      return lineAt(node?.range?.[0]);
    },
  };
}

function firstAliasOffset(document: Document): number | undefined {
  let offset: number | undefined;
  visit(document, {
    Alias(_, node) {
      offset = node.range?.[0];
      return visit.BREAK;
    },
  });
  return offset;
}

function nearestNode(document: Document, path: readonly (string | number)[]): { range?: [number, number, number] | null } | undefined {
  for (let length = path.length; length >= 0; length--) {
    const node = length === 0 ? document.contents : document.getIn(path.slice(0, length), true);
    if (node && typeof node === 'object') return node as { range?: [number, number, number] | null };
  }
  return undefined;
}

export function isSyntaxProblem(parsed: YamlSource | YamlSyntaxProblem): parsed is YamlSyntaxProblem {
  return 'message' in parsed;
}
