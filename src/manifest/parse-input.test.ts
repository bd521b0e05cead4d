/**
 * Hostile and broken YAML through parseManifestFile: every case is a
 * diagnostic (file, line, pointer, message), never an exception, never output
 * of the yaml library's own, and never a value in a message.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseManifestFile, type ParsedFile } from './parse.js';

const SECRET = 's3cr3t-planted-value';
const API = readFileSync(new URL('../../manifests/base/api.yaml', import.meta.url), 'utf8').replace('GREETING: hello', `GREETING: ${SECRET}`);

/** Everything written to stdout, stderr, the console or process.emitWarning while a test runs. */
let output: string[] = [];
beforeEach(() => {
  output = [];
  const record = (...args: unknown[]) => { output.push(args.map(String).join(' ')); return true; };
  vi.spyOn(process.stderr, 'write').mockImplementation(record);
  vi.spyOn(process.stdout, 'write').mockImplementation(record);
  vi.spyOn(process, 'emitWarning').mockImplementation(record);
  for (const method of ['log', 'warn', 'error', 'info', 'debug'] as const) vi.spyOn(console, method).mockImplementation(record);
});
afterEach(() => {
  vi.restoreAllMocks();
  expect(output).toEqual([]);
});

function parse(text: string): ParsedFile {
  const parsed = parseManifestFile('base/api.yaml', text);
  for (const d of parsed.diagnostics) {
    expect(d.message).not.toContain(SECRET);
    expect(d.line).toBeGreaterThan(0);
  }
  return parsed;
}

/** The diagnostics as `line:column pointer message` lines. */
function report(parsed: ParsedFile): string[] {
  return parsed.diagnostics.map((d) => `${d.line}:${d.column} ${d.pointer || '/'} ${d.message}`);
}

function billionLaughs(levels: number): string {
  let text = `a0: &a0 [${Array(9).fill(SECRET).join(', ')}]\n`;
  for (let i = 1; i < levels; i++) text += `a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]\n`;
  return text;
}

describe('aliases', () => {
  it('[yaml-alias] an unresolved alias is a diagnostic at its pointer, and the document is not rendered', () => {
    const parsed = parse(API.replace(`GREETING: ${SECRET}`, 'GREETING: *nope'));
    expect(report(parsed)).toEqual(['24:17 /spec/process/env/GREETING the alias (*name) refers to no anchor (&name) defined before it']);
    expect(parsed.documents).toEqual([]);
    expect(parsed.unreadable!.map((d) => (d.value as { metadata: { name: string } }).metadata.name)).toEqual(['api']);
  });

  it('[yaml-alias] an alias before its anchor is unresolved; anchors and aliases in order are fine', () => {
    expect(report(parse('a: *x\nb: &x 1\n'))).toEqual(['1:4 /a the alias (*name) refers to no anchor (&name) defined before it']);
    const parsed = parse('base: &env { A: "1" }\ncopy: *env\nkey: &k name\n*k : 2\n');
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.documents[0]!.value).toEqual({ base: { A: '1' }, copy: { A: '1' }, key: 'name', name: 2 });
  });

  it('[alias-self] an alias inside the value it names is a diagnostic, and no value holds a cycle', () => {
    for (const text of ['a: &x [*x]\n', 'a: &x { b: *x }\n', 'a: &x\n  b:\n    c: [1, *x]\n']) {
      const parsed = parse(text);
      expect(parsed.diagnostics).toHaveLength(1);
      expect(parsed.diagnostics[0]!.message).toBe('the alias (*name) refers to a value that holds it: a value cannot contain itself');
      expect(parsed.documents).toEqual([]);
      expect(() => JSON.stringify(parsed.unreadable)).not.toThrow();
    }
  });

  it('[alias-count] up to 1000 aliases in a document are fine; one more is a diagnostic', () => {
    const aliases = (n: number) => `a: &a x\nb: [${Array(n).fill('*a').join(', ')}]\n`;
    expect(parse(aliases(1000)).diagnostics).toEqual([]);
    const parsed = parse(aliases(1001));
    expect(report(parsed)).toEqual(['2:4005 /b/1000 more than 1000 aliases (*name) in one document']);
    expect(parsed.documents).toEqual([]);
  });

  it('[alias-bomb] the "billion laughs" document is refused at once, without expanding it', { timeout: 10_000 }, () => {
    const parsed = parse(billionLaughs(10));
    expect(report(parsed)).toEqual(['6:10 /a5/0 aliases (*name) expand this document by more than 100000 values']);
    expect(parsed.documents).toEqual([]);
    // What is kept of it stays within the limit, expanded: the aliases past it are nulls.
    expect(JSON.stringify(parsed.unreadable).length).toBeLessThan(100_000 * (SECRET.length + 3) + 10_000);
  });

  it('[alias-bomb] aliases that stack nesting beyond 100 levels are refused', () => {
    let text = `l0: &l0 ${'['.repeat(60)}1${']'.repeat(60)}\n`;
    text += `l1: &l1 ${'['.repeat(60)}*l0${']'.repeat(60)}\n`;
    expect(report(parse(text))).toEqual([`2:69 /l1${'/0'.repeat(60)} the alias (*name) makes the data nested deeper than 100 levels`]);
  });
});

