import { describe, expect, it } from 'vitest';
import { apiSettings, parseListen } from './run-api.js';

describe('run --listen', () => {
  it('[api-auth] listens on 127.0.0.1 unless a host is given', () => {
    expect(parseListen('8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen(':8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen('0.0.0.0:9000')).toEqual({ host: '0.0.0.0', port: 9000 });
    expect(parseListen('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(parseListen('localhost:1')).toEqual({ host: 'localhost', port: 1 });
    for (const bad of ['', 'host', 'host:', 'h:70000', 'a:b:c', '1.2.3.4:-1']) expect(() => parseListen(bad)).toThrow(/--listen/);
  });

  it('[api-auth] needs a way to check tokens, and never shows the secret it refuses', () => {
    expect(apiSettings({}, {})).toBeUndefined();
    expect(() => apiSettings({ listen: '8080' }, {})).toThrow(/set PM2_GITOPS_JWT_SECRET \(HS256\) or give --jwt-public-key/);
    expect(() => apiSettings({ listen: '8080' }, { PM2_GITOPS_JWT_SECRET: 'too-short-secret' })).toThrow(/at least 32 bytes/);
    expect(() => apiSettings({ listen: '8080' }, { PM2_GITOPS_JWT_SECRET: 'too-short-secret' })).not.toThrow(/too-short-secret/);
    expect(() => apiSettings({ listen: '8080', jwtPublicKey: '/nonexistent/key.pub' }, {})).toThrow(/--jwt-public-key/);
    const ok = apiSettings({ listen: '8080' }, { PM2_GITOPS_JWT_SECRET: 'x'.repeat(32), PM2_GITOPS_WEBHOOK_SECRET: 'w' })!;
    expect(ok).toMatchObject({ host: '127.0.0.1', port: 8080, webhookSecret: 'w', verifier: { alg: 'HS256' } });
  });
});
