/**
 * Render on hostile or mistaken input: environments that select nothing or too
 * much, unbounded instances, many patches and many problems. Every case ends
 * with a bounded report; sizes are asserted, never times.
 */
import { describe, expect, it } from 'vitest';
import { DIAGNOSTIC_LIMIT, formatDiagnostic } from '../domain/diagnostic.js';
import { ValidationError } from '../domain/errors.js';
import type { DesiredState } from '../domain/manifest.js';
import { parseManifestFile, type ParsedFile } from '../manifest/parse.js';
import { MAX_TASKS, render, type RenderInput, type RenderResult } from './render.js';

/** A file of plain documents, without YAML (thousands of tasks parse slowly; render is what is measured here). */
function fileOf(file: string, values: unknown[], locate?: () => { line: number; column: number }): ParsedFile {
  return { file, diagnostics: [], documents: values.map((value, index) => ({ file, index, value, locate: locate ?? (() => ({ line: index + 1, column: 1 })) })) };
}

function taskDoc(name: string, spec: Record<string, unknown> = {}, process: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'pm2-gitops/v1', kind: 'Task', metadata: { name, labels: { tier: 'web' } }, spec: { ...spec, process: { script: 'sleep', args: '1000', ...process } } };
}

function envDoc(spec: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'pm2-gitops/v1', kind: 'Environment', metadata: { name: 'dev' }, spec: { resources: ['../base'], namespace: 'dev', ...spec } };
}

function input(tasks: unknown[], env: Record<string, unknown> = envDoc(), over: Partial<RenderInput> = {}): RenderInput {
  return { files: [fileOf('base/tasks.yaml', tasks), fileOf('environments/dev.yaml', [env])], environment: 'dev', fileExists: () => true, cpus: 2, ...over };
}

/** The report the CLI prints for a failed render, as loadDesiredState builds it. */
function report(result: RenderResult): string {
  const count = result.diagnostics.length + (result.omitted ?? 0);
  return new ValidationError(`environment dev is invalid: ${count} problems`, result.diagnostics, { omitted: result.omitted ?? 0 }).message;
}

function rendered(result: RenderResult): DesiredState {
  expect(result.diagnostics.map(formatDiagnostic)).toEqual([]);
  return result.state!;
}

describe('an environment that selects no task', () => {
  it('[empty-environment] listing only its own file is invalid, at /spec/resources of the environment file', () => {
    const files = [fileOf('environments/prod.yaml', [envDoc({ resources: ['prod.yaml'] })]), fileOf('base/api.yaml', [taskDoc('api')])];
    const result = render({ files, environment: 'dev' });
    expect(result.state).toBeUndefined();
    expect(result.diagnostics.map((d) => [d.file, d.pointer])).toEqual([['environments/prod.yaml', '/spec/resources']]);
    expect(result.diagnostics[0]!.message).toContain('selects no Task manifest');
  });

  it('[empty-environment] a folder of Environment files only is invalid too', () => {
    const other = { ...envDoc(), metadata: { name: 'other' } };
    const files = [fileOf('environments/dev.yaml', [envDoc({ resources: ['.'] })]), fileOf('environments/other.yaml', [other])];
    const result = render({ files, environment: 'dev' });
    expect(result.state).toBeUndefined();
    expect(result.diagnostics.map((d) => [d.file, d.pointer])).toEqual([['environments/dev.yaml', '/spec/resources']]);
  });
});

describe('instances', () => {
  it('[instances-bound] more than 4 × CPUs is invalid, naming the limit and how to raise it', () => {
    for (const instances of [100_000, 1e308]) {
      const result = render(input([taskDoc('api', {}, { instances })]));
      expect(result.state).toBeUndefined();
      expect(result.diagnostics.map((d) => d.pointer)).toEqual(['/spec/process/instances']);
      expect(result.diagnostics[0]!.message).toMatch(/exceed the limit of 8 \(4 × 2 CPUs\); lower it, or raise the limit with --max-instances N$/);
    }
  });

  it('[instances-bound] the operator may raise the limit; "max", 0 and the limit itself stay valid', () => {
    expect(rendered(render(input([taskDoc('api', {}, { instances: 100_000 })], envDoc(), { maxInstances: 100_000 }))).tasks[0]!.process.instances).toBe(100_000);
    expect(render(input([taskDoc('api', {}, { instances: 100_001 })], envDoc(), { maxInstances: 100_000 })).diagnostics[0]!.message).toContain('limit of 100000 (set with --max-instances)');
    for (const instances of ['max', 0, 8]) rendered(render(input([taskDoc('api', {}, { instances })])));
  });
});

