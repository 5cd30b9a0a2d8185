import * as ort from 'onnxruntime-node';
import { InputError } from '../errors.ts';
import type { ModelSession } from '../runtime/session.ts';

/** Which model input and output to use, and how many images go into one run. */
export interface EmbeddingRequest {
  /** Input that takes the image batch (config `vision.input`). Absent: the model's only input. */
  inputName?: string;
  /** Output holding the embedding (config `vision.embedding_output`). Absent: the model's only output. */
  outputName?: string;
  /** Images stacked into one run; the last batch may be smaller. */
  batchSize: number;
  /** Called after each batch with the number of images embedded so far and the total. */
  onBatch?: (done: number, total: number) => void;
  /** How messages name the image at an index of `images` (its repository path); default `image <index>`. */
  imageLabel?: (index: number) => string;
}

/**
 * Embeds preprocessed images, one raw (not normalised) embedding per image, in input order.
 * Each image is a flat tensor of `imageShape` (e.g. [3,224,224] or [224,224,3]); a batch is fed as
 * [n, ...imageShape]. The output may be [n, D] or [n, D, 1, 1]: everything after the batch axis is
 * flattened into the embedding.
 */
export async function embedImages(
  model: ModelSession,
  images: readonly Float32Array[],
  imageShape: readonly number[],
  request: EmbeddingRequest,
): Promise<Float32Array[]> {
  const { batchSize } = request;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new InputError(`Embedding batch size must be a positive integer, got ${batchSize}`);
  }
  const inputName = resolveName(model, 'input', request.inputName);
  const outputName = resolveName(model, 'output', request.outputName);
  const imageSize = imageShape.reduce((product, dim) => product * dim, 1);
  images.forEach((image, index) => {
    if (image.length !== imageSize) {
      throw new RangeError(`Image ${index} has ${image.length} values; shape [${imageShape.join(',')}] needs ${imageSize}`);
    }
  });

  const embeddings: Float32Array[] = [];
  for (let start = 0; start < images.length; start += batchSize) {
    const batch = images.slice(start, start + batchSize);
    const stacked = new Float32Array(batch.length * imageSize);
    batch.forEach((image, offset) => stacked.set(image, offset * imageSize));
    const feed = new ort.Tensor('float32', stacked, [batch.length, ...imageShape]);
    const results = await model.run({ [inputName]: feed }, [outputName]);
    const split = splitBatch(model, outputName, results[outputName], batch.length);
    split.forEach((embedding, offset) => checkEmbedding(model, outputName, embedding, request.imageLabel?.(start + offset) ?? `image ${start + offset}`));
    embeddings.push(...split);
    request.onBatch?.(embeddings.length, images.length);
  }
  return embeddings;
}

/** Which graph name to use for the images or the embedding; the error lists the model's real names. */
function resolveName(model: ModelSession, side: 'input' | 'output', requested: string | undefined): string {
  const names = side === 'input' ? model.inputNames : model.outputNames;
  const key = side === 'input' ? 'vision.input' : 'vision.embedding_output';
  if (requested !== undefined) {
    if (!names.includes(requested)) {
      throw new InputError(`${model.displayPath} has no ${side} named "${requested}"; its ${side}s are ${listNames(names)}`, {
        hint: `Set \`${key}\` to one of those names.`,
      });
    }
    return requested;
  }
  const [only, ...others] = names;
  if (only === undefined || others.length > 0) {
    const role = side === 'input' ? 'which one takes the images' : 'which one is the embedding';
    throw new InputError(`${model.displayPath} has ${names.length} ${side}s (${listNames(names)}), so bias-gate cannot tell ${role}`, {
      hint: side === 'input' ? `Set \`${key}\` to the name of the image input.` : `Set \`${key}\` to the output holding the pooled penultimate features.`,
    });
  }
  return only;
}

/** One embedding per image from a batch output shaped [n, ...]; copies, so the batch buffer can be freed. */
function splitBatch(model: ModelSession, outputName: string, output: ort.Tensor | undefined, count: number): Float32Array[] {
  if (output === undefined) {
    throw new InputError(`${model.displayPath} returned no value for output "${outputName}"`);
  }
  const dims = output.dims;
  if (dims.length < 2 || dims[0] !== count) {
    throw new InputError(
      `${model.displayPath}: output "${outputName}" has shape [${dims.join(',')}] for a batch of ${count} images; ` +
        'an embedding output must be [batch, D] or [batch, D, 1, 1]',
      { hint: 'Set `vision.embedding_output` to the pooled feature output.' },
    );
  }
  if (output.type !== 'float32') {
    throw new InputError(`${model.displayPath}: output "${outputName}" is ${output.type}; bias-gate needs float32 embeddings`, {
      hint: 'Export the model with a float32 embedding output (cast fp16 models back to fp32).',
    });
  }
  const data = output.data as Float32Array;
  const size = data.length / count;
  return Array.from({ length: count }, (_, index) => data.slice(index * size, (index + 1) * size));
}

/**
 * An embedding must be finite and non-zero to be L2-normalised (DESIGN §2); a NaN, infinite or all-zero
 * one means the model is broken for this input (overflow, a NaN weight, a dead ReLU layer), and no
 * similarity computed from it means anything.
 */
function checkEmbedding(model: ModelSession, outputName: string, embedding: Float32Array, image: string): void {
  let nonZero = false;
  for (const value of embedding) {
    if (!Number.isFinite(value)) {
      throw new InputError(`${model.displayPath}: output "${outputName}" is ${Number.isNaN(value) ? 'NaN' : 'infinite'} in the embedding of ${image}`, {
        hint: 'Check the model on this image outside bias-gate (NaN or infinite weights, fp16 overflow) and that `vision.embedding_output` names the pooled features.',
      });
    }
    if (value !== 0) nonZero = true;
  }
  if (!nonZero) {
    throw new InputError(`${model.displayPath}: output "${outputName}" is all zeros in the embedding of ${image}, so it has no direction to compare`, {
      hint: 'Check that `vision.embedding_output` names the pooled penultimate features and that the model is not broken (all-zero weights, dead activations).',
    });
  }
}

function listNames(names: readonly string[]): string {
  return names.length === 0 ? '(none)' : names.map((name) => `"${name}"`).join(', ');
}
