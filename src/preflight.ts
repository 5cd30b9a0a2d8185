// Run by action.yml before the Action: the native modules must load on this
// runner, and when they do not the message says what to do instead of a
// stack trace from deep inside the gate.
import { checkRuntime, TESTED_TARGETS } from './platform.mjs';

const check = checkRuntime({ platform: process.platform, arch: process.arch, nodeVersion: process.versions.node, entry: 'action' });
if (!check.supported) {
  console.log(`::error title=bias-gate::${check.message}`);
  process.exit(1);
}

const failures: string[] = [];
for (const name of ['onnxruntime-node', 'sharp']) {
  try {
    await import(name);
  } catch (error) {
    failures.push(`${name}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
}
if (failures.length > 0) {
  const supported = TESTED_TARGETS.map((target) => target.replace('/', '-')).join(', ');
  console.log(`::error title=bias-gate::Native modules failed to load on ${process.platform}-${process.arch} (Node ${process.versions.node}): ${failures.join('; ')}. bias-gate runs on ${supported} (not macOS x64); delete the Actions cache entry "bias-gate-deps-*" if it was built for another runner.`);
  process.exit(1);
}
console.log(`bias-gate: native modules load (Node ${process.versions.node}, ${process.platform}-${process.arch}).`);

// `gpu: true`: the CUDA execution provider must load, or the job stops here with the reason
// (a GPU gate that silently runs on the CPU is not what the user asked for).
if (process.env.BIAS_GATE_GPU === 'true') {
  const problem = await cudaProblem();
  if (problem) {
    console.log(`::error title=bias-gate::gpu: true, but onnxruntime's CUDA provider does not load on this runner: ${problem}. Use a GPU runner with CUDA 12 and cuDNN 9 installed, or remove gpu: true.`);
    process.exit(1);
  }
  console.log('bias-gate: the CUDA execution provider loads.');
}

/** Opens a one-node ONNX graph (y = Identity(x)) on the CUDA provider alone; the error's first line, or undefined. */
async function cudaProblem(): Promise<string | undefined> {
  const ort = await import('onnxruntime-node');
  const identityModel = Buffer.from('CAgSCWJpYXMtZ2F0ZTo7ChAKAXgSAXkiCElkZW50aXR5EgVwcm9iZVoPCgF4EgoKCAgBEgQKAggBYg8KAXkSCgoICAESBAoCCAFCBAoAEA0=', 'base64');
  try {
    const session = await ort.InferenceSession.create(identityModel, { executionProviders: ['cuda'] });
    await session.release();
    return undefined;
  } catch (error) {
    return error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
  }
}
