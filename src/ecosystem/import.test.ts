import { describe, expect, it } from 'vitest';
import { ecosystemApps, importEcosystem, taskNameOf, type ImportOptions } from './import.js';

const OPTS: ImportOptions = { sourceDir: '/srv/shop', outDir: '/srv/shop/deploy', environment: 'default' };

const only = (config: unknown, opts: Partial<ImportOptions> = {}) => importEcosystem(config, { ...OPTS, ...opts });

describe('ecosystemApps', () => {
  it('finds the apps as PM2 does: under apps, under pm2, a bare list or a single app', () => {
    const app = { name: 'a', script: 'a.js' };
    expect(ecosystemApps({ apps: [app] })).toEqual([app]);
    expect(ecosystemApps({ pm2: [app] })).toEqual([app]);
    expect(ecosystemApps([app])).toEqual([app]);
    expect(ecosystemApps(app)).toEqual([app]);
    expect(ecosystemApps({ apps: app })).toEqual([app]);
  });
});

describe('taskNameOf', () => {
  it('keeps valid names, lowercases others and falls back to the script base name', () => {
    expect(taskNameOf({ name: 'api', script: 'x.js' })).toBe('api');
    expect(taskNameOf({ name: 'API_Server v2', script: 'x.js' })).toBe('api-server-v2');
    expect(taskNameOf({ script: './workers/mail.worker.js' })).toBe('mail-worker');
    expect(taskNameOf({ script: '/usr/bin/sleep' })).toBe('sleep');
    expect(taskNameOf({ exec: 'bin/run' })).toBe('run');
    expect(taskNameOf({ name: '***' })).toBe('app');
  });
});

