import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { describeSyntaxError, firstError } from './syntax.js';

const SECRET = 's3cr3t-syntax';

/** Texts that make the yaml library report each error code, each with the secret beside the fault. */
const BY_CODE: Array<[code: string, text: string, message: string]> = [
  ['BAD_INDENT', `a:\n  b: 1\n c: ${SECRET}\n`, 'must all start at the same column'],
  ['BAD_INDENT', `env: { A: ${SECRET}\nb: 1\n`, 'a flow map ({ … }) is not closed'],
  ['MISSING_CHAR', `a: "${SECRET}\n`, 'a quoted string is not closed'],
  ['MISSING_CHAR', `a: ["x" "${SECRET}"]\n`, 'must be separated by commas'],
  ['UNEXPECTED_TOKEN', `- a\nb: ${SECRET}\n`, 'unexpected content after a complete value'],
  ['TAB_AS_INDENT', `a:\n\tb: ${SECRET}\n`, 'a tab is used for indentation'],
  ['BLOCK_AS_IMPLICIT_KEY', `a: b: ${SECRET}\n`, 'a map cannot start on the same line as its key'],
  ['MULTILINE_IMPLICIT_KEY', `a: 1\n${SECRET}\nc: 2\n`, 'a key spans several lines'],
  ['BAD_DQ_ESCAPE', `a: "\\q${SECRET}"\n`, 'invalid escape sequence'],
  ['BAD_SCALAR_START', `a: @${SECRET}\n`, 'a plain value cannot start with a reserved character'],
  ['TAG_RESOLVE_FAILED', `a: !e!${SECRET} 1\n`, 'a tag uses a handle'],
  ['MULTIPLE_ANCHORS', `a: &x &y ${SECRET}\n`, 'more than one anchor'],
  ['ALIAS_PROPS', `a: &x 1\nb: &y *x\n`, 'an alias (*name) cannot carry an anchor or a tag'],
];

describe('describeSyntaxError', () => {
  it.each(BY_CODE)('[yaml-first-error] %s: our own words, never the parser\'s quote of the text', (code, text, message) => {
    const errors = parseAllDocuments(text, { logLevel: 'error' } as never) as unknown as Array<{ errors: Array<{ code: string; message: string; pos: [number, number] }> }>;
    const all = errors.flatMap((d) => d.errors);
    const error = all.find((e) => e.code === code);
    expect(error, JSON.stringify(all.map((e) => e.code))).toBeDefined();
    const ours = describeSyntaxError(error!.code, error!.message);
    expect(ours).toContain(message);
    expect(ours).not.toContain(SECRET);
  });

  it('[secret-yaml-syntax] never returns the parser\'s message, even for an unknown code', () => {
    const parser = `Unexpected scalar token in YAML stream: "${SECRET}"`;
    expect(describeSyntaxError('UNEXPECTED_TOKEN', parser)).toBe('unexpected content here; check the indentation, colons, dashes and quotes around it');
    expect(describeSyntaxError('SOME_FUTURE_CODE', parser)).toBe('the YAML is not well-formed here');
  });

  it('picks the error that comes first in the text', () => {
    expect(firstError([{ offset: 30, code: 'B' }, { offset: 4, code: 'A' }, { offset: 4, code: 'C' }])).toEqual({ offset: 4, code: 'A' });
    expect(firstError([])).toBeUndefined();
  });
});
