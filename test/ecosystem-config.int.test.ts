import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ROOT, run } from './helpers/cli.js';
import { isolatedPm2 } from './helpers/pm2.js';

describe('the root ecosystem.config.js', () => {
  const pm2 = isolatedPm2();
  afterAll(() => pm2.kill());

  it('loads under PM2 although the package is an ES module', async () => {
    const r = await pm2.pm2(['start', 'ecosystem.config.js'], { cwd: ROOT });
    expect(r.stderr).not.toContain('module is not defined');
    expect(r.code).toBe(0);
    const list = await pm2.jlist();
    const app = list.find((p) => p.name === 'pm2-gitops');
    expect(app).toBeDefined();
    expect(app!.pm2_env.namespace).toBe('pm2-gitops');
    expect(app!.pm2_env.pm_exec_path).toBe(join(ROOT, 'bin', 'pm2-gitops.js'));
    expect(app!.pm2_env.args).toEqual(['run', '--repo', ROOT, '--path', 'manifests', '--env', 'dev']);
    await pm2.pm2(['delete', 'all']);
  });

  it('[fleet-hosts] starts one host of a fleet from PM2_GITOPS_HOST and PM2_GITOPS_HOST_LABELS', async () => {
    const env = { ...pm2.env, PM2_GITOPS_ENV: 'prod', PM2_GITOPS_HOST: 'web-1', PM2_GITOPS_HOST_LABELS: 'role=web,zone=eu-1' };
    const r = await run(process.execPath, [join(ROOT, 'node_modules/pm2/bin/pm2'), 'start', 'ecosystem.config.js'], { cwd: ROOT, env });
    expect(r.code, r.stderr).toBe(0);
    const app = (await pm2.jlist()).find((p) => p.name === 'pm2-gitops');
    expect(app!.pm2_env.args).toEqual(['run', '--repo', ROOT, '--path', 'manifests', '--env', 'prod', '--host', 'web-1', '--host-label', 'role=web', '--host-label', 'zone=eu-1']);
    await pm2.pm2(['delete', 'all']);
  });
});
