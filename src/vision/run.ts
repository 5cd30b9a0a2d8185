import type { VisionConfig } from '../config/types.ts';
import { sha256File, sha256Text } from '../artifacts/hash.ts';
import { describeBaseStatus, describeModel, inPolicyTree, inTree, locateBaseModel, modelPathOf, type Checkouts, type ModelArtifact } from '../artifacts/models.ts';
import type { ItemScoring } from '../artifacts/item-scoring.ts';
import { cacheKey } from '../artifacts/result-cache.ts';
import { mapConcurrently } from '../concurrency.ts';
import { InputError } from '../errors.ts';
import { TOOL_VERSION } from '../version.ts';
import { checkGateMetrics, visionMetricNames } from '../gate/metric-names.ts';
import type { BaseStatus } from '../scores.ts';
import { openModel, type SessionOptions } from '../runtime/session.ts';
import { embedImages } from './embed.ts';
import { buildItemList, minimumSetSize, setsOf, type ItemContext } from './items.ts';
import { preprocessImage } from './preprocess.ts';
import { loadReferenceSets } from './reference-sets.ts';
import { BUILTIN_REFERENCE_SETS, loadBuiltinReferenceSets, type BuiltinFile, type BuiltinReferenceSetsRecord } from './builtin-sets.ts';
import type { Mirror } from '../artifacts/mirror.ts';
import { scoreVision, type VisionScores } from './score.ts';
import { CONTROL_SETS, GENDERS, type PreprocessOptions, type ReferenceSet } from './types.ts';
import { l2Normalize } from './vector.ts';

/** Reports what a long step is doing (the CLI prints it on stderr). */
export type Progress = (message: string) => void;

/** Audit record of one reference set: its images' content hash. */
export interface ReferenceSetRecord {
  name: string;
  images: number;
  /** sha256 of the sorted `sha256  path` lines of its images (sha256sum format). */
  sha256: string;
}

/** The vision half of a run: what was scored and the scores. */
export interface VisionRun {
  models: { pretrained: ModelArtifact; base: ModelArtifact | null; head: ModelArtifact };
  baseStatus: BaseStatus;
  referenceSets: {
    /** The configured directory or manifest (repository-relative), or `builtin:<name>`. */
    source: string;
    sha256: string;
    sets: ReferenceSetRecord[];
    /** A built-in set: pinned source, counts, files left out, and where each file was read; absent for a path. */
    builtin?: BuiltinReferenceSetsRecord;
  };
  objects: string[];
  /** Settings that shape the numbers, recorded beside them. */
  settings: { preprocess: PreprocessOptions; batchSize: number; bootstrap: { resamples: number; confidence: number }; seed: number };
  scores: VisionScores;
}

export interface VisionRunOptions {
  checkouts: Checkouts;
  scoring: ItemScoring;
  /** Config path as shown in messages. */
  configPath: string;
  progress: Progress;
  session: SessionOptions;
  /** Verified downloads (built-in reference sets), shared with the benchmark files. */
  cacheDir: string;
  /** Where pinned files are read instead of their public origin (artifacts/mirror.ts). */
  mirror: Mirror | undefined;
  /** Tests only: see {@link BuiltinLoadOptions.restrictManifest}. */
  restrictBuiltinManifest?: (file: BuiltinFile) => boolean;
}