describe('tags and keys', () => {
  it.each([
    ['!!binary', `a: !!binary ${Buffer.from(SECRET).toString('base64')}\n`, 'tag !!binary is not allowed'],
    ['!!set', `a: !!set { ${SECRET} }\n`, 'tag !!set is not allowed'],
    ['!!omap', `a: !!omap [ { k: ${SECRET} } ]\n`, 'tag !!omap is not allowed'],
    ['!!pairs', `a: !!pairs [ { k: ${SECRET} } ]\n`, 'tag !!pairs is not allowed'],
    ['!!timestamp', 'a: !!timestamp 2001-12-14\n', 'tag !!timestamp is not allowed'],
    ['a custom tag', `a: !foo ${SECRET}\n`, 'a custom tag is not allowed'],
    ['a custom tag holding the value', `a: !${SECRET}\n`, 'a custom tag is not allowed'],
    ['a verbatim tag', `a: !<tag:example.com,2000:x> ${SECRET}\n`, 'a custom tag is not allowed'],
    ['a misfit !!int', `a: !!int ${SECRET}\n`, 'the value does not fit its tag !!int'],
  ])('[yaml-tags] %s is refused at its pointer, never naming the value', (_name, text, message) => {
    const parsed = parse(text);
    expect(parsed.diagnostics).toHaveLength(1);
    expect(parsed.diagnostics[0]).toMatchObject({ line: 1, pointer: '/a' });
    expect(parsed.diagnostics[0]!.message).toContain(message);
  });

  it('[yaml-tags] a %YAML 1.1 directive does not bring back dates, merges or yes/no booleans', () => {
    const parsed = parse('%YAML 1.1\n---\nwhen: 2001-12-14\nok: yes\n<<: { x: 1 }\n');
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.documents[0]!.value).toEqual({ when: '2001-12-14', ok: 'yes', '<<': { x: 1 } });
  });

  it('[yaml-collection-key] a key that is a list or a map is a diagnostic, and the yaml library prints nothing', () => {
    for (const text of ['? [a, b]\n: 1\n', `{ [${SECRET}]: 1 }\n`, `? { k: ${SECRET} }\n: 1\n`]) {
      const parsed = parse(text);
      expect(report(parsed)).toEqual([expect.stringMatching(/^1:\d+ \/ a key is a map or a list; keys must be strings$/)]);
    }
  });

  it('[secret-yaml-warning] what the yaml library warns about reaches no output: every warning is silenced', () => {
    parse(API.replace('metadata:', '{ metadata:'));
    parse(`? [${SECRET}]\n: 1\n%FOO bar\n`);
    parse(`a: !unknown ${SECRET}\nb: &x 1\nc: *x:\n`);
  });

  it('a duplicate key names its line and the map, never the key; keys that become the same string are duplicates', () => {
    expect(report(parse(`env:\n  ${SECRET}: 1\n  ${SECRET}: 2\n`))).toEqual(['3:3 /env duplicate key: the keys of a map must be unique (the same key is also on line 2)']);
    expect(report(parse('1: a\n"1": b\n'))).toEqual(['2:1 / duplicate key: the keys of a map must be unique (the same key is also on line 1)']);
  });
});

