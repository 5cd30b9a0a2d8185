// Workflows, examples and the README's snippets use action majors that run on
// Node 24 (the v4 majors run on Node 20, which runners are dropping), and give
// bias-gate a Node it supports.
import { readFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { repoPath } from '../helpers.ts';

/** The first major of each action that runs on Node 24. */
const NODE24_MAJORS: Record<string, number> = {
  'actions/checkout': 5,
  'actions/setup-node': 5,
  'actions/cache': 5,
  'actions/upload-artifact': 5,
  'actions/download-artifact': 6,
  // examples/attest.yml and release.yml; a release that runs on Node 24 (not checked online).
  'actions/attest': 4,
};

const yamlUnder = (dir: string) => readdirSync(repoPath(dir), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yml')).map((f) => `${dir}/${f.split('\\').join('/')}`);
const FILES = ['action.yml', 'README.md', ...yamlUnder('.github/workflows'), ...yamlUnder('examples')].sort();

describe('action versions', () => {
  it.each(FILES)('%s', async (file) => {
    const text = await readFile(repoPath(file), 'utf8');
    if (file.endsWith('.yml')) parseYaml(text);
    for (const match of text.matchAll(/uses:\s*(actions\/[\w-]+)@v(\d+)/g)) {
      const minimum = NODE24_MAJORS[match[1]!];
      expect(minimum, `${file}: ${match[1]} is not in the table`).toBeDefined();
      expect(Number(match[2]), `${file}: ${match[0]}`).toBeGreaterThanOrEqual(minimum!);
    }
    for (const match of text.matchAll(/node-version:\s*(\d+)/g)) {
      // self-test's old-node job checks the refusal on purpose.
      if (file.endsWith('self-test.yml') && match[1] === '20') continue;
      expect(Number(match[1]), `${file}: ${match[0]}`).toBeGreaterThanOrEqual(22);
    }
  });

  it('self-test runs on every supported runner kind', async () => {
    const workflow = parseYaml(await readFile(repoPath('.github/workflows/self-test.yml'), 'utf8')) as { jobs: Record<string, { strategy?: { matrix: { os: string[] } } }> };
    expect(workflow.jobs['self-test']!.strategy!.matrix.os).toEqual(['ubuntu-latest', 'ubuntu-24.04-arm', 'macos-latest', 'windows-latest']);
  });
});
