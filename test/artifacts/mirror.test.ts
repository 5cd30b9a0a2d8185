import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIRROR_ENV_VAR, parseMirror, pinnedFileLocations, resolveMirror } from '../../src/artifacts/mirror.ts';
import { InputError } from '../../src/errors.ts';

const CROWS = 'https://raw.githubusercontent.com/McGill-NLP/bias-bench/291426aab926f78ecfc7bd040b531429ee8123e0/data/crows/crows_pairs_anonymized.csv';
const IMAGE = 'https://raw.githubusercontent.com/uvavision/bias-pretrained-vision-models/e3c9e715dc630a5caf5581a6b8d57aaf3f8d4a3f/analysis_sets/oi_png/car/0119db1a3ebc3f65%0A.png';

describe('resolveMirror', () => {
  it('takes BIAS_GATE_MIRROR over sources.mirror, and neither means the public origin', () => {
    expect(MIRROR_ENV_VAR).toBe('BIAS_GATE_MIRROR');
    expect(resolveMirror({ environment: 'https://env.example/raw/', config: 'https://config.example', configDir: '/repo' })).toEqual({ kind: 'url', location: 'https://env.example/raw', setBy: 'BIAS_GATE_MIRROR' });
    expect(resolveMirror({ environment: '  ', config: 'https://config.example', configDir: '/repo' })).toEqual({ kind: 'url', location: 'https://config.example', setBy: 'sources.mirror' });
    expect(resolveMirror({ environment: undefined, config: undefined, configDir: '/repo' })).toBeUndefined();
  });

  it('resolves a directory against the config file (config) or the working directory (environment)', () => {
    expect(resolveMirror({ environment: undefined, config: '../mirror', configDir: '/repo/ci' })).toEqual({ kind: 'directory', location: path.resolve('/repo/mirror'), setBy: 'sources.mirror' });
    expect(resolveMirror({ environment: 'mirror', config: undefined, configDir: '/repo', cwd: '/work' })).toEqual({ kind: 'directory', location: path.resolve('/work/mirror'), setBy: 'BIAS_GATE_MIRROR' });
    expect(parseMirror('file:///srv/mirror/', '/x', 'sources.mirror')).toEqual({ kind: 'directory', location: path.resolve('/srv/mirror'), setBy: 'sources.mirror' });
  });

  it('refuses other schemes and URLs with a query', () => {
    expect(() => parseMirror('ftp://mirror.example', '/', 'sources.mirror')).toThrow(InputError);
    expect(() => parseMirror('https://mirror.example/?token=1', '/', 'BIAS_GATE_MIRROR')).toThrow(/may not have a query/);
  });
});

describe('pinnedFileLocations', () => {
  it('is the origin itself without a mirror', () => {
    expect(pinnedFileLocations(CROWS, undefined)).toEqual([{ kind: 'url', url: CROWS }]);
  });

  it('puts <owner>/<repo>/<commit>/<path> under an HTTP mirror', () => {
    expect(pinnedFileLocations(CROWS, parseMirror('http://mirror.internal/gh-raw/', '/', 'sources.mirror'))).toEqual([
      { kind: 'url', url: 'http://mirror.internal/gh-raw/McGill-NLP/bias-bench/291426aab926f78ecfc7bd040b531429ee8123e0/data/crows/crows_pairs_anonymized.csv' },
    ]);
  });

  it('looks for a name with a newline as it is (%0A), then without the newline, in a mirror URL or directory', () => {
    const prefix = 'uvavision/bias-pretrained-vision-models/e3c9e715dc630a5caf5581a6b8d57aaf3f8d4a3f/analysis_sets/oi_png/car';
    expect(pinnedFileLocations(IMAGE, parseMirror('http://m', '/', 'sources.mirror'))).toEqual([
      { kind: 'url', url: `http://m/${prefix}/0119db1a3ebc3f65%0A.png` },
      { kind: 'url', url: `http://m/${prefix}/0119db1a3ebc3f65.png` },
    ]);
    expect(pinnedFileLocations(IMAGE, parseMirror('/srv/m', '/', 'sources.mirror'))).toEqual([
      { kind: 'file', path: path.join('/srv/m', prefix, '0119db1a3ebc3f65\n.png') },
      { kind: 'file', path: path.join('/srv/m', prefix, '0119db1a3ebc3f65.png') },
    ]);
  });
});
