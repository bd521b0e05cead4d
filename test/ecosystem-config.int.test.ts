import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ROOT } from './helpers/cli.js';
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
});
