import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { RunEnvironment } from '../report/types.ts';

/** The native packages whose versions the audit record names: they compute every score. */
export const RUNTIME_PACKAGES = { onnxruntimeNode: 'onnxruntime-node', sharp: 'sharp' } as const;

/**
 * The installed version of a package, read from its package.json without loading it (no native
 * module is opened for the record). The package's entry is resolved from this module's place
 * (dist/ in the Action, the CLI's install, src/ in tests), then its directory is walked up to the
 * package.json that names it: sharp's `exports` does not expose `./package.json`. Null when the
 * package cannot be found.
 */
export function installedPackageVersion(name: string, from: string = import.meta.url): string | null {
  let entry: string;
  try {
    entry = createRequire(from).resolve(name);
  } catch {
    return null;
  }
  for (let directory = path.dirname(entry); ; directory = path.dirname(directory)) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(directory, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === name && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // no package.json here (or not JSON): keep walking up
    }
    if (path.dirname(directory) === directory) return null;
  }
}

/** Node and the native packages' versions, for {@link RunEnvironment.toolchain}. */
export function toolchainVersions(): RunEnvironment['toolchain'] {
  return {
    node: process.version,
    onnxruntimeNode: installedPackageVersion(RUNTIME_PACKAGES.onnxruntimeNode),
    sharp: installedPackageVersion(RUNTIME_PACKAGES.sharp),
  };
}

/** The machine, for {@link RunEnvironment.runner}: Node's platform names (`linux`, `x64`), which the CLI and the Action share. */
export function runnerRecord(name: string | null = null): RunEnvironment['runner'] {
  return { os: process.platform, arch: process.arch, name };
}
