// Bundles the entries into dist/. Native modules stay external: they are
// installed next to the action (npm ci --omit=dev), not inlined.
// Also writes dist/THIRD_PARTY_LICENSES.txt (the licence of every package
// bundled in) and checks that the Node.js minimums in src/platform.mjs and
// package.json `engines` are what the bundled packages declare.
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { MINIMUM_NODE } from '../src/platform.mjs';
import { bundledPackages, minimumNode, thirdPartyLicenses } from './licenses.mjs';

const EXTERNAL = ['onnxruntime-node', 'sharp'];
const common = {
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  sourcemap: false,
  // Licences are collected into dist/THIRD_PARTY_LICENSES.txt instead.
  legalComments: 'none',
  external: EXTERNAL,
  metafile: true,
  banner: {
    // Bundled CommonJS dependencies call require(); give ESM output one.
    js: "import { createRequire as __biasGateCreateRequire } from 'node:module'; const require = __biasGateCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
};

/**
 * The fork-safe publishing job installs no native module, yet dist/index.js
 * imports them (through the pipeline) at load time, and some modules read
 * them at load time (`ort.env.versions`). In the Action bundle each native
 * module is loaded by a require() that, when the package is not installed,
 * yields a stand-in with the same export names whose members throw
 * "not installed" when called. Scoring runs only after action.yml's "Check
 * native modules load" step has loaded both, so only publishing sees it.
 * The export names are read from the installed packages here.
 */
const requireFromRoot = createRequire(path.resolve('package.json'));
const optionalNative = {
  name: 'optional-native',
  setup(plugin) {
    const filter = new RegExp(`^(${EXTERNAL.join('|')})$`);
    plugin.onResolve({ filter }, (args) => (args.namespace === 'optional-native' ? { path: args.path, external: true } : { path: args.path, namespace: 'optional-native' }));
    plugin.onLoad({ filter: /.*/, namespace: 'optional-native' }, (args) => {
      const names = Object.keys(requireFromRoot(args.path)).filter((key) => key !== 'default' && key !== '__esModule').sort();
      return { loader: 'js', contents: optionalNativeModule(args.path, names) };
    });
  },
};

function optionalNativeModule(name, names) {
  return `
const NAME = ${JSON.stringify(name)};
let loaded;
try {
  loaded = require(NAME);
} catch (error) {
  if (error?.code !== 'MODULE_NOT_FOUND') throw error;
}
function notInstalled(member) {
  return new Error(\`\${member}: \${NAME} is not installed (the fork-safe publishing job of bias-gate installs no native module)\`);
}
function missing(member) {
  const fail = () => { throw notInstalled(member); };
  return new Proxy(function () {}, {
    get: (_, key) => (key === Symbol.toPrimitive ? () => \`[\${member}: not installed]\` : typeof key === 'symbol' || key === 'then' ? undefined : missing(\`\${member}.\${key}\`)),
    apply: fail,
    construct: fail,
  });
}
if (loaded) {
  module.exports = loaded;
} else {
  const stub = function () { throw notInstalled(NAME); };
  for (const key of ${JSON.stringify(names)}) Object.defineProperty(stub, key, { value: missing(\`\${NAME}.\${key}\`), enumerable: true });
  module.exports = stub;
}
`;
}

// The target is each entry's minimum Node, so no syntax newer than it is emitted.
const action = await build({ ...common, entryPoints: { index: 'src/main.ts' }, target: `node${MINIMUM_NODE.action}`, plugins: [optionalNative] });
await build({ ...common, entryPoints: { preflight: 'src/preflight.ts' }, target: `node${MINIMUM_NODE.action}`, metafile: false });
const cli = await build({ ...common, entryPoints: { 'cli-main': 'src/cli.ts' }, target: `node${MINIMUM_NODE.cli}` });
// The bin: old enough syntax for an old Node to parse and print the version check.
await build({ ...common, entryPoints: { cli: 'src/cli-entry.ts' }, metafile: false, banner: {}, target: 'node16' });

const failures = [];
for (const [entry, result] of [['action', action], ['cli', cli]]) {
  const packages = bundledPackages(result.metafile, EXTERNAL);
  const needed = minimumNode(packages);
  if (needed.version !== MINIMUM_NODE[entry]) {
    failures.push(`MINIMUM_NODE.${entry} in src/platform.mjs is ${MINIMUM_NODE[entry]}, but the ${entry} bundle needs Node >= ${needed.version} (${needed.packages.join(', ')}): update it, README "Supported platforms" and the workflows.`);
  }
}
const engines = JSON.parse(readFileSync('package.json', 'utf8')).engines?.node;
if (engines !== `>=${MINIMUM_NODE.cli}`) failures.push(`package.json engines.node is ${engines}; the CLI needs >=${MINIMUM_NODE.cli}.`);
if (failures.length > 0) {
  for (const failure of failures) console.error(`build: ${failure}`);
  process.exit(1);
}

writeFileSync('dist/THIRD_PARTY_LICENSES.txt', thirdPartyLicenses([...bundledPackages(action.metafile, []), ...bundledPackages(cli.metafile, [])]));
