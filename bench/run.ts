// npm run bench: the figures of bench/results.md, measured in one run on this machine.
// Models with random weights are built here (bench/.models/, never committed); see bench/README.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import { crowsPairsBenchmark } from '../src/language/crows-pairs.ts';
import { parseCrowsPairs } from '../src/language/datasets/crows-pairs.ts';
import { parseStereoSet } from '../src/language/datasets/stereoset.ts';
import { screenedScore, type ScreenRecord } from '../src/language/int8-screen.ts';
import { leadingTokens } from '../src/language/leading-tokens.ts';
import { loadLanguageModel } from '../src/language/model.ts';
import { perplexityBenchmark, perplexityWindows, type PerplexityItem } from '../src/language/perplexity.ts';
import { stereoSetBenchmark } from '../src/language/stereoset.ts';
import type { LanguageModel, LanguageModelKind } from '../src/language/types.ts';
import type { CrowsPair } from '../src/language/datasets/crows-pairs.ts';
import type { CrowsResult } from '../src/language/crows-pairs.ts';
import { openModel, type ModelSession } from '../src/runtime/session.ts';
import { embedImages } from '../src/vision/embed.ts';
import { mapConcurrently } from '../src/concurrency.ts';
import { DEFAULT_PREPROCESS, preprocessImage } from '../src/vision/preprocess.ts';
import { PREPROCESS_CONCURRENCY } from '../src/vision/run.ts';
import { gpt2TokenizerConfig, gpt2TokenizerJson } from './gpt2-tokenizer.ts';
import { measureOpenImages, OPEN_IMAGES_BEGIN, OPEN_IMAGES_END, openImagesSection } from './open-images.ts';
import { floorFor, paddingWaste, rawForwardFloor, recordingModel, recordingSession, replay, replayOn, replayReturningLogits, timed, transformerFlops, type ForwardFloor, type RecordedBatch } from './measure.ts';
import { measureFmaPeak, measureMatMulRates, type FmaPeak, type MatMulRate } from './peak.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const MODELS = path.join(ROOT, 'bench/.models');
const SHARED = path.resolve(ROOT, process.env.BIAS_GATE_SHARED ?? '../shared');
const THREADS = os.availableParallelism();
const BATCH = 32;
const PERPLEXITY_TOKENS = 20_000;
const IMAGES = 300;
const log = (message: string) => console.error(`bench: ${message}`);

