import type { ReportDocument } from './json.ts';
import { scoredModelFiles } from './attestation.ts';

/** A file given to `bias-gate verify`, as the user named it, with its digest. */
export interface FileDigest {
  file: string;
  sha256: string;
}

/** What `bias-gate verify` checks besides the files (typed options, see STYLE). */
export interface VerifyOptions {
  /** Only `pass` counts; by default `warn` (pass with warnings) does too, as for `run`'s exit status. */
  strict: boolean;
  /** The policy the report must have been produced under: the config file's name and sha256. */
  config?: FileDigest;
}

/** One check and its outcome, in a line a reviewer can read. */
export interface VerifyCheck {
  ok: boolean;
  message: string;
}

/**
 * Offline checks of a `report.json` against artifacts: each file is one the report scored as a
 * head model (by sha256, whatever its name now), the verdict passed, and, when a config is given,
 * the report was produced under it (its sha256 is the report's `config.sha256`).
 */
export function verifyReport(document: ReportDocument, files: readonly FileDigest[], options: VerifyOptions): VerifyCheck[] {
  const scored = scoredModelFiles(document);
  const checks: VerifyCheck[] = files.map(({ file, sha256 }) => {
    const match = scored.find((subject) => subject.digest.sha256 === sha256);
    return match
      ? { ok: true, message: `${file}: sha256 ${sha256} is the scored head model ${match.name}` }
      : { ok: false, message: `${file}: sha256 ${sha256} is not a model this report scored (head models: ${scored.map((s) => s.name).join(', ') || 'none'})` };
  });
  const accepted = options.strict ? ['pass'] : ['pass', 'warn'];
  checks.push(
    accepted.includes(document.verdict)
      ? { ok: true, message: `verdict ${document.verdict}` }
      : { ok: false, message: `verdict ${document.verdict}${options.strict ? ' (--strict accepts pass only)' : ''}` },
  );
  if (options.config) {
    const { file, sha256 } = options.config;
    checks.push(
      sha256 === document.config.sha256
        ? { ok: true, message: `policy: ${file} (sha256 ${sha256}) is the config the report applied (${document.config.path})` }
        : { ok: false, message: `policy: ${file} has sha256 ${sha256}; the report applied ${document.config.path} with sha256 ${document.config.sha256}` },
    );
  }
  return checks;
}
