import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { loadReferenceSets, parseSetName } from '../../src/vision/reference-sets.ts';
import type { ReferenceSet } from '../../src/vision/types.ts';
import { inputErrorOf } from '../helpers.ts';
import { createTempDir, writeBytes, writeTinyPng } from '../helpers-images.ts';

/** The images of the standard tree, by set directory. */
const TREE: Record<string, string[]> = {
  man: ['b.png', 'a.png'],
  woman: ['w1.jpg', 'w2.JPEG'],
  stop_sign: ['s.webp'],
  'surfboard+man': ['sm.png'],
  'surfboard+woman': ['sw.tiff'],
};

/** A repo in a temp dir with `fixtures/sets/<set>/<image>` from {@link TREE}, plus files the loader must ignore. */
async function repoWithSets(): Promise<{ root: string; sets: string }> {
  const root = path.join(await createTempDir(), 'repo');
  const sets = path.join(root, 'fixtures/sets');
  for (const [set, files] of Object.entries(TREE)) {
    for (const file of files) await writeTinyPng(path.join(sets, set, file));
  }
  await writeBytes(path.join(sets, 'README.md'), '# reference sets\n');
  await writeBytes(path.join(sets, 'man/notes.txt'), 'not an image\n');
  await writeTinyPng(path.join(sets, 'man/.hidden.png'));
  await writeTinyPng(path.join(sets, 'man/nested/deep.png'));
  await writeTinyPng(path.join(sets, '.cache/c.png'));
  return { root, sets };
}

const EXPECTED_NAMES = ['man', 'stop sign', 'surfboard+man', 'surfboard+woman', 'woman'];

/** Sets with paths made repo-relative, for comparing loads from different sources. */
function summary(sets: ReferenceSet[], root: string) {
  return sets.map((set) => ({
    ...set,
    images: set.images.map((image) => {
      expect(path.isAbsolute(image.path)).toBe(true);
      expect(path.relative(root, image.path).split(path.sep).join('/')).toBe(image.relativePath);
      return image.relativePath;
    }),
  }));
}

describe('parseSetName', () => {
  it('reads _ as a space and keeps case', () => {
    expect(parseSetName('stop_sign')).toEqual({ name: 'stop sign' });
    expect(parseSetName('  random ')).toEqual({ name: 'random' });
    expect(parseSetName('Hot_Dog')).toEqual({ name: 'Hot Dog' });
    expect(parseSetName('man')).toEqual({ name: 'man' });
  });

  it('fills object and gender for object+gender names', () => {
    expect(parseSetName('surfboard+man')).toEqual({ name: 'surfboard+man', object: 'surfboard', gender: 'man' });
    expect(parseSetName('stop_sign+woman')).toEqual({ name: 'stop sign+woman', object: 'stop sign', gender: 'woman' });
    expect(parseSetName('car + woman')).toEqual({ name: 'car+woman', object: 'car', gender: 'woman' });
  });

  it.each([
    ['surfboard+dog', /'surfboard\+dog'.*'man' or 'woman', found 'dog'/],
    ['surfboard+Man', /found 'Man'/],
    ['a+b+man', /'a\+b\+man' is not of the form object\+gender/],
    ['+man', /'\+man' is not of the form/],
    ['__', /is empty/],
  ])('rejects %s', (name, message) => {
    expect(() => parseSetName(name)).toThrow(InputError);
    expect(() => parseSetName(name)).toThrow(message);
  });
});

