import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, type DesiredState, type DesiredTask } from '../domain/manifest.js';
import { parseManifestFile } from '../manifest/parse.js';
import { deepFreeze } from '../manifest/values.js';
import { parseHostLabels, selectHost, targetsHost } from './hosts.js';
import { render } from './render.js';

function task(name: string, over: Partial<DesiredTask> = {}): DesiredTask {
  return { name, sourceName: name, file: `${name}.yaml`, type: 'service', dependsOn: [], labels: {}, context: {}, process: { script: `${name}.js` }, ...over };
}

function state(tasks: DesiredTask[], over: Partial<DesiredState> = {}): DesiredState {
  return { environment: 'prod', namespace: 'prod', file: 'env.yaml', policy: DEFAULT_POLICY, tasks, ...over };
}

const web1 = { name: 'web-1', labels: { role: 'web', zone: 'a' } };
const db1 = { name: 'db-1', labels: { role: 'db' } };

describe('targetsHost', () => {
  it('[fleet-targeting] no targeting selects every host; names and labels must all match', () => {
    expect(targetsHost({}, web1)).toBe(true);
    expect(targetsHost({ hosts: ['web-1', 'web-2'] }, web1)).toBe(true);
    expect(targetsHost({ hosts: ['web-2'] }, web1)).toBe(false);
    expect(targetsHost({ hostSelector: { role: 'web' } }, web1)).toBe(true);
    expect(targetsHost({ hostSelector: { role: 'web', zone: 'b' } }, web1)).toBe(false);
    expect(targetsHost({ hosts: ['web-1'], hostSelector: { role: 'db' } }, web1)).toBe(false);
  });
});

describe('selectHost', () => {
  const tasks = [
    task('api', { hostSelector: { role: 'web' }, dependsOn: ['migrate'] }),
    task('migrate', { type: 'job', hosts: ['db-1'] }),
    task('agent'),
  ];

  it('[fleet-targeting] keeps the tasks that target the host and drops dependencies on tasks of other hosts', () => {
    const s = deepFreeze(state(tasks));
    const onWeb = selectHost(s, web1);
    expect(onWeb.tasks.map((t) => t.name)).toEqual(['api', 'agent']);
    expect(onWeb.tasks[0]!.dependsOn).toEqual([]);
    expect(selectHost(s, db1).tasks.map((t) => t.name)).toEqual(['migrate', 'agent']);
    // The input is shared by other renders: never changed.
    expect(s.tasks[0]!.dependsOn).toEqual(['migrate']);
  });

  it('[fleet-targeting] an Environment that does not target the host leaves it no task', () => {
    expect(selectHost(state(tasks, { hostSelector: { role: 'db' } }), web1).tasks).toEqual([]);
    expect(selectHost(state(tasks, { hosts: ['web-1'] }), web1).tasks.map((t) => t.name)).toEqual(['api', 'agent']);
  });

  it('[fleet-targeting] the render carries the Environment\'s targeting and each task\'s', () => {
    const files = [
      parseManifestFile('env.yaml', 'apiVersion: pm2-gitops/v1\nkind: Environment\nmetadata: { name: prod }\nspec:\n  resources: [t.yaml]\n  namespace: prod\n  hostSelector: { role: web }\n'),
      parseManifestFile('t.yaml', 'apiVersion: pm2-gitops/v1\nkind: Task\nmetadata: { name: api }\nspec:\n  hosts: [web-1]\n  process: { script: api.js }\n'),
    ];
    const r = render({ files, environment: 'prod' });
    expect(r.diagnostics).toEqual([]);
    expect(r.state!.hostSelector).toEqual({ role: 'web' });
    expect(r.state!.tasks[0]!.hosts).toEqual(['web-1']);
    expect(selectHost(r.state!, web1).tasks).toHaveLength(1);
    expect(selectHost(r.state!, { name: 'web-2', labels: { role: 'web' } }).tasks).toHaveLength(0);
  });
});

describe('parseHostLabels', () => {
  it('[fleet-targeting] reads KEY=VALUE and names a malformed flag by its position, never its text', () => {
    expect(parseHostLabels(['role=web', 'zone=eu-1', 'empty='])).toEqual({ labels: { role: 'web', zone: 'eu-1', empty: '' }, problems: [] });
    const bad = parseHostLabels(['role=web', 's3cr3t']);
    expect(bad.problems).toEqual(['--host-label #2: expected KEY=VALUE, e.g. role=web']);
  });
});
