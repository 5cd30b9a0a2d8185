/** Outcome of a platform check: supported, or a message that says what to do instead. */
export type RuntimeCheck =
  | { supported: true; /** Set when the target should work but is not tested. */ note?: string }
  | { supported: false; /** One line for the user: what was found and what to use instead. */ message: string };

export interface NativeTarget {
  /** `process.platform`. */
  platform: string;
  /** `process.arch`. */
  arch: string;
}

/** Which entry runs: the GitHub Action (dist/index.js) or the CLI (dist/cli.js). */
export type Entry = 'action' | 'cli';

export interface Runtime extends NativeTarget {
  /** `process.versions.node`. */
  nodeVersion: string;
  entry: Entry;
  /** false: the native modules are not needed (fork-safe publishing); only the Node version is checked. */
  native?: boolean;
}

export const MINIMUM_NODE: Readonly<Record<Entry, string>>;
export const TESTED_NODE_MAJORS: readonly number[];
export const ONNXRUNTIME_BINARIES: readonly string[];
export const TESTED_TARGETS: readonly string[];
export function parseNodeVersion(version: string): [number, number, number] | undefined;
export function nodeVersionAtLeast(version: string, minimum: string): boolean;
export function checkNodeVersion(runtime: { nodeVersion: string; entry: Entry }): RuntimeCheck;
export function checkNativeTarget(target: NativeTarget): RuntimeCheck;
export function checkRuntime(runtime: Runtime): RuntimeCheck;
