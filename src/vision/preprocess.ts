import sharp, { type KernelEnum, type Metadata, type SharpOptions } from 'sharp';
import { readRegularFile } from '../artifacts/confined-file.ts';
import { GIT_LFS_POINTER_HEAD_BYTES, isGitLfsPointer } from '../artifacts/lfs.ts';
import { InputError, messageOf } from '../errors.ts';
import type { PreprocessOptions, ReferenceImage } from './types.ts';

/**
 * The torchvision ImageNet evaluation transform (Resize(256), CenterCrop(224),
 * ToTensor, Normalize with the ImageNet statistics): what the backbones the
 * paper studies were trained and evaluated with (DESIGN §2 "Models").
 */
export const DEFAULT_PREPROCESS: PreprocessOptions = Object.freeze({
  resize: 256,
  crop: 224,
  channelOrder: 'RGB',
  scale: '0-1',
  mean: Object.freeze([0.485, 0.456, 0.406] as const),
  std: Object.freeze([0.229, 0.224, 0.225] as const),
  interpolation: 'bilinear',
  layout: 'NCHW',
});

/** The libvips kernel used for each configured interpolation. */
export const SHARP_KERNELS: Readonly<Record<PreprocessOptions['interpolation'], keyof KernelEnum>> = Object.freeze({
  bilinear: 'linear',
  bicubic: 'cubic',
  nearest: 'nearest',
  lanczos3: 'lanczos3',
});

/** Image extensions bias-gate reads, lower case with the dot. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.gif', '.avif'];

/**
 * Largest image bias-gate decodes, in pixels (width × height as stored): 8192×8192, 192 MiB as
 * 8-bit RGB. Checked from the header before decoding, and passed to libvips as `limitInputPixels`
 * so nothing larger is ever decoded. Real reference photos (COCO: 640×480) are far below it.
 */
export const MAX_INPUT_PIXELS = 8192 * 8192;

/**
 * Largest image after `Resize(resize)`, in pixels: 4096×4096, 48 MiB as 8-bit RGB. The shorter side
 * becomes `resize` and the longer grows with the aspect ratio, so a 1×20000 strip resized to 256 would
 * be 256×5,120,000 (1.3 G pixels); such images are refused from their header, before any decoding,
 * so the memory one image needs is bounded whatever its shape. With `resize: 256` this admits
 * aspect ratios up to 256:1.
 */
export const MAX_RESIZED_PIXELS = 4096 * 4096;

/** Colour spaces whose bytes are fed as they are; everything else is refused rather than converted by guesswork. */
const ACCEPTED_SPACES: ReadonlySet<string> = new Set(['srgb', 'rgb', 'b-w']);

/**
 * How images are opened:
 * - `autoOrient`: the pixels the model sees are the ones a viewer shows (EXIF orientation applied).
 * - `ignoreIcc`: PIL's `Image.open(p).convert('RGB')`, the torchvision loader, does not apply
 *   embedded ICC profiles, so the stored bytes are what the model was trained on.
 * - `failOn: 'error'`: libvips warnings such as "extraneous bytes before marker" occur in real
 *   datasets (COCO) on images that decode fine; only real errors and truncation reject an image.
 * - `limitInputPixels`: {@link MAX_INPUT_PIXELS}, a second guard behind the header check.
 */
const SHARP_INPUT_OPTIONS: SharpOptions = { autoOrient: true, ignoreIcc: true, failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS };

/** An 8-bit sRGB image, row-major, 3 interleaved bytes per pixel. */
interface RgbImage {
  width: number;
  height: number;
  data: Buffer;
}

/**
 * Turns one image file into the model's input tensor of length 3·crop·crop, following
 * torchvision's `Resize(resize) → CenterCrop(crop) → ToTensor → Normalize(mean, std)`:
 * EXIF orientation applied, alpha dropped, greyscale replicated to 3 channels, shorter
 * side resized to `resize` (skipped when it already is, so that path is pixel-exact),
 * the centred square cropped, then `(value − mean[c]) / std[c]` in float32 as PyTorch does.
 *
 * Layout `NCHW` stores channel c, row y, column x at `c·crop·crop + y·crop + x`;
 * `NHWC` at `(y·crop + x)·3 + c`. Channel 0 is blue when `channelOrder` is `BGR`.
 */
export async function preprocessImage(image: ReferenceImage, options: PreprocessOptions): Promise<Float32Array> {
  checkOptions(image, options);
  const decoded = await decodeRgb(image, options.resize);
  const target = resizedSize(decoded.width, decoded.height, options.resize);
  const resized =
    target.width === decoded.width && target.height === decoded.height
      ? decoded
      : await resizeRgb(image, decoded, target.width, target.height, options.interpolation);
  const offsets = centreCropOffsets(resized.width, resized.height, options.crop);
  return normalisedTensor(resized, offsets, options);
}

