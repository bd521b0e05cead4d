import { describe, expect, it } from 'vitest';
import type { TaskManifest } from '../domain/manifest.js';
import { parseManifestFile } from '../manifest/parse.js';
import { foldProcess } from '../render/process.js';
import { validateRules, type RuleContext, type TaskOrigin } from './rules.js';

/** A task document as written, and the rendered task made from it (as render does, without patches). */
function origin(file: string, body: string, prefix = ''): TaskOrigin {
  const doc = parseManifestFile(file, `apiVersion: pm2-gitops/v1\nkind: Task\n${body}`).documents[0]!;
  const m = doc.value as TaskManifest;
  const { process } = foldProcess({ cwd: '.', ...m.spec.process });
  return {
    doc,
    task: {
      name: `${prefix}${m.metadata.name}`,
      sourceName: m.metadata.name,
      file,
      type: m.spec.type ?? 'service',
      dependsOn: (m.spec.dependsOn ?? []).map((d) => `${prefix}${d}`).sort(),
      labels: { ...(m.metadata.labels ?? {}) },
      context: { ...(m.metadata.context ?? {}) },
      process,
    },
  };
}

const simple = (name: string, deps: string[] = [], prefix = '') =>
  origin(`base/${name}.yaml`, `metadata: { name: ${name} }\nspec:\n  dependsOn: [${deps.join(', ')}]\n  process: { script: sleep }\n`, prefix);

const envDoc = parseManifestFile('environments/dev.yaml', 'apiVersion: pm2-gitops/v1\nkind: Environment\nmetadata: { name: dev }\n').documents[0]!;

function ctx(over: Partial<RuleContext> = {}): RuleContext {
  return { environment: 'dev', envDoc, requiredContext: [], manifestRoot: '', ...over };
}

