import { describe, expect, it } from 'vitest';
import { redactValue } from '../diff/redact.js';
import { OutputCapture, redactText, secretValues, tailLines } from './output.js';

const SECRET = 's3cr3t-token-value';

describe('captured output', () => {
  it('[delivery-redact] env values of 6 characters or more are replaced by their sha256 stand-in', () => {
    const secrets = secretValues({ TOKEN: SECRET, PORT: '3000', MODE: 'prod' });
    expect(secrets).toEqual([SECRET]);
    expect(redactText(`token=${SECRET}; port 3000`, secrets)).toBe(`token=${redactValue(SECRET)}; port 3000`);
  });

  it('[delivery-redact] a secret split across chunks is still redacted', () => {
    for (let cut = 1; cut < SECRET.length; cut++) {
      const capture = new OutputCapture([SECRET]);
      capture.write(`before ${SECRET.slice(0, cut)}`);
      capture.write(`${SECRET.slice(cut)} after\n`);
      const out = capture.end();
      expect(out).toBe(`before ${redactValue(SECRET)} after\n`);
    }
  });

  it('[delivery-redact] a longer secret that contains a shorter one is replaced whole', () => {
    const secrets = secretValues({ A: 'abcdef', B: 'xxabcdefyy' });
    expect(redactText('xxabcdefyy abcdef', secrets)).toBe(`${redactValue('xxabcdefyy')} ${redactValue('abcdef')}`);
  });

  it('[delivery-output] keeps only the last 64 KiB, says how much it dropped, and never a partial secret', () => {
    const capture = new OutputCapture([SECRET], 1000);
    for (let i = 0; i < 500; i++) capture.write(`line ${i} ${SECRET}\n`);
    const out = capture.end();
    expect(out).toMatch(/^\[\d+ earlier characters of output not kept\]\n/);
    expect(out.length).toBeLessThan(1100);
    expect(out).toContain('line 499');
    for (let n = 6; n <= SECRET.length; n++) expect(out).not.toContain(SECRET.slice(SECRET.length - n));
  });

  it('takes the last lines for reports', () => {
    expect(tailLines('a\nb\nc\n', 2)).toEqual(['b', 'c']);
    expect(tailLines('', 2)).toEqual([]);
  });
});
