// Vision throughput on real photos: the BTS authors' Open Images analysis set (the shared copy, 20 per
// set, 320 PNGs with shorter side 256, so only the 224 centre crop changes pixels), embedded by the real
// SqueezeNet 1.1 of $BIAS_GATE_SHARED/models, and by the ResNet-50-shape model when bench/.models has it.
import { existsSync, statSync } from 'node:fs';
import { cp, mkdir, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseMirror } from '../src/artifacts/mirror.ts';
import { mapConcurrently } from '../src/concurrency.ts';
import { openModel } from '../src/runtime/session.ts';
import { BUILTIN_REFERENCE_SETS, loadBuiltinReferenceSets, mirrorPathOf } from '../src/vision/builtin-sets.ts';
import { embedImages } from '../src/vision/embed.ts';
import { DEFAULT_PREPROCESS, preprocessImage } from '../src/vision/preprocess.ts';
import { PREPROCESS_CONCURRENCY } from '../src/vision/run.ts';
import type { PreprocessOptions } from '../src/vision/types.ts';
import { recordingSession, replay, timed, type RecordedBatch } from './measure.ts';

export interface OpenImagesModelFigures {
  model: string;
  rawImagesPerSecond: number;
  /** Decode, crop, normalise and embed with one model. */
  scorerImagesPerSecond: number;
  /** Decoded once, embedded by three models, as a gate does: image-embeddings per second. */
  threeModelEmbeddingsPerSecond: number;
}

export interface OpenImagesFigures {
  images: number;
  sets: number;
  megabytes: number;
  decodeImagesPerSecond: number;
  models: OpenImagesModelFigures[];
  /** The built-in set from a mirror directory: copied and verified (git blob id + sha256) into an empty cache, then re-verified from a warm one. */
  mirrorColdFilesPerSecond: number;
  mirrorWarmFilesPerSecond: number;
}

const BATCH = 16;

