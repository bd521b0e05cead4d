import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, ROOT } from './helpers/cli.js';
import type { DesiredState } from '../src/domain/manifest.js';

async function renderJson(env: string): Promise<DesiredState> {
  const r = await cli(['render', '--repo', 'manifests', '--env', env, '--json', '--show-env']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as DesiredState;
}

const task = (s: DesiredState, name: string) => s.tasks.find((t) => t.name === name)!;

describe('bundled example manifests', () => {
  it('renders dev, staging and prod as their patches say', async () => {
    const [dev, staging, prod] = await Promise.all([renderJson('dev'), renderJson('staging'), renderJson('prod')]);
    expect(dev.tasks.map((t) => t.name)).toEqual(['api', 'migrate', 'web', 'worker']);
    expect(staging.tasks.map((t) => t.name)).toEqual(['stg-api', 'stg-migrate', 'stg-web', 'stg-worker']);
    expect(prod.tasks.map((t) => t.name)).toEqual(['api', 'migrate', 'web', 'worker']);
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

  it('[delivery-example] declares web\'s code: its folder and the local package it depends on, installed and built before it runs', async () => {
    const [dev, staging, prod] = await Promise.all([renderJson('dev'), renderJson('staging'), renderJson('prod')]);
    const web = task(dev, 'web');
    expect(web.source).toEqual(['apps/web', 'lib/greeting']);
    expect(web.build).toEqual({ install: 'npm ci --offline --no-audit --no-fund', run: ['npm run build'], timeoutSeconds: 120 });
    expect(web.process).toMatchObject({ cwd: 'apps/web', script: 'dist/server.js', exec_mode: 'fork' });
    expect(web.type).toBe('service');
    expect(web.dependsOn).toEqual([]);

    expect(web.process.env).toMatchObject({ PORT: '3101', NODE_ENV: 'development' });
    expect(web.health?.http?.url).toBe('http://127.0.0.1:3101/healthz');
    expect(task(staging, 'stg-web').process.env?.PORT).toBe('3201');
    expect(task(staging, 'stg-web').health?.http?.url).toBe('http://127.0.0.1:3201/healthz');
    expect(task(prod, 'web').process.env).toMatchObject({ PORT: '3301', NODE_ENV: 'production' });
    expect(task(prod, 'web').health?.http?.url).toBe('http://127.0.0.1:3301/healthz');
    for (const s of [staging, prod]) expect(s.tasks.find((t) => t.sourceName === 'web')!.source).toEqual(web.source);
  });

  it('[delivery-example] commits web\'s lockfile and package, never what the install and build leave', () => {
    const tracked = execFileSync('git', ['ls-files', 'manifests/apps/web', 'manifests/lib/greeting'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(tracked).toEqual(expect.arrayContaining(['manifests/apps/web/package.json', 'manifests/apps/web/package-lock.json', 'manifests/apps/web/src/server.js', 'manifests/lib/greeting/package.json']));
    expect(tracked.filter((p) => p.includes('/node_modules/') || p.includes('/dist/'))).toEqual([]);
    const lock = JSON.parse(readFileSync(join(ROOT, 'manifests/apps/web/package-lock.json'), 'utf8')) as { packages: Record<string, { resolved?: string; link?: boolean }> };
    expect(lock.packages['node_modules/greeting']).toEqual({ resolved: '../../lib/greeting', link: true });
    const ignored = execFileSync('git', ['check-ignore', '--no-index', 'manifests/apps/web/node_modules/x', 'manifests/apps/web/dist/server.js'], { cwd: ROOT, encoding: 'utf8' });
    expect(ignored.split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('renders byte-identically twice, as YAML and as JSON', async () => {
    for (const json of [[], ['--json']]) {
      const a = await cli(['render', '--repo', 'manifests', '--env', 'prod', ...json]);
      const c = await cli(['render', '--repo', 'manifests', '--env', 'prod', ...json]);
      expect(a.code).toBe(0);
      expect(c.stdout).toBe(a.stdout);
    }
  });

  // `npm start` renders the example this way: source, like cwd, is relative to the manifest folder.
  it('[delivery-example] renders web from the repository root with --path manifests, its source and cwd under manifests/', async () => {
    const r = await cli(['render', '--repo', '.', '--path', 'manifests', '--env', 'prod', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const web = task(JSON.parse(r.stdout) as DesiredState, 'web');
    expect(web.process.cwd).toBe('manifests/apps/web');
    expect(web.source).toEqual(['manifests/apps/web', 'manifests/lib/greeting']);
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
