import { describe, expect, it } from 'vitest';
import { parseManifestFile } from './parse.js';
import { copyValue, deepFreeze, isDeeplyFrozen, sortHead, sortStrings } from './values.js';

describe('sortStrings', () => {
  it('orders like Array.prototype.sort() without a comparator, short and long lists alike', () => {
    const alphabet = ['a', 'B', '_', '-', '0', '9', 'é', 'Z', 'env_', 'ENV', '\u{1F600}', ''];
    let seed = 7;
    const next = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed; };
    for (const length of [0, 1, 2, 3, 8, 31, 32, 33, 100]) {
      for (let round = 0; round < 20; round++) {
        const list = Array.from({ length }, () => Array.from({ length: 1 + (next() % 4) }, () => alphabet[next() % alphabet.length]).join(''));
        expect(sortStrings([...list])).toEqual([...list].sort());
      }
    }
  });
});

describe('sortHead', () => {
  it('sorts only the first count names, moving their values along', () => {
    const names = ['c', 'a', 'b', 'z', 'y'];
    const values: unknown[] = [3, 1, 2, 26, 25];
    sortHead(names, 3, values);
    expect(names).toEqual(['a', 'b', 'c', 'z', 'y']);
    expect(values).toEqual([1, 2, 3, 26, 25]);
  });
});

describe('deepFreeze', () => {
  it('freezes every nested value, also through shared and cyclic values', () => {
    const a = { b: undefined as unknown, list: [1, { c: 2 }] as [number, { c: number }] };
    a.b = a;
    const value = { a };
    expect(deepFreeze(value)).toBe(value);
    expect(isDeeplyFrozen(value)).toBe(true);
    expect(value.a.b).toBe(value.a);
    expect(Object.isFrozen(value.a)).toBe(true);
    expect(Object.isFrozen(value.a.list)).toBe(true);
    expect(Object.isFrozen(value.a.list[1])).toBe(true);
    expect(() => { value.a.list[1].c = 3; }).toThrow(TypeError);
  });

  it('only values it froze count as deeply frozen', () => {
    expect(isDeeplyFrozen(Object.freeze({ a: {} }))).toBe(false);
    expect(isDeeplyFrozen('text')).toBe(false);
    expect(isDeeplyFrozen(null)).toBe(false);
  });
});

describe('copyValue', () => {
  it('copies deeply, unfrozen, and keeps a "__proto__" key as an own property', () => {
    const source = deepFreeze(parseManifestFile('a.yaml', '__proto__: { polluted: true }\nlist: [{ a: 1 }]\n').documents[0]!.value as Record<string, unknown>);
    const copy = copyValue(source);
    expect(copy).toEqual(source);
    expect(Object.isFrozen(copy)).toBe(false);
    expect(Object.isFrozen((copy.list as unknown[])[0])).toBe(false);
    expect(Object.keys(copy)).toEqual(['__proto__', 'list']);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
  });
});