describe('loadReferenceSets', () => {
  it('reads the directory form: one sub-directory per set, images directly inside, sorted', async () => {
    const { root, sets } = await repoWithSets();
    const loaded = await loadReferenceSets(sets, root);
    expect(loaded.map((set) => set.name)).toEqual(EXPECTED_NAMES);
    expect(summary(loaded, root)).toEqual([
      { name: 'man', images: ['fixtures/sets/man/a.png', 'fixtures/sets/man/b.png'] },
      { name: 'stop sign', images: ['fixtures/sets/stop_sign/s.webp'] },
      { name: 'surfboard+man', object: 'surfboard', gender: 'man', images: ['fixtures/sets/surfboard+man/sm.png'] },
      { name: 'surfboard+woman', object: 'surfboard', gender: 'woman', images: ['fixtures/sets/surfboard+woman/sw.tiff'] },
      { name: 'woman', images: ['fixtures/sets/woman/w1.jpg', 'fixtures/sets/woman/w2.JPEG'] },
    ]);
    expect(loaded[0]?.images[0]?.path).toBe(path.join(sets, 'man/a.png'));
  });

  it('reads a CSV manifest (paths relative to it) into the same sets', async () => {
    const { root, sets } = await repoWithSets();
    const fromDirectory = await loadReferenceSets(sets, root);
    const rows = Object.entries(TREE)
      .flatMap(([set, files]) => files.map((file) => `${set},sets/${set}/${file}`))
      .reverse();
    const manifest = await writeBytes(path.join(root, 'fixtures/manifest.csv'), `set,path\n${rows.join('\n')}\n\n`);
    expect(await loadReferenceSets(manifest, root)).toEqual(fromDirectory);
  });

  it('reads a JSONL manifest (paths relative to it) into the same sets', async () => {
    const { root, sets } = await repoWithSets();
    const fromDirectory = await loadReferenceSets(sets, root);
    const lines = Object.entries(TREE).flatMap(([set, files]) =>
      files.map((file) => JSON.stringify({ set: set.replace('_', ' '), path: `../sets/${set}/${file}` })),
    );
    const manifest = await writeBytes(path.join(root, 'fixtures/lists/manifest.jsonl'), `${lines.join('\n')}\n`);
    expect(await loadReferenceSets(manifest, root)).toEqual(fromDirectory);
  });

  it('accepts extra CSV columns in any order and a BOM', async () => {
    const { root } = await repoWithSets();
    const manifest = await writeBytes(path.join(root, 'fixtures/m.csv'), '\uFEFFpath,source,set\nsets/man/a.png,coco,man\n');
    const [man] = await loadReferenceSets(manifest, root);
    expect(man?.images.map((image) => image.relativePath)).toEqual(['fixtures/sets/man/a.png']);
  });
});