/** Loads reference data and models, embeds every image with every model and scores them (DESIGN §2). */
/** Scores the vision models; null when this run is a shard (its slice is recorded in `options.scoring`). */
export async function runVision(vision: VisionConfig, options: VisionRunOptions): Promise<VisionRun | null> {
  const { checkouts, progress } = options;
  const { sets, source, builtin } = await referenceSetsFor(vision, options);
  const byName = new Map(sets.map((set) => [set.name, set]));
  // A built-in set brings its authors' objects and item lists (in their order) unless objects are configured.
  const builtinDefinition = vision.builtinReferenceSets && BUILTIN_REFERENCE_SETS[vision.builtinReferenceSets.name];
  const objects = vision.objects ?? builtinDefinition?.objects ?? deriveObjects(sets);
  const declaredItemLists = vision.objects === undefined ? builtinDefinition?.itemLists : undefined;
  checkReferenceSets(vision, objects, byName, declaredItemLists);
  checkGateMetrics(options.configPath, vision.gates, visionMetricNames(vision, objects));

  const basePath = modelPathOf('vision', 'base', vision.model, checkouts);
  const headPath = modelPathOf('vision', 'head', vision.model, checkouts);
  const base = await locateBaseModel(basePath, checkouts);
  const models = {
    pretrained: await describeModel('pretrained', vision.pretrained.repoRelative, inPolicyTree(vision.pretrained, checkouts), checkouts.policyRoot ?? checkouts.headRoot),
    base: base.absolute ? await describeModel('base', basePath, base.absolute, checkouts.baseRoot!) : null,
    head: await describeModel('head', headPath, inTree(checkouts.headRoot, headPath), checkouts.headRoot),
  };
  if (base.status !== 'scored') progress(`base model: ${describeBaseStatus(base.status)}`);

  // Every distinct image file is preprocessed once, whatever sets it belongs to.
  const imageIndex = new Map<string, number>();
  const images = sets.flatMap((set) => set.images).filter((image) => !imageIndex.has(image.path) && imageIndex.set(image.path, imageIndex.size));
  // Preprocessed only when some model has to embed them: a fully cached run decodes no image.
  let tensors: Promise<Float32Array[]> | undefined;
  const preprocessed = () => {
    if (!tensors) progress(`preprocessing ${images.length} reference images`);
    return (tensors ??= mapConcurrently(images, PREPROCESS_CONCURRENCY, (image) => preprocessImage(image, vision.preprocess)));
  };
  const members = new Map(sets.map((set) => [set.name, set.images.map((image) => imageIndex.get(image.path)!)]));

  const { crop, layout } = vision.preprocess;
  const imageShape = layout === 'NCHW' ? [3, crop, crop] : [crop, crop, 3];
  const referenceSets = { ...(await recordReferenceSets(source, sets)), ...(builtin ? { builtin } : {}) };
  const embed = async (model: ModelArtifact, label: string): Promise<Float32Array[] | undefined> => {
    // Embeddings depend only on the model bytes, the images, how they are read and the tool version.
    const key = cacheKey({ version: TOOL_VERSION, model: model.sha256, images: referenceSets.sha256, preprocess: vision.preprocess, input: vision.input ?? null, output: vision.embeddingOutput ?? null });
    return options.scoring.obtain('vision-embeddings', key, images.length, (indices) => embedWithSession(model, label, indices), `embedding with ${label}`);
  };
  const embedWithSession = async (model: ModelArtifact, label: string, indices: readonly number[]): Promise<Float32Array[]> => {
    // Each model is read inside the tree it came from: the base's, the PR's, or the policy's (pretrained).
    const root = model.role === 'base' ? checkouts.baseRoot! : model.role === 'pretrained' ? (checkouts.policyRoot ?? checkouts.headRoot) : checkouts.headRoot;
    const session = await openModel(model.absolute, label, { ...options.session, root });
    try {
      const all = await preprocessed();
      const raw = await embedImages(session, indices.map((i) => all[i]!), imageShape, {
        inputName: vision.input,
        outputName: vision.embeddingOutput,
        batchSize: vision.batchSize,
        onBatch: (done, total) => progress(`embedding with ${label}: ${done}/${total}`),
        imageLabel: (k) => `reference image ${images[indices[k]!]!.relativePath}`,
      });
      return raw.map(l2Normalize);
    } finally {
      await session.release();
    }
  };
  const pretrained = await embed(models.pretrained, `pretrained model ${models.pretrained.path}`);
  const baseEmbeddings = models.base ? await embed(models.base, `base model ${models.base.path}`) : null;
  const head = await embed(models.head, `head model ${models.head.path}`);
  // A shard run only records its slice of the embeddings; the merge aggregates.
  if (!pretrained || !head || baseEmbeddings === undefined) return null;
  const embeddings = { pretrained, base: baseEmbeddings, head };

  progress(`scoring (${vision.estimator} estimator, ${vision.bootstrap.resamples} bootstrap resamples)`);
  const scores = scoreVision({
    members,
    embeddings,
    objects,
    itemLists: vision.itemLists,
    declaredItemLists,
    ieat: vision.ieat,
    estimator: vision.estimator,
    bootstrap: vision.bootstrap,
    seed: vision.seed,
  });
  return {
    models,
    baseStatus: base.status,
    referenceSets,
    objects,
    settings: { preprocess: vision.preprocess, batchSize: vision.batchSize, bootstrap: vision.bootstrap, seed: vision.seed },
    scores,
  };
}