describe('syntax errors', () => {
  it('[secret-yaml-syntax] one misplaced dash: one diagnostic, not 78 that quote every token', () => {
    const parsed = parse(API.replace('apiVersion:', '- apiVersion:'));
    expect(report(parsed)).toEqual(['3:1 / invalid YAML: unexpected content after a complete value; check the indentation of this line']);
  });

  it('[yaml-first-error] one missing brace: the first error only, with its line and column', () => {
    const parsed = parse(API.replace('/healthz" }', '/healthz"'));
    expect(parsed.diagnostics).toEqual([{
      file: 'base/api.yaml', line: 17, column: 5, pointer: '', document: 0,
      message: 'invalid YAML: a flow map ({ … }) is not closed with "}", or a line inside it is not indented enough',
    }]);
  });

  it('[yaml-first-error] a later document of the file still parses; its own errors are not listed', () => {
    const parsed = parse(`a: [1\n---\nb: 2\n---\nc: "${SECRET}\n`);
    expect(report(parsed)).toEqual([expect.stringMatching(/^2:1 \/ invalid YAML: /)]);
    expect(parsed.documents.map((d) => d.value)).toEqual([{ b: 2 }]);
  });
});

describe('characters and numbers', () => {
  it('[nul-bytes] a NUL or other control character in a value is refused at its line, column and pointer', () => {
    const raw = parse(API.replace(`GREETING: ${SECRET}`, `GREETING: ${SECRET}\0tail`));
    expect(report(raw)).toEqual([`24:${17 + SECRET.length} /spec/process/env/GREETING the value holds a control character (U+0000, NUL); manifests may hold no control characters other than tab and line breaks`]);
    const escaped = parse(`env:\n  A: "x\\0y"\n  B: "\\e[31m"\n  C: "\\uD800"\n`);
    expect(report(escaped)).toEqual([
      '2:6 /env/A the value holds a control character (U+0000, NUL); manifests may hold no control characters other than tab and line breaks',
      '3:6 /env/B the value holds a control character (U+001B); manifests may hold no control characters other than tab and line breaks',
      '4:6 /env/C the value holds an unpaired UTF-16 surrogate (not valid Unicode text); manifests may hold no control characters other than tab and line breaks',
    ]);
    // Outside any value: in a comment, or in a key.
    expect(report(parse(`# note\0\nk\x01ey: 1\n`))).toEqual([
      '2:2 / a key holds a control character (U+0001); manifests may hold no control characters other than tab and line breaks',
      '1:7 / the text holds a control character (U+0000, NUL); manifests may hold no control characters other than tab and line breaks',
    ]);
    expect(parse('a: "tab\\tnewline\\ncr\\r"\nb: |\n  x\ty\n').diagnostics).toEqual([]);
  });

  it('[big-integers] an integer outside the safe range is refused with its pointer and digit count, never its digits', () => {
    const parsed = parse('spec:\n  process:\n    instances: 123456789012345678901234567890\n    env: { PORT: 9007199254740993, OK: 9007199254740991, RATIO: 0.30000000000000000001 }\n');
    expect(report(parsed)).toEqual([
      '3:16 /spec/process/instances an integer of 30 digits is outside the range numbers keep exactly (±9007199254740991); quote it to keep it exact',
      '4:18 /spec/process/env/PORT an integer of 16 digits is outside the range numbers keep exactly (±9007199254740991); quote it to keep it exact',
      '4:65 /spec/process/env/RATIO a number of 20 significant digits cannot be kept exactly; quote it to keep it exact',
    ]);
    for (const d of parsed.diagnostics) expect(d.message).not.toMatch(/12345678901|9007199254740993|30000000000/);
    // Quoted, the digits are kept as they are.
    expect(parse('a: "123456789012345678901234567890"\n').documents[0]!.value).toEqual({ a: '123456789012345678901234567890' });
  });

  it('[secret-utf16] UTF-16 text is one diagnostic that names the file only', () => {
    const parsed = parse(Buffer.from(API, 'utf16le').toString('latin1'));
    expect(parsed.diagnostics).toEqual([{ file: 'base/api.yaml', line: 1, column: 1, pointer: '', message: 'not UTF-8 text (looks like UTF-16); save the file as UTF-8' }]);
  });

  it('lists at most 50 problems of a file, and counts the rest', () => {
    const parsed = parse(Array.from({ length: 120 }, (_, i) => `k${i}: "\\0"\n`).join(''));
    expect(parsed.diagnostics).toHaveLength(51);
    expect(parsed.diagnostics[50]!.message).toBe('70 more problems in this file not listed (the first 50 are)');
  });
});