/** One line for reports: `resize shorter side to 256 (bilinear), centre crop 224×224, RGB, 0-1, mean […], std […], NCHW`. */
export function describePreprocessing(options: PreprocessOptions): string {
  const list = (values: readonly number[]): string => `[${values.join(', ')}]`;
  return [
    `resize shorter side to ${options.resize} (${options.interpolation})`,
    `centre crop ${options.crop}×${options.crop}`,
    options.channelOrder,
    `scale ${options.scale}`,
    `mean ${list(options.mean)}`,
    `std ${list(options.std)}`,
    options.layout,
  ].join(', ');
}

/**
 * Size after torchvision `Resize(int)` (`_compute_resized_output_size`): the shorter side
 * becomes `resize`, the longer `int(resize * long / short)`, truncated, not rounded.
 * A square image becomes `resize`×`resize`.
 */
export function resizedSize(width: number, height: number, resize: number): { width: number; height: number } {
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  // resize·long is an exact integer and IEEE division is correctly rounded, as in Python,
  // so the truncation lands on the same integer as torchvision's int(size * long / short).
  const newLong = Math.trunc((resize * long) / short);
  return width <= height ? { width: resize, height: newLong } : { width: newLong, height: resize };
}

/**
 * Top-left corner of torchvision's `center_crop`: `int(round((H − crop) / 2))`, with
 * Python's round-half-to-even, so an odd margin of 5 gives 2 (not 3) and 7 gives 4.
 */
export function centreCropOffsets(width: number, height: number, crop: number): { top: number; left: number } {
  return { top: roundHalfToEven((height - crop) / 2), left: roundHalfToEven((width - crop) / 2) };
}

