import path from 'node:path';
import type { BiasGateConfig } from '../config/types.ts';
import { readConfigState } from '../policy/decide.ts';
import type { ConfigState } from '../policy/types.ts';
import { materializeBaseTree } from './git.ts';
import { inTree } from './models.ts';

/** The base side of a run: its tree and the config found there (DESIGN §1.2, issue 9 §1). */
export interface BaseSide {
  /** Root of the base tree: a checkout, or a directory written from the base commit. */
  root: string;
  /** The base branch's config at the same repository-relative path as the head's. */
  config: ConfigState;
  /** The base commit, when the base came from git. */
  commit: string | null;
}

/** Every repository-relative path a config reads: its models, the pretrained backbone, reference sets, local benchmark files. */
export function configuredPaths(config: BiasGateConfig): string[] {
  const { vision, language } = config;
  const benchmarks = language ? [language.benchmarks.crowsPairs, language.benchmarks.stereoSet, language.benchmarks.perplexity] : [];
  return [
    vision?.model, vision?.pretrained, vision?.referenceSets, language?.model,
    ...benchmarks.map((benchmark) => benchmark?.path),
  ].flatMap((configured) => (configured ? [configured.repoRelative] : []));
}

/** The fine-tuned models' paths alone (a base model is found by the head config's path when the base names none). */
export function modelPaths(config: BiasGateConfig): string[] {
  return [config.vision?.model, config.language?.model].flatMap((configured) => (configured ? [configured.repoRelative] : []));
}

export interface GitBaseSideOptions {
  /** The head repository's root (git runs there). */
  repoRoot: string;
  commit: string;
  /** The config's path relative to the repository root. */
  configPath: string;
  /** The pull request's config: its model paths are written too, for a base without a config of its own. */
  head: ConfigState;
  /** An empty directory for the base tree. */
  targetDir: string;
  log: (message: string) => void;
}

/**
 * Writes the base commit's config and everything it reads (plus the head config's model
 * paths) into `targetDir`, and loads that config with the base tree as its root, so every
 * path the base policy names resolves in the base tree, not in the pull request's.
 */
export async function gitBaseSide(options: GitBaseSideOptions): Promise<BaseSide> {
  const { repoRoot, commit, configPath, head, targetDir, log } = options;
  await materializeBaseTree({ repoRoot, commit, paths: [configPath], targetDir, log });
  const config = await readConfigState(inTree(targetDir, configPath), targetDir, configPath);
  const wanted = new Set([...(config.status === 'found' ? configuredPaths(config.config) : []), ...(head.status === 'found' ? modelPaths(head.config) : [])]);
  wanted.delete(configPath);
  if (wanted.size > 0) await materializeBaseTree({ repoRoot, commit, paths: [...wanted].sort(), targetDir, log });
  return { root: targetDir, config, commit };
}

/** A base checkout given as a directory (CLI `--base DIR`): its config at the same relative path. */
export async function directoryBaseSide(root: string, configPath: string): Promise<BaseSide> {
  return { root, config: await readConfigState(inTree(root, configPath), path.resolve(root), configPath), commit: null };
}