/** The configured reference sets: a directory or manifest in the repository, or a built-in set (downloaded, verified, cached). */
async function referenceSetsFor(vision: VisionConfig, options: VisionRunOptions): Promise<{ sets: ReferenceSet[]; source: string; builtin?: BuiltinReferenceSetsRecord }> {
  const { checkouts } = options;
  if (vision.builtinReferenceSets) {
    const loaded = await loadBuiltinReferenceSets(vision.builtinReferenceSets, {
      cacheDir: options.cacheDir,
      mirror: options.mirror,
      progress: options.progress,
      restrictManifest: options.restrictBuiltinManifest,
    });
    return { sets: loaded.sets, source: `builtin:${vision.builtinReferenceSets.name}`, builtin: loaded.record };
  }
  const configured = vision.referenceSets!;
  return { sets: await loadReferenceSets(inPolicyTree(configured, checkouts), checkouts.policyRoot ?? checkouts.headRoot), source: configured.repoRelative };
}

/** Images decoded at once: libvips works on its own threads, so a few in flight keep the cores busy. */
export const PREPROCESS_CONCURRENCY = 4;

/** Objects default to every single-concept set that is not a gender or a control. */
export function deriveObjects(sets: readonly ReferenceSet[]): string[] {
  const reserved = new Set<string>([...GENDERS, ...CONTROL_SETS]);
  return sets.filter((set) => set.gender === undefined && !reserved.has(set.name)).map((set) => set.name);
}

/** Every set the configured scores need exists and is large enough, before any model runs. */
function checkReferenceSets(vision: VisionConfig, objects: readonly string[], byName: ReadonlyMap<string, ReferenceSet>, declared: ItemContext['declared']): void {
  const require = (name: string, minimum: number, purpose: string) => {
    const set = byName.get(name);
    if (!set) {
      throw new InputError(`reference set "${name}" is missing; ${purpose} needs it. Sets found: ${[...byName.keys()].join(', ')}`, {
        hint: 'Add a sub-directory (or manifest rows) with that name; `_` in a directory name reads as a space.',
      });
    }
    if (set.images.length < minimum) {
      throw new InputError(`reference set "${name}" has ${set.images.length} image${set.images.length === 1 ? '' : 's'}; ${purpose} needs at least ${minimum}`);
    }
  };
  if (objects.length === 0) throw new InputError('no objects to score: the reference sets hold only man, woman and control sets', { hint: 'Add object sets (e.g. surfboard) or list vision.objects.' });
  for (const object of objects) require(object, 1, `the gender gap of "${object}"`);
  for (const gender of GENDERS) require(gender, 1, 'the gender gaps');
  const context = { objects, setNames: new Set(byName.keys()), declared };
  for (const list of vision.itemLists) {
    for (const item of buildItemList(list, context)) {
      for (const name of setsOf(item)) require(name, minimumSetSize(item.kind, vision.estimator), `the "${list}" item list (${vision.estimator} estimator)`);
    }
  }
  for (const test of vision.ieat) {
    for (const gender of GENDERS) require(gender, 2, `iEAT "${test.name}" (targets need a standard deviation)`);
    for (const attribute of test.attributes) require(attribute, 1, `iEAT "${test.name}"`);
  }
}

async function recordReferenceSets(source: string, sets: readonly ReferenceSet[]): Promise<VisionRun['referenceSets']> {
  const records: ReferenceSetRecord[] = [];
  const allLines: string[] = [];
  for (const set of sets) {
    const lines: string[] = [];
    for (const image of set.images) lines.push(`${await sha256File(image.path, `reference image ${image.relativePath}`)}  ${image.relativePath}\n`);
    lines.sort();
    allLines.push(...lines.map((line) => `${set.name}\t${line}`));
    records.push({ name: set.name, images: set.images.length, sha256: sha256Text(lines.join('')) });
  }
  return { source, sha256: sha256Text(allLines.sort().join('')), sets: records };
}
