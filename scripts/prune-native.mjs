// Run by action.yml after `npm ci --omit=dev`: deletes the native binaries of
// every other platform, so the Actions cache stores (and a cold job restores)
// only what this runner loads. onnxruntime-node ships all of its platforms in
// one package (bin/napi-v*/<platform>/<arch>, ~290 MB); sharp's per-platform
// @img/* packages are optionalDependencies with os/cpu fields, which npm
// already filters, so they are only checked here.
//
// node scripts/prune-native.mjs [--node-modules DIR] [--platform P] [--arch A]
// Defaults: ./node_modules, this process's platform and arch.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** Bytes under `target` (files only; links are not followed). */
function sizeOf(target) {
  const stat = statSync(target, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.size;
  let total = 0;
  for (const entry of readdirSync(target)) total += sizeOf(path.join(target, entry));
  return total;
}

function directories(parent) {
  if (!existsSync(parent)) return [];
  return readdirSync(parent, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/**
 * What to delete for `platform`/`arch` in `nodeModules`, as paths relative to
 * it: onnxruntime-node's other platform/arch binary folders and any @img
 * package whose package.json `os`/`cpu` excludes the target.
 * @param {string} nodeModules
 * @param {{ platform: string, arch: string }} target
 */
export function planPrune(nodeModules, { platform, arch }) {
  const remove = [];
  const onnxBin = path.join(nodeModules, 'onnxruntime-node', 'bin');
  for (const napi of directories(onnxBin).filter((name) => /^napi-v\d+$/.test(name))) {
    for (const os of directories(path.join(onnxBin, napi))) {
      if (os !== platform) {
        remove.push(path.join('onnxruntime-node', 'bin', napi, os));
        continue;
      }
      for (const cpu of directories(path.join(onnxBin, napi, os))) {
        if (cpu !== arch) remove.push(path.join('onnxruntime-node', 'bin', napi, os, cpu));
      }
    }
  }
  for (const name of directories(path.join(nodeModules, '@img')).filter((n) => n.startsWith('sharp-'))) {
    let manifest;
    try {
      manifest = JSON.parse(readFileSync(path.join(nodeModules, '@img', name, 'package.json'), 'utf8'));
    } catch {
      continue; // not a package: leave it alone
    }
    const excludes = (field, value) => Array.isArray(manifest[field]) && manifest[field].length > 0 && !manifest[field].includes(value);
    // wasm32 builds declare cpu: ["wasm32"] and no os: they are a fallback sharp can load anywhere, so only os decides for them.
    const wasm = Array.isArray(manifest.cpu) && manifest.cpu.includes('wasm32');
    if (excludes('os', platform) || (!wasm && excludes('cpu', arch))) remove.push(path.join('@img', name));
  }
  return remove;
}

/**
 * Deletes what `planPrune` lists; returns the removed paths and bytes freed.
 * @param {string} nodeModules
 * @param {{ platform: string, arch: string }} target
 */
export function prune(nodeModules, target) {
  const removed = planPrune(nodeModules, target);
  let bytes = 0;
  for (const relative of removed) {
    const absolute = path.join(nodeModules, relative);
    bytes += sizeOf(absolute);
    rmSync(absolute, { recursive: true, force: true });
  }
  return { removed, bytes, kept: sizeOf(nodeModules) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { values } = parseArgs({
    options: {
      'node-modules': { type: 'string', default: 'node_modules' },
      platform: { type: 'string', default: process.platform },
      arch: { type: 'string', default: process.arch },
    },
  });
  const nodeModules = path.resolve(values['node-modules']);
  if (!existsSync(nodeModules)) {
    console.log(`::error title=bias-gate::${nodeModules} does not exist: run npm ci --omit=dev before pruning.`);
    process.exit(1);
  }
  const result = prune(nodeModules, { platform: values.platform, arch: values.arch });
  const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
  for (const relative of result.removed) console.log(`pruned ${relative.split(path.sep).join('/')}`);
  console.log(`bias-gate: kept native binaries for ${values.platform}-${values.arch}; freed ${mb(result.bytes)}, node_modules is ${mb(result.kept)}.`);
}
