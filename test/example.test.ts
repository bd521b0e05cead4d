import { describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import type { DesiredState } from '../src/domain/manifest.js';

async function renderJson(env: string): Promise<DesiredState> {
  const r = await cli(['render', '--repo', 'manifests', '--env', env, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as DesiredState;
}

const task = (s: DesiredState, name: string) => s.tasks.find((t) => t.name === name)!;

describe('bundled example manifests', () => {
  it('renders dev, staging and prod as their patches say', async () => {
    const [dev, staging, prod] = await Promise.all([renderJson('dev'), renderJson('staging'), renderJson('prod')]);
    expect(dev.tasks.map((t) => t.name)).toEqual(['api', 'migrate', 'worker']);
    expect(staging.tasks.map((t) => t.name)).toEqual(['stg-api', 'stg-migrate', 'stg-worker']);
    expect(prod.namespace).toBe('prod');

    expect(task(dev, 'api').process.instances).toBe(1);
    expect(task(staging, 'stg-api').process.instances).toBe(2);
    expect(task(prod, 'api').process.instances).toBe(4);
    expect(task(prod, 'api').process.exec_mode).toBe('cluster');

    expect(task(dev, 'api').process.env).toMatchObject({ PORT: '3100', NODE_ENV: 'development', LOG_LEVEL: 'debug' });
    expect(task(staging, 'stg-api').process.env).toMatchObject({ PORT: '3200', NODE_ENV: 'staging' });
    expect(task(prod, 'api').health?.http?.url).toBe('http://127.0.0.1:3300/healthz');

    expect(task(staging, 'stg-worker').process.env?.QUEUE).toBe('staging');
    expect(task(prod, 'worker').process.env).toMatchObject({ QUEUE: 'prod', POLL_MS: '1000' });
    expect(task(prod, 'worker').process.max_memory_restart).toBe('200M');
    expect(task(prod, 'migrate').process.env?.SCHEMA_VERSION).toBe('2');
    expect(task(dev, 'migrate').process.env?.SCHEMA_VERSION).toBe('1');

    expect(task(staging, 'stg-api').dependsOn).toEqual(['stg-migrate']);
    expect(task(dev, 'migrate').type).toBe('job');
    expect(task(dev, 'migrate').process.autorestart).toBe(false);
    expect(prod.policy).toEqual({ prune: true, selfHeal: true, rollback: true, pruneLimit: '50%', approvals: { required: 2 } });
  });

  it('renders byte-identically twice, as YAML and as JSON', async () => {
    for (const json of [[], ['--json']]) {
      const a = await cli(['render', '--repo', 'manifests', '--env', 'prod', ...json]);
      const b = await cli(['render', '--repo', '.', '--path', 'manifests', '--env', 'prod', ...json]);
      const c = await cli(['render', '--repo', 'manifests', '--env', 'prod', ...json]);
      expect(a.code).toBe(0);
      expect(c.stdout).toBe(a.stdout);
      expect(b.code).toBe(0);
    }
  });

  it('asks for --env when the repository has several environments', async () => {
    const r = await cli(['render', '--repo', 'manifests']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--env is required: this repository has environments dev, prod, staging');
  });

  it('names the available environments when --env is unknown', async () => {
    const r = await cli(['render', '--repo', 'manifests', '--env', 'qa']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('environment "qa" not found; available: dev, prod, staging');
  });
});