describe('importEcosystem', () => {
  it('turns env into the task env and each env_<name> block into an Environment of merge patches', () => {
    const r = only({
      apps: [
        { name: 'api', script: './api.js', env: { NODE_ENV: 'development', PORT: 3000 }, env_production: { NODE_ENV: 'production' }, env_staging: { NODE_ENV: 'staging', DEBUG: true } },
        { name: 'worker', script: 'worker.js', env_production: { QUEUE: 'mail' } },
      ],
    });
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.tasks.map((t) => t.metadata.name)).toEqual(['api', 'worker']);
    const api = r.tasks[0]!;
    expect(api.spec.process.env).toEqual({ NODE_ENV: 'development', PORT: 3000 });
    expect(Object.keys(api.spec.process).filter((k) => k.startsWith('env_'))).toEqual([]);
    expect(r.tasks[1]!.spec.process.env).toBeUndefined();
    expect(r.environments.map((e) => e.metadata.name)).toEqual(['default', 'production', 'staging']);
    expect(r.environments[0]!.spec).toEqual({ resources: ['../../base'], namespace: 'default' });
    expect(r.environments[1]!.spec.patches).toEqual([
      { target: { name: 'api' }, merge: { spec: { process: { env: { NODE_ENV: 'production' } } } } },
      { target: { name: 'worker' }, merge: { spec: { process: { env: { QUEUE: 'mail' } } } } },
    ]);
    expect(r.environments[2]!.spec.patches).toEqual([
      { target: { name: 'api' }, merge: { spec: { process: { env: { NODE_ENV: 'staging', DEBUG: true } } } } },
    ]);
  });

  it('names Environments after the block in lowercase and refuses one that takes the default name', () => {
    expect(only({ apps: [{ name: 'a', script: 'a.js', env_Prod_EU: { X: 1 } }] }).environments.map((e) => e.metadata.name)).toEqual(['default', 'prod-eu']);
    const clash = only({ apps: [{ name: 'a', script: 'a.js', env_production: { X: 1 } }] }, { environment: 'production' });
    expect(clash.errors).toEqual(['env_production would become an Environment named "production", the name of the default one; pass another --env']);
  });

  it('writes env values that are objects, lists or null as their JSON text, as PM2 passes them, and says so', () => {
    const r = only({ apps: [{ name: 'a', script: 'a.js', env: { CONFIG: { region: 'eu' }, TAGS: ['x', 'y'], NONE: null, GONE: undefined, OK: 'yes', N: 0, B: false }, env_production: { CONFIG: { region: 'us' } } }] });
    expect(r.errors).toEqual([]);
    expect(r.tasks[0]!.spec.process.env).toEqual({ CONFIG: '{"region":"eu"}', TAGS: '["x","y"]', NONE: 'null', OK: 'yes', N: 0, B: false });
    expect(r.environments[1]!.spec.patches![0]!.merge).toEqual({ spec: { process: { env: { CONFIG: '{"region":"us"}' } } } });
    expect(r.warnings).toEqual([
      'app "a": env.CONFIG is not a string, number or boolean; written as its JSON text, which is what PM2 passes to the process',
      'app "a": env.TAGS is not a string, number or boolean; written as its JSON text, which is what PM2 passes to the process',
      'app "a": env.NONE is not a string, number or boolean; written as its JSON text, which is what PM2 passes to the process',
      'app "a": env_production.CONFIG is not a string, number or boolean; written as its JSON text, which is what PM2 passes to the process',
    ]);
  });

  it('keeps args and node_args in the form they were written, and options under their alias', () => {
    const r = only({
      apps: [
        { name: 's', script: 's.js', args: "--name 'hello world' -v", node_args: '--max-old-space-size=128' },
        { name: 'l', script: 'l.js', args: ['--name', 'hello world', ''], node_args: ['--no-warnings'], interpreter: 'none', interpreter_args: '--x' },
      ],
    });
    expect(r.errors).toEqual([]);
    const [l, s] = r.tasks;
    expect(s!.spec.process).toMatchObject({ args: "--name 'hello world' -v", node_args: '--max-old-space-size=128' });
    expect(l!.spec.process).toMatchObject({ args: ['--name', 'hello world', ''], node_args: ['--no-warnings'], interpreter: 'none', interpreter_args: '--x' });
  });

  it('makes cwd relative to the manifest folder and an absolute script inside it relative to cwd', () => {
    const r = only({
      apps: [
        { name: 'here', script: '/srv/shop/server.js' },
        { name: 'sub', cwd: './app', script: 'server.js' },
        { name: 'abs', cwd: '/srv/shop/app', script: '/srv/shop/app/bin/job.js' },
        { name: 'outside', script: '/usr/local/bin/tool.js' },
        { name: 'command', script: 'sleep', args: '60' },
      ],
    });
    expect(r.errors).toEqual([]);
    const by = Object.fromEntries(r.tasks.map((t) => [t.metadata.name, t.spec.process]));
    expect(by.here).toMatchObject({ cwd: '..', script: 'server.js' });
    expect(by.sub).toMatchObject({ cwd: '../app', script: 'server.js' });
    expect(by.abs).toMatchObject({ cwd: '../app', script: 'bin/job.js' });
    expect(by.outside).toMatchObject({ cwd: '..', script: '/usr/local/bin/tool.js' });
    expect(by.command).toMatchObject({ cwd: '..', script: 'sleep' });
    expect(only({ apps: [{ name: 'x', script: 'x.js' }] }, { outDir: '/srv/shop' }).tasks[0]!.spec.process.cwd).toBe('.');
  });

  it('makes an app with autorestart false a job and every other app a service', () => {
    const r = only({ apps: [{ name: 'once', script: 'a.js', autorestart: false }, { name: 'svc', script: 'b.js', autorestart: true }, { name: 'plain', script: 'c.js' }] });
    expect(r.tasks.map((t) => [t.metadata.name, t.spec.type, t.spec.process.autorestart])).toEqual([
      ['once', 'job', false], ['plain', 'service', undefined], ['svc', 'service', true],
    ]);
  });

  it('keeps the options PM2 knows, drops the ones pm2-gitops sets itself silently and unknown ones with a warning', () => {
    const r = only({
      apps: [{
        name: 'api', namespace: 'shop', script: 'a.js', exec: 'ignored.js', instances: 2, exec_mode: 'cluster', max_memory_restart: '200M', kill_timeout: 3000,
        watch: false, merge_logs: true, time: true, increment_var: 'PORT', out_file: './logs/out.log', deploy_key: 'x', post_deploy: 'npm i',
      }],
    });
    expect(r.errors).toEqual([]);
    const p = r.tasks[0]!.spec.process;
    expect(p).toEqual({
      script: 'a.js', instances: 2, exec_mode: 'cluster', max_memory_restart: '200M', kill_timeout: 3000,
      watch: false, merge_logs: true, time: true, increment_var: 'PORT', out_file: './logs/out.log', cwd: '..',
    });
    expect(r.warnings).toEqual([
      'app "api": option "deploy_key" is not a PM2 app option pm2-gitops knows; dropped',
      'app "api": option "post_deploy" is not a PM2 app option pm2-gitops knows; dropped',
    ]);
    expect(r.environments[0]!.spec.namespace).toBe('shop');
  });

  it('takes exec when script is missing, and refuses an app with neither', () => {
    expect(only({ apps: [{ name: 'e', exec: 'run.js' }] }).tasks[0]!.spec.process.script).toBe('run.js');
    expect(only({ apps: [{ name: 'none' }] }).errors).toEqual(['app "none": "script" is missing; expected the path of the program to run']);
  });

  it('reports a renamed app, refuses two apps with one task name and a file that is not a list of apps', () => {
    const renamed = only({ apps: [{ name: 'API', script: 'a.js' }] });
    expect(renamed.tasks[0]!.metadata.name).toBe('api');
    expect(renamed.warnings).toEqual(['app "API": renamed to "api" (task names are lowercase letters, digits and dashes)']);
    expect(only({ apps: [{ name: 'api', script: 'a.js' }, { name: 'API', script: 'b.js' }] }).errors).toContain('app "API": a second app is named "api"; names must be unique');
    expect(only({ apps: [] }).errors).toEqual(['expected an ecosystem with an "apps" list of app objects']);
    expect(only({ apps: ['a.js'] }).errors).toEqual(['expected an ecosystem with an "apps" list of app objects']);
  });

  it('takes the apps\' namespace, refuses several unless one is given, and the given one wins', () => {
    const two = { apps: [{ name: 'a', script: 'a.js', namespace: 'x' }, { name: 'b', script: 'b.js' }] };
    expect(only(two).errors).toEqual(['apps use several namespaces (x, default); an Environment manages one namespace: split the file or pass --namespace']);
    const forced = only(two, { namespace: 'shop' });
    expect(forced.errors).toEqual([]);
    expect(forced.environments.map((e) => e.spec.namespace)).toEqual(['shop']);
    expect(only({ apps: [{ name: 'a', script: 'a.js' }] }).environments[0]!.spec.namespace).toBe('default');
  });

  it('merges deploy.<name>.env into the <name> Environment of every app, over env and under env_<name>, as PM2 does', () => {
    const r = only({
      apps: [
        { name: 'api', script: 'a.js', env: { QUEUE: 'mail', A: 1 }, env_production: { NODE_ENV: 'production', DEPLOYED: 'by-app' } },
        { name: 'worker', script: 'w.js' },
      ],
      deploy: { production: { user: 'node', host: 'h', env: { DEPLOYED: 'by-deploy', QUEUE: 'from-deploy' } }, staging: { user: 'node', host: 'h' } },
    });
    expect(r.errors).toEqual([]);
    expect(r.environments.map((e) => e.metadata.name)).toEqual(['default', 'production']);
    expect(r.environments[1]!.spec.patches).toEqual([
      { target: { name: 'api' }, merge: { spec: { process: { env: { DEPLOYED: 'by-app', QUEUE: 'from-deploy', NODE_ENV: 'production' } } } } },
      { target: { name: 'worker' }, merge: { spec: { process: { env: { DEPLOYED: 'by-deploy', QUEUE: 'from-deploy' } } } } },
    ]);
    expect(r.tasks[0]!.spec.process.env).toEqual({ QUEUE: 'mail', A: 1 });
  });

  it('warns about an absolute script outside the ecosystem file\'s folder, which render will refuse', () => {
    const r = only({ apps: [{ name: 'sleeper', script: '/bin/sleep', interpreter: 'none' }, { name: 'inside', cwd: 'app', script: '/srv/shop/bin/x.js' }] });
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual(['app "sleeper": script "/bin/sleep" is outside the folder of the ecosystem file; render accepts only scripts inside the repository (copy it in, or name a command on PATH)']);
    expect(r.tasks.find((t) => t.metadata.name === 'inside')!.spec.process).toMatchObject({ cwd: '../app', script: '/srv/shop/bin/x.js' });
  });

  it('reads an instance count given as a string as PM2 does (parseInt, 0 when not a number), keeps "max"', () => {
    const r = only({ apps: [{ name: 'a', script: 'a.js', instances: '4' }, { name: 'b', script: 'b.js', instances: 'max' }, { name: 'c', script: 'c.js', instances: 'lots' }, { name: 'd', script: 'd.js', instances: -1 }] });
    expect(r.tasks.map((t) => t.spec.process.instances)).toEqual([4, 'max', 0, -1]);
  });

  it('drops an env_* option that is not an env block with a warning, and warns that append_env_to_name does not rename', () => {
    const r = only({ apps: [{ name: 'a', script: 'a.js', env_file: '.env', append_env_to_name: true, env_production: { X: '1' } }] });
    expect(r.errors).toEqual([]);
    expect(r.tasks[0]!.spec.process).toEqual({ script: 'a.js', append_env_to_name: true, cwd: '..' });
    expect(r.environments.map((e) => e.metadata.name)).toEqual(['default', 'production']);
    expect(r.warnings).toEqual([
      'app "a": option "env_file" is not a PM2 app option pm2-gitops knows; dropped',
      'app "a": append_env_to_name: pm2 start --env <name> would name the app "a-<name>"; every Environment names it "a"',
    ]);
  });
});
