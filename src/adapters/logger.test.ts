import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { processSecrets } from '../domain/secret-registry.js';
import { collectSecrets, secretDigest } from '../domain/secrets.js';
import { duplicateKeys } from '../../test/helpers/json-keys.js';
import { createLogger, withBindings } from './logger.js';

describe('the logger', () => {
  it('[secret-redaction] writes no env value the process loaded, whatever field it hides in', () => {
    const secret = 'tok-live-logger-4b7e1d';
    processSecrets.register('logger-test', [collectSecrets([{ spec: { process: { env: { API_TOKEN: secret } } } }])]);
    const lines: string[] = [];
    const destination = new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done(); } });
    const logger = createLogger({ level: 'info', destination });
    logger.warn({ detail: `GET http://127.0.0.1/health?token=${secret} → 404`, err: new Error(`probe failed for ${secret}`) }, `health failed (${secret})`);
    const text = lines.join('');
    expect(text).toContain('health failed');
    expect(text).not.toContain(secret);
    expect(text).toContain(secretDigest(secret));
    processSecrets.register('logger-test', []);
  });

  it('[first-log-keys] binds a key once, however many children name it', () => {
    const lines: string[] = [];
    const destination = new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done(); } });
    const root = createLogger({ level: 'info', destination });
    const child = withBindings(root.child({ environment: 'dev' }), { environment: 'dev', revision: 'r1' });
    child.info({ actions: 2 }, 'applying plan');
    withBindings(root, { environment: 'prod' }).info('alone');
    expect(lines.map((l) => duplicateKeys(l))).toEqual([[], []]);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toMatchObject([{ environment: 'dev', revision: 'r1', msg: 'applying plan' }, { environment: 'prod', msg: 'alone' }]);
    // The helper itself sees what JSON.parse hides.
    expect(duplicateKeys('{"a":1,"b":{"a":2,"c":[{"d":1,"d":2}]},"a":3}')).toEqual(['/b/c/[]/d', '/a']);
  });
});
