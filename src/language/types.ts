import type { ModelSession } from '../runtime/session.ts';
import type { PastKeyValueInput } from './past-key-values.ts';

/** GPT-2 style (next-token) or BERT style (masked-token) language model (DESIGN §3 "Models"). */
export type LanguageModelKind = 'causal' | 'masked';

/**
 * How a sentence is scored (REFERENCE.md §2): `bias-bench` reproduces McGill-NLP
 * bias-bench exactly; `sum-logprob` is lm-evaluation-harness' summed
 * log-likelihood with BOS in the same pass.
 */
export type ScoringConvention = 'bias-bench' | 'sum-logprob';

/** The tokenizer of a model directory (`tokenizer.json`), behind the few calls the scorers need. */
export interface TextTokenizer {
  /** Token ids of `text`; with `addSpecialTokens` the post-processor's [CLS]/[SEP] etc. are added. */
  encode(text: string, options: { addSpecialTokens: boolean }): number[];
  /** Text of `ids`, special tokens skipped (StereoSet's masked scorer decodes sub-token prefixes). */
  decode(ids: readonly number[]): string;
  /** Id of a token string, undefined when it is not in the vocabulary. */
  tokenToId(token: string): number | undefined;
  /** Number of ids the tokenizer can produce (vocabulary plus added tokens). */
  vocabularySize: number;
}

/** A loaded language model directory: ONNX session, tokenizer and the special tokens scoring needs. */
export interface LanguageModel {
  kind: LanguageModelKind;
  /** Repository-relative directory, used in every message. */
  displayPath: string;
  session: ModelSession;
  tokenizer: TextTokenizer;
  /** Size of the logits' last axis. */
  vocabularySize: number;
  /** Causal: the token that conditions the first token (GPT-2's `<|endoftext|>`). */
  bosId: number | undefined;
  /** Masked: the mask token. */
  maskId: number | undefined;
  /** Masked: the mask token's text (`[MASK]`), which StereoSet's scorer writes into the context (REFERENCE.md §2b). */
  maskToken: string | undefined;
  /** Id fed in padded positions (masked out by attention_mask). */
  padId: number;
  /**
   * Which optional inputs the graph takes. `targets`: bias-gate's log-softmax nodes were added to
   * the graph at load (runtime/token-log-probs.ts), so it computes log P(target) itself.
   */
  inputs: {
    positionIds: boolean;
    tokenTypeIds: boolean;
    targets: boolean;
    /**
     * Masked models: the vocabulary projection was moved behind a gather of the positions that are
     * read (runtime/read-positions.ts), so a pass projects only those and the graph has no `logits`.
     * Absent: false.
     */
    readPositions?: boolean;
    /** A causal export with a KV cache (Optimum's default): its cache inputs, fed an empty past. Absent or empty: none. */
    pastKeyValues?: PastKeyValueInput[];
  };
}

/** How inference is batched. */
export interface BatchOptions {
  /** Sequences per forward pass at most. */
  batchSize: number;
  /**
   * Padded tokens per forward pass at most (rows × longest row), so long perplexity windows do not
   * blow memory: logits are rows × length × vocabulary floats. A sequence longer than this runs alone.
   * Absent: only {@link batchSize} limits a pass.
   */
  maxBatchTokens?: number;
  /** Called after each forward pass with sequences done and total. */
  onBatch?: (done: number, total: number) => void;
}

/** One masked-token query: `ids` with `position` already replaced by the mask id; score log P(target). */
export interface MaskedQuery {
  ids: readonly number[];
  position: number;
  target: number;
}
