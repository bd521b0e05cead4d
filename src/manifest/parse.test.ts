import { describe, expect, it } from 'vitest';
import { parseManifestFile, pointerOf, pointerTokens } from './parse.js';

const MULTI = `# two tasks and an empty document
apiVersion: pm2-gitops/v1
kind: Task
metadata:
  name: a
spec:
  process:
    script: a.js
    env: { A: "1" }
---
---
kind: Task
metadata: { name: b }
spec:
  dependsOn: [a, c]
  process:
    script:
`;

describe('parseManifestFile', () => {
  it('splits a multi-document file, skipping empty documents but keeping document indexes', () => {
    const parsed = parseManifestFile('base/x.yaml', MULTI);
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.documents.map((d) => [d.file, d.index])).toEqual([['base/x.yaml', 0], ['base/x.yaml', 2]]);
    expect(parsed.documents[0]!.value).toEqual({
      apiVersion: 'pm2-gitops/v1', kind: 'Task', metadata: { name: 'a' }, spec: { process: { script: 'a.js', env: { A: '1' } } },
    });
    expect(parsed.documents[1]!.value).toEqual({ kind: 'Task', metadata: { name: 'b' }, spec: { dependsOn: ['a', 'c'], process: { script: null } } });
  });

  it('maps JSON pointers to 1-based lines and columns inside their own document', () => {
    const [a, b] = parseManifestFile('base/x.yaml', MULTI).documents;
    expect(a!.locate('')).toEqual({ line: 2, column: 1 });
    expect(a!.locate('/kind')).toEqual({ line: 3, column: 7 });
    expect(a!.locate('/metadata/name')).toEqual({ line: 5, column: 9 });
    expect(a!.locate('/spec/process/script')).toEqual({ line: 8, column: 13 });
    expect(a!.locate('/spec/process/env/A')).toEqual({ line: 9, column: 15 });
    // Lines count from the start of the file, not of the document.
    expect(b!.locate('/metadata/name')).toEqual({ line: 13, column: 19 });
    expect(b!.locate('/spec/dependsOn/1')).toEqual({ line: 15, column: 18 });
    // A key without a value still has a line.
    expect(b!.locate('/spec/process/script')?.line).toBe(17);
  });

  it('locates a pointer that does not exist at the deepest node that does', () => {
    const [a, b] = parseManifestFile('base/x.yaml', MULTI).documents;
    expect(a!.locate('/spec/process/nope/deeper')).toEqual({ line: 8, column: 5 });
    expect(b!.locate('/spec/dependsOn/7')).toEqual({ line: 15, column: 14 });
    expect(a!.locate('/missing')).toEqual({ line: 2, column: 1 });
  });

  it('turns syntax errors into diagnostics with file, line and document index, and keeps the good documents', () => {
    const text = 'kind: Task\nmetadata: { name: ok }\n---\nkind: Task\nmetadata:\n  name: [unclosed\n---\nkind: Task\nkind: Again\n';
    const parsed = parseManifestFile('bad.yaml', text);
    // The document with the duplicate key composes: it is kept (and checked on), its diagnostic keeps it from being applied.
    expect(parsed.documents.map((d) => d.index)).toEqual([0, 2]);
    expect(parsed.unreadable!.map((d) => d.index)).toEqual([1]);
    expect(parsed.diagnostics).toHaveLength(2);
    const [flow, duplicate] = parsed.diagnostics;
    expect(flow).toMatchObject({ file: 'bad.yaml', document: 1, pointer: '' });
    expect(flow!.line).toBeGreaterThanOrEqual(6);
    expect(flow!.message).toMatch(/^invalid YAML: /);
    expect(duplicate).toEqual({ file: 'bad.yaml', document: 2, line: 9, column: 1, pointer: '', message: 'duplicate key: the keys of a map must be unique (the same key is also on line 8)' });
    // The message carries no "at line N, column M" suffix: the position is in the fields.
    for (const d of parsed.diagnostics) expect(d.message).not.toMatch(/at line \d+/);
  });

  it('returns nothing for an empty file or one holding only comments', () => {
    for (const text of ['', '# nothing here\n', '---\n---\n']) {
      const parsed = parseManifestFile('empty.yaml', text);
      expect(parsed.documents).toEqual([]);
      expect(parsed.diagnostics).toEqual([]);
    }
  });

  it('reads Windows line ends and a byte order mark as any other text', () => {
    for (const text of [MULTI.replace(/\n/g, '\r\n'), `\uFEFF${MULTI}`]) {
      const parsed = parseManifestFile('base/x.yaml', text);
      expect(parsed.diagnostics).toEqual([]);
      expect(parsed.documents.map((d) => d.value)).toEqual(parseManifestFile('base/x.yaml', MULTI).documents.map((d) => d.value));
      expect(parsed.documents[0]!.locate('/spec/process/env/A')).toEqual({ line: 9, column: 15 });
    }
  });

  it('resolves aliases into plain values', () => {
    const parsed = parseManifestFile('a.yaml', 'base: &env { A: "1" }\ncopy: *env\n');
    expect(parsed.documents[0]!.value).toEqual({ base: { A: '1' }, copy: { A: '1' } });
  });
});

describe('JSON pointers', () => {
  it('escapes "~" and "/" in tokens and reads them back', () => {
    const tokens = ['spec', 'process', 'env', 'a/b~c', 0];
    const pointer = pointerOf(tokens);
    expect(pointer).toBe('/spec/process/env/a~1b~0c/0');
    expect(pointerTokens(pointer)).toEqual(['spec', 'process', 'env', 'a/b~c', '0']);
    expect(pointerTokens('')).toEqual([]);
    expect(pointerOf([])).toBe('');
  });

  it('locates keys that need escaping', () => {
    const doc = parseManifestFile('a.yaml', 'env:\n  "a/b": x\n  "c~d": y\n').documents[0]!;
    expect(doc.locate(pointerOf(['env', 'a/b']))).toEqual({ line: 2, column: 10 });
    expect(doc.locate(pointerOf(['env', 'c~d']))).toEqual({ line: 3, column: 10 });
  });
});
