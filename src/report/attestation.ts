import type { ReportDocument } from './json.ts';

/** in-toto Statement v1 (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md). */
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/**
 * The predicate type of bias-gate's attestation: it identifies the predicate's format (a bias-gate
 * `report.json` document, format {@link ReportDocument.format}, described by
 * `schema/report.schema.json`). It is a name, not a page to fetch; a new version of the format
 * gets a new URI.
 */
export const BIAS_REPORT_PREDICATE_TYPE = 'https://bias-gate.dev/attestation/bias-report/v1';

/** One artifact the statement is about: a model file, by repository-relative path and digest. */
export interface AttestationSubject {
  name: string;
  digest: { sha256: string };
}

/** The statement bias-gate writes with `--attestation` (Action output `attestation`). */
export interface BiasReportStatement {
  _type: typeof IN_TOTO_STATEMENT_TYPE;
  subject: AttestationSubject[];
  predicateType: typeof BIAS_REPORT_PREDICATE_TYPE;
  predicate: ReportDocument;
}

/**
 * The model files the report judged: the head side's vision model and every file of the head
 * language model's directory, by repository-relative path. These are what a release ships and
 * what `bias-gate verify` accepts; the pretrained backbone and the base side's models are
 * yardsticks, named in the predicate but not subjects of it.
 */
export function scoredModelFiles(document: ReportDocument): AttestationSubject[] {
  const subjects: AttestationSubject[] = [];
  if (document.vision) subjects.push({ name: document.vision.models.head.path, digest: { sha256: document.vision.models.head.sha256 } });
  const language = document.language?.models.head;
  if (language) for (const file of language.files) subjects.push({ name: `${language.path}/${file.name}`, digest: { sha256: file.sha256 } });
  return subjects;
}

/** The in-toto statement: every scored model file as a subject, the report document as the predicate. */
export function buildAttestation(document: ReportDocument): BiasReportStatement {
  return { _type: IN_TOTO_STATEMENT_TYPE, subject: scoredModelFiles(document), predicateType: BIAS_REPORT_PREDICATE_TYPE, predicate: document };
}

/** The statement as the attestation file holds it (deterministic, like `report.json`). */
export function renderAttestation(document: ReportDocument): string {
  return `${JSON.stringify(buildAttestation(document), null, 2)}\n`;
}
