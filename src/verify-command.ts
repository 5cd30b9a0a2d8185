import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sha256File } from './artifacts/hash.ts';
import { EXIT_GATE_FAILED, EXIT_PASS, InputError, messageOf } from './errors.ts';
import { parseReportDocument } from './report/parse-report.ts';
import { verifyReport, type FileDigest } from './report/verify.ts';
import { TOOL_NAME } from './version.ts';

export const VERIFY_USAGE = `Usage: ${TOOL_NAME} verify --report report.json [--config thresholds.yaml] [--strict] FILE...

Checks offline that each FILE is a model the report scored (its sha256 is a head
model file's), that the report's verdict passed (pass or warn; --strict: pass
only) and, with --config, that the report was produced under that config (its
sha256 is the report's config.sha256).

Exit status: 0 every check holds, 1 a check failed (one line per failed check),
2 bad input or usage.`;

/** Where `verify` writes and resolves relative paths (the CLI's CommandIo). */
export interface VerifyIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
}

/** `bias-gate verify`: the checks of {@link verifyReport} on files and a report read from disk. InputErrors go to the caller. */
export async function runVerifyCommand(argv: readonly string[], io: VerifyIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: { report: { type: 'string' }, config: { type: 'string' }, strict: { type: 'boolean', default: false } },
  });
  if (values.report === undefined) throw new InputError('verify needs --report FILE: the report.json to check against', { hint: VERIFY_USAGE });
  if (positionals.length === 0) throw new InputError('verify needs the model files to check', { hint: VERIFY_USAGE });
  const resolve = (value: string) => path.resolve(io.cwd, value);
  let text: string;
  try {
    text = await readFile(resolve(values.report), 'utf8');
  } catch (error) {
    throw new InputError(`--report ${values.report}: cannot read it (${messageOf(error)})`);
  }
  const document = parseReportDocument(text, values.report);
  const digest = async (file: string): Promise<FileDigest> => ({ file, sha256: await sha256File(resolve(file), file) });
  const files = await Promise.all(positionals.map(digest));
  const config = values.config === undefined ? undefined : await digest(values.config);
  const checks = verifyReport(document, files, { strict: values.strict, config });
  for (const check of checks) (check.ok ? io.stdout : io.stderr)(`${check.ok ? 'ok' : 'FAILED'}: ${check.message}\n`);
  return checks.every((check) => check.ok) ? EXIT_PASS : EXIT_GATE_FAILED;
}
