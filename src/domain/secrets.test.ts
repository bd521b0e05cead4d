import { describe, expect, it } from 'vitest';
import type { DesiredState } from './manifest.js';
import { SecretRegistry } from './secret-registry.js';
import { buildRedactor, collectSecrets, collectStateSecrets, secretDigest } from './secrets.js';

const task = (process: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'api' }) => ({
  apiVersion: 'pm2-gitops/v1', kind: 'Task', metadata, spec: { process: { script: 'server.js', ...process } },
});

const environment = (spec: Record<string, unknown>) => ({
  apiVersion: 'pm2-gitops/v1', kind: 'Environment', metadata: { name: 'prod' }, spec: { resources: ['../base'], namespace: 'prod-ns', ...spec },
});

describe('collectSecrets', () => {
  it('[secret-redaction] finds every env value: task env and env_* blocks, environment env, merge and JSON Patch values under env paths', () => {
    const secrets = collectSecrets([
      task({ env: { DB_URL: 'postgres://u:pw-in-url@db/app', WORKERS: 123456, PIN_KEY: 987654, DEBUG: true }, env_production: { API_TOKEN: 'tok-production' } }),
      environment({
        env: { SHARED_SECRET: 'shared-env-value' },
        patches: [
          { target: { name: 'api' }, merge: { spec: { process: { env: { MERGED: 'merged-value', DEEP: { nested: 'nested-value' } } } } } },
          {
            target: { name: 'api' },
            patch: [
              { op: 'add', path: '/spec/process/env/ADDED', value: 'added-value' },
              { op: 'test', path: '/spec/process/env/TESTED', value: 'tested-value' },
              { op: 'replace', path: '/spec/process/env', value: { WHOLE: 'whole-map-value' } },
              { op: 'add', path: '/spec/process', value: { script: 'x.js', env_staging: { STG: 'staging-value' } } },
              { op: 'add', path: '/spec/process/args', value: 'not-an-env-value' },
            ],
          },
        ],
      }),
      // A document that failed its schema, or was recovered from broken YAML, still counts.
      { kind: 'Tsak', spec: { process: { env: { BROKEN: ['broken-list-value'] } } } },
      'stray scalar', null,
    ]);
    expect(secrets.values.sort()).toEqual([
      '987654', 'added-value', 'broken-list-value', 'merged-value', 'nested-value', 'postgres://u:pw-in-url@db/app',
      'shared-env-value', 'staging-value', 'tested-value', 'tok-production', 'whole-map-value',
    ]);
    expect(secrets.shown).toEqual(expect.arrayContaining(['api', 'prod', 'prod-ns']));
  });

  it('[secret-redaction] keeps a short value only when its name looks secret, and never a common word', () => {
    const secrets = collectSecrets([task({ env: { PORT: '3000', DB_PASS: 'pw1', API_KEY: 'k9', AUTH_ENABLED: 'true', LEVEL: 'debug' } })]);
    expect(secrets.values).toEqual([]);
    expect(secrets.words.sort()).toEqual(['k9', 'pw1']);
  });

  it('[secret-redaction] leaves numbers and the product\'s own words alone unless their name looks secret', () => {
    const secrets = collectSecrets([task({ env: { TIMEOUT_MS: '300000', MODE: 'online', NODE_ENV: 'production', HOST: '127.0.0.1', DB_PASSWORD: '1234567', API_TOKEN: 'production' } })]);
    expect(secrets.values.sort()).toEqual(['1234567', 'production']);
  });

  it('[secret-redaction] notes a patch that copies a value into env, whose rendered state holds more than its documents', () => {
    const copy = (path: string) => collectSecrets([environment({ patches: [{ target: { name: 'api' }, patch: [{ op: 'copy', from: '/metadata/labels/x', path }] }] })]);
    expect(copy('/spec/process/env/FROM_LABEL').copiesIntoEnv).toBe(true);
    expect(copy('/spec/process').copiesIntoEnv).toBe(true);
    expect(copy('/metadata/labels/y').copiesIntoEnv).toBeUndefined();
  });

  it('[secret-redaction] finds the env values of a rendered state', () => {
    const state = { environment: 'prod', namespace: 'prod-ns', file: 'e.yaml', policy: {}, tasks: [{ name: 'p-api', sourceName: 'api', process: { script: 'x', env: { A: 'rendered-secret' }, env_x: { B: 'block-secret' } } }] } as unknown as DesiredState;
    const secrets = collectStateSecrets(state);
    expect(secrets.values.sort()).toEqual(['block-secret', 'rendered-secret']);
    expect(secrets.shown).toEqual(['prod', 'prod-ns']);
  });
});

