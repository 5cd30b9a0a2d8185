// Masked CrowS-Pairs with and without the read-position rewrite (src/runtime/read-positions.ts),
// alternating in one process: the speed-up, and whether every log-probability is the same float32.
//
// usage: npx tsx bench/read-positions.ts MODEL.onnx CROWS.csv [pairs=300] [threads=2]
// MODEL.onnx: a BERT-shaped export with the GPT-2 vocabulary plus 4 specials, e.g.
// `python3 bench/make_models.py bert /tmp/bert.onnx 50261` (never committed). The tokenizer is
// bench/gpt2-tokenizer.ts's masked one. Pairs are scored in chunks of 20; each chunk runs on both
// models, the first model alternating, so load on a shared machine falls on both alike.
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { crowsPairsBenchmark, type CrowsResult } from '../src/language/crows-pairs.ts';
import { parseCrowsPairs } from '../src/language/datasets/crows-pairs.ts';
import { loadLanguageModel } from '../src/language/model.ts';
import type { LanguageModel } from '../src/language/types.ts';
import { READ_LOG_PROBS_OUTPUT } from '../src/runtime/read-positions.ts';
import { TARGET_LOG_PROBS_OUTPUT } from '../src/runtime/token-log-probs.ts';
import { gpt2TokenizerConfig, gpt2TokenizerJson } from './gpt2-tokenizer.ts';

const [modelPath, crowsPath, pairCount = '300', threadCount = '2'] = process.argv.slice(2);
if (modelPath === undefined || crowsPath === undefined) throw new Error('usage: npx tsx bench/read-positions.ts MODEL.onnx CROWS.csv [pairs] [threads]');

// A model directory beside the model file (a hard link: no copy of the weights).
const directory = join(dirname(modelPath), `${basename(modelPath, '.onnx')}-read-positions-bench`);
await rm(directory, { recursive: true, force: true });
await mkdir(directory);
await link(modelPath, join(directory, 'model.onnx'));
await writeFile(join(directory, 'tokenizer.json'), JSON.stringify(gpt2TokenizerJson('masked')));
await writeFile(join(directory, 'tokenizer_config.json'), JSON.stringify(gpt2TokenizerConfig('masked')));

/** The log-probability each pass read, in order: the masked position of each row. */
function recording(model: LanguageModel, read: number[]): LanguageModel {
  const run: LanguageModel['session']['run'] = async (feeds, names) => {
    const results = await model.session.run(feeds, names);
    const ids = feeds.input_ids!;
    const [rows, length] = ids.dims as [number, number];
    const data = ids.data as BigInt64Array;
    if (names.includes(READ_LOG_PROBS_OUTPUT)) read.push(...(results[READ_LOG_PROBS_OUTPUT]!.data as Float32Array));
    if (names.includes(TARGET_LOG_PROBS_OUTPUT)) {
      const all = results[TARGET_LOG_PROBS_OUTPUT]!.data as Float32Array;
      for (let row = 0; row < rows; row++) {
        const position = data.subarray(row * length, (row + 1) * length).indexOf(BigInt(model.maskId!));
        read.push(all[row * length + position]!);
      }
    }
    return results;
  };
  return { ...model, session: { ...model.session, run } };
}

const threads = Number(threadCount);
const pairs = parseCrowsPairs(await readFile(crowsPath, 'utf8'), crowsPath).items.slice(0, Number(pairCount));
let started = performance.now();
const rewrittenModel = await loadLanguageModel(directory, 'bert', 'masked', { intraOpThreads: threads, log: console.log });
const rewrittenLoad = performance.now() - started;
started = performance.now();
const fullModel = await loadLanguageModel(directory, 'bert', 'masked', { intraOpThreads: threads, log: console.log, readPositions: false });
const fullLoad = performance.now() - started;
if (!rewrittenModel.inputs.readPositions || fullModel.inputs.readPositions) throw new Error('the rewrite was not applied to the first model alone');
console.log(`loaded in ${(rewrittenLoad / 1000).toFixed(1)} s (rewritten) and ${(fullLoad / 1000).toFixed(1)} s (as before)`);

const reads = { rewritten: [] as number[], full: [] as number[] };
const models = { rewritten: recording(rewrittenModel, reads.rewritten), full: recording(fullModel, reads.full) };
const seconds = { rewritten: 0, full: 0 };
const results = { rewritten: [] as CrowsResult[], full: [] as CrowsResult[] };
const CHUNK = 20;
for (let start = 0, chunk = 0; start < pairs.length; start += CHUNK, chunk++) {
  const items = pairs.slice(start, start + CHUNK);
  const order = chunk % 2 === 0 ? (['rewritten', 'full'] as const) : (['full', 'rewritten'] as const);
  for (const path of order) {
    const begin = performance.now();
    results[path].push(...(await crowsPairsBenchmark.score(models[path], items, { convention: 'bias-bench', batch: { batchSize: 32 } })));
    seconds[path] += (performance.now() - begin) / 1000;
  }
}

let maxAbs = 0;
let maxRelative = 0;
let differing = 0;
reads.rewritten.forEach((value, k) => {
  const other = reads.full[k]!;
  if (Object.is(value, other)) return;
  differing++;
  maxAbs = Math.max(maxAbs, Math.abs(value - other));
  maxRelative = Math.max(maxRelative, Math.abs(value - other) / Math.abs(other));
});
const sameResults = JSON.stringify(results.rewritten) === JSON.stringify(results.full);
console.log(`${pairs.length} pairs, ${reads.full.length} masked queries, batches of 32, ${threads} threads`);
console.log(`as before: ${seconds.full.toFixed(1)} s; read positions: ${seconds.rewritten.toFixed(1)} s; speed-up ${(seconds.full / seconds.rewritten).toFixed(2)}×`);
console.log(`log-probabilities: ${reads.rewritten.length === reads.full.length ? `${differing} of ${reads.full.length} differ` : 'different counts'} (max |Δ| ${maxAbs}, max relative ${maxRelative}); pair results ${sameResults ? 'identical' : 'DIFFER'}`);
await rewrittenModel.session.release();
await fullModel.session.release();
await rm(directory, { recursive: true, force: true });
