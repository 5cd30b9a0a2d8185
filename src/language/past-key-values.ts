import * as ort from 'onnxruntime-node';
import { InputError } from '../errors.ts';

/**
 * Causal models exported with a KV cache: Optimum's default `optimum-cli export onnx --model gpt2 out/`
 * (task text-generation-with-past) takes `past_key_values.{i}.key/.value` [batch, heads, past, head_dim]
 * besides input_ids, attention_mask [batch, past + sequence] and position_ids, and returns
 * `present.{i}.key/.value` beside `logits`. bias-gate scores whole sentences in one pass, so it feeds
 * an empty past (past = 0): attention then sees exactly the keys a no-past export computes, and the
 * scores are the same (test/language/with-past.test.ts compares both exports of one model's weights).
 */

/** One cache input of the graph and the shape of its (empty) feed. */
export interface PastKeyValueInput {
  name: string;
  /** Key/value heads (GPT-2 `n_head`; `num_key_value_heads` with grouped-query attention). */
  heads: number;
  /** Size of one head (`n_embd / n_head`, or the config's `head_dim`). */
  headDim: number;
}

const PAST_KEY_VALUE_NAME = /^past_key_values\.\d+\.(key|value)$/;

/** `past_key_values.3.value`: an input Optimum's with-past exports declare. */
export function isPastKeyValueInput(name: string): boolean {
  return PAST_KEY_VALUE_NAME.test(name);
}

/**
 * The cache inputs of a graph with their head count and head size: from the input's own shape
 * ([batch, heads, past, head_dim], usually with the two sizes fixed), else from config.json
 * (`num_key_value_heads`/`n_head`/`num_attention_heads`, `head_dim` or `n_embd`/`hidden_size` ÷ heads).
 * `displayPath` names the model in the error when neither says.
 */
export function pastKeyValueInputs(
  metadata: readonly Pick<ort.InferenceSession.ValueMetadata, 'name'>[],
  config: Record<string, unknown> | undefined,
  displayPath: string,
): PastKeyValueInput[] {
  const fromConfig = configShape(config);
  return metadata.filter(({ name }) => isPastKeyValueInput(name)).map((input) => {
    const shape = 'shape' in input && Array.isArray(input.shape) ? (input.shape as readonly (number | string)[]) : [];
    if (shape.length !== 0 && shape.length !== 4) {
      throw new InputError(`${displayPath}/model.onnx: input ${input.name} has ${shape.length} dimensions; a KV-cache input is [batch, heads, past, head_dim]`, {
        hint: 'Export with Optimum (`optimum-cli export onnx --model <name> <dir>`), or without the cache (`--task text-generation`).',
      });
    }
    const heads = positive(shape[1]) ?? fromConfig.heads;
    const headDim = positive(shape[3]) ?? fromConfig.headDim;
    if (heads === undefined || headDim === undefined) {
      throw new InputError(
        `${displayPath}/model.onnx: input ${input.name} does not fix its head count and head size, and config.json does not give them ` +
          '(n_head or num_attention_heads, and n_embd or hidden_size)',
        { hint: 'Keep the config.json the export wrote beside model.onnx, or export without the cache (`--task text-generation`).' },
      );
    }
    return { name: input.name, heads, headDim };
  });
}

/** An empty past for every cache input: float32 [batch, heads, 0, head_dim], no data. */
export function emptyPastFeeds(inputs: readonly PastKeyValueInput[], batch: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const { name, heads, headDim } of inputs) feeds[name] = new ort.Tensor('float32', new Float32Array(0), [batch, heads, 0, headDim]);
  return feeds;
}

function configShape(config: Record<string, unknown> | undefined): { heads?: number; headDim?: number } {
  if (!config) return {};
  const attentionHeads = positive(config.n_head) ?? positive(config.num_attention_heads);
  const heads = positive(config.num_key_value_heads) ?? attentionHeads;
  const width = positive(config.n_embd) ?? positive(config.hidden_size);
  const headDim = positive(config.head_dim) ?? (width !== undefined && attentionHeads !== undefined && width % attentionHeads === 0 ? width / attentionHeads : undefined);
  return { heads, headDim };
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}
