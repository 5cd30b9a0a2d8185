// The Action's first step (action.yml "Check Node.js and platform"): refuses a
// Node.js or a runner bias-gate cannot run on, with a message that says what to
// use instead, and writes the native-dependency cache key to $GITHUB_OUTPUT.
// Node, not bash tools: sha256sum is missing on macOS, and this runs the same
// on every runner. Runs on any Node the runner has, so only node: builtins.
//
// node scripts/runner-check.mjs
//   env INPUT_PUBLISH-REPORT non-empty: the job is the fork-safe publishing
//   half, which loads no native module; only the Node version is checked.
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkRuntime } from '../src/platform.mjs';

const actionRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const native = !process.env['INPUT_PUBLISH-REPORT'];

const check = checkRuntime({ platform: process.platform, arch: process.arch, nodeVersion: process.versions.node, entry: 'action', native });
if (!check.supported) {
  console.log(`::error title=bias-gate::${check.message}`);
  process.exit(1);
}
if (check.note) console.log(`::notice title=bias-gate::${check.note}`);
// onnxruntime-node publishes its CUDA 12 provider for Linux x64 only (script/install-metadata.js).
const gpu = native && process.env.INPUT_GPU === 'true';
if (gpu && `${process.platform}-${process.arch}` !== 'linux-x64') {
  console.log(`::error title=bias-gate::gpu: true needs a Linux x64 runner (onnxruntime-node's CUDA provider exists only for linux-x64), this is ${process.platform}-${process.arch}. Remove gpu: true or run on a Linux x64 GPU runner.`);
  process.exit(1);
}

const digest = (file) => createHash('sha256').update(readFileSync(path.join(actionRoot, file))).digest('hex').slice(0, 16);
const { version } = JSON.parse(readFileSync(path.join(actionRoot, 'package.json'), 'utf8'));
// What decides the cached node_modules' bytes: the lockfile, the pruning, the
// target and the Node ABI the binaries are loaded by.
const key = [
  'bias-gate-deps',
  `${process.platform}-${process.arch}`,
  version,
  digest('package-lock.json'),
  digest('scripts/prune-native.mjs'),
  `node${process.versions.modules}`,
  ...(gpu ? ['cuda12'] : []),
].join('-');

if (process.env.GITHUB_OUTPUT) appendFileSync(process.env.GITHUB_OUTPUT, `key=${key}\n`);
console.log(`bias-gate: Node.js ${process.versions.node} on ${process.platform}-${process.arch}${native ? `; dependency cache key ${key}` : ''}.`);
