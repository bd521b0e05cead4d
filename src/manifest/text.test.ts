import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MAX_FILE_BYTES } from './limits.js';
import { badCharacterIn, decodeManifest, describeBadCharacter, textProblem } from './text.js';

const SECRET = 's3cr3t-utf16-value';
const MANIFEST = `apiVersion: pm2-gitops/v1\nkind: Task\nmetadata: { name: api }\nspec:\n  process:\n    script: server.js\n    env: { TOKEN: ${SECRET} }\n`;

function utf16be(text: string): Buffer {
  return Buffer.from(text, 'utf16le').swap16();
}

/** A PNG file as an image editor writes it: signature, header, compressed noise, end. */
function png(bytes: number): Buffer {
  let seed = 7;
  const noise = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    noise[i] = seed >>> 24;
  }
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    return Buffer.concat([length, Buffer.from(type, 'latin1'), data, Buffer.alloc(4)]);
  };
  const header = Buffer.from([0, 0, 1, 0, 0, 0, 1, 0, 8, 6, 0, 0, 0]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(noise, { level: 0 })), chunk('IEND', Buffer.alloc(0))]);
}

function problemOf(bytes: Uint8Array) {
  const decoded = decodeManifest('base/api.yaml', bytes);
  if (!('problem' in decoded)) throw new Error('decoded');
  return decoded.problem;
}

describe('decodeManifest', () => {
  it('decodes UTF-8, with or without a byte order mark', () => {
    expect(decodeManifest('a.yaml', Buffer.from(MANIFEST))).toEqual({ text: MANIFEST });
    expect(decodeManifest('a.yaml', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a: é\n')]))).toEqual({ text: '\uFEFFa: é\n' });
    expect(decodeManifest('a.yaml', Buffer.alloc(0))).toEqual({ text: '' });
  });

  it.each([
    ['UTF-16LE with a byte order mark', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(MANIFEST, 'utf16le')]), 'UTF-16'],
    ['UTF-16BE with a byte order mark', Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(MANIFEST)]), 'UTF-16'],
    ['UTF-16LE without a byte order mark', Buffer.from(MANIFEST, 'utf16le'), 'UTF-16'],
    ['UTF-16BE without a byte order mark', utf16be(MANIFEST), 'UTF-16'],
    ['UTF-32LE with a byte order mark', Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), Buffer.from([...MANIFEST].flatMap((c) => [c.charCodeAt(0), 0, 0, 0]))]), 'UTF-32'],
  ])('[secret-utf16] %s is "not UTF-8 text", naming the file only', (_name, bytes, encoding) => {
    const problem = problemOf(bytes);
    expect(problem).toEqual({ file: 'base/api.yaml', line: 1, column: 1, pointer: '', message: `not UTF-8 text (looks like ${encoding}); save the file as UTF-8` });
  });

  it('[binary-file] a 274 KB PNG named .yaml gets one short diagnostic and none of its bytes', () => {
    const bytes = png(274 * 1024);
    expect(bytes.length).toBeGreaterThan(274 * 1024);
    const problem = problemOf(bytes);
    expect(problem.message).toBe('not UTF-8 text (looks like a binary file); manifests are YAML text in UTF-8');
    expect(problem.line).toBe(1);
  });

  it('[invalid-utf8] refuses invalid UTF-8 with the line and column of the first bad byte', () => {
    const at = (prefix: string, bad: number[], suffix = '\nb: 2\n') => problemOf(Buffer.concat([Buffer.from(prefix), Buffer.from(bad), Buffer.from(suffix)]));
    expect(at('a: 1\nname: caf', [0xe9])).toEqual({
      file: 'base/api.yaml', line: 2, column: 10, pointer: '',
      message: 'not UTF-8 text: invalid UTF-8 byte sequence at line 2, column 10; save the file as UTF-8',
    });
    // Columns count characters: "é" before the bad byte is one column.
    expect(at('a: 1\nx: é ', [0xff])).toMatchObject({ line: 2, column: 6 });
    // An overlong "/", an encoded surrogate, a code point above U+10FFFF, a sequence cut short at the end.
    expect(at('a: ', [0xc0, 0xaf])).toMatchObject({ line: 1, column: 4 });
    expect(at('a: ', [0xed, 0xa0, 0x80])).toMatchObject({ line: 1, column: 4 });
    expect(at('a: ', [0xf4, 0x90, 0x80, 0x80])).toMatchObject({ line: 1, column: 4 });
    expect(at('a: b\n\n\nc: ', [0xe2, 0x82], '')).toMatchObject({ line: 4, column: 4 });
  });

  it('[file-size] refuses more than 1 MiB, naming the size and the limit', () => {
    expect(problemOf(Buffer.alloc(MAX_FILE_BYTES + 1, 0x61))).toEqual({
      file: 'base/api.yaml', line: 1, column: 1, pointer: '',
      message: `file is too large: ${MAX_FILE_BYTES + 1} bytes, the limit is 1048576 bytes (1 MiB) per manifest file; split it into several files`,
    });
    expect(decodeManifest('a.yaml', Buffer.alloc(MAX_FILE_BYTES, 0x61))).toHaveProperty('text');
  });

  it('leaves a few NUL bytes in a text to be reported where they are', () => {
    expect(decodeManifest('a.yaml', Buffer.from('a: b\0c\nd: e\n'))).toEqual({ text: 'a: b\0c\nd: e\n' });
  });
});

describe('textProblem', () => {
  it('[secret-utf16] recognises UTF-16 decoded as if it were UTF-8 or Latin-1, and says nothing of its content', () => {
    for (const text of [Buffer.from(MANIFEST, 'utf16le').toString('utf8'), Buffer.from(MANIFEST, 'utf16le').toString('latin1'), utf16be(MANIFEST).toString('latin1')]) {
      expect(textProblem('base/api.yaml', text)).toEqual({ file: 'base/api.yaml', line: 1, column: 1, pointer: '', message: 'not UTF-8 text (looks like UTF-16); save the file as UTF-8' });
    }
    expect(textProblem('a.yaml', MANIFEST)).toBeUndefined();
  });

  it('[file-size] counts UTF-8 bytes, not characters', () => {
    expect(textProblem('a.yaml', 'é'.repeat(MAX_FILE_BYTES / 2))).toBeUndefined();
    expect(textProblem('a.yaml', 'é'.repeat(MAX_FILE_BYTES / 2 + 1))?.message).toMatch(/^file is too large: 1048578 bytes/);
  });
});

describe('characters manifest text may not hold', () => {
  it('finds C0 control characters other than tab, newline and carriage return, and unpaired surrogates', () => {
    expect(badCharacterIn('tab\tnewline\ncr\r fine é 😀')).toBe(-1);
    expect(badCharacterIn('a\0b')).toBe(1);
    expect(badCharacterIn('esc\x1b[0m')).toBe(3);
    expect(badCharacterIn('lone \uD800 high')).toBe(5);
    expect(badCharacterIn('lone \uDC00 low')).toBe(5);
    expect(describeBadCharacter(0)).toBe('a control character (U+0000, NUL)');
    expect(describeBadCharacter(0x1b)).toBe('a control character (U+001B)');
    expect(describeBadCharacter(0xd800)).toBe('an unpaired UTF-16 surrogate (not valid Unicode text)');
  });
});
