import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { shardIndices } from '../src/artifacts/item-scoring.ts';
import { runCommand } from '../src/command.ts';
import { createFixtureRepo } from './fixture-repo.ts';
import { expectValidReport } from './report-schema.ts';

async function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCommand(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd });
  return { code, stdout, stderr };
}

const COMMON = ['--config', 'thresholds.yaml', '--base', 'fixtures/base', '--quiet', '--no-cache'];

describe('sharding', () => {
  it('shard i/n takes every n-th item, and the shards cover every item once', () => {
    expect(shardIndices(10, { index: 1, count: 3 })).toEqual([0, 3, 6, 9]);
    expect(shardIndices(10, { index: 3, count: 3 })).toEqual([2, 5, 8]);
    const all = [1, 2, 3, 4].flatMap((index) => shardIndices(13, { index, count: 4 })).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 13 }, (_, i) => i));
  });

  it('merging shards 1..3 gives exactly the unsharded report, byte for byte', async () => {
    const root = await createFixtureRepo();
    const whole = await cli(['run', ...COMMON, '--json', 'whole.json', '--markdown', 'whole.md'], root);
    expect(whole.code).toBe(0);
    for (const index of [1, 2, 3]) {
      const shard = await cli(['run', ...COMMON, '--shard', `${index}/3`, '--partial', `part-${index}.json`], root);
      expect(shard.code).toBe(0);
      expect(shard.stdout).toMatch(new RegExp(`^shard ${index}/3: \\d+ item results written to part-${index}.json`));
    }
    // Shards in any order.
    const merged = await cli(['merge', ...COMMON, '--json', 'merged.json', '--markdown', 'merged.md', 'part-3.json', 'part-1.json', 'part-2.json'], root);
    expect(merged.code).toBe(whole.code);
    expect(merged.stdout).toBe(whole.stdout);
    const read = (file: string) => readFile(path.join(root, file), 'utf8');
    expect(await read('merged.json')).toBe(await read('whole.json'));
    expectValidReport(await read('merged.json'));
    expect(await read('merged.md')).toBe(await read('whole.md'));
  }, 120_000);

  it('a merge refuses missing or duplicate shards and partials of another config', async () => {
    const root = await createFixtureRepo();
    for (const index of [1, 2]) await cli(['run', ...COMMON, '--shard', `${index}/2`, '--partial', `part-${index}.json`], root);
    const missing = await cli(['merge', ...COMMON, 'part-1.json'], root);
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toContain('merge: expected shards 1/2, 2/2, got 1/2');
    const twice = await cli(['merge', ...COMMON, 'part-1.json', 'part-1.json'], root);
    expect(twice.stderr).toContain('got 1/2, 1/2');
    await writeFile(path.join(root, 'thresholds.yaml'), (await readFile(path.join(root, 'thresholds.yaml'), 'utf8')).replace('seed: 1', 'seed: 2'));
    const changed = await cli(['merge', ...COMMON, 'part-1.json', 'part-2.json'], root);
    expect(changed.stderr).toMatch(/merge: shard 1\/2 was scored with another config/);
    expect((await cli(['run', ...COMMON, '--shard', '3/2', '--partial', 'x.json'], root)).stderr).toContain('"3/2" is not a shard');
  }, 120_000);
});
