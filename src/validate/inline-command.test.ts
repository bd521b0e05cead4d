import { describe, expect, it } from 'vitest';
import type { TaskManifest } from '../domain/manifest.js';
import { parseManifestFile } from '../manifest/parse.js';
import { foldProcess } from '../render/process.js';
import { validateRules, type RuleContext, type TaskOrigin } from './rules.js';

/** A task document under deploy/base and the rendered task made from it (as render does, without patches). */
function task(process: string): TaskOrigin {
  const file = 'deploy/base/web.yaml';
  const doc = parseManifestFile(file, `apiVersion: pm2-gitops/v1\nkind: Task\nmetadata: { name: web }\nspec:\n  process:\n${process}`).documents[0]!;
  const m = doc.value as TaskManifest;
  return {
    doc,
    task: { name: 'web', sourceName: 'web', file, type: 'service', dependsOn: [], labels: {}, context: {}, process: foldProcess({ cwd: '.', ...m.spec.process }).process },
  };
}

const envDoc = parseManifestFile('deploy/environments/dev/environment.yaml', 'apiVersion: pm2-gitops/v1\nkind: Environment\nmetadata: { name: dev }\n').documents[0]!;
const ctx = (files: string[]): RuleContext => ({ environment: 'dev', envDoc, requiredContext: [], manifestRoot: 'deploy', fileExists: (p) => files.includes(p) });

describe('inline commands (a script with a space, run by PM2 through bash -c)', () => {
  it('[import-inline-command] looks for no file named after the command line, in the manifest folder or in cwd', () => {
    expect(validateRules([task('    script: node server.js\n    cwd: ../app\n')], ctx(['app/server.js']))).toEqual([]);
    expect(validateRules([task('    script: npm run start\n')], ctx([]))).toEqual([]);
    // Even when nothing of the command exists: it is bash's to run, as for PM2.
    expect(validateRules([task('    exec: ./bin/start --fast\n')], ctx([]))).toEqual([]);
  });

  it('[import-inline-command] still checks that cwd stays inside the repository', () => {
    const out = validateRules([task('    script: node server.js\n    cwd: ../../..\n')], ctx([]));
    expect(out.map((d) => [d.pointer, d.message])).toEqual([['/spec/process/cwd', 'cwd "../../.." leaves the repository; expected a path inside it, or under a folder allowed with --allow-root DIR']]);
  });

  it('[import-inline-command] refuses args and an interpreter, which PM2 would replace or misuse', () => {
    const out = validateRules([task('    script: node server.js\n    args: [--port, "3000"]\n    interpreter: node\n')], ctx([]));
    expect(out.map((d) => [d.pointer, d.line])).toEqual([['/spec/process/args', 7], ['/spec/process/interpreter', 8]]);
    expect(out[0]!.message).toBe('args never reach an inline command: PM2 runs a script with a space (script "node server.js") as an inline command, through bash -c, in place of the args; write the arguments into the command');
    expect(validateRules([task('    script: node server.js\n    interpreter: none\n')], ctx([]))).toEqual([]);
  });
});
