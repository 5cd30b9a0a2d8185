import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { confinedFileIfPresent, confinementError, inspectConfined, readRegularFile } from '../artifacts/confined-file.ts';
import { GIT_LFS_POINTER_PREFIX } from '../artifacts/lfs.ts';
import { jsonSyntaxProblem } from '../config/json-problem.ts';
import { InputError, messageOf } from '../errors.ts';
import { quantiseInt8 } from '../runtime/quantise-int8.ts';
import { openModel, type ModelSession, type SessionOptions } from '../runtime/session.ts';
import { READ_LOG_PROBS_OUTPUT, READ_LOGITS_OUTPUT, READ_POSITIONS_INPUT, READ_TARGETS_INPUT, readPositionsModel } from '../runtime/read-positions.ts';
import { TARGET_LOG_PROBS_OUTPUT, TARGETS_INPUT, targetLogProbsExtension } from '../runtime/token-log-probs.ts';
import { LOGITS_OUTPUT, runLogits, runReadLogits } from './inference.ts';
import { isPastKeyValueInput, pastKeyValueInputs } from './past-key-values.ts';
import type { LanguageModel, LanguageModelKind, TextTokenizer } from './types.ts';

/**
 * Loads a language model directory in the Hugging Face Optimum layout (DESIGN §3 "Models"):
 * `model.onnx` and `tokenizer.json`, optionally `tokenizer_config.json` (special tokens) and
 * `config.json` (read only for a KV-cache export whose inputs do not fix their head sizes).
 * Everything a scorer relies on is checked here, so a wrong export fails at load with a message naming the directory, what was found and what to do.
 */

/** Inputs bias-gate feeds, by model kind: the two required ones, then the optional one. */
const REQUIRED_INPUTS = ['input_ids', 'attention_mask'] as const;
const OPTIONAL_INPUT: Record<LanguageModelKind, string> = { causal: 'position_ids', masked: 'token_type_ids' };

const EXPORT_HINT: Record<LanguageModelKind, string> = {
  causal:
    'Export with `optimum-cli export onnx --model <name> <dir>` (with the KV cache) or `--task text-generation` (without); ' +
    'an older Optimum writes decoder_model.onnx instead of model.onnx: rename that one (not decoder_model_merged.onnx).',
  masked: 'Export with `optimum-cli export onnx --model <name> --task fill-mask <dir>`.',
};

/** Mask tokens recognised without a `mask_token` in tokenizer_config.json: BERT's and RoBERTa's. */
const KNOWN_MASK_TOKENS = ['[MASK]', '<mask>'];
/** GPT-2's BOS, used when tokenizer_config.json names none. */
const GPT2_BOS = '<|endoftext|>';

/**
 * Only the tokenizer of a model directory, without starting onnxruntime: enough to cut
 * perplexity windows when every score is already cached. `root` is the checkout the directory
 * belongs to: every file read must be a regular file inside it (default: the directory itself).
 */
export async function loadLanguageTokenizer(directory: string, displayPath: string, kind: LanguageModelKind, root: string = directory): Promise<TextTokenizer> {
  await requireDirectory(root, directory, displayPath);
  const tokenizerJson = await readJson(root, directory, displayPath, 'tokenizer.json');
  if (tokenizerJson === undefined) {
    throw new InputError(`${displayPath} has no tokenizer.json; bias-gate tokenizes with the model's own fast tokenizer`, { hint: EXPORT_HINT[kind] });
  }
  return createTextTokenizer(tokenizerJson, (await readJson(root, directory, displayPath, 'tokenizer_config.json')) ?? {}, displayPath).tokenizer;
}

/** How a language model is opened: onnxruntime's settings, and whether its graph may be rewritten. */
export interface LanguageModelOptions extends SessionOptions {
  /**
   * Move the vocabulary projection behind a gather of the positions the scorer reads
   * (runtime/read-positions.ts; default true). Scores are the same float32 values either way; false
   * opens the graph with the log-softmax over every position.
   */
  readPositions?: boolean;
  /** `int8`: open a dynamically quantised copy of the weights (runtime/quantise-int8.ts) for the int8 screen (int8-screen.ts). */
  quantise?: 'int8';
}