/** Measures, or returns undefined when the shared copy or SqueezeNet is not there. */
export async function measureOpenImages(shared: string, models: string, threads: number, log: (message: string) => void): Promise<OpenImagesFigures | undefined> {
  const directory = path.join(shared, 'reference-sets/openimages-analysis');
  const squeezenet = path.join(shared, 'models/squeezenet1.1/pretrained.onnx');
  if (!existsSync(directory) || !existsSync(squeezenet)) {
    log(`open images: skipped (needs ${directory} and ${squeezenet})`);
    return undefined;
  }
  const setDirs = (await readdir(directory, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  const files: string[] = [];
  for (const setDir of setDirs) for (const name of (await readdir(path.join(directory, setDir))).sort()) files.push(path.join(directory, setDir, name));
  let bytes = 0;
  for (const file of files) bytes += statSync(file).size;

  const squeezenetPreprocess: PreprocessOptions = { ...DEFAULT_PREPROCESS, channelOrder: 'BGR', scale: '0-255', mean: [0, 0, 0], std: [1, 1, 1] };
  const decode = (options: PreprocessOptions) => mapConcurrently(files, PREPROCESS_CONCURRENCY, (file) => preprocessImage({ path: file, relativePath: path.basename(file) }, options));
  log(`open images: decoding ${files.length} photos`);
  await decode(DEFAULT_PREPROCESS); // warm-up: file cache and libvips
  const decoding = await timed(() => decode(DEFAULT_PREPROCESS));

  const candidates = [
    { model: 'SqueezeNet 1.1 (real weights, 512-d embedding)', file: squeezenet, input: 'input', output: 'embedding', preprocess: squeezenetPreprocess },
    { model: 'ResNet-50 shape (random weights, 2,048-d)', file: path.join(models, 'resnet50/model.onnx'), input: undefined, output: 'embedding', preprocess: DEFAULT_PREPROCESS },
  ].filter((candidate) => existsSync(candidate.file));
  const figures: OpenImagesModelFigures[] = [];
  for (const candidate of candidates) {
    log(`open images: ${candidate.model}`);
    const session = await openModel(candidate.file, candidate.model, { intraOpThreads: threads });
    const embed = (tensors: Float32Array[], on = session) => embedImages(on, tensors, [3, 224, 224], { batchSize: BATCH, inputName: candidate.input, outputName: candidate.output });
    await embed((await decode(candidate.preprocess)).slice(0, BATCH)); // warm-up, full batch
    const batches: RecordedBatch[] = [];
    const scorer = await timed(async () => embed(await decode(candidate.preprocess), recordingSession(session, batches)));
    const raw = await replay(session, batches);
    const three = await timed(async () => {
      const tensors = await decode(candidate.preprocess);
      for (let model = 0; model < 3; model++) await embed(tensors);
    });
    await session.release();
    figures.push({ model: candidate.model, rawImagesPerSecond: files.length / raw, scorerImagesPerSecond: files.length / scorer.seconds, threeModelEmbeddingsPerSecond: (3 * files.length) / three.seconds });
  }

  // The built-in set through BIAS_GATE_MIRROR pointing at a directory: the shared files laid out as the mirror.
  log('open images: built-in set from a mirror directory, cold and warm cache');
  const scratch = path.join(os.tmpdir(), `bias-gate-bench-mirror-${process.pid}`);
  const definition = BUILTIN_REFERENCE_SETS['openimages-analysis'];
  const present = new Set(files.map((file) => `${path.basename(path.dirname(file))}/${path.basename(file, '.png')}`));
  const restrictManifest = (file: { setDir: string; id: string }) => present.has(`${file.setDir}/${file.id}`);
  try {
    for (const file of definition.files.filter(restrictManifest)) {
      const target = path.join(scratch, 'mirror', mirrorPathOf(definition, file));
      await mkdir(path.dirname(target), { recursive: true });
      await cp(path.join(directory, file.setDir, `${file.id}.png`), target);
    }
    const load = () => loadBuiltinReferenceSets({ name: 'openimages-analysis', maxPerSet: undefined, seed: 1 }, { cacheDir: path.join(scratch, 'cache'), mirror: parseMirror(path.join(scratch, 'mirror'), '/', 'BIAS_GATE_MIRROR'), progress: () => undefined, restrictManifest });
    const cold = await timed(load);
    const warm = await timed(load);
    return { images: files.length, sets: setDirs.length, megabytes: bytes / 1e6, decodeImagesPerSecond: files.length / decoding.seconds, models: figures, mirrorColdFilesPerSecond: files.length / cold.seconds, mirrorWarmFilesPerSecond: files.length / warm.seconds };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

const f = (value: number, digits = 1) => value.toFixed(digits);
export const OPEN_IMAGES_BEGIN = '<!-- open-images: begin -->';
export const OPEN_IMAGES_END = '<!-- open-images: end -->';

/** The results.md section, between markers so `--only open-images` can replace it alone. */
export function openImagesSection(figures: OpenImagesFigures | undefined, machine: string): string {
  const body =
    figures === undefined
      ? 'Not measured: needs `$BIAS_GATE_SHARED/reference-sets/openimages-analysis` and `$BIAS_GATE_SHARED/models/squeezenet1.1`.'
      : `${machine}

${figures.images} real photos in ${figures.sets} sets (${f(figures.megabytes)} MB of 8-bit PNG, shorter side 256: resize is the identity, the 224 centre crop the only pixel change), batches of ${BATCH}.

| model | raw forward images/s | scorer, one model: decode, crop, normalise, embed (images/s) | three models as in a gate (image-embeddings/s) |
|---|---:|---:|---:|
${figures.models.map((m) => `| ${m.model} | ${f(m.rawImagesPerSecond)} | ${f(m.scorerImagesPerSecond)} | ${f(m.threeModelEmbeddingsPerSecond)} |`).join('\n')}

| step | files/s |
|---|---:|
| decoding alone (PNG decode, crop, normalise; no model running) | ${f(figures.decodeImagesPerSecond)} |
| \`builtin: openimages-analysis\` from a mirror directory into an empty cache (copy, git blob id + sha256) | ${f(figures.mirrorColdFilesPerSecond)} |
| the same from the warm cache (every file verified again) | ${f(figures.mirrorWarmFilesPerSecond)} |`;
  return `${OPEN_IMAGES_BEGIN}
## Vision on real photos (the BTS authors' Open Images analysis set, shared copy)

${body}
${OPEN_IMAGES_END}`;
}