describe('the redactor', () => {
  const redactor = buildRedactor([collectSecrets([
    task({ env: { DB_URL: 'postgres://u:hunter2hunter2@db/app', PASSWORD: 'hunter2hunter2', PORT: '3000', DB_PASS: 'pw1', QUOTED: 'say "hi" \\ now', QUEUE: 'prod-ns', HEX: 'deadbeefcafe' } }),
    environment({}),
  ])]);

  it('[secret-redaction] replaces a value wherever it occurs, the longest first, by its sha256: prefix', () => {
    const text = 'connect postgres://u:hunter2hunter2@db/app failed; password hunter2hunter2!';
    expect(redactor.text(text)).toBe(`connect ${secretDigest('postgres://u:hunter2hunter2@db/app')} failed; password ${secretDigest('hunter2hunter2')}!`);
    expect(secretDigest('x')).toMatch(/^sha256:[0-9a-f]{12}$/);
  });

  it('[secret-redaction] replaces a short secret only as a word of its own, and leaves short values of other names alone', () => {
    expect(redactor.text('pw1 is set; pw12 and apw1 are other words; port 3000 at 13000')).toBe(`${secretDigest('pw1')} is set; pw12 and apw1 are other words; port 3000 at 13000`);
  });

  it('[secret-redaction] replaces a value as JSON escapes it, and in every string of a JSON value', () => {
    const line = JSON.stringify({ msg: 'value say "hi" \\ now', nested: ['hunter2hunter2'], n: 1 });
    expect(redactor.text(line)).not.toContain('say');
    expect(redactor.json({ msg: 'hunter2hunter2', list: ['a hunter2hunter2 b'], keep: 3 })).toEqual({ msg: secretDigest('hunter2hunter2'), list: [`a ${secretDigest('hunter2hunter2')} b`], keep: 3 });
  });

  it('[secret-redaction] leaves names the manifests show by design, and digests that merely contain a value', () => {
    const digest = `${'0'.repeat(20)}deadbeefcafe${'1'.repeat(20)}`;
    expect(redactor.text(`namespace prod-ns, revision ${digest}`)).toBe(`namespace prod-ns, revision ${digest}`);
    expect(redactor.text('key deadbeefcafe')).toBe(`key ${secretDigest('deadbeefcafe')}`);
  });
});

describe('SecretRegistry', () => {
  it('[secret-redaction] replaces what a source registered before, and forgets the oldest sources beyond its limit', () => {
    const registry = new SecretRegistry(2);
    expect(registry.redactText('nothing registered')).toBe('nothing registered');
    registry.register('a', [collectSecrets([task({ env: { A: 'first-secret' } })])]);
    registry.register('a', [collectSecrets([task({ env: { A: 'second-secret' } })])]);
    expect(registry.redactText('first-secret second-secret')).toBe(`first-secret ${secretDigest('second-secret')}`);
    registry.register('b', [collectSecrets([task({ env: { B: 'b-secret' } })])]);
    registry.register('c', [collectSecrets([task({ env: { C: 'c-secret' } })])]);
    expect(registry.redactText('second-secret b-secret c-secret')).toBe(`second-secret ${secretDigest('b-secret')} ${secretDigest('c-secret')}`);
  });
});
