/** What a per-platform archive is built for. */
export interface NativeTarget {
  /** package.json `version` of the action. */
  version: string;
  /** `process.platform`. */
  platform: string;
  /** `process.arch`. */
  arch: string;
  /** `process.versions.modules`, the Node ABI. */
  abi: string;
}

/** node_modules/.bias-gate-native.json in an archive. */
export interface NativeManifest extends NativeTarget {
  /** Hex sha256 of the package-lock.json the archive was installed from. */
  lockfileSha256: string;
}

/** The install step's job, as chooseNativeSource sees it. */
export interface NativeJob extends NativeTarget {
  /** The `gpu` input is true: the CUDA libraries come from onnxruntime-node's installer. */
  gpu: boolean;
  /** BIAS_GATE_NATIVE_URL: a base URL or a local directory holding the archives. */
  override?: string;
  /** owner/repo of the action. */
  repository?: string;
  /** The ref the workflow used (`v1`, `v1.2.3`, a sha, `main`). */
  ref?: string;
}

export type NativeSource =
  | {
      source: 'archive';
      /** The archive's file name. */
      name: string;
      /** URL or local path of the archive. */
      archive: string;
      /** URL or local path of its `.sha256` file. */
      checksum: string;
      /** true: `archive` and `checksum` are local paths. */
      local: boolean;
    }
  | { source: 'npm'; /** One line for the log: why not the archive. */ reason: string };

export const RELEASE_SERVER: string;
export const FALLBACK_EXIT: number;
export const MANIFEST_FILE: string;
export function nativeArchiveName(target: NativeTarget): string;
export function formatChecksumFile(sha256: string, name: string): string;
export function parseChecksumFile(text: string, name: string): string | undefined;
export function actionFromPath(actionPath: string): { repository: string; ref: string } | undefined;
export function isReleaseRef(ref: string): boolean;
export function chooseNativeSource(job: NativeJob): NativeSource;
export function nativeManifest(build: NativeManifest): NativeManifest;
export function manifestMismatch(manifest: unknown, expected: NativeManifest): string | undefined;