describe('validateRules', () => {
  it('accepts a valid set of tasks', () => {
    expect(validateRules([simple('db'), simple('api', ['db']), simple('web', ['api', 'db'])], ctx())).toEqual([]);
  });

  describe('unique names', () => {
    it('reports the second task of a name, at its metadata.name, naming the first file', () => {
      const first = simple('api');
      const second = origin('other/api.yaml', 'metadata:\n  name: api\nspec:\n  process: { script: sleep }\n');
      expect(validateRules([first, second], ctx())).toEqual([{
        file: 'other/api.yaml', line: 4, column: 9, pointer: '/metadata/name', document: 0,
        message: 'duplicate task name "api": already defined in base/api.yaml',
      }]);
    });

    it('compares names after namePrefix', () => {
      const out = validateRules([simple('api', [], 'stg-'), origin('x.yaml', 'metadata: { name: api }\nspec:\n  process: { script: sleep }\n', 'stg-')], ctx());
      expect(out.map((d) => d.message)).toEqual(['duplicate task name "stg-api": already defined in base/api.yaml']);
    });
  });

  describe('dependencies', () => {
    it('reports a dependency on a task that does not exist, at the list entry, with the known tasks', () => {
      const out = validateRules([simple('db'), simple('api', ['db', 'ghost'])], ctx());
      expect(out).toEqual([{
        file: 'base/api.yaml', line: 5, column: 19, pointer: '/spec/dependsOn/1', document: 0,
        message: 'depends on "ghost", which is not a task of environment dev; expected one of: api, db',
      }]);
    });

    it('resolves written dependencies through namePrefix and reports missing ones by their written name', () => {
      expect(validateRules([simple('db', [], 'stg-'), simple('api', ['db'], 'stg-')], ctx())).toEqual([]);
      const out = validateRules([simple('api', ['cache'], 'stg-')], ctx());
      expect(out.map((d) => [d.pointer, d.message])).toEqual([['/spec/dependsOn/0', 'depends on "cache", which is not a task of environment dev; expected one of: api']]);
    });

    it('reports a task that depends on itself', () => {
      const out = validateRules([simple('api', ['api'])], ctx());
      expect(out.map((d) => [d.pointer, d.message])).toEqual([['/spec/dependsOn/0', 'task "api" cannot depend on itself']]);
    });

    it('reports a cycle once, with its path, at the first task of the cycle', () => {
      const out = validateRules([simple('a', ['b']), simple('b', ['c']), simple('c', ['a']), simple('d', ['a'])], ctx());
      expect(out).toEqual([{
        file: 'base/a.yaml', line: 5, column: 15, pointer: '/spec/dependsOn/0', document: 0,
        message: 'dependency cycle: a -> b -> c -> a',
      }]);
    });

    it('reports each separate cycle', () => {
      const out = validateRules([simple('a', ['b']), simple('b', ['a']), simple('x', ['y']), simple('y', ['z']), simple('z', ['x'])], ctx());
      expect(out.map((d) => d.message)).toEqual(['dependency cycle: a -> b -> a', 'dependency cycle: x -> y -> z -> x']);
    });

    it('finds no cycle in a diamond', () => {
      expect(validateRules([simple('a'), simple('b', ['a']), simple('c', ['a']), simple('d', ['b', 'c'])], ctx())).toEqual([]);
    });
  });

  describe('paths', () => {
    const withProcess = (process: string, name = 'api') => origin(`deploy/base/${name}.yaml`, `metadata: { name: ${name} }\nspec:\n  process:\n${process}`);

    it('reports a cwd that leaves the repository', () => {
      const out = validateRules([withProcess('    script: server.js\n    cwd: ../../..\n')], ctx({ manifestRoot: 'deploy' }));
      expect(out).toEqual([{
        file: 'deploy/base/api.yaml', line: 7, column: 10, pointer: '/spec/process/cwd', document: 0,
        message: 'cwd "../../.." leaves the repository; expected a path inside it, or under a folder allowed with --allow-root DIR',
      }]);
    });

    it('reports a script that leaves the repository, at the key it was written under', () => {
      const script = validateRules([withProcess('    script: ../../../etc/evil.sh\n')], ctx({ manifestRoot: 'deploy' }));
      expect(script.map((d) => [d.pointer, d.line, d.message])).toEqual([
        ['/spec/process/script', 6, 'script "../../../etc/evil.sh" leaves the repository (relative to cwd "deploy"); expected a path inside it, or under a folder allowed with --allow-root DIR'],
      ]);
      const exec = validateRules([withProcess('    exec: ../../x.js\n')], ctx({ manifestRoot: '' }));
      expect(exec.map((d) => d.pointer)).toEqual(['/spec/process/exec']);
    });

    it('reports absolute paths outside the repository and rewrites those inside it to relative ones', () => {
      const outside = withProcess('    script: /usr/local/bin/tool.js\n');
      const inside = withProcess('    script: /repo/deploy/apps/server.js\n    cwd: /repo/deploy/apps\n', 'web');
      const out = validateRules([outside, inside], ctx({ manifestRoot: 'deploy', repoRoot: '/repo' }));
      expect(out.map((d) => [d.file, d.pointer])).toEqual([['deploy/base/api.yaml', '/spec/process/script']]);
      expect(inside.task.process.cwd).toBe('deploy/apps');
      expect(inside.task.process.script).toBe('server.js');
    });

    it('resolves cwd from the manifest folder and the script from cwd, and checks that the script exists', () => {
      const looked: string[] = [];
      const fileExists = (p: string) => { looked.push(p); return p === 'deploy/apps/ok.js'; };
      const ok = withProcess('    script: ok.js\n    cwd: apps\n', 'ok');
      const missing = withProcess('    script: gone.js\n    cwd: apps\n', 'gone');
      const out = validateRules([ok, missing], ctx({ manifestRoot: 'deploy', fileExists }));
      expect(ok.task.process.cwd).toBe('deploy/apps');
      expect(out.map((d) => [d.file, d.pointer, d.message])).toEqual([
        ['deploy/base/gone.yaml', '/spec/process/script', 'script "gone.js" does not exist in the repository (looked for deploy/apps/gone.js)'],
      ]);
      expect(looked).toContain('deploy/apps/ok.js');
    });

    it('takes a bare name that is not a file of the repository as a program on PATH', () => {
      expect(validateRules([withProcess('    script: sleep\n    args: ["1"]\n')], ctx({ fileExists: () => false }))).toEqual([]);
    });
  });

  it('reports every context dimension the environment requires and a task lacks', () => {
    const full = origin('base/a.yaml', 'metadata:\n  name: a\n  context: { intent: serve, stakeholders: [web], risk: low }\nspec:\n  process: { script: sleep }\n');
    const partial = origin('base/b.yaml', 'metadata:\n  name: b\n  context: { intent: serve }\nspec:\n  process: { script: sleep }\n');
    const out = validateRules([full, partial], ctx({ requiredContext: ['intent', 'stakeholders', 'risk'] }));
    expect(out.map((d) => [d.file, d.pointer, d.message])).toEqual([
      ['base/b.yaml', '/metadata/context/stakeholders', 'context dimension "stakeholders" is required by environment dev (environments/dev.yaml) but missing'],
      ['base/b.yaml', '/metadata/context/risk', 'context dimension "risk" is required by environment dev (environments/dev.yaml) but missing'],
    ]);
  });

  it('rejects a job that restarts automatically', () => {
    const job = origin('base/j.yaml', 'metadata: { name: j }\nspec:\n  type: job\n  process: { script: sleep, autorestart: true }\n');
    const out = validateRules([job], ctx());
    expect(out.map((d) => [d.pointer, d.message])).toEqual([['/spec/process/autorestart', 'a job runs to completion once per revision; autorestart must be false or absent']]);
  });
});

describe('dependency walks of thousands of tasks', () => {
  /** Tasks t0 … t(n-1), each depending on the next; with `cycle`, the last depends on the first. */
  function chain(n: number, cycle: boolean): TaskOrigin[] {
    return Array.from({ length: n }, (_, i) => {
      const name = `t${i}`;
      const dependsOn = i + 1 < n ? [`t${i + 1}`] : cycle ? ['t0'] : [];
      const doc = { file: `base/${name}.yaml`, index: 0, value: { metadata: { name }, spec: { dependsOn, process: { script: 'sleep' } } }, locate: () => ({ line: 1, column: 1 }) };
      return { doc, task: { name, sourceName: name, file: doc.file, type: 'service', dependsOn, labels: {}, context: {}, process: { script: 'sleep' } } };
    });
  }

  for (const n of [6_000, 20_000]) {
    it(`[deep-dependencies] a chain of ${n} tasks is valid, and a cycle through all of them is one short problem`, () => {
      expect(validateRules(chain(n, false), ctx())).toEqual([]);
      const out = validateRules(chain(n, true), ctx());
      expect(out).toHaveLength(1);
      expect(out[0]!.message).toMatch(/^dependency cycle: t0 -> t1 -> .* -> t0$/);
      expect(out[0]!.message.length).toBeLessThan(200);
    });
  }
});