describe('many tasks', () => {
  it(`[task-limit] an environment of more than ${MAX_TASKS} tasks is one problem at its resources`, () => {
    const tasks = Array.from({ length: MAX_TASKS + 1 }, (_, i) => taskDoc(`t${i}`));
    const result = render(input(tasks));
    expect(result.state).toBeUndefined();
    expect(result.diagnostics.map((d) => [d.file, d.pointer, d.message])).toEqual([
      ['environments/dev.yaml', '/spec/resources', `environment dev selects ${MAX_TASKS + 1} tasks; an environment holds at most ${MAX_TASKS}: split it into several environments`],
    ]);
    expect(rendered(render(input(tasks.slice(0, MAX_TASKS)))).tasks).toHaveLength(MAX_TASKS);
  });

  it('[dangling-dependencies] 5,000 dependencies on missing tasks: the first 100 problems, each short, and a count of the rest', () => {
    const tasks = Array.from({ length: 5_000 }, (_, i) => taskDoc(`t${String(i).padStart(4, '0')}`, { dependsOn: [`ghost${i}`] }));
    const result = render(input(tasks));
    expect(result.diagnostics).toHaveLength(DIAGNOSTIC_LIMIT);
    expect(result.omitted).toBe(5_000 - DIAGNOSTIC_LIMIT);
    expect(result.diagnostics[0]!.message).toBe('depends on "ghost0", which is not a task of environment dev; expected one of: t0000, t0001, t0002, t0003, t0004, t0005, t0006, t0007, t0008, t0009, …');
    const text = report(result);
    expect(text.split('\n')).toHaveLength(1 + DIAGNOSTIC_LIMIT + 1);
    expect(text.endsWith(`  … and ${5_000 - DIAGNOSTIC_LIMIT} more problems`)).toBe(true);
    expect(text.length).toBeLessThan(30_000);
  });
});

describe('many patches and many problems', () => {
  // 20,000: patched copy by copy (quadratic), these took minutes, well past the test timeout.
  it('[many-merge-patches] 20,000 merge patches on one task all apply, in order', () => {
    const patches = Array.from({ length: 20_000 }, (_, i) => ({ target: { name: 'api' }, merge: { spec: { process: { env: { [`K${i}`]: `v${i}`, LAST: String(i) } } } } }));
    const state = rendered(render(input([taskDoc('api'), taskDoc('web')], envDoc({ patches }))));
    const env = state.tasks.find((t) => t.name === 'api')!.process.env!;
    expect(Object.keys(env)).toHaveLength(20_001);
    expect(env.LAST).toBe('19999');
    expect(state.tasks.find((t) => t.name === 'web')!.process.env).toBeUndefined();
  });

  it('[many-merge-patches] 10,000 merge patches, one per task, and as many that make their task invalid: a bounded report', () => {
    const tasks = Array.from({ length: 10_000 }, (_, i) => taskDoc(`t${i}`));
    const ok = Array.from({ length: 10_000 }, (_, i) => ({ target: { name: `t${i}` }, merge: { spec: { process: { instances: 1 } } } }));
    expect(rendered(render(input(tasks, envDoc({ patches: ok })))).tasks.every((t) => t.process.instances === 1)).toBe(true);
    const bad = Array.from({ length: 10_000 }, (_, i) => ({ target: { name: `t${i}` }, merge: { spec: { process: { instances: 'many' } } } }));
    const result = render(input(tasks, envDoc({ patches: bad })));
    expect(result.diagnostics).toHaveLength(DIAGNOSTIC_LIMIT);
    expect(result.omitted).toBe(10_000 - DIAGNOSTIC_LIMIT);
    expect(report(result).length).toBeLessThan(30_000);
  });

  it('[many-invalid-env] 100,000 invalid env values: 100 problems listed, the rest counted, only those listed located', () => {
    const env: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) env[`K${i}`] = { nested: i };
    let located = 0;
    const files = [
      fileOf('base/api.yaml', [taskDoc('api', {}, { env })], () => { located++; return { line: 1, column: 1 }; }),
      fileOf('environments/dev.yaml', [envDoc()]),
    ];
    const result = render({ files, environment: 'dev' });
    expect(result.state).toBeUndefined();
    expect(result.diagnostics).toHaveLength(DIAGNOSTIC_LIMIT);
    expect(result.omitted).toBe(100_000 - DIAGNOSTIC_LIMIT);
    expect(result.diagnostics[0]).toMatchObject({ pointer: '/spec/process/env/K0', message: 'must be string or number or boolean, got a map' });
    expect(report(result).length).toBeLessThan(20_000);
    expect(located).toBeLessThanOrEqual(2 * DIAGNOSTIC_LIMIT);
  });
});

