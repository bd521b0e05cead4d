import { describe, expect, it } from 'vitest';
import type { DesiredState, DesiredTask } from '../domain/manifest.js';
import { parseManifestFile, type ParsedFile } from '../manifest/parse.js';
import { render, type RenderInput } from './render.js';

const DB = `apiVersion: pm2-gitops/v1
kind: Task
metadata: { name: db, labels: { tier: data } }
spec:
  type: job
  process: { script: apps/migrate.js, env: { NODE_ENV: from-task, N: 3 } }
`;

const API = `apiVersion: pm2-gitops/v1
kind: Task
metadata: { name: api, labels: { tier: web, team: core } }
spec:
  dependsOn: [db]
  health: { http: { url: "http://127.0.0.1:3000/healthz" } }
  process: { script: apps/server.js, exec_mode: cluster_mode, instances: 2, env: { PORT: 3000, DEBUG: true } }
`;

/** A multi-document file: two more services of the web tier. */
const WEB = `apiVersion: pm2-gitops/v1
kind: Task
metadata: { name: web, labels: { tier: web } }
spec:
  dependsOn: [api]
  process: { script: apps/web.js, env: { PORT: "8080" } }
---
apiVersion: pm2-gitops/v1
kind: Task
metadata: { name: admin, labels: { tier: web, team: core } }
spec:
  dependsOn: [api, db]
  process: { script: apps/admin.js }
`;

function environment(name: string, spec: string): string {
  return `apiVersion: pm2-gitops/v1\nkind: Environment\nmetadata: { name: ${name} }\nspec:\n  resources: [../base]\n  namespace: ${name}-ns\n${spec}`;
}

function input(envName: string, envSpec: string, extra: Record<string, string> = {}): RenderInput {
  const texts: Record<string, string> = {
    'deploy/base/db.yaml': DB,
    'deploy/base/api.yaml': API,
    'deploy/base/web.yaml': WEB,
    [`deploy/environments/${envName}.yaml`]: environment(envName, envSpec),
    ...extra,
  };
  const files: ParsedFile[] = Object.entries(texts).map(([file, text]) => parseManifestFile(file, text));
  return { files, environment: envName, manifestRoot: 'deploy', fileExists: () => true };
}

function rendered(i: RenderInput): DesiredState {
  const result = render(i);
  expect(result.diagnostics).toEqual([]);
  expect(result.state).toBeDefined();
  return result.state!;
}

const byName = (state: DesiredState): Record<string, DesiredTask> => Object.fromEntries(state.tasks.map((t) => [t.name, t]));

