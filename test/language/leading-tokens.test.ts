import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { gpt2TokenizerJson, gpt2TokenizerConfig } from '../../bench/gpt2-tokenizer.ts';
import { leadingTokens } from '../../src/language/leading-tokens.ts';
import { createTextTokenizer } from '../../src/language/model.ts';
import type { TextTokenizer } from '../../src/language/types.ts';
import { sharedDirFor } from '../helpers.ts';

const gpt2 = createTextTokenizer(gpt2TokenizerJson('causal'), gpt2TokenizerConfig('causal'), 'gpt2').tokenizer;

/** A tokenizer that records how many characters it was asked to encode. */
function counting(tokenizer: TextTokenizer): { tokenizer: TextTokenizer; characters: () => number } {
  let characters = 0;
  return {
    tokenizer: { ...tokenizer, encode: (text, options) => ((characters += text.length), tokenizer.encode(text, options)) },
    characters: () => characters,
  };
}

// WikiText-2's own layout: headings, " \n \n " paragraph breaks and @-@ joins, which GPT-2's
// pre-tokenizer splits in ways that depend on what follows a whitespace run.
const paragraph = ' = Valkyria Chronicles III = \n \n Senjō no Valkyria 3 : Unrecorded Chronicles is a tactical role @-@ playing video game . \n \n';
const text = Array.from({ length: 400 }, (_, k) => paragraph.replace('3', String(k))).join('');

describe('leadingTokens', () => {
  it('gives exactly the first count ids of the whole encoding, for counts that cut anywhere', () => {
    const all = gpt2.encode(text, { addSpecialTokens: false });
    expect(all.length).toBeGreaterThan(10_000);
    for (const count of [0, 1, 7, 31, 32, 500, 1_001, 4_999, all.length - 3, all.length, all.length + 10]) {
      expect(leadingTokens(gpt2, text, count), `count ${count}`).toEqual(all.slice(0, count));
    }
  });

  it('tokenises a few times the text it needs, not the whole text', () => {
    const { tokenizer, characters } = counting(gpt2);
    const ids = leadingTokens(tokenizer, text, 500);
    expect(ids).toHaveLength(500);
    // 500 GPT-2 tokens of this text are about 1,900 characters; two prefixes of a few thousand are read.
    expect(characters()).toBeLessThan(text.length / 4);
  });

  it('falls back to the whole text when two cuts never agree on the leading ids', () => {
    // A tokenizer whose every id depends on the text's length: no prefix tokenises like the whole.
    const fickle: Pick<TextTokenizer, 'encode'> = { encode: (part) => Array.from({ length: Math.floor(part.length / 4) }, () => part.length) };
    const long = 'x'.repeat(100_000);
    expect(leadingTokens(fickle, long, 10)).toEqual(Array.from({ length: 10 }, () => long.length));
  });

  it('refuses a count that is not a non-negative integer', () => {
    expect(() => leadingTokens(gpt2, text, -1)).toThrow(RangeError);
    expect(() => leadingTokens(gpt2, text, 2.5)).toThrow(RangeError);
  });

  const shared = sharedDirFor('leading tokens of WikiText-2 test');
  it.runIf(shared !== undefined)('on WikiText-2 test: the first 5,000 and 20,000 GPT-2 tokens equal the whole encoding’s', () => {
    const wiki = readFileSync(path.join(shared!, 'benchmarks/wikitext-2/test.txt'), 'utf8');
    const all = gpt2.encode(wiki, { addSpecialTokens: false });
    for (const count of [5_000, 20_000]) expect(leadingTokens(gpt2, wiki, count)).toEqual(all.slice(0, count));
  });
});
