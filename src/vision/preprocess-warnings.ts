import type { PreprocessOptions } from './types.ts';
import { DEFAULT_PREPROCESS } from './preprocess.ts';

/**
 * Preprocessing settings that are valid but almost certainly wrong (issue 11): `scale: 0-255`
 * feeds pixels in 0..255, while mean/std all ≤ 1 (the default ImageNet values among them) are
 * statistics of pixels in 0..1. Normalised that way every input is ~4 standard deviations off,
 * and the embeddings (so every BTS and gap) describe saturated inputs, not the images.
 */
export function preprocessWarnings(preprocess: Pick<PreprocessOptions, 'scale' | 'mean' | 'std'>): string[] {
  if (preprocess.scale !== '0-255') return [];
  if (![...preprocess.mean, ...preprocess.std].every((value) => Math.abs(value) <= 1)) return [];
  const isDefault = preprocess.mean.every((value, c) => value === DEFAULT_PREPROCESS.mean[c]) && preprocess.std.every((value, c) => value === DEFAULT_PREPROCESS.std[c]);
  const which = isDefault ? 'the default ImageNet mean/std, which are for pixels in 0-1' : `mean [${preprocess.mean.join(', ')}] and std [${preprocess.std.join(', ')}], values for pixels in 0-1`;
  return [
    `vision.preprocess: scale 0-255 is combined with ${which}: the model's inputs will be far outside the range it was trained on. Either set scale: 0-1, or give mean/std in 0-255 units (ImageNet: mean [123.675, 116.28, 103.53], std [58.395, 57.12, 57.375]).`,
  ];
}
