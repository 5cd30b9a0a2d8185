import type { TextTokenizer } from './types.ts';

/**
 * The first `count` token ids of `text` (no special tokens), without tokenising all of it: perplexity
 * with `max_tokens: 5000` scores a few pages of WikiText-2, and tokenising the whole 1.3 MB file
 * for them cost more than a second per model.
 *
 * A tokenizer only looks a little way across any point of the text (its pre-tokenizer splits words
 * and whitespace runs; BPE merges within them), so a prefix of the text tokenises like the whole text
 * except near its cut. The prefix is grown until it gives `count` tokens plus a margin, and accepted
 * only when a prefix a quarter longer gives the same first `count` ids: two different cuts that agree
 * cannot both be disturbing those tokens. Where they never agree the whole text is tokenised, so the
 * ids are always exactly the full encoding's first `count`.
 */
export function leadingTokens(tokenizer: Pick<TextTokenizer, 'encode'>, text: string, count: number): number[] {
  if (!(Number.isInteger(count) && count >= 0)) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  const encode = (part: string) => tokenizer.encode(part, { addSpecialTokens: false });
  // A generous first guess: English BPE averages about 4 characters per token.
  let characters = INITIAL_CHARACTERS_PER_TOKEN * count + MARGIN_CHARACTERS;
  while (characters < text.length) {
    const ids = encode(text.slice(0, characters));
    if (ids.length >= count + MARGIN_TOKENS) {
      const longer = Math.ceil(characters * 1.25);
      if (longer >= text.length) break;
      const check = encode(text.slice(0, longer));
      if (sameLeadingIds(ids, check, count)) return ids.slice(0, count);
    }
    characters *= 2;
  }
  return encode(text).slice(0, count);
}

const INITIAL_CHARACTERS_PER_TOKEN = 6;
const MARGIN_CHARACTERS = 1024;
/** Tokens beyond `count` a prefix must give before it is trusted: the cut only disturbs the last few. */
const MARGIN_TOKENS = 32;

function sameLeadingIds(a: readonly number[], b: readonly number[], count: number): boolean {
  if (a.length < count || b.length < count) return false;
  for (let k = 0; k < count; k++) if (a[k] !== b[k]) return false;
  return true;
}
