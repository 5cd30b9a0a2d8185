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
  /** The PR's tree: models and reference data are read from here. */
  headRoot: string;
  /** The base branch's tree; undefined when no base was given. */
  baseRoot: string | undefined;
}

/** Where the base version of a configured model is, or why there is none (DESIGN §1.2). */
export async function locateBaseModel(model: ConfiguredPath, checkouts: Checkouts): Promise<{ status: BaseStatus; absolute: string | null }> {
  if (checkouts.baseRoot === undefined) return { status: 'not-given', absolute: null };
  const absolute = path.join(checkouts.baseRoot, ...model.repoRelative.split('/'));
  // Anything there, even a link out of the base tree, is the base's model: describeModel refuses what it cannot read.
  return (await inspectConfined(checkouts.baseRoot, absolute)).kind === 'missing' ? { status: 'new', absolute: null } : { status: 'scored', absolute };
}

/** Absolute path of a configured file inside the head checkout. */
export function inHeadCheckout(configured: ConfiguredPath, checkouts: Checkouts): string {
  return path.join(checkouts.headRoot, ...configured.repoRelative.split('/'));
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