/** Inputs bias-gate adds to a graph at load, never a model's own. */
export const BIAS_GATE_INPUTS = [TARGETS_INPUT, READ_POSITIONS_INPUT, READ_TARGETS_INPUT];

/**
 * Opens `directory` as a `kind` language model. `displayPath` names it in every message (the
 * config's path). `options` (threads, execution providers) go to onnxruntime; `options.root` is the
 * checkout the directory belongs to: every file read must be a regular file inside it (default:
 * the directory itself). `options.quantise: 'int8'` opens a dynamically quantised copy of the weights
 * instead (runtime/quantise-int8.ts), for the int8 screen (int8-screen.ts); the log-softmax nodes are
 * added to it as to the float model.
 */
export async function loadLanguageModel(
  directory: string,
  displayPath: string,
  kind: LanguageModelKind,
  options: LanguageModelOptions = {},
): Promise<LanguageModel> {
  const root = options.root ?? directory;
  await requireDirectory(root, directory, displayPath);
  const modelPath = join(directory, 'model.onnx');
  if (!(await isFile(root, modelPath, `${displayPath}/model.onnx`))) {
    throw new InputError(`${displayPath} has no model.onnx; expected an ONNX export in the Hugging Face Optimum layout (model.onnx + tokenizer.json)`, {
      hint: EXPORT_HINT[kind],
    });
  }
  const tokenizerJson = await readJson(root, directory, displayPath, 'tokenizer.json');
  if (tokenizerJson === undefined) {
    throw new InputError(`${displayPath} has no tokenizer.json; bias-gate tokenizes with the model's own fast tokenizer`, {
      hint: `${EXPORT_HINT[kind]} optimum writes tokenizer.json beside model.onnx; or run \`AutoTokenizer.from_pretrained(<name>).save_pretrained(<dir>)\`.`,
    });
  }
  const tokenizerConfig = (await readJson(root, directory, displayPath, 'tokenizer_config.json')) ?? {};
  const { tokenizer, library } = createTextTokenizer(tokenizerJson, tokenizerConfig, displayPath);
  const special = specialTokens(kind, library, tokenizerConfig, displayPath);

  // The log-softmax and target gather go into the model's own graph, so logits stay in onnxruntime.
  const extension = { bytes: targetLogProbsExtension(LOGITS_OUTPUT), purpose: "bias-gate's log-softmax nodes" };
  // Only the positions a scorer reads are projected onto the vocabulary: a masked scorer reads one
  // per row, a causal one every position but a row's last (and none of its padding).
  const { readPositions = true, quantise, ...sessionOptions } = options;
  const rewrite =
    readPositions
      ? { apply: (buffer: Uint8Array, size: number) => readPositionsModel(buffer, LOGITS_OUTPUT, size).bytes, purpose: "bias-gate's read-position projection" }
      : undefined;
  const prepare =
    quantise === 'int8'
      ? (bytes: Uint8Array) => {
          const { bytes: quantised, summary } = quantiseInt8(bytes);
          options.log?.(`${displayPath}: int8 screen: ${summary.rewritten} weight matrices quantised to int8 (${summary.weights} weights), ${summary.kept} MatMul/Gemm left float32`);
          return quantised;
        }
      : undefined;
  const session = await openModel(modelPath, `${displayPath}/model.onnx`, { ...sessionOptions, root, extension, rewrite, prepare });
  try {
    const inputs = checkGraph(session, kind, displayPath);
    // Optimum's default causal export takes a KV cache: it is fed empty (past-key-values.ts).
    const hasPast = session.inputNames.some(isPastKeyValueInput);
    if (hasPast) inputs.pastKeyValues = pastKeyValueInputs(session.inputMetadata ?? [], await readJson(root, directory, displayPath, 'config.json'), displayPath);
    const vocabularySize = await logitsVocabularySize({ session, displayPath, padId: special.padId, inputs });
    if (tokenizer.vocabularySize > vocabularySize) {
      throw new InputError(
        `${displayPath}: tokenizer.json has ${tokenizer.vocabularySize} token ids but the model's logits have only ${vocabularySize}; ` +
          'the tokenizer does not belong to this model',
        { hint: 'Put the tokenizer the model was trained with beside model.onnx (optimum-cli export onnx copies it).' },
      );
    }
    return { kind, displayPath, session, tokenizer, vocabularySize, inputs, ...special };
  } catch (error) {
    await session.release();
    throw error;
  }
}