describe('loadReferenceSets errors', () => {
  it('a missing source', async () => {
    const { root } = await repoWithSets();
    const error = await inputErrorOf(loadReferenceSets(path.join(root, 'fixtures/nope'), root));
    expect(error.message).toMatch(/^Reference sets fixtures\/nope do not exist/);
  });

  it('a source that is neither a directory nor a manifest', async () => {
    const { root } = await repoWithSets();
    const file = await writeBytes(path.join(root, 'fixtures/sets.txt'), 'man\n');
    const error = await inputErrorOf(loadReferenceSets(file, root));
    expect(error.message).toContain('fixtures/sets.txt is neither a directory nor a .csv/.jsonl manifest');
  });

  it('a directory with no set sub-directories', async () => {
    const root = await createTempDir();
    await writeTinyPng(path.join(root, 'flat/a.png'));
    await mkdir(path.join(root, 'flat/.git'));
    const error = await inputErrorOf(loadReferenceSets(path.join(root, 'flat'), root));
    expect(error.message).toBe('Reference sets directory flat has no set sub-directories');
  });

  it('a set sub-directory with no images', async () => {
    const { root, sets } = await repoWithSets();
    await writeBytes(path.join(sets, 'empty_set/readme.txt'), 'nothing\n');
    await writeTinyPng(path.join(sets, 'empty_set/sub/x.png'));
    const error = await inputErrorOf(loadReferenceSets(sets, root));
    expect(error.message).toBe("Reference set 'empty set' (fixtures/sets/empty_set) has no images");
  });

  it('a combination set with a gender that is not man or woman, naming the set and where', async () => {
    const { root, sets } = await repoWithSets();
    await writeTinyPng(path.join(sets, 'surfboard+dog/d.png'));
    const error = await inputErrorOf(loadReferenceSets(sets, root));
    expect(error.message).toMatch(/^fixtures\/sets\/surfboard\+dog: Reference set 'surfboard\+dog': the part after '\+' must be 'man' or 'woman'/);
  });

  it('set names that differ only by case', async () => {
    const { root, sets } = await repoWithSets();
    await writeTinyPng(path.join(sets, 'Man/m.png'));
    const error = await inputErrorOf(loadReferenceSets(sets, root));
    expect(error.message).toMatch(/reference set 'man' differs from 'Man' only by case|reference set 'Man' differs from 'man' only by case/);

    const manifest = await writeBytes(path.join(root, 'fixtures/m.csv'), 'set,path\nman,sets/man/a.png\nMAN,sets/man/b.png\n');
    const fromManifest = await inputErrorOf(loadReferenceSets(manifest, root));
    expect(fromManifest.message).toBe("fixtures/m.csv:3 ('sets/man/b.png'): reference set 'MAN' differs from 'man' only by case");
  });

  it('two directories naming the same set', async () => {
    const { root, sets } = await repoWithSets();
    await writeTinyPng(path.join(sets, 'stop sign/t.png'));
    const error = await inputErrorOf(loadReferenceSets(sets, root));
    expect(error.message).toMatch(/both name the reference set 'stop sign'/);
  });

  it('a CSV header without the set and path columns', async () => {
    const { root } = await repoWithSets();
    const manifest = await writeBytes(path.join(root, 'fixtures/m.csv'), 'set,file\nman,sets/man/a.png\n');
    const error = await inputErrorOf(loadReferenceSets(manifest, root));
    expect(error.message).toBe("fixtures/m.csv:1: the manifest header must name the columns set and path, found 'set,file'");
  });

  it('a CSV row missing a column, with its line number', async () => {
    const { root } = await repoWithSets();
    const manifest = await writeBytes(path.join(root, 'fixtures/m.csv'), 'set,path\nman,sets/man/a.png\n\nwoman\n');
    const error = await inputErrorOf(loadReferenceSets(manifest, root));
    expect(error.message).toBe("fixtures/m.csv:4: the row has no 'path' value");
    const noSet = await writeBytes(path.join(root, 'fixtures/n.csv'), 'set,path\n ,sets/man/a.png\n');
    expect((await inputErrorOf(loadReferenceSets(noSet, root))).message).toBe("fixtures/n.csv:2: the row has no 'set' value");
  });

  it('malformed CSV', async () => {
    const { root } = await repoWithSets();
    const manifest = await writeBytes(path.join(root, 'fixtures/m.csv'), 'set,path\nman,"sets/man/a.png\n');
    const error = await inputErrorOf(loadReferenceSets(manifest, root));
    expect(error.message).toMatch(/^fixtures\/m\.csv:\d+: not valid CSV: /);
  });

  it('a manifest that lists no images', async () => {
    const { root } = await repoWithSets();
    const manifest = await writeBytes(path.join(root, 'fixtures/m.csv'), 'set,path\n');
    expect((await inputErrorOf(loadReferenceSets(manifest, root))).message).toBe('Reference-set manifest fixtures/m.csv lists no images');
  });

  it('a malformed JSONL line, with its line number', async () => {
    const { root } = await repoWithSets();
    const manifest = await writeBytes(path.join(root, 'fixtures/m.jsonl'), '{"set": "man", "path": "sets/man/a.png"}\n{"set": "man", path: x}\n');
    const error = await inputErrorOf(loadReferenceSets(manifest, root));
    expect(error.message).toMatch(/^fixtures\/m\.jsonl:2: not valid JSON: /);
  });

  it('a JSONL line missing a key or not an object', async () => {
    const { root } = await repoWithSets();
    const manifest = await writeBytes(path.join(root, 'fixtures/m.jsonl'), '\n{"set": "man", "path": "sets/man/a.png"}\n{"set": "man"}\n');
    expect((await inputErrorOf(loadReferenceSets(manifest, root))).message).toBe(
      `fixtures/m.jsonl:3: expected a non-empty string 'path', found {"set":"man"}`,
    );
    const array = await writeBytes(path.join(root, 'fixtures/a.jsonl'), '["man", "sets/man/a.png"]\n');
    expect((await inputErrorOf(loadReferenceSets(array, root))).message).toMatch(/^fixtures\/a\.jsonl:1: expected a non-empty string 'set'/);
  });

  it('a manifest path that does not exist', async () => {
    const { root } = await repoWithSets();
    const manifest = await writeBytes(path.join(root, 'fixtures/m.csv'), 'set,path\nman,sets/man/a.png\nman,sets/man/missing.png\n');
    const error = await inputErrorOf(loadReferenceSets(manifest, root));
    expect(error.message).toBe("fixtures/m.csv:3 ('sets/man/missing.png'): image fixtures/sets/man/missing.png does not exist");
  });

  it('a manifest path that leaves the repository through ..', async () => {
    const { root } = await repoWithSets();
    await writeTinyPng(path.join(root, '../outside.png'));
    const manifest = await writeBytes(path.join(root, 'fixtures/m.csv'), 'set,path\nman,../../outside.png\n');
    const error = await inputErrorOf(loadReferenceSets(manifest, root));
    expect(error.message).toMatch(/^fixtures\/m\.csv:2 \('\.\.\/\.\.\/outside\.png'\): image .*outside\.png escapes the repository root$/);
  });

  it('an image that is a symbolic link out of the repository', async () => {
    const { root, sets } = await repoWithSets();
    const outside = await writeTinyPng(path.join(root, '../outside.png'));
    await symlink(outside, path.join(sets, 'man/linked.png'));
    const error = await inputErrorOf(loadReferenceSets(sets, root));
    expect(error.message).toBe('fixtures/sets/man/linked.png: image escapes the repository root through a symbolic link');
    expect(error.message).not.toContain(outside);
  });

  it('a source directory that is a symbolic link out of the repository', async () => {
    const { root } = await repoWithSets();
    const outside = path.join(root, '../outside-sets');
    await writeTinyPng(path.join(outside, 'man/a.png'));
    await symlink(outside, path.join(root, 'fixtures/linked-sets'));
    const error = await inputErrorOf(loadReferenceSets(path.join(root, 'fixtures/linked-sets'), root));
    expect(error.message).toMatch(/^Reference sets fixtures\/linked-sets escape the repository root/);
  });

  it('a broken symbolic link with an image name', async () => {
    const { root, sets } = await repoWithSets();
    await symlink(path.join(sets, 'man/gone.png'), path.join(sets, 'man/dangling.png'));
    const error = await inputErrorOf(loadReferenceSets(sets, root));
    expect(error.message).toMatch(/^fixtures\/sets\/man\/dangling\.png is a broken symbolic link/);
  });

  it('the same image twice in one set (manifest and symlink)', async () => {
    const { root, sets } = await repoWithSets();
    const manifest = await writeBytes(path.join(root, 'fixtures/m.csv'), 'set,path\nman,sets/man/a.png\nwoman,sets/man/a.png\nman,sets/woman/../man/a.png\n');
    const error = await inputErrorOf(loadReferenceSets(manifest, root));
    expect(error.message).toBe(
      "Reference set 'man' contains the same image twice: fixtures/m.csv:2 ('sets/man/a.png') and fixtures/m.csv:4 ('sets/woman/../man/a.png')",
    );

    await symlink(path.join(sets, 'man/a.png'), path.join(sets, 'man/c.png'));
    const linked = await inputErrorOf(loadReferenceSets(sets, root));
    expect(linked.message).toBe("Reference set 'man' contains the same image twice: fixtures/sets/man/a.png and fixtures/sets/man/c.png");
  });
});
