import { messageOf } from './errors.ts';

/**
 * Most characters of a parser's message that bias-gate repeats. csv-parse quotes the offending field
 * ("value is "…"") and a JSON row may be a whole line: a user needs the file, the line and the kind of
 * problem, not a page of their own data echoed back.
 */
export const MAX_PARSER_MESSAGE_CHARS = 200;

/** The first line of a parser's error message, cut to {@link MAX_PARSER_MESSAGE_CHARS} with an ellipsis. */
export function parserMessage(error: unknown): string {
  return shortened(messageOf(error).split('\n')[0] ?? '');
}

/** `text` cut to {@link MAX_PARSER_MESSAGE_CHARS} characters with an ellipsis, for echoing values read from a user's file. */
export function shortened(text: string): string {
  const characters = [...text];
  return characters.length <= MAX_PARSER_MESSAGE_CHARS ? text : `${characters.slice(0, MAX_PARSER_MESSAGE_CHARS - 1).join('')}…`;
}
