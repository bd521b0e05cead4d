/**
 * Manifest text (pure): a file's bytes → its UTF-8 text, or the one short
 * reason it is not a manifest's text (too large, UTF-16, binary, invalid
 * UTF-8). No message quotes the file's content: it may hold secrets.
 */
import { isUtf8 } from 'node:buffer';
import type { Diagnostic } from '../domain/diagnostic.js';
import { MAX_FILE_BYTES } from './limits.js';

/** Bytes looked at to recognise UTF-16, UTF-32 and binary files. */
const SAMPLE = 8000;

/**
 * Characters a manifest's text must not hold: C0 control characters other than
 * tab, newline and carriage return, and UTF-16 surrogates without their pair
 * (a string that cannot be written as UTF-8).
 */
const BAD_CHARACTER = /[\x00-\x08\x0B\x0C\x0E-\x1F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const BAD_CHARACTERS = new RegExp(BAD_CHARACTER.source, 'g');

/** A problem with a whole file: placed at its first line, so that every file problem has a line. */
function fileProblem(file: string, message: string, line = 1, column = 1): Diagnostic {
  return { file, line, column, pointer: '', message };
}

/** The diagnostic of a file larger than the limit; names its size and the limit, nothing of its content. */
export function tooLarge(file: string, size: number): Diagnostic {
  return fileProblem(file, `file is too large: ${size} bytes, the limit is ${MAX_FILE_BYTES} bytes (1 MiB) per manifest file; split it into several files`);
}

/** What the NUL bytes (or characters) at the start of a file say about its encoding, if anything. */
function nulPattern(length: number, isNul: (i: number) => boolean): 'UTF-16' | 'UTF-32' | 'binary' | undefined {
  const n = Math.min(length, SAMPLE) & ~3;
  if (n === 0) return undefined;
  const zeros = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) if (isNul(i)) zeros[i & 3]!++;
  const quarter = n / 4;
  const total = zeros[0]! + zeros[1]! + zeros[2]! + zeros[3]!;
  if (total === 0) return undefined;
  // Mostly-ASCII UTF-16 has a NUL in every other place, UTF-32 in three of four; allow a quarter of other characters.
  const odd = zeros[1]! + zeros[3]!;
  const even = zeros[0]! + zeros[2]!;
  if ((odd >= 1.5 * quarter && even <= 0.25 * quarter) || (even >= 1.5 * quarter && odd <= 0.25 * quarter)) return 'UTF-16';
  if (total >= 2.25 * quarter) return 'UTF-32';
  // Many NULs but no pattern: binary data. A few NULs in a text are reported where they are, by value.
  return total >= 16 && total * 8 >= n ? 'binary' : undefined;
}

function byteOrderMark(bytes: Uint8Array): 'UTF-16' | 'UTF-32' | undefined {
  const [a, b, c, d] = bytes;
  if ((a === 0xff && b === 0xfe && c === 0 && d === 0) || (a === 0 && b === 0 && c === 0xfe && d === 0xff)) return 'UTF-32';
  if ((a === 0xff && b === 0xfe) || (a === 0xfe && b === 0xff)) return 'UTF-16';
  return undefined;
}

function notUtf8(file: string, looksLike: 'UTF-16' | 'UTF-32' | 'binary'): Diagnostic {
  return fileProblem(file, looksLike === 'binary'
    ? 'not UTF-8 text (looks like a binary file); manifests are YAML text in UTF-8'
    : `not UTF-8 text (looks like ${looksLike}); save the file as UTF-8`);
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (the bytes are known not to be UTF-8). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const length = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0 || i + length > bytes.length) return i;
    for (let k = 1; k < length; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    const second = bytes[i + 1]!;
    // Overlong forms, surrogates and code points above U+10FFFF.
    if ((b === 0xe0 && second < 0xa0) || (b === 0xed && second > 0x9f) || (b === 0xf0 && second < 0x90) || (b === 0xf4 && second > 0x8f)) return i;
    i += length;
  }
  return i;
}

/** 1-based line and column (in characters) of byte `offset`, counting only what lies before it. */
function bytePosition(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let column = 1;
  for (let i = 0; i < offset; i++) {
    const b = bytes[i]!;
    if (b === 0x0a) { line++; column = 1; } else if ((b & 0xc0) !== 0x80) column++;
  }
  return { line, column };
}

/**
 * Decodes a manifest file's bytes as UTF-8. Returns the text, or the one
 * diagnostic that says why the bytes are not a manifest's text.
 */
export function decodeManifest(file: string, bytes: Uint8Array): { text: string } | { problem: Diagnostic } {
  if (bytes.length > MAX_FILE_BYTES) return { problem: tooLarge(file, bytes.length) };
  const bom = byteOrderMark(bytes);
  if (bom) return { problem: notUtf8(file, bom) };
  const pattern = nulPattern(bytes.length, (i) => bytes[i] === 0);
  if (pattern) return { problem: notUtf8(file, pattern) };
  if (!isUtf8(bytes)) {
    const offset = firstInvalidUtf8(bytes);
    // A binary file with a NUL in its first bytes, as git tells binary from text.
    if (bytes.subarray(0, SAMPLE).includes(0)) return { problem: notUtf8(file, 'binary') };
    const { line, column } = bytePosition(bytes, offset);
    return { problem: fileProblem(file, `not UTF-8 text: invalid UTF-8 byte sequence at line ${line}, column ${column}; save the file as UTF-8`, line, column) };
  }
  return { text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8') };
}

/**
 * What makes a text (as handed to the parser) unfit to parse at all: larger
 * than the file limit, or UTF-16/UTF-32/binary data decoded as if it were text.
 */
export function textProblem(file: string, text: string): Diagnostic | undefined {
  // A character takes at most 3 UTF-8 bytes per UTF-16 unit: only a long text needs counting.
  if (text.length * 3 > MAX_FILE_BYTES) {
    const size = Buffer.byteLength(text, 'utf8');
    if (size > MAX_FILE_BYTES) return tooLarge(file, size);
  }
  const pattern = nulPattern(text.length, (i) => text.charCodeAt(i) === 0);
  return pattern ? notUtf8(file, pattern) : undefined;
}

/** Index of the first character of `value` that manifest text must not hold, or -1. */
export function badCharacterIn(value: string): number {
  const m = BAD_CHARACTER.exec(value);
  return m ? m.index : -1;
}

/** Offsets of the characters of `text` that manifest text must not hold, at most `limit` of them. */
export function badCharacterOffsets(text: string, limit: number): number[] {
  const out: number[] = [];
  BAD_CHARACTERS.lastIndex = 0;
  for (let m = BAD_CHARACTERS.exec(text); m && out.length < limit; m = BAD_CHARACTERS.exec(text)) out.push(m.index);
  return out;
}

/** How a character that manifest text must not hold is named in a message: its code point only. */
export function describeBadCharacter(code: number): string {
  if (code >= 0xd800 && code <= 0xdfff) return 'an unpaired UTF-16 surrogate (not valid Unicode text)';
  const hex = code.toString(16).toUpperCase().padStart(4, '0');
  return `a control character (U+${hex}${code === 0 ? ', NUL' : ''})`;
}