// ---------------------------------------------------------------- models
function python(): string {
  for (const candidate of [process.env.BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean) as string[]) {
    if (spawnSync(candidate, ['-c', 'import torch, onnx'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  throw new Error('no Python with torch and onnx: apt-get install python3-torch python3-onnx (or set BENCH_PYTHON)');
}

function ensureModels(only?: 'crows'): void {
  const build = (file: string, args: string[]) => {
    if (existsSync(file)) return;
    mkdirSync(path.dirname(file), { recursive: true });
    log(`building ${path.relative(ROOT, file)}`);
    execFileSync(python(), args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  };
  // GPT-2 small: one seeded state_dict (weights.pt, for the PyTorch scorer), exported without a past as the
  // shared tool does and with one as Optimum does (bench/make_models.py gpt2). An older bench/.models/gpt2
  // from the shared tool alone has no weights.pt: it is rebuilt.
  if (!existsSync(path.join(MODELS, 'gpt2/weights.pt')) || !existsSync(path.join(MODELS, 'gpt2-past/model.onnx'))) {
    mkdirSync(MODELS, { recursive: true });
    log('building bench/.models/gpt2 and bench/.models/gpt2-past');
    // The base and head variants are perturbed copies of gpt2: rebuilt from the new one.
    for (const name of ['base', 'head', 'head2']) rmSync(path.join(MODELS, `gpt2-${name}`), { recursive: true, force: true });
    execFileSync(python(), ['bench/make_models.py', 'gpt2', path.join(MODELS, 'gpt2'), path.join(MODELS, 'gpt2-past')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, BIAS_GATE_SHARED: SHARED } });
  }
  if (only !== 'crows') ensureOtherModels(build);
  writeTokenizers();
}

function ensureOtherModels(build: (file: string, args: string[]) => void): void {
  build(path.join(MODELS, 'bert/model.onnx'), ['bench/make_models.py', 'bert', path.join(MODELS, 'bert/model.onnx'), '50261']);
  build(path.join(MODELS, 'resnet50/model.onnx'), ['bench/make_models.py', 'resnet50', path.join(MODELS, 'resnet50/model.onnx')]);
  // Base and head variants: other bytes, the same cost, so a cached base and a scored head can be told apart.
  for (const [name, seed] of [['base', 1], ['head', 2], ['head2', 3]] as const) {
    build(path.join(MODELS, `gpt2-${name}/model.onnx`), ['bench/make_models.py', 'perturb', path.join(MODELS, 'gpt2/model.onnx'), path.join(MODELS, `gpt2-${name}/model.onnx`), String(seed)]);
    build(path.join(MODELS, `resnet50-${name}/model.onnx`), ['bench/make_models.py', 'perturb', path.join(MODELS, 'resnet50/model.onnx'), path.join(MODELS, `resnet50-${name}/model.onnx`), String(seed)]);
  }
}

function writeTokenizers(): void {
  for (const dir of ['gpt2', 'gpt2-past', 'gpt2-base', 'gpt2-head', 'gpt2-head2', 'bert']) {
    if (!existsSync(path.join(MODELS, dir))) continue;
    const kind = dir === 'bert' ? 'masked' : 'causal';
    writeFileSync(path.join(MODELS, dir, 'tokenizer.json'), JSON.stringify(gpt2TokenizerJson(kind)));
    writeFileSync(path.join(MODELS, dir, 'tokenizer_config.json'), JSON.stringify(gpt2TokenizerConfig(kind)));
  }
}

// ---------------------------------------------------------------- data
const crowsText = () => readFileSync(path.join(SHARED, 'benchmarks/crows-pairs/crows_pairs_anonymized.csv'), 'utf8');
const wikiText = () => readFileSync(path.join(SHARED, 'benchmarks/wikitext-2/test.txt'), 'utf8');

/** StereoSet's real files are not on this machine: the fixture sample, repeated to dev.json's 2,106 clusters, in the official schema. */
function stereoSetText(): string {
  const sample = JSON.parse(readFileSync(path.join(ROOT, 'fixtures/language/benchmarks/stereoset_sample.json'), 'utf8'));
  const clusters = sample.data.intrasentence as { id: string; target: string; sentences: { id: string }[] }[];
  const repeated = Array.from({ length: 2106 }, (_, k) => {
    const cluster = structuredClone(clusters[k % clusters.length]!);
    cluster.id = `${cluster.id}-${k}`;
    cluster.target = `${cluster.target} ${Math.floor(k / clusters.length)}`;
    cluster.sentences.forEach((sentence) => (sentence.id = `${sentence.id}-${k}`));
    return cluster;
  });
  return JSON.stringify({ version: 'bench', data: { intrasentence: repeated, intersentence: [] } });
}

async function writeImages(directory: string): Promise<string[]> {
  // 300 photo-sized images in 12 sets of 25 (noise with a per-set tint), so resizing and cropping do real work.
  const sets = ['man', 'woman', 'random', 'stop_sign', 'surfboard', 'umbrella', 'kitchen', 'surfboard+man', 'surfboard+woman', 'umbrella+man', 'umbrella+woman', 'kitchen+woman'];
  const files: string[] = [];
  for (let k = 0; k < IMAGES; k++) {
    const set = sets[k % sets.length]!;
    const file = path.join(directory, set, `${String(k).padStart(3, '0')}.jpg`);
    if (!existsSync(file)) {
      mkdirSync(path.dirname(file), { recursive: true });
      const pixels = Buffer.alloc(480 * 360 * 3);
      for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 2654435761 + k * 97 + (i % 3) * (sets.indexOf(set) * 19)) % 251;
      await sharp(pixels, { raw: { width: 480, height: 360, channels: 3 } }).jpeg({ quality: 85 }).toFile(file);
    }
    files.push(file);
  }
  return files;
}

// ---------------------------------------------------------------- component measurements
interface ComponentFigures {
  name: string;
  items: number;
  forwardPasses: number;
  tokens: number;
  scorerSeconds: number;
  /** The model kind's floor (bench/measure.ts floorFor): forward + the normaliser the score needs. */
  floorSeconds?: number;
  /** Forward passes alone, the old floor: logits computed, kept in onnxruntime. */
  rawSeconds: number;
  /** The unmodified model with its logits returned to JavaScript (language only). */
  logitsSeconds?: number;
  waste: number;
  /** Matrix-product FLOPs of the padded batches (measure.ts transformerFlops). */
  flops: number;
  /** GFLOP/s of the raw forward replay. */
  gflops: number;
}

/** Sessions the recorded batches are replayed on (bench/measure.ts). */
interface Replays {
  floorDefinition: ForwardFloor;
  floor: ModelSession;
  raw: ModelSession;
  plain: ModelSession;
}

/** The scorer must run as users get it: the log-softmax inside the graph, at the read positions only. */
function requireReadPositions(model: LanguageModel): void {
  if (!model.inputs.readPositions) throw new Error(`${model.displayPath}: the read-position rewrite (with its log-softmax) was not applied to the graph`);
}

async function openReplays(modelPath: string, kind: LanguageModelKind): Promise<Replays> {
  const floorDefinition = floorFor(kind);
  return {
    floorDefinition,
    floor: await floorDefinition.open(modelPath, THREADS),
    raw: await rawForwardFloor.open(modelPath, THREADS),
    plain: await openModel(modelPath, modelPath, { intraOpThreads: THREADS }),
  };
}

async function closeReplays(replays: Replays): Promise<void> {
  await replays.floor.release();
  await replays.raw.release();
  await replays.plain.release();
}

type Scorer<Item, Result> = { score: (m: LanguageModel, items: readonly Item[], o: { convention: 'bias-bench'; batch: { batchSize: number; maxBatchTokens?: number } }) => Promise<Result[]> };

async function languageComponent<Item, Result>(
  name: string,
  model: LanguageModel,
  replays: Replays,
  benchmark: Scorer<Item, Result>,
  items: readonly Item[],
  shape: { layers: number; d: number; vocabulary: number },
  maxBatchTokens?: number,
): Promise<ComponentFigures & { results: Result[] }> {
  // Each batch the scorer runs is replayed at once on the kind's floor, on the raw forward and on the
  // plain model, so all four are timed under the same conditions; the replays' time is taken out of
  // the scorer's.
  let [floorSeconds, rawSeconds, logitsSeconds] = [0, 0, 0];
  const replayEach = async (batch: RecordedBatch) => {
    floorSeconds += await replayOn(replays.floorDefinition, replays.floor, [batch]);
    rawSeconds += await replayOn(rawForwardFloor, replays.raw, [batch]);
    logitsSeconds += await replayReturningLogits(replays.plain, [batch]);
  };
  const options = { convention: 'bias-bench', batch: { batchSize: BATCH, maxBatchTokens } } as const;
  // Warm-up on a slice, so onnxruntime has grown its memory for these shapes before the timing.
  await benchmark.score(recordingModel(model, [], replayEach), items.slice(0, Math.max(4, Math.ceil(items.length / 20))), options);
  [floorSeconds, rawSeconds, logitsSeconds] = [0, 0, 0];
  const batches: RecordedBatch[] = [];
  log(`${name}: scoring ${items.length} items, each batch replayed three times`);
  const run = await timed(() => benchmark.score(recordingModel(model, batches, replayEach), items, options));
  const tokens = batches.reduce((sum, b) => sum + b.real, 0);
  const flops = transformerFlops(batches, shape);
  return {
    name, items: items.length, forwardPasses: batches.length, tokens, results: run.value,
    scorerSeconds: run.seconds - floorSeconds - rawSeconds - logitsSeconds, floorSeconds, rawSeconds, logitsSeconds,
    waste: paddingWaste(batches), flops, gflops: flops / rawSeconds / 1e9,
  };
}

// ---------------------------------------------------------------- this machine's peak
interface Peaks {
  fma: FmaPeak;
  matMul: MatMulRate[];
}

async function measurePeaks(): Promise<Peaks> {
  log(`peak: FMA probe on ${THREADS} processes, onnxruntime MatMul on ${THREADS} threads`);
  return { fma: await measureFmaPeak(path.join(MODELS, 'peak'), THREADS), matMul: await measureMatMulRates(path.join(MODELS, 'peak'), THREADS) };
}

/**
 * The better of two peak measurements, entry by entry. A peak is an upper bound, and on a machine
 * shared with other work the lower reading is the other work's: the bench measures before and after
 * its scorers and keeps the best.
 */
function bestPeaks(a: Peaks, b: Peaks): Peaks {
  const fma = !('gflops' in a.fma) ? b.fma : !('gflops' in b.fma) ? a.fma : a.fma.gflops >= b.fma.gflops ? a.fma : b.fma;
  return { fma, matMul: a.matMul.map((rate, k) => (rate.gflops >= b.matMul[k]!.gflops ? rate : b.matMul[k]!)) };
}

/** How results.md describes the masked floor (bench/measure.ts). */
function maskedFloorName(): string {
  return 'the model with the vocabulary projection, its log-softmax and the gather only at the read (masked) positions: bias-gate\'s rewritten graph, replayed with the scorer\'s feeds';
}

/** The best MatMul rate onnxruntime reached: what its kernels can do on this machine. */
const bestMatMul = (peaks: Peaks) => Math.max(...peaks.matMul.map((rate) => rate.gflops));

/** A rate and its share of both peaks, formatted: GFLOP/s, % of the FMA peak ("n/a" without a compiler), % of the best ORT MatMul. */
function rateParts(gflops: number, peaks: Peaks): { gflops: string; ofFma: string; ofMatMul: string } {
  return { gflops: f(gflops, 0), ofFma: 'gflops' in peaks.fma ? pct(gflops / peaks.fma.gflops) : 'n/a', ofMatMul: pct(gflops / bestMatMul(peaks)) };
}

/** The three table cells of {@link rateParts}. */
function rateCells(gflops: number, peaks: Peaks): string {
  const parts = rateParts(gflops, peaks);
  return `${parts.gflops} | ${parts.ofFma} | ${parts.ofMatMul}`;
}

function peakTable(peaks: Peaks): string {
  const fma = 'gflops' in peaks.fma
    ? `| float32 FMA peak, ${peaks.fma.processes} processes (bench/fma-peak.c, \`cc -O2 -march=native\`, ${peaks.fma.vectorBits}-bit vectors; ${peaks.fma.compiler}) | ${f(peaks.fma.gflops, 0)} |`
    : `| float32 FMA peak | not measured: ${peaks.fma.missing} |`;
  const matMul = peaks.matMul.map((rate) => `| onnxruntime MatMul [${rate.m}×${rate.k}]·[${rate.k}×${rate.n}] (${rate.role}), ${THREADS} threads | ${f(rate.gflops, 0)} |`);
  return `| peak | GFLOP/s |\n|---|---:|\n${[fma, ...matMul].join('\n')}`;
}

async function visionComponent(files: string[]): Promise<ComponentFigures & { imagesPerSecond: number; rawImagesPerSecond: number; threeModelSeconds: number; preprocessSeconds: number }> {
  const session = await openModel(path.join(MODELS, 'resnet50/model.onnx'), 'resnet50', { intraOpThreads: THREADS });
  const batches: RecordedBatch[] = [];
  const recorded = recordingSession(session, batches);
  // Warm-up on a non-zero image: an all-zero embedding is refused (src/vision/embed.ts), as it should be.
  await embedImages(session, [Float32Array.from({ length: 3 * 224 * 224 }, (_, k) => ((k * 2654435761) % 1000) / 500 - 1)], [3, 224, 224], { batchSize: 1, outputName: 'embedding' });
  log(`vision: preprocessing and embedding ${files.length} images`);
  // As runVision does it: a few images decoded at once, then batches of 16.
  const preprocess = () => mapConcurrently(files, PREPROCESS_CONCURRENCY, (file) => preprocessImage({ path: file, relativePath: path.basename(file) }, DEFAULT_PREPROCESS));
  await embedImages(session, (await preprocess()).slice(0, 16), [3, 224, 224], { batchSize: 16, outputName: 'embedding' }); // warm-up, full batch
  const scorer = await timed(async () => embedImages(recorded, await preprocess(), [3, 224, 224], { batchSize: 16, outputName: 'embedding' }));
  const rawSeconds = await replay(session, batches);
  // A gate embeds the same images with up to three models (pretrained, base, head) and decodes them once.
  log('vision: decoding once, embedding three times');
  const threeModels = await timed(async () => {
    const tensors = await preprocess();
    for (let model = 0; model < 3; model++) await embedImages(session, tensors, [3, 224, 224], { batchSize: 16, outputName: 'embedding' });
  });
  const preprocessing = await timed(preprocess);
  await session.release();
  // ResNet-50: 4.1 GMACs per 224×224 image.
  return { name: 'vision: ResNet-50, 300 images', items: files.length, forwardPasses: batches.length, tokens: files.length, scorerSeconds: scorer.seconds, rawSeconds, waste: 0, flops: files.length * 2 * 4.1e9, gflops: (files.length * 2 * 4.1e9) / rawSeconds / 1e9, imagesPerSecond: files.length / scorer.seconds, rawImagesPerSecond: files.length / rawSeconds, threeModelSeconds: threeModels.seconds, preprocessSeconds: preprocessing.seconds };
}

// ---------------------------------------------------------------- whole-gate runs (the built CLI, as a user runs it)
const GATE = path.join(MODELS, 'gate');

function prepareGateRepository(images: string[]): void {
  rmSync(GATE, { recursive: true, force: true });
  mkdirSync(path.join(GATE, '.git'), { recursive: true });
  const link = (from: string, to: string) => {
    mkdirSync(path.dirname(to), { recursive: true });
    linkSync(from, to); // hard links: the gate repository holds real files without copying 500 MB models
  };
  const languageModel = (variant: string, to: string) => {
    for (const file of ['model.onnx', 'tokenizer.json', 'tokenizer_config.json']) link(path.join(MODELS, variant, file), path.join(to, file));
  };
  languageModel('gpt2-head', path.join(GATE, 'models/lm'));
  languageModel('gpt2-base', path.join(GATE, 'base/models/lm'));
  link(path.join(MODELS, 'resnet50/model.onnx'), path.join(GATE, 'models/backbone.onnx'));
  link(path.join(MODELS, 'resnet50-head/model.onnx'), path.join(GATE, 'models/classifier.onnx'));
  link(path.join(MODELS, 'resnet50-base/model.onnx'), path.join(GATE, 'base/models/classifier.onnx'));
  for (const file of images) link(file, path.join(GATE, 'data/sets', path.relative(path.join(MODELS, 'images'), file)));
  mkdirSync(path.join(GATE, 'data'), { recursive: true });
  writeFileSync(path.join(GATE, 'data/crows.csv'), crowsText());
  writeFileSync(path.join(GATE, 'data/stereoset.json'), stereoSetText());
  writeFileSync(path.join(GATE, 'data/wiki.txt'), wikiText());
  writeFileSync(path.join(GATE, 'thresholds.yaml'), `version: 1
vision:
  pretrained: models/backbone.onnx
  model: models/classifier.onnx
  input: pixels
  embedding_output: embedding
  reference_sets: data/sets
  item_lists: [object, pairs, indiv, comps]
  gates:
    - metric: bts.object
      min: -1
language:
  model: models/lm
  kind: causal
  target_domain: gender
  batch_size: ${BATCH}
  benchmarks:
    crows_pairs: { path: data/crows.csv }
    stereoset: { path: data/stereoset.json }
    perplexity: { path: data/wiki.txt, max_tokens: ${PERPLEXITY_TOKENS} }
  gates:
    - metric: crows_pairs.gender
      max_bias_increase: 100
`);
}

/** Runs the CLI in a child process under GNU time: wall seconds and peak resident memory. */
function runCli(args: string[], cwd: string): { seconds: number; peakMiB: number; code: number } {
  const result = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, path.join(ROOT, 'dist/cli.js'), ...args], { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const [seconds, kib] = (result.stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
  if (!Number.isFinite(seconds)) throw new Error(`cli failed: ${result.stderr.slice(-2000)}`);
  return { seconds: seconds!, peakMiB: kib! / 1024, code: result.status ?? -1 };
}

function perplexityMemory(tokens: number, batchSize: number): { seconds: number; peakMiB: number } {
  const directory = path.join(MODELS, `ppl-${tokens}-${batchSize}`);
  rmSync(directory, { recursive: true, force: true });
  mkdirSync(path.join(directory, '.git'), { recursive: true });
  for (const file of ['model.onnx', 'tokenizer.json', 'tokenizer_config.json']) {
    mkdirSync(path.join(directory, 'lm'), { recursive: true });
    linkSync(path.join(MODELS, 'gpt2', file), path.join(directory, 'lm', file));
  }
  writeFileSync(path.join(directory, 'wiki.txt'), wikiText());
  writeFileSync(path.join(directory, 'thresholds.yaml'), `version: 1\nlanguage:\n  model: lm\n  kind: causal\n  batch_size: ${batchSize}\n  benchmarks:\n    perplexity: { path: wiki.txt, max_tokens: ${tokens} }\n  bootstrap: { resamples: 0 }\n`);
  return runCli(['run', '--config', 'thresholds.yaml', '--quiet', '--no-cache'], directory);
}

// ---------------------------------------------------------------- report
const f = (value: number, digits = 1) => value.toFixed(digits);
const pct = (value: number) => `${(100 * value).toFixed(1)}%`;
/** +1.2%, −0.4%, or 0.0% when it rounds to zero. */
const signedPct = (value: number) => (Math.abs(value) < 0.0005 ? '0.0%' : `${value > 0 ? '+' : '−'}${pct(Math.abs(value))}`);

async function main(): Promise<void> {
  if (!existsSync(path.join(ROOT, 'dist/cli.js'))) throw new Error('run npm run build first');
  ensureModels();
  const peaksAtStart = await measurePeaks();
  const images = await writeImages(path.join(MODELS, 'images'));
  const started = Date.now();

  log('language components (GPT-2 small, causal)');
  const gpt2 = await loadLanguageModel(path.join(MODELS, 'gpt2'), 'gpt2', 'causal', { intraOpThreads: THREADS });
  requireReadPositions(gpt2);
  const gpt2Replays = await openReplays(path.join(MODELS, 'gpt2/model.onnx'), 'causal');
  const shape = { layers: 12, d: 768, vocabulary: 50257 };
  const crows = parseCrowsPairs(crowsText(), 'crows').items;
  const stereo = parseStereoSet(stereoSetText(), 'stereoset').clusters;
  // Perplexity tokenisation: the whole text encoded (what run.ts did before), and only the first
  // max_tokens (src/language/leading-tokens.ts, what it does now).
  const wiki = wikiText();
  const tokenisation = await timed(async () => gpt2.tokenizer.encode(wiki, { addSpecialTokens: false }));
  const leading = await timed(async () => leadingTokens(gpt2.tokenizer, wiki, PERPLEXITY_TOKENS));
  const ids = leading.value;
  if (ids.join() !== tokenisation.value.slice(0, PERPLEXITY_TOKENS).join()) throw new Error('leadingTokens differs from the whole encoding');
  const windows: PerplexityItem[] = perplexityWindows(ids.length, 992, 992).map((w, k) => ({ ...w, id: `w${k}`, ids: ids.slice(w.begin, w.end) }));
  const language = [
    await languageComponent('CrowS-Pairs (1,508 pairs)', gpt2, gpt2Replays, crowsPairsBenchmark, crows, shape, 4096),
    await languageComponent('StereoSet (2,106 clusters)', gpt2, gpt2Replays, stereoSetBenchmark, stereo, shape, 4096),
    await languageComponent(`perplexity (${PERPLEXITY_TOKENS.toLocaleString('en')} tokens, 992-token windows)`, gpt2, gpt2Replays, perplexityBenchmark, windows, shape, 4096),
  ];
  await gpt2.session.release();
  await closeReplays(gpt2Replays);
  // The with-past export: a context's three candidates run their shared beginning once.
  const gpt2Past = await loadLanguageModel(path.join(MODELS, 'gpt2-past'), 'gpt2-past', 'causal', { intraOpThreads: THREADS });
  requireReadPositions(gpt2Past);
  const gpt2PastReplays = await openReplays(path.join(MODELS, 'gpt2-past/model.onnx'), 'causal');
  language.push(await languageComponent('StereoSet (2,106 clusters), with-past export: shared prefixes', gpt2Past, gpt2PastReplays, stereoSetBenchmark, stereo, shape, 4096));
  await gpt2Past.session.release();
  await closeReplays(gpt2PastReplays);

  log('masked component (BERT-base shape, 300 CrowS pairs)');
  const bert = await loadLanguageModel(path.join(MODELS, 'bert'), 'bert', 'masked', { intraOpThreads: THREADS });
  requireReadPositions(bert);
  const bertReplays = await openReplays(path.join(MODELS, 'bert/model.onnx'), 'masked');
  const masked = await languageComponent('CrowS-Pairs masked (300 pairs)', bert, bertReplays, crowsPairsBenchmark, crows.slice(0, 300), { layers: 12, d: 768, vocabulary: 50261 }, 4096);
  await bert.session.release();
  await closeReplays(bertReplays);

  const crowsSection = await crowsComparisonSection(peaksAtStart, machineLine('`npm run bench`'));

  const vision = await visionComponent(images);
  const openImagesMachine = machineLine('`npm run bench`');
  const openImages = await measureOpenImages(SHARED, MODELS, THREADS, log);

  log('peak memory: perplexity on 5,000 and 40,000 tokens in batches of 4, and 40,000 in batches of 1');
  const memorySmall = perplexityMemory(5_000, 4);
  const memoryLarge = perplexityMemory(40_000, 4);
  const memorySingle = perplexityMemory(40_000, 1);

  log('whole gate: uncached, base cached, unchanged rerun');
  prepareGateRepository(images);
  const cache = path.join(GATE, '.cache');
  const gateArgs = ['run', '--config', 'thresholds.yaml', '--base', 'base', '--quiet', '--cache-dir', cache, '--json', 'report.json'];
  const uncached = runCli(gateArgs, GATE);
  // The PR pushes another commit: a new head, the same base and backbone (cached).
  for (const file of ['model.onnx']) {
    rmSync(path.join(GATE, 'models/lm', file));
    linkSync(path.join(MODELS, 'gpt2-head2', file), path.join(GATE, 'models/lm', file));
  }
  rmSync(path.join(GATE, 'models/classifier.onnx'));
  linkSync(path.join(MODELS, 'resnet50-head2/model.onnx'), path.join(GATE, 'models/classifier.onnx'));
  const baseCached = runCli(gateArgs, GATE);
  const rerun = runCli(gateArgs, GATE);
  const report = JSON.parse(readFileSync(path.join(GATE, 'report.json'), 'utf8'));
  const hits = report.cache.filter((e: { event: string }) => e.event === 'hit').length;

  const peaks = bestPeaks(peaksAtStart, await measurePeaks());
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const componentRow = (c: ComponentFigures) =>
    `| ${c.name} | ${c.forwardPasses} | ${c.tokens.toLocaleString('en')} | ${pct(c.waste)} | ${f(c.tokens / c.floorSeconds!, 0)} | ${f(c.tokens / c.rawSeconds, 0)} | ${f(c.tokens / c.logitsSeconds!, 0)} | ${f(c.tokens / c.scorerSeconds, 0)} | ${rateCells(c.flops / c.scorerSeconds / 1e9, peaks)} | **${pct(c.floorSeconds! / c.scorerSeconds)}** | ${pct(c.rawSeconds / c.scorerSeconds)} |`;
  const rows = [...language, masked].map(componentRow);
  const visionRate = rateParts(vision.flops / vision.scorerSeconds / 1e9, peaks);
  const memoryGrowth = memoryLarge.peakMiB / memorySmall.peakMiB - 1;
  const allLanguage = [...language, masked];
  const worstRatio = Math.min(...allLanguage.map((c) => c.floorSeconds! / c.scorerSeconds));
  const worstRawRatio = Math.min(...allLanguage.map((c) => c.rawSeconds / c.scorerSeconds));
  const worstWaste = Math.max(...allLanguage.map((c) => c.waste));
  const ok = (pass: boolean) => (pass ? '✅ met' : '❌ not met');
  const text = `# Benchmark results

Measured by \`npm run bench\` in one run on one machine: ${os.cpus().length} × ${cpu}, ${f(os.totalmem() / 2 ** 30, 0)} GiB memory, ${os.platform()} ${os.arch()}, Node ${process.versions.node}, onnxruntime-node ${ort.env.versions.node ?? ''}, ${THREADS} intra-op threads, batch size ${BATCH}. Models have random weights and realistic shapes (bench/README.md); times are wall-clock seconds; every component is warmed up on a slice of its data before it is timed, as onnxruntime grows its memory on the first batch of each shape. Run took ${f((Date.now() - started) / 60000)} min.

## Targets

| target | measured | |
|---|---|---|
| scorer ≥ 90% of its floor's throughput (forward + log-softmax) | worst ${pct(worstRatio)} (of raw forward: worst ${pct(worstRawRatio)}) | ${ok(worstRatio >= 0.9)} |
| padding waste ≤ 10% | worst ${pct(worstWaste)} | ${ok(worstWaste <= 0.1)} |
| peak memory bounded by batch size, not data size | perplexity in batches of 4: ${f(memorySmall.peakMiB, 0)} MiB on 5,000 tokens, ${f(memoryLarge.peakMiB, 0)} MiB on 40,000 (${signedPct(memoryGrowth)} for 8× the data); in batches of 1: ${f(memorySingle.peakMiB, 0)} MiB on 40,000 | ${ok(memoryGrowth <= 0.05)} |
| unchanged model re-run (cache hit) < 15 s | ${f(rerun.seconds)} s (${hits} cache hits) | ${ok(rerun.seconds < 15)} |
| GPT-2-small gate (CrowS-Pairs + StereoSet + ${PERPLEXITY_TOKENS.toLocaleString('en')}-token perplexity, base cached) + ResNet-50 vision gate on ${IMAGES} images < 10 min | ${f(baseCached.seconds)} s | ${ok(baseCached.seconds < 600)} |

## This machine's peak

The best of a measurement at the start of the run and one at the end (bench/README.md).

${peakTable(peaks)}

## Scorers against their floors (GPT-2 small; masked: BERT-base shape)

The scorer runs with its session recorded, and each batch it runs is replayed at once straight into onnxruntime, three times, so the four are timed under the same conditions (the replays' time is not counted as the scorer's). **Floor** is the model kind's floor (bench/measure.ts \`floorFor\`): causal, the model's graph plus a log-softmax over the whole vocabulary at every position, the normaliser bias-bench's score needs, with a one-element output so nothing is copied out; masked, ${maskedFloorName()}. **Raw forward** is the old floor: the model's graph with its first logit as an extra output, the full logits computed but not normalised or returned. **Returning logits** is the unmodified model with its [batch × length × vocabulary] logits copied out, as a plain \`session.run\` gives them. The scorer is end to end: tokenisation, batching, padding, the forward pass with the log-softmax and gather added to the graph, and the scoring arithmetic. Throughput counts real (non-padding) tokens; GFLOP/s counts the matrix products of the padded batches the hardware computed (measure.ts \`transformerFlops\`), at the scorer's own speed, against the peaks above (% of the best ORT MatMul rate).

| benchmark | forward passes | tokens | padding waste | floor tokens/s | raw forward tokens/s | returning logits tokens/s | scorer tokens/s | scorer GFLOP/s | % of FMA peak | % of ORT MatMul | scorer / floor | scorer / raw |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}

Perplexity tokenisation: the whole \`test.txt\` (${tokenisation.value.length.toLocaleString('en')} tokens) encodes in ${f(tokenisation.seconds, 2)} s; its first ${PERPLEXITY_TOKENS.toLocaleString('en')} tokens alone (\`src/language/leading-tokens.ts\`, what \`perplexityItems\` now does; the same ids) in ${f(leading.seconds, 2)} s. This time is not in the perplexity row above, whose items are the windows.

${crowsSection}

## Vision (ResNet-50 shape, ${IMAGES} JPEG images 480×360, resize 256 / crop 224)

| | images/s |
|---|---:|
| raw forward (same batches of 16) | ${f(vision.rawImagesPerSecond)} (${f(vision.gflops, 0)} GFLOP/s) |
| scorer, one model: decode, resize, crop, normalise, embed | ${f(vision.imagesPerSecond)} (${pct(vision.rawSeconds / vision.scorerSeconds)} of raw) |
| scorer, three models as in a gate (decoded once, embedded by each) | ${f((3 * vision.items) / vision.threeModelSeconds)} image-embeddings/s (${pct((3 * vision.rawSeconds) / vision.threeModelSeconds)} of raw) |
| decoding alone (no model running) | ${f(vision.items / vision.preprocessSeconds)} |

The one-model scorer computes ${visionRate.gflops} GFLOP/s (ResNet-50's 4.1 GMACs per image): ${visionRate.ofFma} of the FMA peak and ${visionRate.ofMatMul} of onnxruntime's MatMul rate.

The vision scorer's overhead is not bookkeeping but JPEG decoding and resizing, ${f((1000 * vision.preprocessSeconds) / vision.items)} ms of CPU work per image that has no core to hide on while onnxruntime uses both. A gate decodes each image once for all its models.

${openImagesSection(openImages, openImagesMachine)}

## Whole gate (the built CLI, as a user runs it)

Language: GPT-2 small base and head, CrowS-Pairs (1,508 pairs), StereoSet (2,106 clusters), perplexity on ${PERPLEXITY_TOKENS.toLocaleString('en')} WikiText-2 tokens; vision: ResNet-50 backbone, base and head on ${IMAGES} images, all four item lists, 1,000 bootstrap resamples each.

| run | wall time | peak memory |
|---|---:|---:|
| nothing cached (base, head and backbone scored) | ${f(uncached.seconds)} s | ${f(uncached.peakMiB, 0)} MiB |
| base and backbone cached, new head scored | ${f(baseCached.seconds)} s | ${f(baseCached.peakMiB, 0)} MiB |
| unchanged re-run (every result cached) | ${f(rerun.seconds)} s | ${f(rerun.peakMiB, 0)} MiB |
`;
  // The "Cold install" section is npm run bench:install's (bench/install.mjs): keep it.
  const previous = existsSync(path.join(ROOT, 'bench/results.md')) ? readFileSync(path.join(ROOT, 'bench/results.md'), 'utf8') : '';
  const coldInstall = /\n## Cold install\n[\s\S]*?(?=\n## |$)/.exec(previous)?.[0] ?? '';
  writeFileSync(path.join(ROOT, 'bench/results.md'), `${text}${coldInstall}`);
  console.log(text);
}

/** The machine and its load when a measurement starts: on a shared machine the figures are indicative. */
function machineLine(command: string): string {
  const [load] = os.loadavg();
  return `Measured by ${command} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${THREADS} intra-op threads, Node ${process.versions.node}; 1-minute load average ${f(load ?? 0, 1)} at the start (${(load ?? 0) > os.cpus().length ? 'other work was running on the machine: the figures are indicative' : 'an otherwise idle machine'}).`;
}

// ---------------------------------------------------------------- CrowS-Pairs: bias-gate against bias-bench's PyTorch loop
const CROWS_BEGIN = '<!-- crows: begin -->';
const CROWS_END = '<!-- crows: end -->';
const GPT2_SHAPE = { layers: 12, d: 768, vocabulary: 50257 };

/** `BENCH_CROWS_PAIRS=N` limits the comparison to the first N pairs (a plumbing check, labelled as a subset in results.md). */
function crowsPairsForComparison(): { pairs: CrowsPair[]; label: string } {
  const all = parseCrowsPairs(crowsText(), 'crows').items;
  const limit = process.env.BENCH_CROWS_PAIRS === undefined ? all.length : Number(process.env.BENCH_CROWS_PAIRS);
  if (!(Number.isInteger(limit) && limit >= 1)) throw new Error(`BENCH_CROWS_PAIRS must be a positive integer, found ${process.env.BENCH_CROWS_PAIRS}`);
  const pairs = all.slice(0, limit);
  const label = pairs.length === all.length ? `all ${all.length.toLocaleString('en')} pairs` : `**SUBSET: the first ${pairs.length.toLocaleString('en')} of ${all.length.toLocaleString('en')} pairs (BENCH_CROWS_PAIRS); not the benchmark's figure**`;
  return { pairs, label };
}

interface PyTorchRun {
  scores: (number | null)[];
  seconds: number;
  threads: number;
  torch: string;
  /** BLAS_INFO torch was built with (Debian's python3-torch: generic, the reference BLAS). */
  blas: string;
  /** torch's own GFLOP/s on a [64×768]·[768×50257] product. */
  gemm_gflops: number;
  /** The run with nn.Linear on oneDNN (BENCH_TORCH_ONEDNN=1). */
  onednn: boolean;
}

/** bench/pytorch_crows.py on bias-gate's token ids (sent_more, sent_less of each pair, in order). */
function runPyTorchCrows(sentences: number[][], bos: number, onednn = false): PyTorchRun {
  const tokensFile = path.join(MODELS, 'crows-tokens.json');
  const out = path.join(MODELS, onednn ? 'crows-pytorch-onednn.json' : 'crows-pytorch.json');
  writeFileSync(tokensFile, JSON.stringify({ bos, sentences }));
  rmSync(out, { force: true });
  log(`CrowS-Pairs: bias-bench's PyTorch loop${onednn ? ' (nn.Linear on oneDNN)' : ''} on ${sentences.length} sentences (${THREADS} torch threads; with Debian's reference BLAS 1 to 3 s a sentence, one to three hours for all 1,508 pairs)`);
  execFileSync(python(), ['bench/pytorch_crows.py', path.join(MODELS, 'gpt2/weights.pt'), tokensFile, out, String(THREADS), ...(onednn ? ['--onednn'] : [])], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, BIAS_GATE_SHARED: SHARED } });
  return JSON.parse(readFileSync(out, 'utf8')) as PyTorchRun;
}

/** Largest |ln bias-gate − ln PyTorch| over the sentences both scored, and pairs whose outcome differs. */
function agreement(results: readonly CrowsResult[], reference: readonly (number | null)[]): { maxLogDelta: number; compared: number; differingOutcomes: number } {
  let [maxLogDelta, compared, differingOutcomes] = [0, 0, 0];
  results.forEach((result, k) => {
    const [more, less] = [reference[2 * k], reference[2 * k + 1]];
    if (result.outcome === 'skipped' || more == null || less == null) return;
    maxLogDelta = Math.max(maxLogDelta, Math.abs(Math.log(result.more) - Math.log(more)), Math.abs(Math.log(result.less) - Math.log(less)));
    compared += 2;
    const referenceOutcome = more > less ? 'stereotypical' : more < less ? 'anti-stereotypical' : 'tie';
    if (referenceOutcome !== result.outcome) differingOutcomes++;
  });
  return { maxLogDelta, compared, differingOutcomes };
}

/** The oneDNN loop against the plain one: the largest |Δ ln score| (they differ only in float rounding). */
function pytorchOneDnnDelta(plain: readonly (number | null)[], onednn: readonly (number | null)[]): string {
  let max = 0;
  plain.forEach((score, k) => {
    const other = onednn[k];
    if (score != null && other != null) max = Math.max(max, Math.abs(Math.log(score) - Math.log(other)));
  });
  return `${max.toExponential(1)} vs the plain loop`;
}

/**
 * The CrowS-Pairs comparison: bias-bench's per-sentence PyTorch loop (bench/pytorch_crows.py) and
 * bias-gate's scorer on the same weights, no-past and with-past exports, each against its floors.
 */
async function crowsComparisonSection(peaksBefore: Peaks, machine: string): Promise<string> {
  const { pairs, label } = crowsPairsForComparison();
  const gpt2 = await loadLanguageModel(path.join(MODELS, 'gpt2'), 'gpt2', 'causal', { intraOpThreads: THREADS });
  requireReadPositions(gpt2);
  // Tokenisation is shared: PyTorch scores bias-gate's own token ids, so the comparison is of scoring.
  const sentences = pairs.flatMap((pair) => [pair.sentMore, pair.sentLess]).map((sentence) => gpt2.tokenizer.encode(sentence, { addSpecialTokens: false }));
  const scoredTokens = sentences.reduce((sum, ids) => sum + ids.length, 0);
  // bias-bench's passes: [BOS] alone, then the sentence, batch 1, per sentence.
  const pytorchFlops = transformerFlops(sentences.filter((ids) => ids.length > 0).flatMap((ids) => [{ rows: 1, width: 1, past: 0 }, { rows: 1, width: ids.length, past: 0 }]).map((b) => ({ ...b, feeds: {}, outputs: [], real: b.width })), GPT2_SHAPE);
  const pytorch = runPyTorchCrows(sentences, gpt2.bosId!);
  // Debian's torch multiplies with the reference BLAS; BENCH_TORCH_ONEDNN=1 adds the same loop with its
  // nn.Linear layers on oneDNN, a fairer reference for the blocks (README).
  const pytorchOneDnn = process.env.BENCH_TORCH_ONEDNN === '1' ? runPyTorchCrows(sentences, gpt2.bosId!, true) : undefined;

  const measure = async (name: string, model: LanguageModel, modelPath: string) => {
    const replays = await openReplays(modelPath, 'causal');
    // languageComponent warms up the scorer and every replay session together: a warm-up of the
    // scorer alone would give it shapes the floors have not seen.
    const figures = await languageComponent(name, model, replays, crowsPairsBenchmark, pairs, GPT2_SHAPE, 4096);
    await closeReplays(replays);
    await model.session.release();
    return { ...figures, agreement: agreement(figures.results, pytorch.scores) };
  };
  const noPast = await measure('bias-gate, no-past export', gpt2, path.join(MODELS, 'gpt2/model.onnx'));
  const withPastModel = await loadLanguageModel(path.join(MODELS, 'gpt2-past'), 'gpt2-past', 'causal', { intraOpThreads: THREADS });
  requireReadPositions(withPastModel);
  const withPast = await measure('bias-gate, with-past export', withPastModel, path.join(MODELS, 'gpt2-past/model.onnx'));
  // The int8 screen (language.precision: int8-screen) on the with-past export: every pair in int8, the
  // calibration sample and every pair within the measured bound again in float32.
  const screen = await measureInt8Screen(pairs);
  const screenAgreement = agreement(screen.results, pytorch.scores);
  const outcomesOf = (results: readonly CrowsResult[]) => results.map((result) => result.outcome);
  const screenVsFloat32 = outcomesOf(screen.results).filter((outcome, k) => outcome !== outcomesOf(noPast.results)[k]).length;

  const peaks = bestPeaks(peaksBefore, await measurePeaks());
  const scorers = [noPast, withPast];
  const pytorchRow = `| bias-bench's loop in PyTorch ${pytorch.torch} (bench/pytorch_crows.py), batch 1 | ${f(pytorch.seconds)} | ${f(sentences.length / pytorch.seconds, 1)} | ${f(scoredTokens / pytorch.seconds, 0)} | ${rateCells(pytorchFlops / pytorch.seconds / 1e9, peaks)} | 1.0× | (reference) | (reference) |`;
  const oneDnnRows = pytorchOneDnn
    ? [`| the same loop, nn.Linear on oneDNN (\`--onednn\`; vocabulary projection still on the BLAS) | ${f(pytorchOneDnn.seconds)} | ${f(sentences.length / pytorchOneDnn.seconds, 1)} | ${f(scoredTokens / pytorchOneDnn.seconds, 0)} | ${rateCells(pytorchFlops / pytorchOneDnn.seconds / 1e9, peaks)} | ${f(pytorch.seconds / pytorchOneDnn.seconds, 1)}× | ${pytorchOneDnnDelta(pytorch.scores, pytorchOneDnn.scores)} | |`]
    : [];
  const scorerRows = scorers.map((c) => `| ${c.name}, batches of ${BATCH} | ${f(c.scorerSeconds)} | ${f(sentences.length / c.scorerSeconds, 1)} | ${f(scoredTokens / c.scorerSeconds, 0)} | ${rateCells(c.flops / c.scorerSeconds / 1e9, peaks)} | **${f(pytorch.seconds / c.scorerSeconds, 1)}×** | ${c.agreement.maxLogDelta.toExponential(1)} (${c.agreement.compared.toLocaleString('en')} sentences) | ${c.agreement.differingOutcomes} |`);
  const { record } = screen;
  const screenRow = `| bias-gate, int8 screen (with-past export), batches of ${BATCH} | ${f(screen.seconds)} | ${f(sentences.length / screen.seconds, 1)} | ${f(scoredTokens / screen.seconds, 0)} | n/a (int8) | | | **${f(pytorch.seconds / screen.seconds, 1)}×** | ${screenAgreement.maxLogDelta.toExponential(1)} (${screenAgreement.compared.toLocaleString('en')} sentences; unrescored pairs keep int8 scores) | ${screenAgreement.differingOutcomes} |`;
  const screenText = `The int8 screen scored every pair with an int8 copy of the with-past export (quantised at load in ${f(screen.loadSeconds)} s, not counted above), then ${record.calibrated} pairs (the seeded calibration sample) and ${record.rescored} more within the bound ${record.bound === null ? 'n/a' : record.bound.toExponential(2)} (${record.calibrationError ? `3 × the sample's largest margin error, ${record.calibrationError.margin.max.toExponential(2)}; median ${record.calibrationError.margin.median.toExponential(2)}` : 'no calibration'}) again in float32${record.fellBack ? ', and fell back to float32 for the rest' : ''}: ${record.calibrated + record.rescored} of ${record.items} pairs in float32. Pairs whose outcome differs from the float32 (no-past) run: **${screenVsFloat32}**.`;
  const floorRows = scorers.map((c) => `| ${c.name} | ${c.forwardPasses} | ${c.tokens.toLocaleString('en')} | ${pct(c.waste)} | ${f(c.tokens / c.floorSeconds!, 0)} | ${f(c.tokens / c.rawSeconds, 0)} | ${f(c.tokens / c.logitsSeconds!, 0)} | ${f(c.tokens / c.scorerSeconds, 0)} | **${pct(c.floorSeconds! / c.scorerSeconds)}** | ${pct(c.rawSeconds / c.scorerSeconds)} |`);
  return `${CROWS_BEGIN}
## CrowS-Pairs: bias-gate against bias-bench's PyTorch loop (GPT-2 small, ${label})

${machine}

Both score the same random-weight GPT-2 small (bench/make_models.py gpt2: one seeded state_dict, exported without and with a past) on the same token ids, bias-gate's tokenisation of each sentence, so the comparison is of scoring. PyTorch runs bias-bench's crows.py loop for GPT-2 (per sentence a pass over [BOS] and a pass over the sentence, batch 1, full softmax, one \`.item()\` per token, geometric mean; float32, no_grad, ${pytorch.threads} threads); its time is the scoring loop alone. bias-gate's time is end to end (tokenisation included). GFLOP/s counts matrix products of the passes each makes (PyTorch: ${f(pytorchFlops / 1e12, 2)} TFLOP, no padding). The peaks are the best of a measurement before and one after the scorers. Agreement: the largest |ln bias-gate score − ln PyTorch score| over every sentence both scored, and the pairs whose outcome (stereotypical, anti-stereotypical, tie) differs.

${peakTable(peaks)}
| torch ${pytorch.torch} matrix product [64×768]·[768×50257], ${pytorch.threads} threads (BLAS_INFO=${pytorch.blas}) | ${f(pytorch.gemm_gflops, 1)} |

${pytorch.blas === 'generic' ? `This torch (Debian's python3-torch, BLAS_INFO=generic) multiplies matrices with whatever \`libblas.so.3\` Debian's alternatives select: the reference BLAS by default, OpenBLAS once \`libopenblas0-pthread\` is installed (bench/README.md). Here it reached ${f(pytorch.gemm_gflops, 1)} GFLOP/s against onnxruntime's ${f(bestMatMul(peaks), 0)}${pytorch.gemm_gflops < 0.25 * bestMatMul(peaks) ? ': **the reference BLAS; most of the speed-up below is the BLAS, not the scoring.**' : ', an optimised BLAS: the speed-up below is of the scoring.'}\n\n` : ''}| scorer | seconds | sentences/s | tokens/s | GFLOP/s | % of FMA peak | % of ORT MatMul | speed-up over PyTorch | max \\|Δ ln score\\| | differing outcomes |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${[pytorchRow, ...oneDnnRows, ...scorerRows, screenRow].join('\n')}

${screenText}

bias-gate's scorer against its floors, batch by batch (as in the table above; the with-past export gets an empty past, or the prefix-sharing scorer's real ones, and the floors replay whatever past it fed):

| scorer | forward passes | tokens | padding waste | floor (forward + log-softmax) tokens/s | raw forward tokens/s | returning logits tokens/s | scorer tokens/s | scorer / floor | scorer / raw |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${floorRows.join('\n')}
${CROWS_END}`;
}

/** CrowS-Pairs through the int8 screen (src/language/int8-screen.ts) on the with-past GPT-2, as `precision: int8-screen` runs it. */
async function measureInt8Screen(pairs: readonly CrowsPair[]): Promise<{ seconds: number; loadSeconds: number; results: CrowsResult[]; record: ScreenRecord }> {
  const directory = path.join(MODELS, 'gpt2-past');
  const load = await timed(() => loadLanguageModel(directory, 'gpt2-past (int8)', 'causal', { intraOpThreads: THREADS, quantise: 'int8' }));
  const float32 = await loadLanguageModel(directory, 'gpt2-past', 'causal', { intraOpThreads: THREADS });
  const options = { convention: 'bias-bench', batch: { batchSize: BATCH, maxBatchTokens: 4096 } } as const;
  const adapter = crowsPairsBenchmark.screen!('causal', 'bias-bench');
  const models = { int8: async () => load.value, float32: async () => float32 };
  log(`int8 screen: scoring ${pairs.length} pairs`);
  // Warm-up on a slice, as the other scorers get.
  await crowsPairsBenchmark.score(load.value, pairs.slice(0, 64), options);
  await crowsPairsBenchmark.score(float32, pairs.slice(0, 64), options);
  const run = await timed(() => screenedScore(crowsPairsBenchmark, adapter, models, pairs, options));
  await load.value.session.release();
  await float32.session.release();
  return { seconds: run.seconds, loadSeconds: load.seconds, results: run.value.results, record: run.value.record };
}

/** `tsx bench/run.ts --only crows`: the CrowS-Pairs comparison alone, replacing its section of results.md. */
async function onlyCrows(): Promise<void> {
  ensureModels('crows');
  const machine = machineLine('`npx tsx bench/run.ts --only crows`');
  const section = await crowsComparisonSection(await measurePeaks(), machine);
  const file = path.join(ROOT, 'bench/results.md');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
  const [begin, end] = [text.indexOf(CROWS_BEGIN), text.indexOf(CROWS_END)];
  const updated = begin >= 0 && end > begin
    ? text.slice(0, begin) + section + text.slice(end + CROWS_END.length)
    : text.includes('## Vision (ResNet-50') ? text.replace('## Vision (ResNet-50', `${section}\n\n## Vision (ResNet-50`) : `${text}\n${section}\n`;
  writeFileSync(file, updated);
  console.log(section);
}

/** `tsx bench/run.ts --only open-images`: measures the real-photo section alone and replaces it in results.md. */
async function onlyOpenImages(): Promise<void> {
  const machine = machineLine('`npx tsx bench/run.ts --only open-images`');
  const section = openImagesSection(await measureOpenImages(SHARED, MODELS, THREADS, log), machine);
  const file = path.join(ROOT, 'bench/results.md');
  const text = readFileSync(file, 'utf8');
  const [begin, end] = [text.indexOf(OPEN_IMAGES_BEGIN), text.indexOf(OPEN_IMAGES_END)];
  const updated = begin >= 0 && end > begin ? text.slice(0, begin) + section + text.slice(end + OPEN_IMAGES_END.length) : text.replace('## Whole gate', `${section}\n\n## Whole gate`);
  writeFileSync(file, updated);
  console.log(section);
}

const only = process.argv.indexOf('--only');
if (only >= 0 && process.argv[only + 1] === 'open-images') await onlyOpenImages();
else if (only >= 0 && process.argv[only + 1] === 'crows') await onlyCrows();
else if (only >= 0) throw new Error(`--only takes open-images or crows, found ${process.argv[only + 1] ?? 'nothing'}`);
else await main();
