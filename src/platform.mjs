// Which runners bias-gate runs on, as pure functions of (platform, arch, Node
// version). Plain JavaScript on purpose: the Action's first step runs it with
// whatever Node the runner has, before anything is installed or built, and the
// CLI's entry runs it before the bundle (which needs a newer Node) is loaded.
// Types: platform.d.mts.

/**
 * The oldest Node.js each entry runs on: the highest `engines.node` minimum
 * among the packages bundled into it and the native modules it loads.
 * `scripts/build.mjs` recomputes both from the bundles and fails when they
 * differ from these.
 * - action (dist/index.js): @azure/storage-blob, @azure/core-rest-pipeline and
 *   @typespec/ts-http-runtime (through @actions/cache) and content-type
 *   declare node >= 22.
 * - cli (dist/cli.js): sharp and @img/sharp-* declare node >= 20.9.
 */
export const MINIMUM_NODE = { action: '22.0.0', cli: '20.9.0' };

/** Node.js majors CI runs bias-gate on (README "Supported platforms"). */
export const TESTED_NODE_MAJORS = [22, 24];

/**
 * `platform/arch` directories onnxruntime-node 1.30 ships under
 * `bin/napi-v6/` (CPU execution provider). There is no darwin/x64: Intel Macs
 * have no binary to load.
 */
export const ONNXRUNTIME_BINARIES = ['darwin/arm64', 'linux/arm64', 'linux/x64', 'win32/arm64', 'win32/x64'];

/** The runner kinds CI runs bias-gate on; the others that have binaries may work, untested. */
export const TESTED_TARGETS = ['linux/x64', 'linux/arm64', 'darwin/arm64', 'win32/x64'];

/** @param {string} version `process.versions.node`, e.g. "22.3.0" (a leading "v" is allowed). */
export function parseNodeVersion(version) {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** True when `version` >= `minimum` (both "major.minor.patch"). */
export function nodeVersionAtLeast(version, minimum) {
  const have = parseNodeVersion(version);
  const need = parseNodeVersion(minimum);
  if (!have || !need) return false;
  for (let i = 0; i < 3; i++) {
    if (have[i] !== need[i]) return have[i] > need[i];
  }
  return true;
}

/** @param {{ nodeVersion: string, entry: 'action' | 'cli' }} runtime */
export function checkNodeVersion({ nodeVersion, entry }) {
  const minimum = MINIMUM_NODE[entry];
  if (nodeVersionAtLeast(nodeVersion, minimum)) return { supported: true };
  const fix =
    entry === 'action'
      ? 'Add actions/setup-node with node-version: 24 before the bias-gate step.'
      : 'Install Node.js 24 or 22 (https://nodejs.org, or nvm install 24).';
  const what = entry === 'action' ? 'The bias-gate Action' : 'bias-gate';
  return { supported: false, message: `${what} needs Node.js >= ${minimum}; this is Node.js ${nodeVersion}. ${fix}` };
}

/**
 * Whether the native modules (onnxruntime-node, sharp) have a binary for this
 * platform and architecture.
 * @param {{ platform: string, arch: string }} target `process.platform`, `process.arch`
 */
export function checkNativeTarget({ platform, arch }) {
  const target = `${platform}/${arch}`;
  if (platform === 'darwin' && arch === 'x64') {
    return {
      supported: false,
      message:
        'bias-gate does not run on macOS x64 (Intel): onnxruntime-node ships no darwin-x64 binary. ' +
        'Use an Apple silicon runner (macos-latest, macos-14 or later) or ubuntu-latest; a Rosetta Node.js on Apple silicon reports x64 too: install the arm64 Node.js.',
    };
  }
  if (!ONNXRUNTIME_BINARIES.includes(target)) {
    return {
      supported: false,
      message: `bias-gate does not run on ${platform}-${arch}: onnxruntime-node ships binaries only for ${ONNXRUNTIME_BINARIES.map((t) => t.replace('/', '-')).join(', ')}. Use a Linux x64/arm64, macOS arm64 or Windows x64 runner.`,
    };
  }
  if (!TESTED_TARGETS.includes(target)) {
    return { supported: true, note: `${platform}-${arch} has native binaries but is not tested by bias-gate's CI.` };
  }
  return { supported: true };
}

/**
 * Everything a run needs: the Node version for the entry, and (unless
 * `native` is false, e.g. the fork-safe publishing job) a native binary for
 * the target.
 * @param {{ platform: string, arch: string, nodeVersion: string, entry: 'action' | 'cli', native?: boolean }} runtime
 */
export function checkRuntime(runtime) {
  const node = checkNodeVersion(runtime);
  if (!node.supported || runtime.native === false) return node;
  return checkNativeTarget(runtime);
}
