import { describe, expect, it } from 'vitest';
import { stepEnv } from './step-env.js';

/** What a controller started by `pm2 start ecosystem.config.js` sees in its own environment (a sample of PM2's copy of pm2_env). */
const UNDER_PM2 = {
  PATH: '/usr/bin:/bin', HOME: '/home/ops', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8',
  PM2_GITOPS_JWT_SECRET: 'jwt-secret-value', PM2_GITOPS_WEBHOOK_SECRET: 'hook-secret-value',
  name: 'pm2-gitops', namespace: 'pm2-gitops', pm_id: '0', unique_id: 'a1b2', NODE_APP_INSTANCE: '0', PM2_HOME: '/home/ops/.pm2',
  pm_cwd: '/srv/gitops', pm_exec_path: '/srv/gitops/bin/pm2-gitops.js', status: 'launching', instances: '1', exec_mode: 'fork_mode',
  PM2_USAGE: 'CLI', pm2_env: '{}', npm_config_cache: '/var/cache/npm', npm_lifecycle_event: 'start',
};

describe('step environment', () => {
  it('[delivery-step-env] passes PATH, HOME, locale and npm cache; never PM2 identity variables or PM2_GITOPS_* secrets', () => {
    const env = stepEnv(UNDER_PM2, { NODE_ENV: 'production', API_TOKEN: 'task-token' });
    expect(env).toEqual({
      PATH: '/usr/bin:/bin', HOME: '/home/ops', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', npm_config_cache: '/var/cache/npm',
      npm_config_update_notifier: 'false', NODE_ENV: 'production', API_TOKEN: 'task-token',
    });
  });

  it('[delivery-step-env] the task env wins over the host', () => {
    expect(stepEnv({ PATH: '/usr/bin' }, { PATH: '/opt/node/bin:/usr/bin' }).PATH).toBe('/opt/node/bin:/usr/bin');
  });
});
