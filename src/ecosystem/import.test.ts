import { describe, expect, it } from 'vitest';
import { validateValue } from '../validate/schema.js';
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
    expect(l!.spec.process).toMatchObject({ args: ['--name', 'hello world', ''], node_args: ['--no-warnings'], interpreter: 'none' });
    // node_args and interpreter_args are one option: PM2 uses node_args, and render takes one of them only.
    expect(l!.spec.process.interpreter_args).toBeUndefined();
    expect(r.warnings).toEqual(['app "l": "node_args" and "interpreter_args" are one PM2 option (node_args); kept "node_args", the one PM2 uses, dropped "interpreter_args"']);
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

  it('[import-pm2-name] keeps the PM2 name of an app whose name is not a task name, refuses two apps with one PM2 name and a file that is not a list of apps', () => {
    const renamed = only({ apps: [{ name: 'API', script: 'a.js' }] });
    expect(renamed.tasks[0]!.metadata).toEqual({ name: 'api', pm2Name: 'API' });
    expect(renamed.warnings).toEqual([]);
    expect(renamed.notes).toEqual(['app "API": task "api" (task names are lowercase letters, digits and dashes); its processes keep their PM2 name (metadata.pm2Name)']);
    expect(only({ apps: [{ name: 'api', script: 'a.js' }, { name: 'api', script: 'b.js' }] }).errors).toEqual(['app "api": a second app has this name in PM2; names must be unique']);
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
    expect(r.warnings).toEqual(['app "sleeper": script "/bin/sleep" is outside the folder of the ecosystem file; render accepts only scripts inside the repository (copy it in, name a command on PATH, or pass --allow-root /bin)']);
    expect(r.tasks.find((t) => t.metadata.name === 'inside')!.spec.process).toMatchObject({ cwd: '../app', script: '/srv/shop/bin/x.js' });
  });

  it('reads an instance count given as a string as PM2 does (parseInt, 0 when not a number), keeps "max"', () => {
    const r = only({ apps: [{ name: 'a', script: 'a.js', instances: '4' }, { name: 'b', script: 'b.js', instances: 'max' }, { name: 'c', script: 'c.js', instances: 'lots' }, { name: 'd', script: 'd.js', instances: -1 }] });
    expect(r.tasks.map((t) => t.spec.process.instances)).toEqual([4, 'max', 0, -1]);
  });

  it('[import-pm2-name] drops an env_* option that is not an env block with a warning; append_env_to_name names the app <name>-<env> in each Environment of an --env', () => {
    const r = only({ apps: [{ name: 'a', script: 'a.js', env_file: '.env', append_env_to_name: true, env_production: { X: '1' } }] });
    expect(r.errors).toEqual([]);
    expect(r.tasks[0]!.spec.process).toEqual({ script: 'a.js', append_env_to_name: true, cwd: '..' });
    expect(r.environments.map((e) => e.metadata.name)).toEqual(['default', 'production']);
    expect(r.warnings).toEqual(['app "a": option "env_file" is not a PM2 app option pm2-gitops knows; dropped']);
    expect(r.environments[0]!.spec.patches).toBeUndefined();
    expect(r.environments[1]!.spec.patches).toEqual([{ target: { name: 'a' }, merge: { metadata: { pm2Name: 'a-production' }, spec: { process: { env: { X: '1' } } } } }]);
  });

  describe('deploy.<target>["post-deploy"]', () => {
    const RELOAD = 'pm2 reload ecosystem.config.js --env production';
    const target = (postDeploy: unknown, extra: Record<string, unknown> = {}) => ({ user: 'deployer', host: ['10.0.0.7'], ref: 'origin/main', repo: 'git@example.com:shop.git', path: '/var/www/shop', 'post-deploy': postDeploy, ...extra });

    it('[import-post-deploy] turns the install and build steps into spec.build in the base when every target has the same, and drops the reload', () => {
      const post = `npm ci --omit=dev && npm run build; npx tsc -p . && ${RELOAD}`;
      const r = only({ apps: [{ name: 'api', script: 'dist/server.js' }, { name: 'worker', script: 'dist/worker.js' }], deploy: { production: target(post), staging: target(post) } });
      expect(r.errors).toEqual([]);
      for (const t of r.tasks) expect(t.spec.build).toEqual({ install: 'npm ci --omit=dev', run: ['npm run build', 'npx tsc -p .'] });
      expect(r.environments.map((e) => e.metadata.name)).toEqual(['default']);
      expect(r.notes).toContain('deploy.production["post-deploy"] step 4 (pm2 reload) dropped: the controller reloads or restarts the processes itself once the build is ready');
      expect(r.notes).toContain('deploy.staging["post-deploy"] step 4 (pm2 reload) dropped: the controller reloads or restarts the processes itself once the build is ready');
    });

    it('[import-post-deploy] reports every other deploy option by name, never its value', () => {
      const r = only({ apps: [{ name: 'api', script: 'a.js' }], deploy: { production: target(RELOAD, { 'pre-deploy': 'git fetch --all', 'pre-setup': 'apt-get install git', 'post-setup': 'ls -la', 'pre-deploy-local': 'echo hi', ssh_options: 'StrictHostKeyChecking=no', key: '/home/me/.ssh/id_deploy', port: '2222', custom: 1 }) } });
      expect(r.errors).toEqual([]);
      expect(r.tasks[0]!.spec.build).toBeUndefined();
      const text = r.warnings.join('\n');
      for (const key of ['user', 'host', 'ref', 'repo', 'path', '["pre-deploy"]', '["pre-setup"]', '["post-setup"]', '["pre-deploy-local"]', 'ssh_options', 'key', 'port', 'custom']) {
        expect(text).toContain(`deploy.production${key.startsWith('[') ? key : `.${key}`} was not carried over: `);
      }
      for (const value of ['deployer', '10.0.0.7', 'origin/main', 'git@example.com', '/var/www/shop', 'git fetch', 'apt-get', 'StrictHostKeyChecking', 'id_deploy', '2222', 'echo hi']) expect(text).not.toContain(value);
      expect(r.warnings).toContain('deploy.production.repo was not carried over: give the repository to pm2-gitops run --repo on the host');
    });

    it('[import-post-deploy] names each step it does not carry over by its position and program only', () => {
      const post = 'cp ../shared/.env .env && npm install && TOKEN=s3cr3t-value npm run build > build.log && npm run lint | tee lint.txt && git submodule update && npm run test && pm2 save';
      const r = only({ apps: [{ name: 'api', script: 'a.js' }], deploy: { production: target(post) } });
      expect(r.errors).toEqual([]);
      expect(r.tasks[0]!.spec.build).toEqual({ install: 'npm install', run: ['npm run test'] });
      const w = 'deploy.production["post-deploy"]';
      expect(r.warnings.filter((m) => m.startsWith(`${w} step`))).toEqual([
        `${w} step 1 (cp) was not carried over: spec.build takes install and build commands (npm, yarn, pnpm, npx, node, tsc); a build builds from the revision's files alone: make it a package.json script and call that`,
        `${w} step 3 (sets variables) was not carried over: put the variables in the task's env`,
        `${w} step 4 (npm) was not carried over: it uses a pipe; make it a package.json script and call that`,
        `${w} step 5 (git) was not carried over: the controller fetches and checks out each revision itself`,
        `${w} step 7 (pm2) was not carried over: pm2-gitops keeps the processes itself; pm2 commands do not belong in a build`,
      ]);
      expect(r.warnings.join('\n')).not.toContain('s3cr3t');
      expect(r.notes).toEqual([`${w} step 2 (npm): kept as written as spec.build.install; an install is reused while package.json, the lockfile and the command stay the same, which "npm ci" guarantees (it installs the committed lockfile exactly, and fails when the lockfile is out of date): consider "npm ci"`]);
    });

    it('[import-post-deploy] stops at a cd: the steps after it ran in another folder', () => {
      const r = only({ apps: [{ name: 'api', script: 'a.js' }], deploy: { production: target('yarn install --frozen-lockfile && yarn build && cd client && yarn && yarn build') } });
      expect(r.tasks[0]!.spec.build).toEqual({ install: 'yarn install --frozen-lockfile', run: ['yarn build'] });
      expect(r.warnings).toContain('deploy.production["post-deploy"] step 3 (cd) and the 2 steps after it were not carried over: spec.build runs every step in the task\'s cwd');
      expect(r.notes).toEqual([]);
    });

    it('[import-post-deploy] puts a build of one target into that target\'s Environment, beside its env', () => {
      const r = only({
        apps: [{ name: 'api', script: 'a.js', env_production: { NODE_ENV: 'production' } }, { name: 'worker', script: 'w.js' }],
        deploy: { production: target(`pnpm install --frozen-lockfile && pnpm build && ${RELOAD}`), staging: { ...target(RELOAD), env: { NODE_ENV: 'staging' } } },
      });
      expect(r.errors).toEqual([]);
      expect(r.tasks.map((t) => t.spec.build)).toEqual([undefined, undefined]);
      const build = { install: 'pnpm install --frozen-lockfile', run: ['pnpm build'] };
      const by = Object.fromEntries(r.environments.map((e) => [e.metadata.name, e.spec.patches]));
      expect(Object.keys(by)).toEqual(['default', 'production', 'staging']);
      expect(by.production).toEqual([
        { target: { name: 'api' }, merge: { spec: { process: { env: { NODE_ENV: 'production' } }, build } } },
        { target: { name: 'worker' }, merge: { spec: { build } } },
      ]);
      expect(by.staging).toEqual([
        { target: { name: 'api' }, merge: { spec: { process: { env: { NODE_ENV: 'staging' } } } } },
        { target: { name: 'worker' }, merge: { spec: { process: { env: { NODE_ENV: 'staging' } } } } },
      ]);
    });

    it('[import-post-deploy] gives no build to an app whose cwd is not the folder post-deploy ran in, and says so', () => {
      const r = only({ apps: [{ name: 'root', script: 'a.js' }, { name: 'sub', cwd: 'services/sub', script: 'b.js' }], deploy: { production: target('npm ci && npm run build') } });
      expect(r.tasks.map((t) => [t.metadata.name, t.spec.build])).toEqual([['root', { install: 'npm ci', run: ['npm run build'] }], ['sub', undefined]]);
      expect(r.warnings).toContain('app "sub": the build of deploy.production["post-deploy"] was not carried over to this task: post-deploy ran in the folder of the ecosystem file, spec.build runs in the task\'s cwd (services/sub); set spec.build by hand');
    });

    it('[import-post-deploy] refuses a build-only target that takes the default Environment\'s name, and reports a post-deploy that is not a command', () => {
      const clash = only({ apps: [{ name: 'a', script: 'a.js' }], deploy: { production: target('npm ci'), staging: target('npm ci && npm test') } }, { environment: 'production' });
      expect(clash.errors).toEqual(['deploy.production["post-deploy"] would become an Environment named "production", the name of the default one; pass another --env']);
      const odd = only({ apps: [{ name: 'a', script: 'a.js' }], deploy: { production: target(['npm ci']) } });
      expect(odd.errors).toEqual([]);
      expect(odd.tasks[0]!.spec.build).toBeUndefined();
      expect(odd.warnings).toContain('deploy.production["post-deploy"] is not a command (a string); not carried over');
    });

    it('[import-post-deploy] writes Tasks and Environments that the schemas accept', () => {
      const shared = only({ apps: [{ name: 'api', script: 'a.js' }], deploy: { production: target('npm ci && npm run build') } });
      const split = only({ apps: [{ name: 'api', script: 'a.js' }], deploy: { production: target('npm ci && npm run build'), staging: target('npm ci') } });
      for (const r of [shared, split]) {
        for (const t of r.tasks) expect(validateValue(t, 'Task')).toEqual([]);
        for (const e of r.environments) expect(validateValue(e, 'Environment')).toEqual([]);
      }
      expect(shared.tasks[0]!.spec.build).toEqual({ install: 'npm ci', run: ['npm run build'] });
      expect(split.environments.map((e) => e.spec.patches?.[0]?.merge)).toEqual([undefined, { spec: { build: { install: 'npm ci', run: ['npm run build'] } } }, { spec: { build: { install: 'npm ci' } } }]);
    });
  });
});