/**
 * The {@link TextTokenizer} of a parsed `tokenizer.json` (and `tokenizer_config.json`, which may be `{}`),
 * with the library object for special-token lookups. Throws an InputError naming `displayPath` when
 * @huggingface/tokenizers cannot build it.
 */
export function createTextTokenizer(tokenizerJson: unknown, tokenizerConfig: object, displayPath: string): { tokenizer: TextTokenizer; library: Tokenizer } {
  let library: Tokenizer;
  try {
    library = new Tokenizer(tokenizerJson as object, tokenizerConfig);
  } catch (error) {
    throw new InputError(`${displayPath}: tokenizer.json could not be loaded: ${messageOf(error)}`, {
      hint: 'bias-gate reads the tokenizer.json that Hugging Face `tokenizers` writes (save_pretrained of a fast tokenizer, or optimum-cli export).',
      cause: error,
    });
  }
  let maxId = -1;
  for (const id of library.get_vocab(true).values()) maxId = Math.max(maxId, id);
  const tokenizer: TextTokenizer = {
    encode: (text, { addSpecialTokens }) => library.encode(text, { add_special_tokens: addSpecialTokens }).ids,
    // The library rejects an empty list; an empty prefix decodes to nothing.
    decode: (ids) => (ids.length === 0 ? '' : library.decode([...ids], { skip_special_tokens: true })),
    tokenToId: (token) => library.token_to_id(token),
    vocabularySize: maxId + 1,
  };
  return { tokenizer, library };
}

type SpecialTokens = Pick<LanguageModel, 'bosId' | 'maskId' | 'maskToken' | 'padId'>;

/** BOS (causal), mask (masked) and pad ids, from tokenizer_config.json first, then well-known tokens. */
function specialTokens(kind: LanguageModelKind, library: Tokenizer, config: Record<string, unknown>, displayPath: string): SpecialTokens {
  const configured = (key: string): number | undefined => {
    const text = specialTokenText(config[key]);
    if (text === undefined) return undefined;
    const id = library.token_to_id(text);
    if (id === undefined) {
      throw new InputError(`${displayPath}: tokenizer_config.json names ${key} ${JSON.stringify(text)}, which tokenizer.json does not have`, {
        hint: 'The two files must come from the same tokenizer; save both with save_pretrained.',
      });
    }
    return id;
  };
  // Padding is masked out by attention_mask, so any id will do when none is named.
  const padToken = specialTokenText(config.pad_token);
  const padId = (padToken === undefined ? undefined : library.token_to_id(padToken)) ?? 0;

  if (kind === 'causal') {
    const bosId = configured('bos_token') ?? library.token_to_id(GPT2_BOS);
    if (bosId === undefined) {
      throw new InputError(`${displayPath}: no BOS token; tokenizer_config.json has no bos_token and tokenizer.json has no ${GPT2_BOS}`, {
        hint:
          'bias-bench conditions a sentence\'s first token on BOS alone (REFERENCE.md §2a); add "bos_token" to tokenizer_config.json ' +
          "(GPT-2's is <|endoftext|>). If this is a masked model, set kind: masked.",
      });
    }
    return { bosId, maskId: undefined, maskToken: undefined, padId };
  }

  let maskToken = specialTokenText(config.mask_token);
  let maskId = configured('mask_token');
  if (maskId === undefined) {
    const added = [...library.get_added_tokens_decoder()].find(([, token]) => token.special && KNOWN_MASK_TOKENS.includes(token.content));
    if (added !== undefined) [maskId, maskToken] = [added[0], added[1].content];
  }
  if (maskId === undefined || maskToken === undefined) {
    throw new InputError(
      `${displayPath}: no mask token; tokenizer_config.json has no mask_token and tokenizer.json has no ${KNOWN_MASK_TOKENS.join(' or ')} special token`,
      { hint: 'A masked model needs its mask token: add "mask_token" to tokenizer_config.json. If this is a causal model, set kind: causal.' },
    );
  }
  return { bosId: undefined, maskId, maskToken, padId };
}

