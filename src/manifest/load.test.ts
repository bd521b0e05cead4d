import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../domain/errors.js';
import type { Diagnostic } from '../domain/diagnostic.js';
import { loadDesiredState, readManifestFiles } from './load.js';

const ENVIRONMENT = `apiVersion: pm2-gitops/v1
kind: Environment
metadata: { name: dev }
spec:
  resources: [../../base]
  namespace: dev
  env: { NODE_ENV: development }
  patches:
    - target: { labels: { tier: web } }
      merge: { spec: { process: { env: { DEBUG: "1" } } } }
`;

const API = `apiVersion: pm2-gitops/v1
kind: Task
metadata:
  name: api
  labels: { tier: web }
  context: { intent: serve the API, stakeholders: [core, sre] }
spec:
  health: { http: { url: "http://127.0.0.1:3000/healthz" }, timeoutSeconds: 5 }
  process: { script: apps/server.js, args: [--port, "3000"], env: { PORT: 3000 } }
`;

const JOB = `apiVersion: pm2-gitops/v1
kind: Task
metadata: { name: migrate, labels: { tier: data } }
spec:
  type: job
  process: { script: apps/migrate.js, args: [--all], node_args: [--max-old-space-size=64] }
`;

let root: string;

function write(path: string, text: string): void {
  const full = join(root, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, text);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pm2gt-load-'));
  write('deploy/environments/dev/environment.yaml', ENVIRONMENT);
  write('deploy/base/api.yaml', API);
  write('deploy/base/migrate.yaml', JOB);
  write('deploy/apps/server.js', '');
  write('deploy/apps/migrate.js', '');
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

const source = () => ({ repoRoot: root, path: 'deploy' });

describe('loadDesiredState', () => {
  it('returns a state that shares nothing with the files kept for the next render', () => {
    const first = loadDesiredState(source(), 'dev');
    const expected = JSON.stringify(first);
    // Change every nested part of the first result, as a caller may.
    for (const task of first.tasks) {
      task.labels.tier = 'changed';
      (task.context.stakeholders as string[] | undefined)?.push('changed');
      if (task.health?.http) task.health.http.url = 'changed';
      (task.process.args as string[]).push('changed');
      (task.process.node_args as string[] | undefined)?.push('changed');
      task.process.env!.PORT = 'changed';
      task.dependsOn.push('changed');
    }
    first.policy.approvals.required = 99;
    const second = loadDesiredState(source(), 'dev');
    expect(JSON.stringify(second)).toBe(expected);
    expect(second.tasks.find((t) => t.name === 'api')!.process.env).toEqual({ DEBUG: '1', NODE_ENV: 'development', PORT: '3000' });
  });

  it('is not affected by changes to the values readManifestFiles hands out', () => {
    const expected = JSON.stringify(loadDesiredState(source(), 'dev'));
    const files = readManifestFiles(source());
    for (const file of files) {
      for (const doc of file.documents) {
        const value = doc.value as { metadata: { name: string; labels?: Record<string, string> }; spec: { process?: { args?: string[] } } };
        expect(Object.isFrozen(value)).toBe(false);
        value.metadata.labels = { tier: 'changed' };
        value.spec.process?.args?.push('changed');
      }
    }
    expect(JSON.stringify(loadDesiredState(source(), 'dev'))).toBe(expected);
  });

  it('reports the same problems on every render of unchanged invalid files, however callers change them', () => {
    write('deploy/base/api.yaml', API.replace('timeoutSeconds: 5', 'timeoutSeconds: soon').replace('script: apps/server.js', 'scirpt: apps/server.js'));
    write('deploy/environments/dev/environment.yaml', `${ENVIRONMENT}    - target: { name: migrate }
      patch: [{ op: replace, path: /spec/process/args, value: 3 }]
`);
    const problems = (): Diagnostic[] => {
      try {
        loadDesiredState(source(), 'dev');
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as ValidationError).diagnostics;
      }
      throw new Error('expected the environment to be invalid');
    };
    const first = problems();
    const expected = JSON.stringify(first);
    expect(first.map((d) => `${d.file}:${d.line} ${d.pointer}`)).toEqual([
      'deploy/base/api.yaml:8 /spec/health/timeoutSeconds',
      'deploy/base/api.yaml:9 /spec/process/scirpt',
      'deploy/base/api.yaml:9 /spec/process/script',
      'deploy/environments/dev/environment.yaml:12 /spec/patches/1/patch/0/value',
    ]);
    for (const d of first) {
      d.message = 'changed';
      d.line = 0;
    }
    expect(JSON.stringify(problems())).toBe(expected);
    // A fix is seen at once: the kept results belong to the text they were found in.
    write('deploy/base/api.yaml', API);
    expect(problems().map((d) => d.pointer)).toEqual(['/spec/patches/1/patch/0/value']);
  });

  it('applies each environment\'s own patches to the shared task documents, and a changed patch at once', () => {
    write('deploy/environments/prod/environment.yaml', ENVIRONMENT.replace('name: dev', 'name: prod').replace('namespace: dev', 'namespace: prod')
      .replace('DEBUG: "1"', 'DEBUG: "0"'));
    const debug = (env: string) => loadDesiredState(source(), env).tasks.find((t) => t.name === 'api')!.process.env!.DEBUG;
    for (let round = 0; round < 2; round++) {
      expect(debug('dev')).toBe('1');
      expect(debug('prod')).toBe('0');
    }
    write('deploy/environments/prod/environment.yaml', ENVIRONMENT.replace('name: dev', 'name: prod').replace('namespace: dev', 'namespace: prod')
      .replace('DEBUG: "1"', 'DEBUG: "2"'));
    expect(debug('prod')).toBe('2');
    expect(debug('dev')).toBe('1');
  });
});
