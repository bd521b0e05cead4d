import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { isPm2Managed, pm2IdentityKeys, withoutPm2Identity } from './pm2-identity.js';

const require = createRequire(import.meta.url);

/** The user's own variables: a shell's, and those the app's `env` block sets. */
const OWN = {
  PATH: '/usr/bin:/bin', HOME: '/home/app', PWD: '/srv/app', LANG: 'C.UTF-8', SHELL: '/bin/sh',
  NODE_ENV: 'production', PORT: '3000', PM2_HOME: '/srv/.pm2', PM2_GITOPS_LOG_LEVEL: 'info', PROCESS_TITLE: 'ctl',
};

/**
 * What the environment of a fork-mode app started by `pm2 start
 * ecosystem.config.js` holds (PM2 7.0.4, printed by the app itself), on top
 * of OWN: the app was the README's controller entry.
 */
const FORK_PM2 = {
  NODE_APP_INSTANCE: '0', PM2_INTERACTOR_PROCESSING: 'true', PM2_JSON_PROCESSING: 'true', PM2_USAGE: 'CLI',
  automation: 'true', autorestart: 'true', autostart: 'true', created_at: '1796228081275', cwd: '/srv/app',
  exec_interpreter: '/usr/bin/node', exec_mode: 'fork_mode', instance_var: 'NODE_APP_INSTANCE', instances: '1',
  kill_retry_time: '100', kill_timeout: '30000', km_link: 'false', max_memory_restart: '314572800',
  name: 'pm2-gitops', namespace: 'pm2-gitops', 'pm2-gitops': '{}', pm_cwd: '/srv/app',
  pm_err_log_path: '/srv/.pm2/logs/pm2-gitops-error-0.log', pm_exec_path: '/srv/app/bin/pm2-gitops.js', pm_id: '0',
  pm_out_log_path: '/srv/.pm2/logs/pm2-gitops-out-0.log', pm_pid_path: '/srv/.pm2/pids/pm2-gitops-0.pid',
  pm_uptime: '1796228081275', pmx: 'true', restart_time: '0', status: 'launching', treekill: 'true',
  unique_id: '7e5a0a6f-959c-40ff-afa3-117da214399d', unstable_restarts: '0', username: 'root', vizion: 'true',
  vizion_running: 'false', windowsHide: 'true',
};

/** The same for a cluster-mode app: ProcessContainer assigns every pm2_env key, objects as their text. */
const CLUSTER_PM2 = {
  ...FORK_PM2, exec_mode: 'cluster_mode', _pm2_version: '7.0.4', node_args: '', args: 'run,--repo,/srv/app',
  axm_actions: '', axm_dynamic: '[object Object]', axm_monitor: '[object Object]', axm_options: '[object Object]',
  env: '[object Object]', env_production: '[object Object]', version: '0.1.0', node_version: '20.20.2',
};

describe('pm2IdentityKeys', () => {
  it('[delivery-under-pm2] removes everything PM2 put into a fork-mode app and nothing of its own', () => {
    const env = { ...OWN, ...FORK_PM2 };
    expect(isPm2Managed(env)).toBe(true);
    expect(pm2IdentityKeys(env)).toEqual(Object.keys(FORK_PM2).sort());
    expect(withoutPm2Identity(env)).toEqual(OWN);
  });

  it('[delivery-under-pm2] removes what a cluster worker gets besides, objects included', () => {
    const env = { ...OWN, ...CLUSTER_PM2 };
    expect(withoutPm2Identity(env)).toEqual(OWN);
  });

  it('[delivery-under-pm2] follows the instance variable the app names', () => {
    const env = { ...OWN, ...FORK_PM2, instance_var: 'INSTANCE_ID', INSTANCE_ID: '2', NODE_APP_INSTANCE: 'mine' };
    const keys = pm2IdentityKeys(env);
    expect(keys).toContain('INSTANCE_ID');
    expect(keys).not.toContain('NODE_APP_INSTANCE');
  });

  it('[delivery-under-pm2] keeps plain words and the app-named key outside a process PM2 runs', () => {
    const env = { ...OWN, name: 'me', status: 'ok', version: '3', instances: '2', NODE_APP_INSTANCE: '1', me: '{}', env: '[object Object]' };
    expect(isPm2Managed(env)).toBe(false);
    expect(pm2IdentityKeys(env)).toEqual([]);
    expect(withoutPm2Identity(env)).toEqual(env);
  });

  it('[delivery-under-pm2] removes names only PM2 uses even without pm_id', () => {
    const env = { ...OWN, PM2_USAGE: 'CLI', pm_exec_path: '/x.js', unique_id: 'u', axm_options: '[object Object]' };
    expect(pm2IdentityKeys(env)).toEqual(['PM2_USAGE', 'axm_options', 'pm_exec_path', 'unique_id']);
  });

  it('[delivery-under-pm2] keeps the app-named key when it is not PM2\'s module config, and leaves its input alone', () => {
    const env = { ...OWN, ...FORK_PM2, 'pm2-gitops': 'a value of mine' };
    const before = { ...env };
    expect(pm2IdentityKeys(env)).not.toContain('pm2-gitops');
    withoutPm2Identity(env);
    expect(env).toEqual(before);
  });

  it('[delivery-under-pm2] removes the marker of a process pm2-gitops started, so that it never reaches the apps it starts', () => {
    const marker = JSON.stringify({ environment: 'ops', task: 'controller', revision: 'r1', envKeys: [] });
    expect(pm2IdentityKeys({ ...OWN, ...FORK_PM2, pm2_gitops: marker })).toContain('pm2_gitops');
    expect(pm2IdentityKeys({ ...OWN, pm2_gitops: marker })).toEqual(['pm2_gitops']);
  });

  it('[delivery-under-pm2] knows every option of the installed PM2 by its canonical name', () => {
    const schema = require('pm2/lib/API/schema.json') as Record<string, unknown>;
    // script becomes pm_exec_path; env and env_* are objects, never copied into a fork-mode environment as text.
    const options = Object.keys(schema).filter((k) => k !== 'script' && k !== 'env' && !k.startsWith('^env_'));
    const env = Object.fromEntries([['pm_id', '3'], ...options.map((k) => [k, 'x'])]);
    expect(options.filter((k) => !pm2IdentityKeys(env).includes(k))).toEqual([]);
  });
});