describe('limits', () => {
  it('[many-annotations] 20,000 annotations parse, in time linear in the text', { timeout: 20_000 }, () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `    note-${i}: value ${i}\n`).join('');
    const parsed = parse(`metadata:\n  annotations:\n${lines}`);
    expect(parsed.diagnostics).toEqual([]);
    expect(Object.keys((parsed.documents[0]!.value as { metadata: { annotations: object } }).metadata.annotations)).toHaveLength(20_000);
    // A duplicate at the end of such a map is found too.
    expect(report(parse(`metadata:\n  annotations:\n${lines}    note-0: again\n`))).toEqual([
      '20003:5 /metadata/annotations duplicate key: the keys of a map must be unique (the same key is also on line 3)',
    ]);
  });

  it('[many-annotations] a file of 1.1 million annotations (a minute of parsing before) is refused by its size', { timeout: 20_000 }, () => {
    const lines = Array.from({ length: 1_100_000 }, (_, i) => `    note-${i}: value ${i}\n`).join('');
    const parsed = parse(`metadata:\n  annotations:\n${lines}`);
    expect(report(parsed)).toEqual([expect.stringMatching(/^1:1 \/ file is too large: \d+ bytes, the limit is 1048576 bytes/)]);
  });

  it('nesting deeper than 100 levels is a diagnostic, written in flow or block style', () => {
    expect(parse(`a: ${'['.repeat(99)}${']'.repeat(99)}\n`).diagnostics).toEqual([]);
    expect(report(parse(`a: ${'['.repeat(100)}${']'.repeat(100)}\n`))).toEqual(['1:103 / maps and lists are nested deeper than 100 levels']);
    expect(report(parse(`a: ${'['.repeat(300_000)}\n`))).toEqual(['1:103 / maps and lists are nested deeper than 100 levels']);
    const block = Array.from({ length: 1000 }, (_, i) => `${' '.repeat(i)}k:\n`).join('');
    expect(report(parse(block))).toEqual(['101:101 / maps and lists are nested deeper than 100 levels']);
  });

  it('up to 1000 documents in a file are fine; more are a diagnostic', () => {
    expect(parse('---\na: 1\n'.repeat(1000)).documents).toHaveLength(1000);
    const parsed = parse('---\na: 1\n'.repeat(100_000));
    expect(report(parsed)).toEqual(['2001:1 / more than 1000 YAML documents in one file; split it into several files']);
  });

  it('[file-size] text over 1 MiB is refused before it is parsed', () => {
    const parsed = parse(`a: ${'x'.repeat(1024 * 1024)}\n`);
    expect(report(parsed)).toEqual(['1:1 / file is too large: 1048580 bytes, the limit is 1048576 bytes (1 MiB) per manifest file; split it into several files']);
  });
});
