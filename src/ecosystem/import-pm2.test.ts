/** Import reads an ecosystem file as `pm2 start` does: aliases, inline commands, paths outside the file's folder, PM2's environment names. */
import { describe, expect, it } from 'vitest';
import { environmentNameOf } from '../domain/environment-name.js';
import { importEcosystem, type ImportOptions } from './import.js';

const OPTS: ImportOptions = { sourceDir: '/srv/shop', outDir: '/srv/shop/deploy', environment: 'default' };
const only = (config: unknown, opts: Partial<ImportOptions> = {}) => importEcosystem(config, { ...OPTS, ...opts });
const processOf = (config: unknown) => only(config).tasks[0]!.spec.process;

describe('import: aliases PM2 accepts', () => {
  it('[import-aliases] takes cmd and command for script, as PM2 does when there is no script', () => {
    expect(processOf({ apps: [{ name: 'a', cmd: 'server.js' }] })).toEqual({ script: 'server.js', cwd: '..' });
    expect(processOf({ apps: [{ name: 'a', command: 'worker.js', args: ['-v'] }] })).toEqual({ script: 'worker.js', args: ['-v'], cwd: '..' });
    const r = only({ apps: [{ name: 'a', script: 'a.js', cmd: 'b.js' }] });
    expect(r.tasks[0]!.spec.process.script).toBe('a.js');
    expect(r.warnings).toEqual([]);
  });

  it('[import-aliases] writes camelCase options under PM2\'s own names instead of dropping them, and says so', () => {
    const r = only({ apps: [{ name: 'a', script: 'a.js', ignoreWatch: ['node_modules', 'logs'], watch: true, maxMemoryRestart: '300M', killTimeout: 4000, execMode: 'cluster', instances: 2, mergeLogs: true, logDateFormat: 'YYYY' }] });
    expect(r.warnings).toEqual([]);
    expect(r.tasks[0]!.spec.process).toEqual({
      script: 'a.js', ignore_watch: ['node_modules', 'logs'], watch: true, max_memory_restart: '300M', kill_timeout: 4000, exec_mode: 'cluster', instances: 2, merge_logs: true, log_date_format: 'YYYY', cwd: '..',
    });
    expect(r.notes).toEqual(['app "a": options written under PM2\'s own names: ignoreWatch → ignore_watch, maxMemoryRestart → max_memory_restart, killTimeout → kill_timeout, execMode → exec_mode, mergeLogs → merge_logs, logDateFormat → log_date_format']);
  });

  it('[import-renders] copies an option given under two names once, the value PM2 uses, with a warning', () => {
    const r = only({ apps: [{ name: 'a', script: 'a.js', combine_logs: true, merge_logs: true, error: 'e.log', error_file: 'f.log' }] });
    expect(r.tasks[0]!.spec.process).toEqual({ script: 'a.js', merge_logs: true, error_file: 'f.log', cwd: '..' });
    expect(r.warnings).toEqual([
      'app "a": "merge_logs" and "combine_logs" are one PM2 option (merge_logs); kept "merge_logs", the one PM2 uses, dropped "combine_logs"',
      'app "a": "error_file" and "error" are one PM2 option (error_file); kept "error_file", the one PM2 uses, dropped "error"',
    ]);
  });
});

describe('import: options a Task has no place for', () => {
  it('[import-aliases] names each PM2 option it does not carry over', () => {
    const r = only({ apps: [{ name: 'a', script: 'a.js', name_prefix: 'x-', install_url: 'https://example.com/m.tgz', execute_command: true, username: 'me' }] });
    expect(r.tasks[0]!.spec.process).toEqual({ script: 'a.js', cwd: '..' });
    expect(r.warnings).toEqual([
      'app "a": option "name_prefix" not carried over: an Environment names its apps (namePrefix)',
      'app "a": option "install_url" not carried over: it installs a module from a URL before the start, which is no part of a Task',
      'app "a": option "execute_command" not carried over: a Task runs its script in fork or cluster mode as exec_mode says',
    ]);
  });
});

describe('import: inline commands', () => {
  it('[import-inline-command] keeps a script with a space as the command PM2 runs through bash -c, with its cwd', () => {
    const r = only({ apps: [{ name: 'web', script: 'npm run start', cwd: './web' }, { name: 'api', script: 'node server.js', interpreter: 'none' }] });
    expect(r.warnings).toEqual([]);
    expect(r.tasks.map((t) => t.spec.process)).toEqual([
      { script: 'node server.js', interpreter: 'none', cwd: '..' },
      { script: 'npm run start', cwd: '../web' },
    ]);
  });

  it('[import-inline-command] drops args and an interpreter, which PM2 replaces by bash -c, and says so', () => {
    const r = only({ apps: [{ name: 'web', script: 'node server.js', args: '--port 3000', interpreter: 'node' }] });
    expect(r.tasks[0]!.spec.process).toEqual({ script: 'node server.js', cwd: '..' });
    expect(r.warnings).toEqual([
      'app "web": args dropped: PM2 runs script "node server.js" (it has a space) through bash -c and passes it no args; write the arguments into the command',
      'app "web": interpreter "node" dropped: PM2 runs script "node server.js" (it has a space) through bash -c, which no interpreter runs',
    ]);
  });
});

describe('import: paths outside the ecosystem file\'s folder', () => {
  it('[import-cwd-outside] keeps an absolute cwd outside the folder as written and points to --allow-root', () => {
    const r = only({ apps: [{ name: 'legacy', cwd: '/opt/legacy', script: 'server.js' }, { name: 'up', cwd: '../other', script: 'x.js' }] });
    expect(r.tasks.map((t) => t.spec.process.cwd)).toEqual(['/opt/legacy', '/srv/other']);
    expect(r.warnings).toEqual([
      'app "legacy": cwd "/opt/legacy" is outside the folder of the ecosystem file; render refuses it unless you pass --allow-root /opt/legacy (its code is then the operator\'s, not delivered from git)',
      'app "up": cwd "../other" is outside the folder of the ecosystem file; render refuses it unless you pass --allow-root /srv/other (its code is then the operator\'s, not delivered from git)',
    ]);
    // Inside the file's folder, or the manifest folder, cwd stays relative and is no reason to warn.
    expect(only({ apps: [{ name: 'a', cwd: '/srv/shop/app', script: 'a.js' }] }).warnings).toEqual([]);
  });
});

describe('import: PM2\'s environment names', () => {
  it('[import-env-names] names the Environment of env_local_production local-production, the name --env local_production finds', () => {
    const r = only({ apps: [{ name: 'a', script: 'a.js', env_local_production: { X: '1' } }] });
    expect(r.environments.map((e) => e.metadata.name)).toEqual(['default', 'local-production']);
    expect(environmentNameOf('local_production')).toBe('local-production');
    expect(environmentNameOf('local-production')).toBe('local-production');
    expect(environmentNameOf('Prod_EU')).toBe('prod-eu');
  });

  it('[import-env-names] refuses two PM2 environments that would be one Environment', () => {
    const r = only({ apps: [{ name: 'a', script: 'a.js', env_local_prod: { X: '1' }, 'env_local-prod': { X: '2' } }] });
    expect(r.errors).toEqual(['env_local_prod and env_local-prod would both become the Environment "local-prod"; rename one of them']);
  });
});
