#!/usr/bin/env node
// The `bias-gate` bin (dist/cli.js). Checks Node.js and the platform before the
// real CLI (dist/cli-main.js) is loaded: ESM evaluates every static import
// first, so on an unsupported Node the bundle would fail on some bundled
// dependency before any check inside it could run. Only platform.mjs is
// bundled in; the CLI is imported by a URL esbuild leaves alone.
import { checkRuntime } from './platform.mjs';

const check = checkRuntime({ platform: process.platform, arch: process.arch, nodeVersion: process.versions.node, entry: 'cli' });
if (!check.supported) {
  process.stderr.write(`${check.message}\n`);
  process.exit(2);
}
await import(new URL('./cli-main.js', import.meta.url).href);
