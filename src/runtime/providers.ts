import * as ort from 'onnxruntime-node';
import { InputError, messageOf } from '../errors.ts';

/**
 * Which execution providers a session actually got (config `runtime.providers`), so a run that
 * asked for a GPU and ran on the CPU says so in the report, not only in the log.
 *
 * What onnxruntime-node 1.30 does (measured on Linux x64 without CUDA):
 * - `cuda`/`tensorrt` are compiled in but their libraries (libonnxruntime_providers_cuda.so …) are
 *   not in the npm package: the postinstall downloads them from NuGet, and with
 *   `--onnxruntime-node-install=skip` or no network they are absent. Creating a session then throws
 *   `OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library`, even when `cpu`
 *   follows in the list: there is no silent fallback for these.
 * - A name the binding was not built with (`dml` or `coreml` on Linux) is silently removed
 *   ("removing requested execution provider … backend not found" on stdout) and the session runs on
 *   the CPU. So such names are never passed: {@link unsupportedReason} rejects them first.
 * - A created session does not say which providers it uses, so "used" is the list the successful
 *   create was given (onnxruntime still runs single nodes a provider lacks on the CPU).
 */

/** One model session's providers: what the config asked for and what the session was created with. */
export interface ProviderOutcome {
  /** The model as messages name it (`head language model models/lm/model.onnx`). */
  model: string;
  /** `runtime.providers`, in order. */
  requested: string[];
  /** The providers the session was created with, in order: `requested` minus those unavailable. */
  used: string[];
  /** Requested providers that could not be used here, with onnxruntime's reason (first line). */
  unavailable: { provider: string; reason: string }[];
  /** The shard (`2/4`) whose job opened the session, in a merged run. */
  shard?: string;
}

/** The providers of every model session a run opened (a fully cached run opens none). */
export interface RuntimeRecord {
  /** `runtime.providers` of the config in force. */
  requested: string[];
  /** One entry per session opened, in the order they were opened. */
  sessions: ProviderOutcome[];
}

/** The provider names `runtime.providers` accepts (the config schema's enum). */
export const KNOWN_PROVIDERS = ['cuda', 'tensorrt', 'webgpu', 'cpu'] as const;

/**
 * A provider list as a workflow input writes it (`cuda, cpu` or `cuda cpu`), checked like the
 * config's `runtime.providers`: known names, each once, at least one. `where` names the input.
 */
export function parseProviderList(text: string, where: string): string[] {
  const names = text.split(/[\s,]+/).filter((name) => name !== '');
  const unknown = names.filter((name) => !(KNOWN_PROVIDERS as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0 || new Set(names).size !== names.length) {
    throw new InputError(`${where}: "${text}" is not a list of execution providers; expected distinct names from ${KNOWN_PROVIDERS.join(', ')}, e.g. "cuda, cpu"`);
  }
  return names;
}

/** What to install for each accelerator, for the error when no fallback is listed. */
export const PROVIDER_INSTALL_HINTS: Readonly<Record<string, string>> = {
  cuda:
    'CUDA needs an NVIDIA GPU with CUDA 12 and cuDNN 9 libraries, and onnxruntime-node\'s CUDA provider libraries, which its ' +
    'postinstall downloads from NuGet: `npm install onnxruntime-node --onnxruntime-node-install=cuda12` ' +
    '(or ONNXRUNTIME_NODE_INSTALL=cuda12); in the Action, set the `gpu` input on a GPU runner.',
  tensorrt:
    'TensorRT needs an NVIDIA GPU with CUDA 12, cuDNN 9 and TensorRT 10 libraries, and onnxruntime-node installed with ' +
    '`--onnxruntime-node-install=cuda12` (it brings the TensorRT provider library too).',
  webgpu: 'WebGPU needs a GPU adapter that Dawn can open (Vulkan on Linux, with libvulkan.so.1 and a driver).',
};

/** Why `provider` cannot be tried at all in this onnxruntime-node build, or undefined when it can. */
export function unsupportedReason(provider: string, supported: readonly string[] = supportedProviders()): string | undefined {
  if (supported.includes(provider)) return undefined;
  return `this onnxruntime-node ${ort.env.versions.node ?? ''} build for ${process.platform}/${process.arch} has no ${provider} execution provider (it has ${supported.join(', ')})`;
}

let supportedCache: string[] | undefined;
function supportedProviders(): string[] {
  supportedCache ??= (ort as unknown as { listSupportedBackends?: () => { name: string }[] }).listSupportedBackends?.().map((backend) => backend.name) ?? ['cpu'];
  return supportedCache;
}

/** The requested provider that a failed create names, if any (case-insensitive: `OrtSessionOptionsAppendExecutionProvider_Cuda`). */
export function providerNamedIn(error: unknown, providers: readonly string[]): string | undefined {
  const message = messageOf(error).toLowerCase();
  return providers.find((provider) => provider !== 'cpu' && message.includes(provider.toLowerCase()));
}

/**
 * The error for a config whose providers all failed on this machine: `runtime.providers` lists no
 * `cpu` to fall back to, so running anyway would not be what was asked for.
 */
export function noProviderError(displayPath: string, outcome: Pick<ProviderOutcome, 'requested' | 'unavailable'>): InputError {
  const reasons = outcome.unavailable.map(({ provider, reason }) => `${provider}: ${reason}`).join('; ');
  const hints = outcome.unavailable.map(({ provider }) => PROVIDER_INSTALL_HINTS[provider]).filter((hint): hint is string => hint !== undefined);
  return new InputError(
    `${displayPath}: runtime.providers [${outcome.requested.join(', ')}] cannot be used here (${reasons}), and cpu is not listed as a fallback`,
    { hint: [...hints, 'Or list cpu after it (`providers: [cuda, cpu]`) to run on the CPU when it is missing; the report then records which was used.'].join(' ') },
  );
}

/** `cuda, cpu`, or `cpu (cuda unavailable)` when the session fell back. */
export function describeProviderOutcome(outcome: Pick<ProviderOutcome, 'used' | 'unavailable'>): string {
  const used = outcome.used.join(', ');
  return outcome.unavailable.length === 0 ? used : `${used} (${outcome.unavailable.map(({ provider }) => provider).join(', ')} unavailable)`;
}