describe('render', () => {
  it('renders every task of the resources, sorted by name, with folded options and default policy', () => {
    const state = rendered(input('dev', '  policy: { prune: true }\n'));
    expect(state.environment).toBe('dev');
    expect(state.namespace).toBe('dev-ns');
    expect(state.file).toBe('deploy/environments/dev.yaml');
    expect(state.policy).toEqual({ prune: true, selfHeal: false, rollback: false, pruneLimit: '50%', approvals: { required: 0 } });
    expect(state.tasks.map((t) => t.name)).toEqual(['admin', 'api', 'db', 'web']);
    const { api, db, admin } = byName(state);
    expect(api).toEqual({
      name: 'api', sourceName: 'api', file: 'deploy/base/api.yaml', type: 'service', dependsOn: ['db'],
      labels: { tier: 'web', team: 'core' }, context: {},
      health: { http: { url: 'http://127.0.0.1:3000/healthz' } },
      // cwd defaults to the manifest folder; exec_mode loses its _mode suffix; env values become strings.
      process: { cwd: 'deploy', env: { DEBUG: 'true', PORT: '3000' }, exec_mode: 'cluster', instances: 2, script: 'apps/server.js' },
    });
    // A job does not restart unless told so.
    expect(db!.type).toBe('job');
    expect(db!.process.autorestart).toBe(false);
    expect(admin!.dependsOn).toEqual(['api', 'db']);
    expect(admin!.file).toBe('deploy/base/web.yaml');
  });

  it('merges the environment env under every task env; the task wins', () => {
    const { api, db, admin } = byName(rendered(input('dev', '  env: { NODE_ENV: development, LOG_LEVEL: debug, PORT: 1 }\n')));
    expect(api!.process.env).toEqual({ DEBUG: 'true', LOG_LEVEL: 'debug', NODE_ENV: 'development', PORT: '3000' });
    expect(db!.process.env).toEqual({ LOG_LEVEL: 'debug', N: '3', NODE_ENV: 'from-task', PORT: '1' });
    expect(admin!.process.env).toEqual({ LOG_LEVEL: 'debug', NODE_ENV: 'development', PORT: '1' });
    expect(Object.keys(api!.process.env!)).toEqual(['DEBUG', 'LOG_LEVEL', 'NODE_ENV', 'PORT']);
  });

  it('prefixes every task name and dependency with namePrefix, keeping the written name', () => {
    const state = rendered(input('stg', '  namePrefix: stg-\n'));
    expect(state.tasks.map((t) => [t.name, t.sourceName, t.dependsOn])).toEqual([
      ['stg-admin', 'admin', ['stg-api', 'stg-db']],
      ['stg-api', 'api', ['stg-db']],
      ['stg-db', 'db', []],
      ['stg-web', 'web', ['stg-api']],
    ]);
  });

  it('applies a JSON Patch to the task named by its written name, and to no other', () => {
    const state = rendered(input('stg', `  namePrefix: stg-
  patches:
    - target: { name: api }
      patch:
        - { op: replace, path: /spec/process/instances, value: 4 }
        - { op: add, path: /spec/process/env/REGION, value: eu }
        - { op: replace, path: /spec/health/http/url, value: "http://127.0.0.1:3200/healthz" }
`));
    const { 'stg-api': api, 'stg-web': web } = byName(state);
    expect(api!.process.instances).toBe(4);
    expect(api!.process.env).toEqual({ DEBUG: 'true', PORT: '3000', REGION: 'eu' });
    expect(api!.health).toEqual({ http: { url: 'http://127.0.0.1:3200/healthz' } });
    expect(web!.process.env).toEqual({ PORT: '8080' });
    expect(state.tasks.filter((t) => t.process.env?.REGION !== undefined).map((t) => t.name)).toEqual(['stg-api']);
  });

  it('applies a merge patch to every task whose labels match the selector; null deletes', () => {
    const state = rendered(input('prod', `  patches:
    - target: { labels: { tier: web, team: core } }
      merge: { metadata: { labels: { exposure: public } }, spec: { process: { env: { DEBUG: null, CORE: "1" } } } }
`));
    const tasks = byName(state);
    expect(Object.entries(tasks).filter(([, t]) => t.labels.exposure === 'public').map(([n]) => n)).toEqual(['admin', 'api']);
    expect(tasks.api!.process.env).toEqual({ CORE: '1', PORT: '3000' });
    expect(tasks.admin!.process.env).toEqual({ CORE: '1' });
    expect(tasks.web!.process.env).toEqual({ PORT: '8080' });
    expect(tasks.web!.labels).toEqual({ tier: 'web' });
  });

  it('applies patches in order, each one seeing the result of the previous ones', () => {
    const state = rendered(input('prod', `  patches:
    - target: { name: web }
      merge: { metadata: { labels: { canary: "true" } } }
    - target: { labels: { canary: "true" } }
      patch: [{ op: add, path: /spec/process/instances, value: 3 }]
    - target: { name: web }
      patch: [{ op: replace, path: /spec/process/instances, value: 5 }]
`));
    expect(byName(state).web!.process.instances).toBe(5);
    expect(state.tasks.filter((t) => t.process.instances !== undefined).map((t) => [t.name, t.process.instances])).toEqual([['api', 2], ['web', 5]]);
  });

  it('reports a patch that matches no task, at the target in the environment file', () => {
    const result = render(input('prod', `  patches:
    - target: { name: nope }
      merge: { spec: { process: { instances: 1 } } }
`));
    expect(result.state).toBeUndefined();
    expect(result.diagnostics).toEqual([{
      file: 'deploy/environments/prod.yaml', line: 8, column: 15, pointer: '/spec/patches/0/target', document: 0,
      message: 'patch target {"name":"nope"} matches no task of this environment',
    }]);
  });

  it('reports the failing operation of a JSON Patch with the task and its file', () => {
    const result = render(input('prod', `  patches:
    - target: { labels: { tier: data } }
      patch:
        - { op: add, path: /spec/process/instances, value: 1 }
        - { op: replace, path: /spec/health/tcp/port, value: 9 }
`));
    expect(result.state).toBeUndefined();
    expect(result.diagnostics).toHaveLength(1);
    expect(result.diagnostics[0]).toMatchObject({ file: 'deploy/environments/prod.yaml', line: 11, pointer: '/spec/patches/0/patch/1' });
    expect(result.diagnostics[0]!.message).toBe('cannot patch task db (deploy/base/db.yaml): path /spec/health/tcp/port does not exist in the target task');
  });

  it('checks dependencies a patch adds, and stops checking the ones it removes', () => {
    const added = render(input('prod', `  patches:
    - target: { name: web }
      patch: [{ op: add, path: /spec/dependsOn/-, value: ghost }]
    - target: { name: db }
      merge: { spec: { dependsOn: [db] } }
`));
    expect(added.state).toBeUndefined();
    expect(added.diagnostics.map((d) => [d.file, d.pointer, d.message])).toEqual([
      ['deploy/base/db.yaml', '/spec/dependsOn', 'task "db" cannot depend on itself (added by a patch of environment prod)'],
      ['deploy/base/web.yaml', '/spec/dependsOn', 'depends on "ghost" (added by a patch of environment prod), which is not a task of environment prod; expected one of: admin, api, db, web'],
    ]);
    const removed = rendered(input('prod', `  patches:
    - target: { name: admin }
      patch: [{ op: remove, path: /spec/dependsOn/1 }]
`, { 'deploy/base/web.yaml': WEB.replace('dependsOn: [api, db]', 'dependsOn: [api, gone]') }));
    expect(byName(removed).admin!.dependsOn).toEqual(['api']);
  });

  it('reports a patch that makes a task invalid', () => {
    const result = render(input('prod', `  patches:
    - target: { name: api }
      merge: { spec: { process: { instances: many } } }
`));
    expect(result.state).toBeUndefined();
    expect(result.diagnostics.map((d) => [d.pointer, d.message])).toEqual([
      ['/spec/patches/0', 'patch makes task api (deploy/base/api.yaml) invalid at /spec/process/instances: must be an integer >= 0 or "max"'],
    ]);
  });

  it('is deterministic: the same input renders byte-identical JSON, whatever the order of the files', () => {
    const spec = `  namePrefix: p-
  env: { B: 2, A: 1 }
  patches:
    - target: { labels: { tier: web } }
      merge: { spec: { process: { env: { Z: z, M: m } } } }
`;
    const a = JSON.stringify(render(input('prod', spec)));
    const b = JSON.stringify(render(input('prod', spec)));
    const reversed = input('prod', spec);
    reversed.files.reverse();
    const c = JSON.stringify(render(reversed));
    expect(a).toContain('"p-admin"');
    expect(b).toBe(a);
    expect(c).toBe(a);
  });

  it('does not modify the parsed documents it renders from', () => {
    const i = input('stg', `  namePrefix: stg-
  env: { NODE_ENV: staging }
  patches:
    - target: { name: api }
      patch: [{ op: replace, path: /spec/process/instances, value: 4 }]
    - target: { labels: { tier: web } }
      merge: { spec: { process: { env: { DEBUG: null } } } }
`);
    const before = JSON.stringify(i.files.map((f) => f.documents.map((d) => d.value)));
    rendered(i);
    expect(JSON.stringify(i.files.map((f) => f.documents.map((d) => d.value)))).toBe(before);
  });

  it('renders only the files the environment lists as resources', () => {
    const state = rendered(input('dev', '', {
      'deploy/other/extra.yaml': 'apiVersion: pm2-gitops/v1\nkind: Task\nmetadata: { name: extra }\nspec:\n  process: { script: x.js }\n',
    }));
    expect(state.tasks.map((t) => t.name)).not.toContain('extra');
    expect(state.tasks).toHaveLength(4);
  });

  it('names the available environments when the asked one does not exist', () => {
    const result = render({ ...input('dev', ''), environment: 'qa' });
    expect(result.state).toBeUndefined();
    expect(result.diagnostics.map((d) => d.message)).toEqual(['environment "qa" not found; available: dev']);
  });

  it('rejects a resource that leaves the repository', () => {
    const i = input('dev', '');
    i.files[3] = parseManifestFile('deploy/environments/dev.yaml', environment('dev', '').replace('[../base]', '[../base, ../../../outside]'));
    const result = render(i);
    expect(result.state).toBeUndefined();
    expect(result.diagnostics).toHaveLength(1);
    expect(result.diagnostics[0]).toMatchObject({ pointer: '/spec/resources/1', line: 5 });
    expect(result.diagnostics[0]!.message).toContain('outside the repository');
  });

  it('reports schema errors of a task with its own file, line and pointer, and renders nothing', () => {
    const result = render(input('dev', '', { 'deploy/base/db.yaml': DB.replace('script: apps/migrate.js', 'script: apps/migrate.js, instanses: 2') }));
    expect(result.state).toBeUndefined();
    expect(result.diagnostics).toHaveLength(1);
    expect(result.diagnostics[0]).toMatchObject({ file: 'deploy/base/db.yaml', line: 6, pointer: '/spec/process/instanses' });
    expect(result.diagnostics[0]!.message).toContain('did you mean "instances"?');
  });
});
