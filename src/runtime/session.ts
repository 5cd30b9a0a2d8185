import { dirname, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { confinedFile, confinementError, inspectConfined, openRegularFile, readRegularFile } from '../artifacts/confined-file.ts';
import { GIT_LFS_POINTER_HEAD_BYTES, isGitLfsPointer } from '../artifacts/lfs.ts';
import { InputError, messageOf } from '../errors.ts';
import { externalDataLocations } from './external-data.ts';
import { readExtendedModel } from './graph-extension.ts';
import { noProviderError, providerNamedIn, unsupportedReason, type ProviderOutcome } from './providers.ts';

/** A loaded ONNX model, ready to run. Every error it throws names {@link displayPath}. */
export interface ModelSession {
  /** The model's path as the user wrote it (config or CLI), used in every message. */
  readonly displayPath: string;
  /** The graph's input names, in the model's order. */
  readonly inputNames: readonly string[];
  /** The graph's output names, in the model's order. */
  readonly outputNames: readonly string[];
  /** onnxruntime's metadata of each input (type and shape, symbolic dimensions as names), in the model's order (absent in test doubles). */
  readonly inputMetadata?: readonly ort.InferenceSession.ValueMetadata[];
  /** The execution providers the session was created with (config order, unavailable ones dropped). */
  readonly providers?: readonly string[];
  /** Runs the model and returns only the requested outputs. */
  run(feeds: Record<string, ort.Tensor>, outputNames: readonly string[]): Promise<Record<string, ort.Tensor>>;
  /** Frees the native session; later calls are no-ops. */
  release(): Promise<void>;
}

/** How an ONNX session is set up. */
export interface SessionOptions {
  /** Threads one operator may use. Absent: onnxruntime's default (one per physical core). */
  intraOpThreads?: number;
  /**
   * Execution providers to try, in order (config `runtime.providers`, e.g. `['cuda', 'cpu']`).
   * One that cannot load on this machine is dropped with a log line when another follows; when
   * none is left (`[cuda]` without CUDA) opening fails with an InputError: a GPU that was asked
   * for without a fallback is never silently replaced by the CPU.
   */
  providers?: readonly string[];
  /** Told which providers the session got, once per model opened (the report's `runtime` record). */
  onProviders?: (outcome: ProviderOutcome) => void;
  /**
   * Nodes to add to the model's graph at load ({@link readExtendedModel}), with a few words on what
   * they are for. When the extended model cannot be loaded but the model itself can, the model is
   * opened as it is and the reason logged: the caller sees which it got from `outputNames`.
   */
  extension?: { bytes: Uint8Array; purpose: string };
  /**
   * A rewrite of the model's bytes tried before {@link extension} (read-positions.ts). `apply` gets
   * the model in `buffer[0, size)` followed by {@link REWRITE_ROOM} free bytes, may edit it in place
   * (so a large model is not copied) and returns the model to load. It throws when it does not
   * understand the graph; then, or when the rewritten model does not load, the reason is logged and
   * the model is read again and opened as without it (with the extension when there is one).
   */
  rewrite?: { apply: (buffer: Uint8Array, size: number) => Uint8Array; purpose: string };
  /**
   * A transformation of the model's own bytes applied first, before {@link rewrite} or
   * {@link extension} (int8 quantisation, quantise-int8.ts). Unlike those it has no fallback: the
   * transformed model is the one asked for.
   */
  prepare?: (bytes: Uint8Array) => Uint8Array;
  /** Where provider, rewrite and extension fallbacks are reported. */
  log?: (message: string) => void;
  /**
   * The checkout the model belongs to (head or base root): the model file and every external-data
   * file it names must be regular files inside it (confined-file.ts). Default: the model's directory.
   */
  root?: string;
}

/** Free bytes after the model that a {@link SessionOptions.rewrite} may append nodes in. */
export const REWRITE_ROOM = 64 * 1024;

const LOAD_HINT =
  'The file must be a complete ONNX model (.onnx), not truncated and not another format, using operators that ' +
  `onnxruntime ${ort.env.versions.node ?? ort.env.versions.common} supports; re-export it or check it with \`python -m onnx.checker\`.`;

const RUN_HINT = "Check that the input name, image size, layout and channel count in the config match the model's input.";

/**
 * Opens an ONNX model. `path` is where the file is on disk; `displayPath` is how messages name it.
 * The first bytes are checked before onnxruntime sees the file, so a missing file or a Git LFS pointer
 * (a checkout without LFS) gets a message that says what to do instead of a protobuf parse error.
 */
export async function openModel(path: string, displayPath: string, options: SessionOptions = {}): Promise<ModelSession> {
  const ortOptions = toOrtOptions(options);
  const root = options.root ?? dirname(path);
  const head = await readHead(root, path, displayPath);
  if (isGitLfsPointer(head)) {
    throw new InputError(
      `${displayPath} is a Git LFS pointer, not the model; check out with \`lfs: true\` (actions/checkout) or run \`git lfs pull\``,
    );
  }
  if (head.length === 0) {
    throw new InputError(`${displayPath} is empty (0 bytes), not an ONNX model`, { hint: LOAD_HINT });
  }

  const requested = [...(options.providers ?? ['cpu'])];
  const outcome: ProviderOutcome = { model: displayPath, requested, used: [], unavailable: [] };
  const providers = dropUnsupported(requested, outcome, displayPath, options.log);
  const prepared = options.prepare ? await preparedModel(options.prepare, path, displayPath, root) : undefined;
  let session = options.rewrite ? await createRewritten(options.rewrite, path, displayPath, root, ortOptions, providers, outcome, options.log, prepared) : undefined;
  if (session) {
    outcome.used = [...providers];
    options.onProviders?.(outcome);
    return wrapSession(session, displayPath, outcome.used);
  }
  let extensionError: unknown;
  let bytes: Uint8Array;
  if (prepared) bytes = options.extension ? withRoom(prepared, options.extension.bytes) : prepared;
  else bytes = options.extension ? await readExtendedModel(path, options.extension.bytes) : await readRegularFile(path, displayPath);
  // onnxruntime opens external-data files itself: each must be a regular file of the same checkout.
  await checkExternalData(bytes, root, path, displayPath);
  if (options.extension) {
    try {
      session = await createSession(bytes, withExternalDataFolder(ortOptions, path), providers, outcome, options.log);
    } catch (error) {
      if (error instanceof InputError) throw error;
      extensionError = error;
    }
  }
  if (!session) {
    try {
      session = prepared
        ? await createSession(prepared, withExternalDataFolder(ortOptions, path), providers, outcome, options.log)
        : await createSession(path, ortOptions, providers, outcome, options.log);
    } catch (error) {
      if (error instanceof InputError) throw error;
      // The model itself does not load: that, not the extension, is what the user must fix.
      throw new InputError(`${displayPath} could not be loaded as an ONNX model: ${messageOf(error)}`, {
        hint: LOAD_HINT,
        cause: error,
      });
    }
    if (extensionError !== undefined) {
      options.log?.(`${displayPath}: ${options.extension!.purpose} could not be added to the graph (${firstLine(extensionError)}); running the model without them`);
    }
  }
  outcome.used = [...providers];
  options.onProviders?.(outcome);
  return wrapSession(session, displayPath, outcome.used);
}

/**
 * A session of the model rewritten by `rewrite`, or undefined (the reason logged) when the rewrite
 * does not understand the graph or its result does not load. Errors that are the user's to fix
 * (InputError: an unconfined external-data file, no execution provider) are thrown.
 */
async function createRewritten(
  rewrite: NonNullable<SessionOptions['rewrite']>,
  path: string,
  displayPath: string,
  root: string,
  ortOptions: ort.InferenceSession.SessionOptions,
  providers: string[],
  outcome: ProviderOutcome,
  log: SessionOptions['log'],
  prepared: Uint8Array | undefined,
): Promise<ort.InferenceSession | undefined> {
  const room = new Uint8Array(REWRITE_ROOM);
  const buffer = prepared ? withRoom(prepared, room) : await readExtendedModel(path, room);
  let bytes: Uint8Array;
  try {
    bytes = rewrite.apply(buffer, buffer.length - REWRITE_ROOM);
  } catch (error) {
    if (error instanceof InputError) throw error;
    log?.(`${displayPath}: ${rewrite.purpose} not applied (${firstLine(error)}); opening the model without it`);
    return undefined;
  }
  await checkExternalData(bytes, root, path, displayPath);
  try {
    return await createSession(bytes, withExternalDataFolder(ortOptions, path), providers, outcome, log);
  } catch (error) {
    if (error instanceof InputError) throw error;
    log?.(`${displayPath}: ${rewrite.purpose} not applied: the rewritten model does not load (${firstLine(error)}); opening the model without it`);
    return undefined;
  }
}

/** The model at `path` transformed by `prepare`, its external data checked first. */
async function preparedModel(prepare: NonNullable<SessionOptions['prepare']>, path: string, displayPath: string, root: string): Promise<Uint8Array> {
  const original = await readRegularFile(path, displayPath);
  // onnxruntime opens external-data files itself: each must be a regular file of the same checkout.
  await checkExternalData(original, root, path, displayPath);
  return prepare(original);
}

/** `model` followed by `after` in one new buffer. */
function withRoom(model: Uint8Array, after: Uint8Array): Uint8Array {
  const out = new Uint8Array(model.length + after.length);
  out.set(model, 0);
  out.set(after, model.length);
  return out;
}

async function readHead(root: string, path: string, displayPath: string): Promise<Buffer> {
  const found = await inspectConfined(root, path);
  if (found.kind === 'missing') {
    throw new InputError(`Model file ${displayPath} does not exist`, {
      hint: 'Check the model path in the config; paths are relative to the repository root.',
    });
  }
  if (found.kind === 'directory') throw new InputError(`${displayPath} is a directory; expected an ONNX model file (.onnx)`);
  if (found.kind !== 'file') throw confinementError(found, displayPath, 'an ONNX model file');
  let handle;
  try {
    ({ handle } = await openRegularFile(path, displayPath));
    const buffer = Buffer.alloc(GIT_LFS_POINTER_HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } catch (error) {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new InputError(`Model file ${displayPath} does not exist`, {
        hint: 'Check the model path in the config; paths are relative to the repository root.',
      });
    }
    if (code === 'EISDIR') {
      throw new InputError(`${displayPath} is a directory; expected an ONNX model file (.onnx)`);
    }
    throw new InputError(`Model file ${displayPath} could not be read: ${messageOf(error)}`, { cause: error });
  } finally {
    await handle?.close();
  }
}

/** Refuses a model whose external-data files (resolved against its directory, as onnxruntime does) are not regular files inside `root`. */
async function checkExternalData(bytes: Uint8Array, root: string, path: string, displayPath: string): Promise<void> {
  for (const location of externalDataLocations(bytes)) {
    const shown = JSON.stringify(location.length > 120 ? `${location.slice(0, 120)}…` : location);
    await confinedFile(root, resolve(dirname(path), location), `${displayPath}: external data file ${shown}`);
  }
}

/**
 * Providers this onnxruntime-node build does not have at all are dropped before any create:
 * onnxruntime-node would remove them itself, silently, and the run would look accelerated.
 */
function dropUnsupported(requested: readonly string[], outcome: ProviderOutcome, displayPath: string, log: SessionOptions['log']): string[] {
  const providers: string[] = [];
  for (const provider of requested) {
    const reason = unsupportedReason(provider);
    if (reason === undefined) providers.push(provider);
    else outcome.unavailable.push({ provider, reason });
  }
  if (providers.length === 0) throw noProviderError(displayPath, outcome);
  if (outcome.unavailable.length > 0) log?.(`${displayPath}: ${outcome.unavailable.map((u) => `${u.provider} is not available here (${u.reason})`).join('; ')}; using ${providers.join(', ')}`);
  return providers;
}

/**
 * Creates a session with the providers in `providers`, in order. A provider this runner cannot
 * load (CUDA without its libraries: onnxruntime-node throws rather than falling back) fails the
 * whole create: it is dropped from `providers` (so a second call does not try it again), recorded
 * in `outcome.unavailable` with a log line, and the rest are tried, so `[cuda, cpu]` means "CUDA
 * when there is one". When nothing is left, the InputError of {@link noProviderError}. Errors that
 * are the model's own (a CPU-only session fails too) are thrown as onnxruntime gave them.
 */
async function createSession(
  source: string | Uint8Array,
  options: ort.InferenceSession.SessionOptions,
  providers: string[],
  outcome: ProviderOutcome,
  log: SessionOptions['log'],
): Promise<ort.InferenceSession> {
  const create = (executionProviders: string[]) => {
    const withProviders = { ...options, executionProviders };
    return typeof source === 'string' ? ort.InferenceSession.create(source, withProviders) : ort.InferenceSession.create(source, withProviders);
  };
  for (;;) {
    try {
      return await create(providers);
    } catch (error) {
      let unavailable = providerNamedIn(error, providers);
      if (unavailable === undefined) {
        // Unnamed: the accelerator is at fault only if the same model opens on the CPU alone.
        const accelerator = providers.find((provider) => provider !== 'cpu');
        if (accelerator === undefined || !(await opensOnCpu(create))) throw error;
        unavailable = accelerator;
      }
      providers.splice(providers.indexOf(unavailable), 1);
      outcome.unavailable.push({ provider: unavailable, reason: firstLine(error) });
      if (providers.length === 0) throw noProviderError(outcome.model, outcome);
      log?.(`${outcome.model}: execution provider ${unavailable} is not available here (${firstLine(error)}); falling back to ${providers.join(', ')}`);
    }
  }
}

async function opensOnCpu(create: (providers: string[]) => Promise<ort.InferenceSession>): Promise<boolean> {
  try {
    await (await create(['cpu'])).release();
    return true;
  } catch {
    return false;
  }
}

function firstLine(error: unknown): string {
  return messageOf(error).split('\n')[0]!;
}

/**
 * A model loaded from bytes has no directory of its own: tell onnxruntime where external data
 * files (weights beside a model over 2 GB) are, as loading from the path would.
 */
function withExternalDataFolder(options: ort.InferenceSession.SessionOptions, path: string): ort.InferenceSession.SessionOptions {
  const session = (options.extra as { session?: Record<string, unknown> } | undefined)?.session ?? {};
  return { ...options, extra: { ...options.extra, session: { ...session, model_external_initializers_file_folder_path: dirname(path) } } };
}

function toOrtOptions(options: SessionOptions): ort.InferenceSession.SessionOptions {
  const { intraOpThreads } = options;
  // Unlisted: the default. Listed: checked by the config schema; a typo would never reach here.
  if (intraOpThreads !== undefined && !(Number.isInteger(intraOpThreads) && intraOpThreads >= 1)) {
    throw new RangeError(`intraOpThreads must be a positive integer, got ${intraOpThreads}`);
  }
  return {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // Scores are compared across runs and between base and head: ask kernels that have a
    // deterministic variant to use it (onnxruntime's session.use_deterministic_compute).
    extra: { session: { use_deterministic_compute: '1', intra_op: { allow_spinning: '0' } } },
    // Warnings about e.g. unused initializers are noise in an Action log; load errors still throw.
    logSeverityLevel: 3,
    ...(intraOpThreads === undefined ? {} : { intraOpNumThreads: intraOpThreads }),
  };
}

function wrapSession(session: ort.InferenceSession, displayPath: string, providers: readonly string[]): ModelSession {
  let released = false;
  return {
    displayPath,
    inputNames: [...session.inputNames],
    outputNames: [...session.outputNames],
    inputMetadata: [...session.inputMetadata],
    providers,
    async run(feeds, outputNames) {
      let results: ort.InferenceSession.ReturnType;
      try {
        results = await session.run(feeds, outputNames);
      } catch (error) {
        throw new InputError(
          `${displayPath}: onnxruntime could not run the model on ${describeFeeds(feeds)}: ${messageOf(error)}`,
          { hint: RUN_HINT, cause: error },
        );
      }
      return { ...results };
    },
    async release() {
      if (released) return;
      released = true;
      await session.release();
    },
  };
}

/** `pixels float32 [2,3,8,8]`: what was fed, for run errors. */
function describeFeeds(feeds: Record<string, ort.Tensor>): string {
  return Object.entries(feeds)
    .map(([name, tensor]) => `${name} ${tensor.type} [${tensor.dims.join(',')}]`)
    .join(', ');
}