describe('PM2 names that are not task names', () => {
  it('[import-pm2-name] keeps each app\'s PM2 name, its own or the one PM2 derives from the script, in metadata.pm2Name', () => {
    const r = only({
      apps: [
        { name: 'API', script: 'api.js' },
        { name: 'Style Guide', script: 'guide.js' },
        { name: 'queue_worker', script: 'worker.js' },
        { script: './bin/mail_sender.js' },
        { script: './workers/mail.worker.js' },
        { name: 'web', script: 'web.js' },
      ],
    });
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.tasks.map((t) => t.metadata)).toEqual([
      { name: 'api', pm2Name: 'API' },
      { name: 'mail-sender', pm2Name: 'mail_sender' },
      { name: 'mail-worker', pm2Name: 'mail.worker' },
      { name: 'queue-worker', pm2Name: 'queue_worker' },
      { name: 'style-guide', pm2Name: 'Style Guide' },
      { name: 'web' },
    ]);
    for (const t of r.tasks) expect(validateValue(t, 'Task')).toEqual([]);
    expect(r.notes).toContain('app "mail_sender": task "mail-sender" (task names are lowercase letters, digits and dashes); its processes keep their PM2 name (metadata.pm2Name)');
  });

  it('[import-pm2-name] gives two apps that PM2 tells apart by case two task names, and refuses a name PM2 names no process by', () => {
    const r = only({ apps: [{ name: 'API', script: 'a.js' }, { name: 'api', script: 'b.js' }, { name: 'Api', script: 'c.js' }] });
    expect(r.errors).toEqual([]);
    expect(r.tasks.map((t) => t.metadata)).toEqual([{ name: 'api', pm2Name: 'API' }, { name: 'api-2', pm2Name: 'api' }, { name: 'api-3', pm2Name: 'Api' }]);
    expect(r.notes).toContain('app "api": task "api-2", as another app\'s task is named "api"');
    expect(only({ apps: [{ name: 'bad\nname', script: 'a.js' }] }).errors).toEqual(['app "bad\nname": the name has control characters or more than 200 characters; pm2-gitops cannot keep it as the PM2 name: rename the app']);
  });

  it('[import-pm2-name] append_env_to_name with a renamed app: <PM2 name>-<env> in every Environment of an --env, env blocks and deploy targets alike', () => {
    const r = only({
      apps: [{ name: 'Web', script: 'w.js', append_env_to_name: true }, { name: 'b', script: 'b.js', env_local_production: { X: 1 } }],
      deploy: { staging: { user: 'u', host: 'h', env: { Y: '2' } } },
    });
    expect(r.errors).toEqual([]);
    const patches = Object.fromEntries(r.environments.map((e) => [e.metadata.name, e.spec.patches]));
    expect(patches.default).toBeUndefined();
    expect(patches['local-production']).toEqual([
      { target: { name: 'b' }, merge: { spec: { process: { env: { X: 1 } } } } },
      { target: { name: 'web' }, merge: { metadata: { pm2Name: 'Web-local_production' } } },
    ]);
    expect(patches.staging).toEqual([
      { target: { name: 'web' }, merge: { metadata: { pm2Name: 'Web-staging' }, spec: { process: { env: { Y: '2' } } } } },
      { target: { name: 'b' }, merge: { spec: { process: { env: { Y: '2' } } } } },
    ]);
    for (const e of r.environments) expect(validateValue(e, 'Environment')).toEqual([]);
    expect(r.notes).toContain('app "Web": append_env_to_name: named as pm2 start --env <name> names it in the Environment of each --env ("Web-local_production", "Web-staging"), "Web" in the default one');
  });
});
