import path from 'node:path';
import type { ConfiguredPath } from '../config/types.ts';
import { InputError } from '../errors.ts';
import type { BaseStatus } from '../scores.ts';
import { confinedFile, inspectConfined } from './confined-file.ts';
import { sha256File } from './hash.ts';

export type ModelRole = 'pretrained' | 'base' | 'head';

/** A model file as the audit record names it. */
export interface ModelArtifact {
  role: ModelRole;
  /** Repository-relative path (the same for base and head). */
  path: string;
  /** Absolute path the bytes were read from. */
  absolute: string;
  sha256: string;
  bytes: number;
}

/** The two checkouts a run compares. */
export interface Checkouts {
  /** The PR's tree: the head model is read from here. */
  headRoot: string;
  /** The base branch's tree; undefined when no base was given. */
  baseRoot: string | undefined;
  /**
   * The tree the policy in force came from: its own inputs (pretrained backbone, reference
   * sets, local benchmark files) are read from here, so a pull request cannot swap them
   * while the base branch's policy applies. Default: `headRoot`.
   */
  policyRoot?: string;
  /**
   * Each side's model path by role, when the side's own config names it elsewhere than the
   * policy does (a renamed or moved model is still compared with the base model of its role).
   */
  modelPaths?: Partial<Record<ModelFamily, SideModelPaths>>;
}

/** The config sections that name a fine-tuned model: a model's role is its section. */
export type ModelFamily = 'vision' | 'language';

/** Repository-relative paths of one role's model on each side. */
export interface SideModelPaths {
  head: string;
  base: string;
}

/** Repository-relative path of a family's model on one side: the side's own path, else the policy's. */
export function modelPathOf(family: ModelFamily, side: keyof SideModelPaths, policyModel: ConfiguredPath, checkouts: Checkouts): string {
  return checkouts.modelPaths?.[family]?.[side] ?? policyModel.repoRelative;
}

/** Where the base version of a configured model is, or why there is none (DESIGN §1.2). */
export async function locateBaseModel(repoRelative: string, checkouts: Checkouts): Promise<{ status: BaseStatus; absolute: string | null }> {
  if (checkouts.baseRoot === undefined) return { status: 'not-given', absolute: null };
  const absolute = inTree(checkouts.baseRoot, repoRelative);
  // Anything there, even a link out of the base tree, is the base's model: describeModel refuses what it cannot read.
  return (await inspectConfined(checkouts.baseRoot, absolute)).kind === 'missing' ? { status: 'new', absolute: null } : { status: 'scored', absolute };
}

/** Absolute path of a repository-relative path inside a tree. */
export function inTree(root: string, repoRelative: string): string {
  return path.join(root, ...repoRelative.split('/'));
}

/** Absolute path of a configured file inside the head checkout. */
export function inHeadCheckout(configured: ConfiguredPath, checkouts: Checkouts): string {
  return inTree(checkouts.headRoot, configured.repoRelative);
}

/** Absolute path of one of the policy's own inputs (pretrained model, reference data) in the policy's tree. */
export function inPolicyTree(configured: ConfiguredPath, checkouts: Checkouts): string {
  return inTree(checkouts.policyRoot ?? checkouts.headRoot, configured.repoRelative);
}

/**
 * Hashes a model file for the audit record. It must be a regular file inside `root`, the checkout
 * it belongs to (confined-file.ts); a missing file, a link out of the checkout or a special file
 * is an InputError.
 */
export async function describeModel(role: ModelRole, repoRelative: string, absolute: string, root: string): Promise<ModelArtifact> {
  const what = `${role} model ${repoRelative}`;
  const found = await inspectConfined(root, absolute);
  if (found.kind === 'missing') {
    throw new InputError(`${what}: file not found (${absolute})`, {
      hint: role === 'pretrained' ? 'vision.pretrained must name the backbone ONNX file in the repository.' : 'Check vision.model in the config.',
    });
  }
  const { real, size } = await confinedFile(root, absolute, what);
  return { role, path: repoRelative, absolute, sha256: await sha256File(real, what), bytes: size };
}

/** Human words for a base status, used in reports and skipped-gate reasons. */
export function describeBaseStatus(status: BaseStatus): string {
  switch (status) {
    case 'scored':
      return 'scored';
    case 'new':
      return 'the model is new in this pull request (absent on the base side), so it is scored alone';
    case 'not-given':
      return 'no base was given (CLI --base; in the Action a pull_request event or base-ref), so the head is scored alone';
  }
}
