import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bigramLanguageModel, neighbourMaskedModel } from '../../fixtures/generate/onnx-writer.ts';
import {
  BYTE_TO_UNICODE,
  CAUSAL_VOCABULARY_SIZE,
  MASKED_VOCABULARY_SIZE,
  byteIds,
  causalTokenizerConfig,
  causalTokenizerJson,
  maskedTokenizerConfig,
  maskedTokenizerJson,
} from '../../fixtures/generate/tokenizer-json.ts';
import { InputError } from '../../src/errors.ts';
import { loadLanguageModel } from '../../src/language/model.ts';
import type { LanguageModel } from '../../src/language/types.ts';
import { createTempDir, repoPath } from '../helpers.ts';

const CAUSAL_DIR = 'fixtures/language/causal/model';
const MASKED_DIR = 'fixtures/language/masked/model';
/** Text with a curly apostrophe, an accent, a tab and a newline: each UTF-8 byte must be one token. */
const AWKWARD_TEXT = 'José couldn\u2019t find the “blue”\tkey.\nOK';

/** The InputError that `promise` rejects with (fails the test when it resolves or throws anything else). */
async function inputErrorOf(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    (value) => {
      void (value as LanguageModel | undefined)?.session?.release();
      return undefined;
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

/** A small deterministic [rows × V] table (any values do for loading). */
function table(rows: number, V: number): Float32Array {
  return Float32Array.from({ length: rows * V }, (_, k) => ((k * 7919) % 101) / 50 - 1);
}

const causalModel = (options: { inputNames?: string[]; outputName?: string; vocabularySize?: number } = {}) => {
  const V = options.vocabularySize ?? CAUSAL_VOCABULARY_SIZE;
  return bigramLanguageModel({ table: table(V, V), vocabularySize: V, inputNames: options.inputNames, outputName: options.outputName });
};

const maskedModel = (V = MASKED_VOCABULARY_SIZE) =>
  neighbourMaskedModel({ E: table(V, 4), F: table(V, 4), W: table(4, V), bias: table(1, V), vocabularySize: V, hiddenSize: 4 });

interface DirectoryFiles {
  'model.onnx'?: Uint8Array;
  /** Object: written as JSON; string: written as is. */
  'tokenizer.json'?: object | string;
  'tokenizer_config.json'?: object | string;
}

describe('loadLanguageModel', () => {
  let tempDir: string;
  let count = 0;
  /** A fresh model directory with `files`. */
  const modelDir = async (files: DirectoryFiles): Promise<string> => {
    const dir = join(tempDir, `model-${count++}`);
    await mkdir(dir);
    for (const [name, contents] of Object.entries(files)) {
      await writeFile(join(dir, name), contents instanceof Uint8Array || typeof contents === 'string' ? contents : JSON.stringify(contents));
    }
    return dir;
  };
  const causalFiles = (overrides: DirectoryFiles = {}): DirectoryFiles => ({
    'model.onnx': causalModel(),
    'tokenizer.json': causalTokenizerJson(),
    'tokenizer_config.json': causalTokenizerConfig(),
    ...overrides,
  });

  beforeAll(async () => {
    tempDir = await createTempDir();
  });

  describe('the fixture models', () => {
    let causal: LanguageModel;
    let masked: LanguageModel;
    beforeAll(async () => {
      causal = await loadLanguageModel(repoPath(CAUSAL_DIR), CAUSAL_DIR, 'causal', { intraOpThreads: 1 });
      masked = await loadLanguageModel(repoPath(MASKED_DIR), MASKED_DIR, 'masked');
    });
    afterAll(async () => {
      await causal?.session.release();
      await masked?.session.release();
    });

    it('loads the causal model: BOS <|endoftext|>, pad 0, vocabulary from the logits', () => {
      expect(causal).toMatchObject({
        kind: 'causal',
        displayPath: CAUSAL_DIR,
        vocabularySize: 257,
        bosId: 256,
        maskId: undefined,
        maskToken: undefined,
        padId: 0,
        inputs: { positionIds: false, tokenTypeIds: false, targets: true },
      });
      expect(causal.tokenizer.vocabularySize).toBe(257);
      expect(causal.tokenizer.tokenToId('<|endoftext|>')).toBe(256);
      expect(causal.tokenizer.tokenToId('no such token')).toBeUndefined();
    });

    it('tokenizes every UTF-8 byte as one token and decodes back to the text', () => {
      const ids = causal.tokenizer.encode(AWKWARD_TEXT, { addSpecialTokens: true });
      expect(ids).toEqual(byteIds(AWKWARD_TEXT));
      expect(ids.length).toBe(Buffer.byteLength(AWKWARD_TEXT, 'utf8'));
      expect(causal.tokenizer.decode(ids)).toBe(AWKWARD_TEXT);
      expect(causal.tokenizer.decode([])).toBe('');
      // GPT-2's byte symbols: printable ASCII stands for itself, space is Ġ.
      expect(BYTE_TO_UNICODE[65]).toBe('A');
      expect(BYTE_TO_UNICODE[32]).toBe('\u0120');
      expect(new Set(BYTE_TO_UNICODE).size).toBe(256);
    });

    it('loads the masked model: [MASK] from tokenizer_config.json, [PAD] as pad, token_type_ids fed', () => {
      expect(masked).toMatchObject({
        kind: 'masked',
        vocabularySize: 260,
        bosId: undefined,
        maskId: 259,
        maskToken: '[MASK]',
        padId: 256,
        // The vocabulary projection was moved behind the masked positions' gather (read-positions.ts).
        inputs: { positionIds: false, tokenTypeIds: true, targets: false, readPositions: true },
      });
    });

    it('adds [CLS] … [SEP] only when asked, reads [MASK] in text as the mask, and skips specials when decoding', () => {
      expect(masked.tokenizer.encode(AWKWARD_TEXT, { addSpecialTokens: true })).toEqual([257, ...byteIds(AWKWARD_TEXT), 258]);
      expect(masked.tokenizer.encode(AWKWARD_TEXT, { addSpecialTokens: false })).toEqual(byteIds(AWKWARD_TEXT));
      expect(masked.tokenizer.encode('a [MASK].', { addSpecialTokens: true })).toEqual([257, 97, 32, 259, 46, 258]);
      expect(masked.tokenizer.decode([257, ...byteIds(AWKWARD_TEXT), 258])).toBe(AWKWARD_TEXT);
    });
  });

  it('takes position_ids on a causal model', async () => {
    const V = CAUSAL_VOCABULARY_SIZE;
    const dir = await modelDir(
      causalFiles({ 'model.onnx': bigramLanguageModel({ table: table(V, V), vocabularySize: V, positionTable: table(8, V) }) }),
    );
    const model = await loadLanguageModel(dir, 'with-positions', 'causal');
    await model.session.release();
    expect(model.inputs).toEqual({ positionIds: true, tokenTypeIds: false, targets: true, readPositions: false });
  });

  it('finds an added [MASK] special token and pads with 0 when there is no tokenizer_config.json', async () => {
    const dir = await modelDir({ 'model.onnx': maskedModel(), 'tokenizer.json': maskedTokenizerJson() });
    const model = await loadLanguageModel(dir, 'no-config', 'masked');
    await model.session.release();
    expect(model).toMatchObject({ maskId: 259, maskToken: '[MASK]', padId: 0 });
  });

  describe('errors name the directory, what was found and what to do', () => {
    it('a missing directory', async () => {
      const error = await inputErrorOf(loadLanguageModel(join(tempDir, 'nowhere'), 'models/nowhere', 'causal'));
      expect(error.message).toBe('models/nowhere does not exist; expected a model directory with model.onnx and tokenizer.json');
    });

    it('a file where the directory should be', async () => {
      const file = join(tempDir, 'model.onnx');
      await writeFile(file, causalModel());
      const error = await inputErrorOf(loadLanguageModel(file, 'models/model.onnx', 'causal'));
      expect(error.message).toMatch(/^models\/model\.onnx is a file; a language model is a directory/);
    });

    it('no model.onnx', async () => {
      const dir = await modelDir({ 'tokenizer.json': causalTokenizerJson() });
      const error = await inputErrorOf(loadLanguageModel(dir, 'models/gpt', 'causal'));
      expect(error.message).toMatch(/^models\/gpt has no model\.onnx; expected an ONNX export in the Hugging Face Optimum layout/);
      expect(error.hint).toContain('--task text-generation');
    });

    it('no tokenizer.json', async () => {
      const dir = await modelDir({ 'model.onnx': causalModel() });
      const error = await inputErrorOf(loadLanguageModel(dir, 'models/gpt', 'causal'));
      expect(error.message).toMatch(/^models\/gpt has no tokenizer\.json/);
      expect(error.hint).toContain('optimum');
      expect(error.hint).toContain('save_pretrained');
    });

    it('a tokenizer.json that is not JSON', async () => {
      const dir = await modelDir(causalFiles({ 'tokenizer.json': '{"version": "1.0", "model": ' }));
      const error = await inputErrorOf(loadLanguageModel(dir, 'models/gpt', 'causal'));
      expect(error.message).toMatch(/^models\/gpt\/tokenizer\.json is not valid JSON: /);
    });

    it('a tokenizer.json the tokenizer library cannot build', async () => {
      const broken = { ...(causalTokenizerJson() as Record<string, unknown>), model: { type: 'NoSuchModel' } };
      const dir = await modelDir(causalFiles({ 'tokenizer.json': broken }));
      const error = await inputErrorOf(loadLanguageModel(dir, 'models/gpt', 'causal'));
      expect(error.message).toMatch(/^models\/gpt: tokenizer\.json could not be loaded: .*NoSuchModel/);
    });

    it('a tokenizer_config.json naming a token the tokenizer lacks', async () => {
      const dir = await modelDir(causalFiles({ 'tokenizer_config.json': { bos_token: '<s>' } }));
      const error = await inputErrorOf(loadLanguageModel(dir, 'models/gpt', 'causal'));
      expect(error.message).toBe('models/gpt: tokenizer_config.json names bos_token "<s>", which tokenizer.json does not have');
    });

    it('an input bias-gate does not feed', async () => {
      const dir = await modelDir(causalFiles({ 'model.onnx': causalModel({ inputNames: ['input_ids', 'attention_mask', 'token_type_ids'] }) }));
      const error = await inputErrorOf(loadLanguageModel(dir, 'models/gpt', 'causal'));
      expect(error.message).toBe(
        'models/gpt/model.onnx has unexpected input(s) token_type_ids; bias-gate feeds input_ids, attention_mask[, position_ids] to a causal model',
      );
      expect(error.hint).toContain('kind: masked');
    });

    it('a KV-cache input that is not [batch, heads, past, head_dim]', async () => {
      // Declared int64 [batch, sequence]: not the cache Optimum exports, so it cannot be fed an empty past.
      const inputNames = ['input_ids', 'attention_mask', 'past_key_values.0.key', 'past_key_values.0.value'];
      const dir = await modelDir(causalFiles({ 'model.onnx': causalModel({ inputNames }) }));
      const error = await inputErrorOf(loadLanguageModel(dir, 'models/gpt', 'causal'));
      expect(error.message).toBe('models/gpt/model.onnx: input past_key_values.0.key has 2 dimensions; a KV-cache input is [batch, heads, past, head_dim]');
      expect(error.hint).toContain('--task text-generation');
    });

    it('an older Optimum merged decoder (use_cache_branch)', async () => {
      const inputNames = ['input_ids', 'attention_mask', 'use_cache_branch'];
      const dir = await modelDir(causalFiles({ 'model.onnx': causalModel({ inputNames }) }));
      const error = await inputErrorOf(loadLanguageModel(dir, 'models/gpt', 'causal'));
      expect(error.message).toContain('unexpected input(s) use_cache_branch;');
      expect(error.hint).toContain('decoder_model.onnx');
    });

    it('a KV cache on a masked model', async () => {
      const inputNames = ['input_ids', 'attention_mask', 'past_key_values.0.key'];
      const dir = await modelDir({ 'model.onnx': causalModel({ inputNames, vocabularySize: 260 }), 'tokenizer.json': maskedTokenizerJson() });
      const error = await inputErrorOf(loadLanguageModel(dir, 'models/bert', 'masked'));
      expect(error.message).toContain('unexpected input(s) past_key_values.0.key;');
      expect(error.hint).toContain('kind: causal');
    });

    it('position_ids on a masked model', async () => {
      const inputNames = ['input_ids', 'attention_mask', 'position_ids'];
      const dir = await modelDir({ 'model.onnx': causalModel({ inputNames, vocabularySize: 260 }), 'tokenizer.json': maskedTokenizerJson() });
      const error = await inputErrorOf(loadLanguageModel(dir, 'models/bert', 'masked'));
      expect(error.message).toBe(
        'models/bert/model.onnx has unexpected input(s) position_ids; bias-gate feeds input_ids, attention_mask[, token_type_ids] to a masked model',
      );
    });

    it('a missing attention_mask input', async () => {
      const dir = await modelDir(causalFiles({ 'model.onnx': causalModel({ inputNames: ['input_ids'] }) }));
      const error = await inputErrorOf(loadLanguageModel(dir, 'models/gpt', 'causal'));
      expect(error.message).toBe(
        'models/gpt/model.onnx has no input(s) attention_mask (its inputs: input_ids); bias-gate feeds input_ids, attention_mask[, position_ids] to a causal model',
      );
    });

    it('no logits output', async () => {
      const dir = await modelDir(causalFiles({ 'model.onnx': causalModel({ outputName: 'last_hidden_state' }) }));
      const error = await inputErrorOf(loadLanguageModel(dir, 'models/gpt', 'causal'));
      expect(error.message).toMatch(/^models\/gpt\/model\.onnx has no output `logits` \(its outputs: last_hidden_state\)/);
    });

    it('a tokenizer with more ids than the logits', async () => {
      const dir = await modelDir(causalFiles({ 'model.onnx': causalModel({ vocabularySize: 200 }) }));
      const error = await inputErrorOf(loadLanguageModel(dir, 'models/gpt', 'causal'));
      expect(error.message).toBe(
        "models/gpt: tokenizer.json has 257 token ids but the model's logits have only 200; the tokenizer does not belong to this model",
      );
    });

    it('a masked model without a mask token', async () => {
      const dir = await modelDir({ 'model.onnx': maskedModel(), 'tokenizer.json': causalTokenizerJson(), 'tokenizer_config.json': causalTokenizerConfig() });
      const error = await inputErrorOf(loadLanguageModel(dir, 'models/bert', 'masked'));
      expect(error.message).toBe(
        'models/bert: no mask token; tokenizer_config.json has no mask_token and tokenizer.json has no [MASK] or <mask> special token',
      );
      expect(error.hint).toContain('kind: causal');
    });

    it('a causal model without a BOS token', async () => {
      const dir = await modelDir({
        'model.onnx': causalModel({ vocabularySize: MASKED_VOCABULARY_SIZE }),
        'tokenizer.json': maskedTokenizerJson(),
        'tokenizer_config.json': maskedTokenizerConfig(),
      });
      const error = await inputErrorOf(loadLanguageModel(dir, 'models/gpt', 'causal'));
      expect(error.message).toBe('models/gpt: no BOS token; tokenizer_config.json has no bos_token and tokenizer.json has no <|endoftext|>');
      expect(error.hint).toContain('bos_token');
    });

    it('a model.onnx that is not ONNX', async () => {
      const dir = await modelDir(causalFiles({ 'model.onnx': new TextEncoder().encode('not a model') }));
      const error = await inputErrorOf(loadLanguageModel(dir, 'models/gpt', 'causal'));
      expect(error.message).toMatch(/^models\/gpt\/model\.onnx could not be loaded as an ONNX model/);
    });
  });
});
