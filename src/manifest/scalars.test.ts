import { describe, expect, it } from 'vitest';
import { numberProblem, tagProblem } from './scalars.js';

describe('numberProblem', () => {
  it.each([
    ['0', 0], ['-0', -0], ['42', 42], ['9007199254740991', 9007199254740991], ['-9007199254740991', -9007199254740991],
    ['0x1F', 31], ['0o17', 15], ['007', 7], ['0.1', 0.1], ['-0.5', -0.5], ['1e3', 1000], ['1.50E+3', 1500], ['.5', 0.5], ['5.', 5],
    ['3.141592653589793', 3.141592653589793], ['1.7976931348623157e308', 1.7976931348623157e308], ['5e-324', 5e-324], ['0.000', 0],
  ])('keeps %s', (source, value) => {
    expect(numberProblem(source, value)).toBeUndefined();
  });

  it('[big-integers] refuses integers outside the safe range by digit count, never by digits', () => {
    expect(numberProblem('123456789012345678901234567890', Number('123456789012345678901234567890')))
      .toBe('an integer of 30 digits is outside the range numbers keep exactly (±9007199254740991); quote it to keep it exact');
    expect(numberProblem('9007199254740993', 9007199254740992)).toMatch(/^an integer of 16 digits/);
    expect(numberProblem('-9007199254740992', -9007199254740992)).toMatch(/^an integer of 16 digits/);
    expect(numberProblem('0x20000000000000', 2 ** 53)).toMatch(/^an integer of 14 digits/);
  });

  it('[big-integers] refuses decimals the nearest double does not give back, infinity and NaN', () => {
    expect(numberProblem('0.30000000000000000001', 0.3)).toBe('a number of 20 significant digits cannot be kept exactly; quote it to keep it exact');
    expect(numberProblem('3.14159265358979323846', Math.PI)).toMatch(/^a number of 21 significant digits/);
    expect(numberProblem('1e400', Infinity)).toMatch(/^a number of 1 significant digits/);
    expect(numberProblem('1e-400', 0)).toMatch(/cannot be kept exactly/);
    for (const source of ['.inf', '-.Inf', '+.INF', '.nan', '.NaN']) {
      expect(numberProblem(source, Number.NaN)).toBe('infinity and NaN are not JSON numbers; quote the value to keep it as text');
    }
  });
});

describe('tagProblem', () => {
  it('allows no tag, the non-specific tag and the JSON tags where they fit', () => {
    expect(tagProblem(undefined, 'scalar', 'x')).toBeUndefined();
    expect(tagProblem('!', 'scalar', 'x')).toBeUndefined();
    expect(tagProblem('tag:yaml.org,2002:str', 'scalar', '1')).toBeUndefined();
    expect(tagProblem('tag:yaml.org,2002:int', 'scalar', 1)).toBeUndefined();
    expect(tagProblem('tag:yaml.org,2002:float', 'scalar', 1.5)).toBeUndefined();
    expect(tagProblem('tag:yaml.org,2002:bool', 'scalar', true)).toBeUndefined();
    expect(tagProblem('tag:yaml.org,2002:null', 'scalar', null)).toBeUndefined();
    expect(tagProblem('tag:yaml.org,2002:map', 'map', undefined)).toBeUndefined();
    expect(tagProblem('tag:yaml.org,2002:seq', 'seq', undefined)).toBeUndefined();
  });

  it('[yaml-tags] names the YAML tags that do not give JSON data, and a JSON tag that does not fit', () => {
    for (const name of ['binary', 'set', 'omap', 'pairs', 'timestamp']) {
      expect(tagProblem(`tag:yaml.org,2002:${name}`, 'scalar', 'x'))
        .toBe(`tag !!${name} is not allowed: manifests hold plain JSON data (maps, lists, strings, numbers, booleans and null); remove the tag`);
    }
    expect(tagProblem('tag:yaml.org,2002:int', 'scalar', 'abc')).toBe('the value does not fit its tag !!int; fix the value or remove the tag');
    expect(tagProblem('tag:yaml.org,2002:map', 'seq', undefined)).toBe('the value does not fit its tag !!map; fix the value or remove the tag');
  });

  it('[yaml-tags] refuses custom tags without naming them: their text is the user\'s', () => {
    for (const tag of ['!foo', '!s3cr3t-value', 'tag:example.com,2000:app', 'tag:yaml.org,2002:s3cr3t', 'tag:yaml.org,2002:constructor']) {
      const message = tagProblem(tag, 'scalar', 'x')!;
      expect(message).toBe('a custom tag is not allowed: manifests hold plain JSON data (maps, lists, strings, numbers, booleans and null); remove the tag');
    }
  });
});
