/**
 * The git webhook `POST /hooks/git`: GitHub's `X-Hub-Signature-256`
 * (HMAC-SHA256 of the body) or GitLab's `X-Gitlab-Token`, both compared in
 * constant time against PM2_GITOPS_WEBHOOK_SECRET. A valid call only asks
 * for a fetch now: what is applied still comes from git.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** Largest webhook body accepted (GitHub's own limit is 25 MB, but a push event of real size is far below this). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Equal-length digests compared in constant time, so neither length nor content leaks through timing. */
function sameSecret(given: string | Buffer, expected: string | Buffer): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Whether `header` is `sha256=<hex>` of the HMAC-SHA256 of `body` under `secret`. */
export function validGithubSignature(body: Buffer, header: string | undefined, secret: string): boolean {
  if (!header || !/^sha256=[0-9a-f]{64}$/i.test(header)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(Buffer.from(header.slice(7).toLowerCase(), 'hex'), expected);
}

/** Which provider's proof a call carries and whether it holds; undefined when none holds. */
export function verifyWebhook(headers: IncomingHttpHeaders, body: Buffer, secret: string): 'github' | 'gitlab' | undefined {
  const github = headers['x-hub-signature-256'];
  if (typeof github === 'string') return validGithubSignature(body, github, secret) ? 'github' : undefined;
  const gitlab = headers['x-gitlab-token'];
  if (typeof gitlab === 'string') return sameSecret(gitlab, secret) ? 'gitlab' : undefined;
  return undefined;
}

/** A request body that could not be read: too large (413) or too slow (408). */
export class BodyError extends Error {
  constructor(readonly status: 413 | 408, message: string) {
    super(message);
    this.name = 'BodyError';
  }
}

/** Reads a request body of at most `limit` bytes within `timeoutMs`; rejects with BodyError otherwise. */
export function readBody(req: IncomingMessage, opts: { limit: number; timeoutMs: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > opts.limit) { reject(new BodyError(413, `body of ${declared} bytes is over the limit of ${opts.limit}`)); return; }
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => { done(new BodyError(408, `body not received within ${opts.timeoutMs} ms`)); }, opts.timeoutMs);
    const done = (err?: Error): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      if (err) reject(err); else resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > opts.limit) { done(new BodyError(413, `body is over the limit of ${opts.limit} bytes`)); return; }
      chunks.push(chunk);
    };
    const onEnd = (): void => done();
    const onError = (err: Error): void => done(err);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