/** Python 3 `round(x)`: nearest integer, ties to the even one. */
export function roundHalfToEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction < 0.5) return floor;
  if (fraction > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

function checkOptions(image: ReferenceImage, options: PreprocessOptions): void {
  const problem = optionsProblem(options);
  if (problem !== undefined) {
    throw new InputError(`Cannot preprocess ${image.relativePath}: ${problem}`, {
      hint: 'Fix vision.preprocess in the config (crop ≤ resize, positive integer sizes, non-zero std).',
    });
  }
}

function optionsProblem(options: PreprocessOptions): string | undefined {
  for (const key of ['resize', 'crop'] as const) {
    const value = options[key];
    if (!Number.isInteger(value) || value < 1) return `${key} must be a positive integer, found ${value}`;
  }
  if (options.crop > options.resize) return `crop (${options.crop}) is larger than resize (${options.resize})`;
  if (options.resize * options.resize > MAX_RESIZED_PIXELS) return `resize (${options.resize}) makes even a square image larger than ${MAX_RESIZED_PIXELS} pixels (MAX_RESIZED_PIXELS)`;
  if (options.mean.length !== 3 || !options.mean.every(Number.isFinite)) return `mean must be 3 finite numbers, found [${options.mean.join(', ')}]`;
  if (options.std.length !== 3 || !options.std.every((value) => Number.isFinite(value) && value !== 0)) {
    return `std must be 3 finite non-zero numbers, found [${options.std.join(', ')}]`;
  }
  return undefined;
}

/**
 * Why an image of `width`×`height` (from its header) is too large to preprocess with `resize`,
 * or undefined when it fits {@link MAX_INPUT_PIXELS} and {@link MAX_RESIZED_PIXELS}.
 */
export function pixelBudgetProblem(width: number, height: number, resize: number): string | undefined {
  if (width * height > MAX_INPUT_PIXELS) {
    return `is ${width}×${height} (${width * height} pixels); bias-gate decodes at most ${MAX_INPUT_PIXELS} pixels (MAX_INPUT_PIXELS)`;
  }
  const target = resizedSize(width, height, resize);
  if (target.width * target.height > MAX_RESIZED_PIXELS) {
    return (
      `is ${width}×${height}, which resizing the shorter side to ${resize} makes ${target.width}×${target.height} ` +
      `(${target.width * target.height} pixels); the limit is ${MAX_RESIZED_PIXELS} pixels (MAX_RESIZED_PIXELS)`
    );
  }
  return undefined;
}

/**
 * Reads and decodes `image` to 8-bit sRGB, refusing inputs whose conversion tools disagree on
 * and inputs too large to decode or to resize to `resize` (checked from the header first).
 */
async function decodeRgb(image: ReferenceImage, resize: number): Promise<RgbImage> {
  const file = image.relativePath;
  let bytes: Buffer;
  try {
    // Only a regular file, opened without blocking; loadReferenceSets checked it stays in the checkout.
    bytes = await readRegularFile(image.path, `Reference image ${file}`);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`Reference image ${file} could not be read: ${messageOf(error)}`, {
      hint: 'Check that the file exists and is readable.',
      cause: error,
    });
  }
  if (isGitLfsPointer(bytes.subarray(0, GIT_LFS_POINTER_HEAD_BYTES))) {
    throw new InputError(`Reference image ${file} is a Git LFS pointer, not an image`, {
      hint: 'Fetch the LFS objects: run actions/checkout with `lfs: true` (locally: `git lfs pull`).',
    });
  }

  let metadata: Metadata;
  try {
    // The header only: the size check below gives a clearer message than libvips' pixel limit.
    metadata = await sharp(bytes, { ...SHARP_INPUT_OPTIONS, limitInputPixels: false }).metadata();
  } catch (error) {
    throw notDecodable(file, error);
  }
  const tooLarge = pixelBudgetProblem(metadata.width ?? 0, metadata.height ?? 0, resize);
  if (tooLarge !== undefined) {
    throw new InputError(`Reference image ${file} ${tooLarge}`, {
      hint: 'Crop or downscale the image (or remove it from the reference set); extreme aspect ratios cannot be resized within bounded memory.',
    });
  }
  // CMYK → RGB depends on the colour profile and PIL ignores it; the tensor would be a guess.
  if (metadata.space === 'cmyk') {
    throw new InputError(`Reference image ${file} is a CMYK image`, {
      hint: 'Convert it to 8-bit sRGB (e.g. `magick in.jpg -colorspace sRGB out.jpg`).',
    });
  }
  // PIL and libvips disagree on 16-bit → 8-bit (clip vs scale), so no reduction is trustworthy.
  if (metadata.depth !== 'uchar') {
    const found = metadata.depth === 'ushort' || metadata.depth === 'short' ? '16-bit samples' : `'${metadata.depth}' samples`;
    throw new InputError(`Reference image ${file} has ${found}; bias-gate reads 8-bit images`, {
      hint: 'Convert it to 8-bit sRGB (e.g. `magick in.png -depth 8 out.png`).',
    });
  }
  if (!ACCEPTED_SPACES.has(metadata.space)) {
    throw new InputError(`Reference image ${file} is in the '${metadata.space}' colour space`, {
      hint: 'Convert it to 8-bit sRGB.',
    });
  }

  try {
    // removeAlpha, not flatten: PIL's convert('RGB') discards alpha and keeps the stored
    // colour of transparent pixels, so that is what a torchvision-trained model saw.
    const { data, info } = await sharp(bytes, SHARP_INPUT_OPTIONS)
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels after conversion to sRGB, got ${info.channels}`);
    return { width: info.width, height: info.height, data };
  } catch (error) {
    throw notDecodable(file, error);
  }
}

function notDecodable(file: string, error: unknown): InputError {
  return new InputError(`Reference image ${file} could not be decoded as an image: ${messageOf(error)}`, {
    hint: `Replace or remove the file; readable formats are ${IMAGE_EXTENSIONS.join(', ')}.`,
    cause: error,
  });
}

async function resizeRgb(
  image: ReferenceImage,
  source: RgbImage,
  width: number,
  height: number,
  interpolation: PreprocessOptions['interpolation'],
): Promise<RgbImage> {
  try {
    // From raw bytes, so no JPEG shrink-on-load or colour handling can change the result.
    const { data, info } = await sharp(source.data, { raw: { width: source.width, height: source.height, channels: 3 } })
      .resize(width, height, { fit: 'fill', kernel: SHARP_KERNELS[interpolation] })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.width !== width || info.height !== height || info.channels !== 3) {
      throw new Error(`expected ${width}×${height}×3, got ${info.width}×${info.height}×${info.channels}`);
    }
    return { width, height, data };
  } catch (error) {
    throw new Error(`Resizing reference image ${image.relativePath} to ${width}×${height} failed: ${messageOf(error)}`, { cause: error });
  }
}

/**
 * Crops and normalises in one pass. Each step is rounded to float32 the way PyTorch
 * computes it (`ToTensor`: byte/255 in float32; `Normalize`: `sub_(mean).div_(std)` with
 * float32 mean/std), so the values match torchvision's bit for bit given the same bytes.
 */
function normalisedTensor(image: RgbImage, offsets: { top: number; left: number }, options: PreprocessOptions): Float32Array {
  const crop = options.crop;
  const plane = crop * crop;
  // Output channel c reads source channel sourceChannel[c]: B, G, R for BGR models.
  const sourceChannel = options.channelOrder === 'RGB' ? [0, 1, 2] : [2, 1, 0];
  const divisor = options.scale === '0-1' ? 255 : 1;
  const lookup = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(options.mean[c] as number);
    const std = Math.fround(options.std[c] as number);
    for (let byte = 0; byte < 256; byte++) {
      const scaled = Math.fround(byte / divisor);
      lookup[c * 256 + byte] = Math.fround(scaled - mean) / std;
    }
  }

  const tensor = new Float32Array(3 * plane);
  const channelStride = options.layout === 'NCHW' ? plane : 1;
  const pixelStride = options.layout === 'NCHW' ? 1 : 3;
  for (let y = 0; y < crop; y++) {
    const rowStart = ((offsets.top + y) * image.width + offsets.left) * 3;
    for (let x = 0; x < crop; x++) {
      const pixel = rowStart + x * 3;
      const outPixel = (y * crop + x) * pixelStride;
      for (let c = 0; c < 3; c++) {
        const byte = image.data[pixel + (sourceChannel[c] as number)] as number;
        tensor[outPixel + c * channelStride] = lookup[c * 256 + byte] as number;
      }
    }
  }
  return tensor;
}
