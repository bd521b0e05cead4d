import { describe, expect, it } from 'vitest';
import { pm2NameOf } from '../domain/manifest.js';
import { buildEcosystem } from '../ecosystem/export.js';
import { parseManifestFile } from '../manifest/parse.js';
import { render, type RenderInput } from './render.js';

const task = (name: string, metadata = '', spec = '') => `apiVersion: pm2-gitops/v1
kind: Task
metadata: { name: ${name}${metadata} }
spec:
${spec}  process: { script: apps/${name}.js }
`;

function input(tasks: Record<string, string>, envSpec = ''): RenderInput {
  const texts: Record<string, string> = {
    ...Object.fromEntries(Object.entries(tasks).map(([name, text]) => [`deploy/base/${name}.yaml`, text])),
    'deploy/environments/prod.yaml': `apiVersion: pm2-gitops/v1\nkind: Environment\nmetadata: { name: prod }\nspec:\n  resources: [../base]\n  namespace: shop\n${envSpec}`,
  };
  return { files: Object.entries(texts).map(([file, text]) => parseManifestFile(file, text)), environment: 'prod', manifestRoot: 'deploy', fileExists: () => true };
}

describe('metadata.pm2Name', () => {
  it('[import-pm2-name] names the processes in PM2 (after namePrefix) while the task name stays the identifier of dependsOn and patches', () => {
    const r = render(input({
      api: task('api', ', pm2Name: API'),
      'style-guide': task('style-guide', ', pm2Name: "Style Guide"', '  dependsOn: [api]\n'),
      worker: task('worker'),
    }, '  namePrefix: eu-\n  patches:\n    - target: { name: style-guide }\n      merge: { spec: { process: { instances: 2 } } }\n'));
    expect(r.diagnostics).toEqual([]);
    const byName = Object.fromEntries(r.state!.tasks.map((t) => [t.name, t]));
    expect(Object.keys(byName)).toEqual(['eu-api', 'eu-style-guide', 'eu-worker']);
    expect(byName['eu-api']!.pm2Name).toBe('eu-API');
    expect(pm2NameOf(byName['eu-style-guide']!)).toBe('eu-Style Guide');
    expect(byName['eu-style-guide']!).toMatchObject({ dependsOn: ['eu-api'], process: { instances: 2 } });
    expect(byName['eu-worker']!).not.toHaveProperty('pm2Name');
    expect(pm2NameOf(byName['eu-worker']!)).toBe('eu-worker');
    // export writes the PM2 names, as the ecosystem file had them
    expect(buildEcosystem(r.state!, '/srv').apps.map((a) => a.name)).toEqual(['eu-API', 'eu-Style Guide', 'eu-worker']);
  });

  it('[import-pm2-name] an Environment patch may give a task another PM2 name', () => {
    const r = render(input({ api: task('api', ', pm2Name: API') }, '  patches:\n    - target: { name: api }\n      merge: { metadata: { pm2Name: API-production } }\n'));
    expect(r.diagnostics).toEqual([]);
    expect(r.state!.tasks[0]!.pm2Name).toBe('API-production');
  });

  it('[import-pm2-name] refuses a name PM2 cannot keep, naming file and path but never the value', () => {
    const r = render(input({ api: task('api', ', pm2Name: "Secret\\tName"'), web: task('web', ', pm2Name: ""') }));
    expect(r.diagnostics.map((d) => [d.file, d.pointer, d.message])).toEqual([
      ['deploy/base/api.yaml', '/metadata/pm2Name', 'must be a PM2 process name: 1 to 200 characters, no control characters'],
      ['deploy/base/web.yaml', '/metadata/pm2Name', 'must be a PM2 process name: 1 to 200 characters, no control characters'],
    ]);
    expect(JSON.stringify(r.diagnostics)).not.toContain('Secret');
    const long = render(input({ api: task('api', `, pm2Name: ${'x'.repeat(201)}`) }));
    expect(long.diagnostics.map((d) => d.pointer)).toEqual(['/metadata/pm2Name']);
    const number = render(input({ api: task('api', ', pm2Name: 42') }));
    expect(number.diagnostics.map((d) => [d.pointer, d.message])).toEqual([['/metadata/pm2Name', 'must be a PM2 process name: 1 to 200 characters, no control characters']]);
  });

  it('[import-pm2-name] refuses two tasks with one PM2 name, at the task that sets it', () => {
    const r = render(input({ api: task('api', ', pm2Name: web'), web: task('web'), a: task('a', ', pm2Name: X'), b: task('b', ', pm2Name: X') }));
    expect(r.state).toBeUndefined();
    expect(r.diagnostics.map((d) => [d.file, d.pointer, d.message])).toEqual([
      ['deploy/base/api.yaml', '/metadata/pm2Name', 'task "api" would have the same process name in PM2 as task "web" (deploy/base/web.yaml); PM2 would see one app: give each task a PM2 name of its own'],
      ['deploy/base/b.yaml', '/metadata/pm2Name', 'task "b" would have the same process name in PM2 as task "a" (deploy/base/a.yaml); PM2 would see one app: give each task a PM2 name of its own'],
    ]);
    // Case matters to PM2: API and api are two apps.
    expect(render(input({ api: task('api', ', pm2Name: API'), other: task('other', ', pm2Name: api') })).diagnostics).toEqual([]);
  });
});
