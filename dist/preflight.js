import { createRequire as __biasGateCreateRequire } from 'node:module'; const require = __biasGateCreateRequire(import.meta.url);

// src/platform.mjs
var MINIMUM_NODE = { action: "22.0.0", cli: "20.9.0" };
var ONNXRUNTIME_BINARIES = ["darwin/arm64", "linux/arm64", "linux/x64", "win32/arm64", "win32/x64"];
var TESTED_TARGETS = ["linux/x64", "linux/arm64", "darwin/arm64", "win32/x64"];
function parseNodeVersion(version) {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!match) return void 0;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}
function nodeVersionAtLeast(version, minimum) {
  const have = parseNodeVersion(version);
  const need = parseNodeVersion(minimum);
  if (!have || !need) return false;
  for (let i = 0; i < 3; i++) {
    if (have[i] !== need[i]) return have[i] > need[i];
  }
  return true;
}
function checkNodeVersion({ nodeVersion, entry }) {
  const minimum = MINIMUM_NODE[entry];
  if (nodeVersionAtLeast(nodeVersion, minimum)) return { supported: true };
  const fix = entry === "action" ? "Add actions/setup-node with node-version: 24 before the bias-gate step." : "Install Node.js 24 or 22 (https://nodejs.org, or nvm install 24).";
  const what = entry === "action" ? "The bias-gate Action" : "bias-gate";
  return { supported: false, message: `${what} needs Node.js >= ${minimum}; this is Node.js ${nodeVersion}. ${fix}` };
}
function checkNativeTarget({ platform, arch }) {
  const target = `${platform}/${arch}`;
  if (platform === "darwin" && arch === "x64") {
    return {
      supported: false,
      message: "bias-gate does not run on macOS x64 (Intel): onnxruntime-node ships no darwin-x64 binary. Use an Apple silicon runner (macos-latest, macos-14 or later) or ubuntu-latest; a Rosetta Node.js on Apple silicon reports x64 too: install the arm64 Node.js."
    };
  }
  if (!ONNXRUNTIME_BINARIES.includes(target)) {
    return {
      supported: false,
      message: `bias-gate does not run on ${platform}-${arch}: onnxruntime-node ships binaries only for ${ONNXRUNTIME_BINARIES.map((t) => t.replace("/", "-")).join(", ")}. Use a Linux x64/arm64, macOS arm64 or Windows x64 runner.`
    };
  }
  if (!TESTED_TARGETS.includes(target)) {
    return { supported: true, note: `${platform}-${arch} has native binaries but is not tested by bias-gate's CI.` };
  }
  return { supported: true };
}
function checkRuntime(runtime) {
  const node = checkNodeVersion(runtime);
  if (!node.supported || runtime.native === false) return node;
  return checkNativeTarget(runtime);
}

// src/preflight.ts
var check = checkRuntime({ platform: process.platform, arch: process.arch, nodeVersion: process.versions.node, entry: "action" });
if (!check.supported) {
  console.log(`::error title=bias-gate::${check.message}`);
  process.exit(1);
}
var failures = [];
for (const name of ["onnxruntime-node", "sharp"]) {
  try {
    await import(name);
  } catch (error) {
    failures.push(`${name}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
  }
}
if (failures.length > 0) {
  const supported = TESTED_TARGETS.map((target) => target.replace("/", "-")).join(", ");
  console.log(`::error title=bias-gate::Native modules failed to load on ${process.platform}-${process.arch} (Node ${process.versions.node}): ${failures.join("; ")}. bias-gate runs on ${supported} (not macOS x64); delete the Actions cache entry "bias-gate-deps-*" if it was built for another runner.`);
  process.exit(1);
}
console.log(`bias-gate: native modules load (Node ${process.versions.node}, ${process.platform}-${process.arch}).`);
if (process.env.BIAS_GATE_GPU === "true") {
  const problem = await cudaProblem();
  if (problem) {
    console.log(`::error title=bias-gate::gpu: true, but onnxruntime's CUDA provider does not load on this runner: ${problem}. Use a GPU runner with CUDA 12 and cuDNN 9 installed, or remove gpu: true.`);
    process.exit(1);
  }
  console.log("bias-gate: the CUDA execution provider loads.");
}
async function cudaProblem() {
  const ort = await import("onnxruntime-node");
  const identityModel = Buffer.from("CAgSCWJpYXMtZ2F0ZTo7ChAKAXgSAXkiCElkZW50aXR5EgVwcm9iZVoPCgF4EgoKCAgBEgQKAggBYg8KAXkSCgoICAESBAoCCAFCBAoAEA0=", "base64");
  try {
    const session = await ort.InferenceSession.create(identityModel, { executionProviders: ["cuda"] });
    await session.release();
    return void 0;
  } catch (error) {
    return error instanceof Error ? error.message.split("\n")[0] ?? error.message : String(error);
  }
}