/** A special token as tokenizer_config.json writes it: a string, or an AddedToken object `{content, …}`. */
function specialTokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return undefined;
}

/** Checks the graph's inputs and outputs against what bias-gate feeds and reads; returns the optional inputs it takes. */
function checkGraph(session: ModelSession, kind: LanguageModelKind, displayPath: string): LanguageModel['inputs'] {
  const optional = OPTIONAL_INPUT[kind];
  const fed = [...REQUIRED_INPUTS, optional];
  const modelInputs = session.inputNames.filter((name) => !BIAS_GATE_INPUTS.includes(name));
  const feedsText = `bias-gate feeds ${REQUIRED_INPUTS.join(', ')}[, ${optional}] to a ${kind} model`;
  // A causal export with a KV cache is run with an empty past (past-key-values.ts).
  const unexpected = modelInputs.filter((name) => !fed.includes(name) && !(kind === 'causal' && isPastKeyValueInput(name)));
  if (unexpected.length > 0) {
    throw new InputError(`${displayPath}/model.onnx has unexpected input(s) ${unexpected.join(', ')}; ${feedsText}`, {
      hint: unexpectedInputHint(kind, unexpected),
    });
  }
  const missing = REQUIRED_INPUTS.filter((name) => !modelInputs.includes(name));
  if (missing.length > 0) {
    throw new InputError(
      `${displayPath}/model.onnx has no input(s) ${missing.join(', ')} (its inputs: ${modelInputs.join(', ') || 'none'}); ${feedsText}`,
      { hint: EXPORT_HINT[kind] },
    );
  }
  const readPositions =
    session.inputNames.includes(READ_POSITIONS_INPUT) &&
    session.inputNames.includes(READ_TARGETS_INPUT) &&
    session.outputNames.includes(READ_LOGITS_OUTPUT) &&
    session.outputNames.includes(READ_LOG_PROBS_OUTPUT);
  if (!session.outputNames.includes(LOGITS_OUTPUT) && !readPositions) {
    throw new InputError(
      `${displayPath}/model.onnx has no output \`${LOGITS_OUTPUT}\` (its outputs: ${session.outputNames.join(', ') || 'none'}); bias-gate scores the language-model head's logits`,
      { hint: `${EXPORT_HINT[kind]} Exports for that task name the vocabulary scores \`logits\`.` },
    );
  }
  return {
    positionIds: session.inputNames.includes('position_ids'),
    tokenTypeIds: session.inputNames.includes('token_type_ids'),
    targets: session.inputNames.includes(TARGETS_INPUT) && session.outputNames.includes(TARGET_LOG_PROBS_OUTPUT),
    readPositions,
  };
}

