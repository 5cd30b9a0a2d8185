import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../errors.ts';

/**
 * Closed networks: every pinned public file (benchmark data, built-in reference sets) is read from
 * a mirror instead of its public origin, with the same checksum verification. The mirror copies
 * raw.githubusercontent.com's layout, `<mirror>/<owner>/<repo>/<commit>/<path in the repository>`,
 * so one `wget -x` or one `git worktree` per pinned commit fills it (docs/reference-sets.md).
 */

/** The environment variable that points every pinned source at a mirror; it wins over the config. */
export const MIRROR_ENV_VAR = 'BIAS_GATE_MIRROR';

/** The public origin all pinned files come from; a mirror replaces this prefix. */
export const PUBLIC_ORIGIN = 'https://raw.githubusercontent.com/';

/** Where pinned files are read from instead of {@link PUBLIC_ORIGIN}. */
export interface Mirror {
  /** An HTTP(S) server with the mirror layout, or a local directory with it. */
  kind: 'url' | 'directory';
  /** Base URL without a trailing slash, or an absolute directory path. */
  location: string;
  /** Which setting chose it, for the report: `BIAS_GATE_MIRROR` or `sources.mirror`. */
  setBy: typeof MIRROR_ENV_VAR | 'sources.mirror';
}

/** One place a pinned file may be read from: a URL (origin or HTTP mirror) or a local file. */
export type FileLocation = { kind: 'url'; url: string } | { kind: 'file'; path: string };

/** `url` or `path`, as recorded in the report. */
export function describeLocation(location: FileLocation): string {
  return location.kind === 'url' ? location.url : location.path;
}

/**
 * The mirror in force: `BIAS_GATE_MIRROR` when set and non-empty (the runner's network is the
 * operator's business, so the environment wins over a repository's config), else the config's
 * `sources.mirror`, else none. A relative directory is resolved against the working directory
 * (environment) or the config file's directory (config).
 */
export function resolveMirror(settings: { environment: string | undefined; config: string | undefined; configDir: string; cwd?: string }): Mirror | undefined {
  const fromEnvironment = settings.environment?.trim();
  if (fromEnvironment) return parseMirror(fromEnvironment, settings.cwd ?? process.cwd(), MIRROR_ENV_VAR);
  if (settings.config !== undefined) return parseMirror(settings.config, settings.configDir, 'sources.mirror');
  return undefined;
}

/** An `http(s)://` base URL, a `file://` URL, or a directory path (relative to `baseDir`). */
export function parseMirror(value: string, baseDir: string, setBy: Mirror['setBy']): Mirror {
  const written = value.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(written)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') {
    let parsed: URL;
    try {
      parsed = new URL(written);
    } catch (error) {
      throw new InputError(`${setBy}: "${written}" is not a valid URL`, { hint: MIRROR_HINT, cause: error });
    }
    if (parsed.search !== '' || parsed.hash !== '') throw new InputError(`${setBy}: the mirror URL "${written}" may not have a query or fragment`, { hint: MIRROR_HINT });
    return { kind: 'url', location: parsed.href.replace(/\/+$/, ''), setBy };
  }
  if (scheme === 'file') return { kind: 'directory', location: path.resolve(fileURLToPath(written)), setBy };
  if (scheme !== undefined) throw new InputError(`${setBy}: unsupported mirror scheme "${scheme}://" in "${written}"`, { hint: MIRROR_HINT });
  return { kind: 'directory', location: path.resolve(baseDir, written), setBy };
}

const MIRROR_HINT = `Give an http(s):// URL or a directory laid out as <mirror>/<owner>/<repo>/<commit>/<path>, like ${PUBLIC_ORIGIN}.`;

/**
 * Where to read the pinned file `url` (a {@link PUBLIC_ORIGIN} address) from, in order: the origin
 * itself without a mirror; with one, the same path under the mirror. A file whose name holds
 * control characters (the BTS authors' names end in a newline before `.png`) is also looked for
 * under the name without them, since many tools that copy a mirror drop them; the checksum decides.
 */
export function pinnedFileLocations(url: string, mirror: Mirror | undefined): FileLocation[] {
  if (mirror === undefined) return [{ kind: 'url', url }];
  if (!url.startsWith(PUBLIC_ORIGIN)) throw new Error(`pinned file ${url} is not under ${PUBLIC_ORIGIN}, so it has no place in a mirror`);
  const encodedSegments = url.slice(PUBLIC_ORIGIN.length).split('/');
  const segments = encodedSegments.map((segment) => decodeURIComponent(segment));
  const variants = [segments];
  const last = segments.at(-1)!;
  const cleaned = withoutControlCharacters(last);
  if (cleaned !== last) variants.push([...segments.slice(0, -1), cleaned]);
  return variants.map((parts) =>
    mirror.kind === 'url'
      ? { kind: 'url', url: `${mirror.location}/${parts.map(encodeURIComponent).join('/')}` }
      : { kind: 'file', path: path.join(mirror.location, ...parts) },
  );
}

/** A file name without control characters (newlines, tabs, NUL): safe on every file system and in messages. */
export function withoutControlCharacters(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[\u0000-\u001f\u007f]/g, '');
}