describe('patches and task names', () => {
  const API = 'apiVersion: pm2-gitops/v1\nkind: Task\nmetadata: { name: api }\nspec:\n  process: { script: apps/api.js, env: { PORT: "3000" } }\n';
  const files = (patches: string, exists: (p: string) => boolean = () => true): RenderInput => ({
    files: [
      parseManifestFile('base/api.yaml', API),
      parseManifestFile('environments/dev.yaml', `apiVersion: pm2-gitops/v1\nkind: Environment\nmetadata: { name: dev }\nspec:\n  resources: [../base]\n  namespace: dev\n  patches:\n${patches}`),
    ],
    environment: 'dev',
    fileExists: exists,
    cpus: 2,
  });

  it('[patch-renames] patches select a task by its original name, also after a patch renamed it', () => {
    const state = rendered(render(files(`    - target: { name: api }
      patch: [{ op: replace, path: /metadata/name, value: api-v2 }]
    - target: { name: api }
      merge: { spec: { process: { env: { REGION: eu } } } }
`)));
    expect(state.tasks.map((t) => [t.name, t.process.env])).toEqual([['api-v2', { PORT: '3000', REGION: 'eu' }]]);
    const byNewName = render(files(`    - target: { name: api }
      patch: [{ op: replace, path: /metadata/name, value: api-v2 }]
    - target: { name: api-v2 }
      merge: { spec: { process: { instances: 2 } } }
`));
    expect(byNewName.diagnostics.map((d) => [d.file, d.line, d.pointer, d.message])).toEqual([
      ['environments/dev.yaml', 10, '/spec/patches/1/target', 'patch target { name "api-v2" } matches no task of this environment'],
    ]);
  });

  it('[patch-blame] a script path, an invalid value and too many instances from a patch are reported at the patch', () => {
    const result = render(files(`    - target: { name: api }
      patch:
        - { op: replace, path: /spec/process/script, value: apps/gone.js }
        - { op: add, path: /spec/process/instances, value: 64 }
    - target: { name: api }
      merge: { spec: { process: { max_memory_restart: lots } } }
`, (p) => p !== 'apps/gone.js'));
    expect(result.diagnostics.map((d) => [d.file, d.line, d.pointer])).toEqual([
      ['environments/dev.yaml', 13, '/spec/patches/1/merge/spec/process/max_memory_restart'],
    ]);
    expect(result.diagnostics[0]!.message).toBe('patch makes task api (base/api.yaml) invalid at /spec/process/max_memory_restart: must be bytes (an integer) or a string like "300M", "1G", "512K"');
    // Once that value is valid, the rules find the other two, at the operations that wrote them.
    const rules = render(files(`    - target: { name: api }
      patch:
        - { op: replace, path: /spec/process/script, value: apps/gone.js }
        - { op: add, path: /spec/process/instances, value: 64 }
`, (p) => p !== 'apps/gone.js'));
    expect(rules.diagnostics.map((d) => [d.file, d.line, d.pointer, d.message])).toEqual([
      ['environments/dev.yaml', 10, '/spec/patches/0/patch/0/value', 'patch makes task api (base/api.yaml) invalid at /spec/process/script: script "apps/gone.js" does not exist in the repository (looked for apps/gone.js)'],
      ['environments/dev.yaml', 11, '/spec/patches/0/patch/1/value', 'patch makes task api (base/api.yaml) invalid at /spec/process/instances: 64 instances exceed the limit of 8 (4 × 2 CPUs); lower it, or raise the limit with --max-instances N'],
    ]);
  });
});