function unexpectedInputHint(kind: LanguageModelKind, unexpected: readonly string[]): string {
  if (unexpected.includes('use_cache_branch')) {
    return 'This is an older Optimum merged decoder (decoder_model_merged.onnx); use the decoder_model.onnx of the same export, renamed to model.onnx, or re-export with a current Optimum.';
  }
  if (kind === 'masked' && unexpected.some(isPastKeyValueInput)) return 'past_key_values are a causal model\'s KV cache; if this is a causal model, set kind: causal.';
  if (kind === 'causal' && unexpected.includes('token_type_ids')) return 'token_type_ids is a BERT-style input; if this is a masked model, set kind: masked.';
  if (kind === 'masked' && unexpected.includes('position_ids')) return 'position_ids is a GPT-style input; if this is a causal model, set kind: causal.';
  return EXPORT_HINT[kind];
}

/**
 * Size of the logits' last axis, from one pass over the single token 0 (valid in any vocabulary, so a
 * too-small model still runs and the mismatch gets its own message). A pass rather than the graph's
 * output shape: exports often leave that axis dynamic, and the pass also shows the model runs.
 */
async function logitsVocabularySize(model: Parameters<typeof runLogits>[0]): Promise<number> {
  try {
    // A rewritten graph has no [B, T, V] logits: the probe reads those of its one position.
    return (await (model.inputs.readPositions ? runReadLogits(model, [[0]], [0]) : runLogits(model, [[0]]))).vocabulary;
  } catch (error) {
    // onnxruntime's own failure: keep its message, replace the session's image-model hint.
    if (!(error instanceof InputError) || error.message.startsWith(`${model.displayPath}:`)) throw error;
    throw new InputError(`${error.message} (a one-token probe at load)`, {
      hint: 'bias-gate feeds int64 [batch, sequence] tensors; check that the export takes input_ids and attention_mask as int64.',
      cause: error,
    });
  }
}

/** `directory` must be a directory inside `root` (confined-file.ts). */
async function requireDirectory(root: string, directory: string, displayPath: string): Promise<void> {
  const found = await inspectConfined(root, directory);
  if (found.kind === 'directory') return;
  if (found.kind === 'missing') {
    throw new InputError(`${displayPath} does not exist; expected a model directory with model.onnx and tokenizer.json`, {
      hint: 'Check the language model path in the config; paths are relative to the repository root.',
    });
  }
  if (found.kind === 'file') {
    throw new InputError(`${displayPath} is a file; a language model is a directory with model.onnx and tokenizer.json (Hugging Face Optimum layout)`);
  }
  throw confinementError(found, displayPath, 'a model directory');
}

/** False when absent; a link out of `root` or a special file is an InputError, not "absent". */
async function isFile(root: string, path: string, what: string): Promise<boolean> {
  const found = await inspectConfined(root, path);
  if (found.kind === 'file') return true;
  if (found.kind === 'missing' || found.kind === 'directory') return false;
  throw confinementError(found, what, 'a regular file');
}

/** A JSON file of the model directory, parsed; undefined when it does not exist. Only a regular file inside `root` is read. */
async function readJson(root: string, directory: string, displayPath: string, name: string): Promise<Record<string, unknown> | undefined> {
  const what = `${displayPath}/${name}`;
  const found = await confinedFileIfPresent(root, join(directory, name), what);
  if (found === undefined) return undefined;
  let text: string;
  try {
    text = await readRegularFile(found.real, what, 'utf8');
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`${what} could not be read: ${messageOf(error)}`, { cause: error });
  }
  if (text.startsWith(GIT_LFS_POINTER_PREFIX)) {
    throw new InputError(`${displayPath}/${name} is a Git LFS pointer, not the file; check out with \`lfs: true\` (actions/checkout) or run \`git lfs pull\``);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${displayPath}/${name} is not valid JSON: ${jsonSyntaxProblem(error, text)}`, {
      hint: `Re-save it with save_pretrained; a truncated download or a merge conflict leaves files like this.`,
      cause: error,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InputError(`${displayPath}/${name} holds ${Array.isArray(parsed) ? 'an array' : typeof parsed}; expected a JSON object`);
  }
  return parsed as Record<string, unknown>;
}
