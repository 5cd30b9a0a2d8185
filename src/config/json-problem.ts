import { messageOf } from '../errors.ts';

/**
 * What is wrong with JSON that did not parse, in words that quote none of it. V8's messages
 * echo an excerpt of the input (`Unexpected token 'G', "GITHUB_TOK"... is not valid JSON`), and
 * the file may not be what it claims to be: the message keeps the kind of problem and where it is.
 */
export function jsonSyntaxProblem(error: unknown, text: string): string {
  const message = messageOf(error);
  const position = /at position (\d+)/.exec(message);
  const kind = message
    .replace(/\s*(?:in JSON\s*)?at position \d+.*$/s, '')
    .replace(/,\s*".*$/s, '')
    .replace(/^Unexpected token '.*?'/s, 'Unexpected token')
    .replace(/"[^"]*"/g, '…')
    .slice(0, 80)
    .trim();
  if (position === null) return kind || 'not valid JSON';
  const offset = Math.min(Number(position[1]), text.length);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `${kind || 'not valid JSON'} at line ${line}, column ${column}`;
}
