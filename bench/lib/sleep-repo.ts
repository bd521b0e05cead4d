/** A manifest repository of N sleeping node tasks (one environment, namespace `bench`), as a git working tree. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const SLEEP_CJS = 'setInterval(() => {}, 1 << 30);\n';

export function taskName(i: number): string {
  return `sleep-${String(i).padStart(3, '0')}`;
}

function taskYaml(i: number, greeting: string): string {
  return `apiVersion: pm2-gitops/v1
kind: Task
metadata:
  name: ${taskName(i)}
spec:
  health:
    minUptimeSeconds: 0.2
  process:
    script: apps/sleep.cjs
    env:
      TASK_INDEX: "${i}"
      LOG_LEVEL: info
      REGION: eu-west-1
      GREETING: ${greeting}
`;
}

const ENVIRONMENT = `apiVersion: pm2-gitops/v1
kind: Environment
metadata: { name: bench }
spec:
  resources: [../../base]
  namespace: bench
  policy:
    prune: true
    selfHeal: true
`;

export interface SleepRepo {
  dir: string;
  /** Writes tasks 0..count-1 (files of tasks beyond count are removed first) and commits. */
  setTasks(count: number): void;
  /** Changes the GREETING of one task and commits. */
  setGreeting(i: number, greeting: string): void;
  cleanup(): void;
}

function git(dir: string, args: string[]): void {
  execFileSync('git', args, { cwd: dir, stdio: 'pipe', env: { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid' } });
}

export function sleepRepo(prefix = 'pm2gt-rec-repo-'): SleepRepo {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const write = (rel: string, text: string): void => {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  };
  write('apps/sleep.cjs', SLEEP_CJS);
  write('environments/bench/environment.yaml', ENVIRONMENT);
  git(dir, ['init', '-q', '-b', 'main']);
  return {
    dir,
    setTasks(count) {
      rmSync(join(dir, 'base'), { recursive: true, force: true });
      for (let i = 0; i < count; i++) write(`base/${taskName(i)}.yaml`, taskYaml(i, 'hello'));
      git(dir, ['add', '-A', '.']);
      git(dir, ['commit', '-q', '-m', `${count} tasks`]);
    },
    setGreeting(i, greeting) {
      write(`base/${taskName(i)}.yaml`, taskYaml(i, greeting));
      git(dir, ['commit', '-q', '-am', `greeting of ${taskName(i)}`]);
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
