import type { BuiltinReferenceSetsRecord } from '../vision/builtin-sets.ts';

/**
 * A built-in reference set as a reader needs it (issue 11): where the images come from (the
 * pinned source and, this run, the mirror or origin and the cache), how they were chosen, and
 * which source files were left out. Plain sentences; each format escapes them.
 */
export function describeBuiltinSets(builtin: BuiltinReferenceSetsRecord): string[] {
  const used = builtin.counts.reduce((sum, count) => sum + count.used, 0);
  const usable = builtin.counts.reduce((sum, count) => sum + count.usable, 0);
  const fromCache = builtin.files.filter((file) => file.fromCache).length;
  const where = builtin.mirror ? `the mirror ${builtin.mirror.location} (set by ${builtin.mirror.setBy})` : 'the pinned origin (raw.githubusercontent.com)';
  const selection = builtin.selection.maxPerSet === null ? 'every usable image of each set' : `max_per_set ${builtin.selection.maxPerSet}, seed ${builtin.selection.seed}`;
  const lines = [
    `Built-in reference sets ${builtin.name}: ${builtin.repository}@${builtin.commit.slice(0, 7)}, ${builtin.folder}; ${used} of ${usable} usable images (${selection}).`,
    `Files: ${used - fromCache} downloaded from ${where}, ${fromCache} verified from the cache (git blob id and sha256 each).`,
    `Per set (used/usable): ${builtin.counts.map((count) => `${count.set} ${count.used}/${count.usable}`).join(', ')}.`,
  ];
  if (builtin.leftOut.length > 0) {
    // Source file names end in a newline before `.png` (SOURCE.md); shown without it.
    lines.push(`Left out: ${builtin.leftOut.map((file) => `${file.path.replace(/\n(?=\.png$)/, '')} (${file.reason})`).join('; ')}.`);
  }
  lines.push(`Licence: ${builtin.license}.`);
  return lines;
}
