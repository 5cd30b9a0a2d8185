import { describe, expect, it } from 'vitest';
import { jsonSyntaxProblem } from '../../src/config/json-problem.ts';

function problemOf(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return jsonSyntaxProblem(error, text);
  }
  throw new Error('parsed');
}

describe('jsonSyntaxProblem', () => {
  it('never quotes the text that failed to parse', () => {
    const problem = problemOf('GITHUB_TOKEN=ghs_secret_canary\nHOME=/root\n');
    expect(problem).toBe('Unexpected token');
    expect(problem).not.toContain('GITHUB');
  });

  it('keeps the kind of problem and says where it is', () => {
    expect(problemOf('{"a": 1,\n  x}')).toBe('Expected double-quoted property name at line 2, column 3');
    expect(problemOf('{"a": ')).toBe('Unexpected end of JSON input');
    expect(problemOf('{"secret":"unterminated')).toBe('Unterminated string at line 1, column 24');
  });
});
