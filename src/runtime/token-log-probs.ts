import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { graphExtension } from './graph-extension.ts';

const { onnx } = onnxProto;

/**
 * log P(target) = log_softmax(logits)[target] for every (row, position) of a batch, computed by
 * onnxruntime rather than JavaScript, in float32 as bias-bench itself does (torch fp32,
 * REFERENCE.md pitfall 10):
 *
 *   logits [B, T, V] float ──LogSoftmax(axis −1)──┐
 *   targets [B, T, 1] int64 ──────────────────────┴─GatherElements(axis −1)──▶ log-probabilities [B, T, 1] float
 *
 * The nodes are normally added to the language model's own graph when it is loaded
 * ({@link targetLogProbsExtension}), so the [B, T, V] logits never leave onnxruntime: only B·T
 * numbers come back. Returning GPT-2's logits to JavaScript alone cost more than the log-softmax
 * (bench/results.md). Where the nodes cannot be added (an opset before 11, which has no
 * GatherElements), {@link TokenLogProbabilities} runs the same nodes as a separate session on the
 * returned logits.
 */

/** The input the extended graph reads targets from, [B, T, 1] int64 (a dummy where nothing is read). */
export const TARGETS_INPUT = 'bias_gate_targets';
/** The extended graph's output: log P(target) at each position, [B, T, 1] float32. */
export const TARGET_LOG_PROBS_OUTPUT = 'bias_gate_target_log_probs';

const LOG_PROBABILITIES = 'bias_gate/log_probabilities';

function targetLogProbsNodes(logits: string): onnxProto.onnx.INodeProto[] {
  const axis: onnxProto.onnx.IAttributeProto = { name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 };
  return [
    { name: 'bias_gate/log_softmax', opType: 'LogSoftmax', input: [logits], output: [LOG_PROBABILITIES], attribute: [axis] },
    { name: 'bias_gate/gather_targets', opType: 'GatherElements', input: [LOG_PROBABILITIES, TARGETS_INPUT], output: [TARGET_LOG_PROBS_OUTPUT], attribute: [axis] },
  ];
}

function valueInfo(name: string, elemType: number, shape: string[]): onnxProto.onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: shape.map((dimParam) => ({ dimParam })) } } } };
}

const { FLOAT, INT64 } = onnx.TensorProto.DataType;
const targetsInfo = valueInfo(TARGETS_INPUT, INT64, ['batch', 'sequence', 'one']);
const outputInfo = valueInfo(TARGET_LOG_PROBS_OUTPUT, FLOAT, ['batch', 'sequence', 'one']);

/** Bytes to append to a model whose output `logits` is [B, T, V] float32 (see graph-extension.ts). */
export function targetLogProbsExtension(logits: string): Uint8Array {
  return graphExtension({ node: targetLogProbsNodes(logits), input: [targetsInfo], output: [outputInfo] });
}

/** The same nodes as a model of their own (opset 13), for logits returned to JavaScript. */
export function logProbabilityGraph(): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'bias-gate',
    graph: {
      name: 'token_log_probabilities',
      node: targetLogProbsNodes('logits'),
      input: [valueInfo('logits', FLOAT, ['batch', 'sequence', 'vocabulary']), targetsInfo],
      output: [outputInfo],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** {@link logProbabilityGraph} as a session: log P(target) for logits that came back to JavaScript. */
export class TokenLogProbabilities {
  private session: Promise<ort.InferenceSession> | undefined;

  /** log-probabilities of `targets` ([rows·positions], row-major) under `logits` ([rows, positions, vocabulary]). */
  async gather(logits: ort.Tensor, targets: BigInt64Array): Promise<Float32Array> {
    const [rows, positions] = logits.dims as [number, number, number];
    this.session ??= ort.InferenceSession.create(logProbabilityGraph(), {
      logSeverityLevel: 3,
      // Its threads must not spin-wait after each call: they would take the cores from the
      // model's own session, which runs next.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
    const session = await this.session;
    const result = await session.run({ logits, [TARGETS_INPUT]: new ort.Tensor('int64', targets, [rows, positions, 1]) });
    return result[TARGET_LOG_PROBS_OUTPUT]!.data as Float32Array;
  }
}
