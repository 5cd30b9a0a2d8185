import { Ajv } from 'ajv';
import { expect } from 'vitest';
import schema from '../schema/report.schema.json' with { type: 'json' };

/** The published schema of `report.json`, compiled as strictly as ajv allows (an error in the schema fails the test run). */
const validateReport = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile(schema);

/**
 * Every `report.json` a test produces goes through this: the text must parse and match
 * `schema/report.schema.json`, so the published schema and the writer cannot drift apart.
 * Returns the parsed document for further expectations, typed as loosely as `JSON.parse`'s.
 */
export function expectValidReport(text: string): ReturnType<typeof JSON.parse> {
  const document: unknown = JSON.parse(text);
  expect(reportSchemaErrors(document)).toEqual([]);
  return document;
}

/** The schema's complaints about a document, one line each; empty when it is a valid record. */
export function reportSchemaErrors(document: unknown): string[] {
  return validateReport(document) ? [] : (validateReport.errors ?? []).map((error) => `${error.instancePath || '(top level)'} ${error.message ?? ''} ${JSON.stringify(error.params)}`);
}
