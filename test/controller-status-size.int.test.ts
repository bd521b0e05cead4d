/**
 * A commit with thousands of problems: the status file and the evidence
 * report stay small, their lists cut with how many were left out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';

const STATUS = 'pm2-gitops/status';

/** FILES files of TASKS_PER_FILE tasks, each task with two problems (instances of the wrong type, an unknown option). */
const FILES = 5;
const TASKS_PER_FILE = 1000;
const PROBLEMS = 2 * FILES * TASKS_PER_FILE;

function brokenTasks(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let f = 0; f < FILES; f++) {
    const docs: string[] = [];
    for (let i = 0; i < TASKS_PER_FILE; i++) {
      docs.push(`apiVersion: pm2-gitops/v1
kind: Task
metadata: { name: task-${f}-${i} }
spec:
  process: { script: apps/idle.cjs, instances: lots, max_memory_restar: 1 }
`);
    }
    files[`base/tasks-${f}.yaml`] = docs.join('---\n');
  }
  return files;
}

describe('the size of a status file', () => {
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let ctl: RunningController;
  let head = '';
  const statusText = (): string => git(repo.remote, ['show', `${STATUS}:status/dev.md`]);
  const waitFor = controllerWait(() => ctl, () => statusText().slice(0, 4000));

  beforeAll(() => {
    pm2 = isolatedPm2();
    repo = gitFixture();
    head = repo.commit('thousands of broken tasks', {
      'apps/idle.cjs': 'setInterval(() => {}, 60_000);\n',
      ...brokenTasks(),
      'environments/dev/environment.yaml': 'apiVersion: pm2-gitops/v1\nkind: Environment\nmetadata: { name: dev }\nspec:\n  resources: [../../base]\n  namespace: ctl-size\n',
    });
    ctl = startController({ repo: repo.remote, env: pm2.env, args: ['--env', 'dev'] });
  });

  afterAll(async () => {
    if (ctl.child.exitCode === null) await ctl.stop();
    await pm2.kill();
    repo.cleanup();
  });

  it('[status-size] a status with thousands of problems is capped at 256 KiB, and so is its evidence', async () => {
    await waitFor('the invalid status', () => { try { const s = statusText(); return s.includes(head) && s.includes('**invalid manifests**'); } catch { return false; } }, 60_000);
    const size = Number(git(repo.remote, ['cat-file', '-s', `${STATUS}:status/dev.md`]));
    expect(size).toBeLessThanOrEqual(256 * 1024);
    const text = statusText();
    const shown = text.split('\n').filter((l) => l.startsWith('- base/tasks-')).length;
    const more = Number(/- … and (\d+) more problems/.exec(text)?.[1]);
    expect(shown).toBeGreaterThanOrEqual(100);
    expect(shown + more).toBe(PROBLEMS);

    const [name] = git(repo.remote, ['ls-tree', '--name-only', `${STATUS}:evidence/dev`]).split('\n');
    expect(Number(git(repo.remote, ['cat-file', '-s', `${STATUS}:evidence/dev/${name}`]))).toBeLessThanOrEqual(256 * 1024);
    const report = JSON.parse(git(repo.remote, ['show', `${STATUS}:evidence/dev/${name}`])) as { problems: string[] };
    // The render lists its first 100 problems and counts the rest; status and evidence keep that count.
    expect(report.problems).toHaveLength(101);
    expect(report.problems[100]).toBe(`… and ${PROBLEMS - 100} more problems`);
  });
});
