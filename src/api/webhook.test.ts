import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { validGithubSignature, verifyWebhook } from './webhook.js';

const SECRET = 'hook-secret';
const body = Buffer.from('{"ref":"refs/heads/main"}');
const sign = (b: Buffer, s = SECRET): string => `sha256=${createHmac('sha256', s).update(b).digest('hex')}`;

describe('webhook signatures', () => {
  it('[api-webhook] accepts GitHub\'s HMAC-SHA256 of the exact body, in either case of hex', () => {
    expect(validGithubSignature(body, sign(body), SECRET)).toBe(true);
    expect(validGithubSignature(body, sign(body).toUpperCase().replace('SHA256=', 'sha256='), SECRET)).toBe(true);
    expect(validGithubSignature(Buffer.from(`${body.toString()} `), sign(body), SECRET)).toBe(false);
    expect(validGithubSignature(body, sign(body, 'other'), SECRET)).toBe(false);
    for (const bad of [undefined, '', 'sha256=', 'sha256=abcd', `sha1=${'0'.repeat(40)}`, `${sign(body)}00`]) expect(validGithubSignature(body, bad, SECRET)).toBe(false);
  });

  it('[api-webhook] tells the provider whose proof holds; a GitHub header decides even next to a GitLab token', () => {
    expect(verifyWebhook({ 'x-hub-signature-256': sign(body) }, body, SECRET)).toBe('github');
    expect(verifyWebhook({ 'x-gitlab-token': SECRET }, body, SECRET)).toBe('gitlab');
    expect(verifyWebhook({ 'x-gitlab-token': `${SECRET}x` }, body, SECRET)).toBeUndefined();
    expect(verifyWebhook({ 'x-gitlab-token': '' }, body, SECRET)).toBeUndefined();
    expect(verifyWebhook({ 'x-hub-signature-256': sign(body, 'other'), 'x-gitlab-token': SECRET }, body, SECRET)).toBeUndefined();
    expect(verifyWebhook({}, body, SECRET)).toBeUndefined();
  });
});
