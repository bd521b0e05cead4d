import { describe, expect, it } from 'vitest';
import { validateValue } from './schema.js';

/** Stands for a secret someone pasted into the wrong field. */
const SECRET = 'sk_live_9f8e7d6c5b4a';

const task = (spec: Record<string, unknown>, process: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) => ({
  apiVersion: 'pm2-gitops/v1', kind: 'Task', metadata: { name: 'api', ...metadata }, spec: { ...spec, process: { script: 'sleep', ...process } },
});

describe('schema messages', () => {
  it('[secret-schema] type, enum, const, pattern and format errors name the type and length of the value, never the value', () => {
    const problems = [
      ...validateValue(task({ type: SECRET, dependsOn: SECRET, health: { http: { url: SECRET } } }, { exec_mode: SECRET, autorestart: SECRET, instances: SECRET }, { name: SECRET }), 'Task'),
      ...validateValue({ ...task({}), apiVersion: SECRET }, 'Task'),
      ...validateValue({ apiVersion: 'pm2-gitops/v1', kind: 'Environment', metadata: { name: 'dev' }, spec: { resources: SECRET, namespace: SECRET, policy: { prune: SECRET }, requiredContext: [SECRET] } }, 'Environment'),
    ];
    const text = JSON.stringify(problems);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('sk_live');
    const byPointer = Object.fromEntries(problems.map((p) => [p.pointer, p.message]));
    expect(byPointer['/spec/type']).toBe(`must be one of "service", "job", got a string of ${SECRET.length} characters`);
    expect(byPointer['/spec/dependsOn']).toBe(`must be array, got a string of ${SECRET.length} characters`);
    expect(byPointer['/spec/process/exec_mode']).toMatch(/got a string of 20 characters$/);
    expect(byPointer['/spec/process/autorestart']).toBe('must be boolean, got a string of 20 characters');
    expect(byPointer['/spec/health/http/url']).toMatch(/^must match (format "uri"|pattern "\^https\?:\/\/"), got a string of 20 characters$/);
    expect(byPointer['/spec/resources']).toBe('must be a non-empty list of files or folders of Task manifests, relative to this file');
    expect(byPointer['/spec/policy/prune']).toBe('must be boolean, got a string of 20 characters');
  });

  it('[secret-schema] an enum error suggests the closest allowed value, which is no secret', () => {
    expect(validateValue(task({ type: 'servce' }), 'Task')).toEqual([
      { pointer: '/spec/type', message: 'must be one of "service", "job", got a string of 6 characters; did you mean "service"?' },
    ]);
  });

  it('[secret-env-key] an env name holding "=" is reported at its map, by length: neither pointer nor message holds it', () => {
    const key = `API_TOKEN=${SECRET}`;
    const problems = [
      ...validateValue(task({}, { env: { [key]: 'x', OK: '1' }, env_production: { [key]: 'y' } }), 'Task'),
      ...validateValue({ apiVersion: 'pm2-gitops/v1', kind: 'Environment', metadata: { name: 'dev' }, spec: { resources: ['a'], namespace: 'dev', env: { [key]: 'z' } } }, 'Environment'),
    ];
    expect(JSON.stringify(problems)).not.toContain(SECRET);
    expect(problems).toEqual([
      { pointer: '/spec/process/env', message: `has a variable name of ${key.length} characters that contains "=" or a NUL character; names must not contain either` },
      { pointer: '/spec/process/env_production', message: `has a variable name of ${key.length} characters that contains "=" or a NUL character; names must not contain either` },
      { pointer: '/spec/env', message: `has a variable name of ${key.length} characters that contains "=" or a NUL character; names must not contain either` },
    ]);
  });

  it('[secret-env-key] an unknown field that looks like NAME=value is reported at its parent, by length', () => {
    const problems = validateValue(task({}, { [`TOKEN=${SECRET}`]: 1 }), 'Task');
    expect(JSON.stringify(problems)).not.toContain(SECRET);
    expect(problems.map((p) => p.pointer)).toEqual(['/spec/process']);
    expect(problems[0]!.message).toMatch(/^has an unknown field whose name has 26 characters; expected one of script, exec, /);
  });
});
