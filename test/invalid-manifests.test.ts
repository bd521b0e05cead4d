/**
 * Corpus of broken manifest repositories (test/testdata/invalid/<case>/): each
 * folder is a small repository that would render but for the defect(s) its
 * expected.json describes. `render` must refuse every one with exit code 2,
 * print nothing on stdout, and report every expected problem at once, each
 * with its file, line (where there is one), JSON pointer and message.
 *
 * expected.json: {
 *   "description": what is broken,
 *   "env": the --env to render,
 *   "exact": false when the report may hold more problems than listed (default: exactly these),
 *   "errors": [ { "file", "line"?, "document"? (1-based, multi-document files), "path", "message" (a substring) } ]
 * }
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, ROOT } from './helpers/cli.js';

interface ExpectedError { file: string; line?: number; document?: number; path: string; message: string }
interface Expected { description: string; env: string; exact?: boolean; errors: ExpectedError[] }
interface Reported { file: string; line?: number; column?: number; document?: number; path: string; message: string }

const CORPUS = join(ROOT, 'test', 'testdata', 'invalid');
const CASES = readdirSync(CORPUS).filter((name) => statSync(join(CORPUS, name)).isDirectory()).sort();

function expectedOf(name: string): Expected {
  return JSON.parse(readFileSync(join(CORPUS, name, 'expected.json'), 'utf8')) as Expected;
}

const HEADER = /^pm2-gitops: environment (\S+) is invalid: (\d+) problems?$/;
// `  base/web.yaml:14:16 (document 2) /spec/process/instances: message`, or `  . /: message` without a position.
const LINE = /^ {2}(\S+?)(?::(\d+):(\d+))?(?: \(document (\d+)\))? (\/\S*): (.*)$/;

/** Splits the CLI's error report into its announced count and its problems. */
function parseReport(stderr: string): { environment?: string; count?: number; problems: Reported[]; unparsed: string[] } {
  const lines = stderr.split('\n').filter((l) => l !== '');
  const header = HEADER.exec(lines[0] ?? '');
  const problems: Reported[] = [];
  const unparsed: string[] = [];
  for (const line of lines.slice(1)) {
    const m = LINE.exec(line);
    if (!m) { unparsed.push(line); continue; }
    problems.push({
      file: m[1]!,
      ...(m[2] ? { line: Number(m[2]), column: Number(m[3]) } : {}),
      ...(m[4] ? { document: Number(m[4]) } : {}),
      // A diagnostic on the whole document has the pointer '' and is printed as '/'.
      path: m[5]!,
      message: m[6]!,
    });
  }
  return { environment: header?.[1], count: header ? Number(header[2]) : undefined, problems, unparsed };
}

function matches(r: Reported, e: ExpectedError): boolean {
  return r.file === e.file
    && r.path === e.path
    && r.message.includes(e.message)
    && (e.line === undefined || r.line === e.line)
    && (e.document === undefined || r.document === e.document);
}

describe('the corpus of invalid manifest repositories', () => {
  it('holds at least 30 cases, each with a well-formed expected.json', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
    for (const name of CASES) {
      const expected = expectedOf(name);
      expect(expected.description, name).toEqual(expect.any(String));
      expect(expected.env, name).toMatch(/^[a-z0-9][a-z0-9-]*$/);
      expect(expected.errors.length, name).toBeGreaterThan(0);
      for (const e of expected.errors) {
        expect(e.file, name).toEqual(expect.any(String));
        expect(e.path, name).toMatch(/^\//);
        expect(e.message.length, name).toBeGreaterThan(0);
      }
    }
  });

  it('holds cases with several problems in several files', () => {
    const multiFile = CASES.filter((name) => new Set(expectedOf(name).errors.map((e) => e.file)).size >= 2);
    expect(multiFile.length).toBeGreaterThanOrEqual(3);
  });
});

describe.concurrent('render refuses every invalid repository, naming each problem', () => {
  it.each(CASES)('%s', async (name) => {
    const expected = expectedOf(name);
    const dir = join(CORPUS, name);
    const r = await cli(['render', '--repo', dir, '--env', expected.env, '--json']);
    const context = `${name}: ${expected.description}\nexit ${r.code}\nstderr:\n${r.stderr}`;

    expect(r.code, context).toBe(2);
    expect(r.stdout, context).toBe('');

    const report = parseReport(r.stderr);
    expect(report.environment, context).toBe(expected.env);
    expect(report.unparsed, context).toEqual([]);
    // The announced count is the number of problems listed: nothing is cut short.
    expect(report.problems.length, context).toBe(report.count);
    if (expected.exact === false) expect(report.problems.length, context).toBeGreaterThanOrEqual(expected.errors.length);
    else expect(report.problems.length, context).toBe(expected.errors.length);

    // Every expected problem is reported, each by a problem of its own.
    const unused = [...report.problems];
    for (const e of expected.errors) {
      const i = unused.findIndex((p) => matches(p, e));
      expect(i, `${context}\nmissing: ${JSON.stringify(e)}`).toBeGreaterThanOrEqual(0);
      unused.splice(i, 1);
    }
    // A problem with a place in a file carries its line; only "environment not found" has none.
    for (const p of report.problems) {
      if (p.file !== '.') expect(p.line, `${context}\nno line: ${JSON.stringify(p)}`).toBeGreaterThan(0);
    }
  });
});
