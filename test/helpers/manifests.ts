/**
 * Small manifest repositories in a temp dir, written from plain objects (JSON
 * is valid YAML), for `apply` integration tests.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll } from 'vitest';
import { isolatedPm2, type IsolatedPm2 } from './pm2.js';

/** An HTTP server on PORT that answers with its pid and its whole process.env. */
export const ENV_SERVER_CJS = `const http = require('node:http');
http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ pid: process.pid, env: process.env }));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

/** A process that does nothing and keeps running. */
export const IDLE_CJS = `setInterval(() => {}, 60_000);\nprocess.on('SIGINT', () => process.exit(0));\n`;

/** A job: exits with EXIT_CODE (default 0) after DELAY_MS (default 100). */
export const EXIT_CJS = `setTimeout(() => process.exit(Number(process.env.EXIT_CODE || 0)), Number(process.env.DELAY_MS || 100));\n`;

/** A service that cannot start. */
export const CRASH_CJS = `process.exit(1);\n`;

export interface TaskDef {
  name: string;
  type?: 'service' | 'job';
  dependsOn?: string[];
  health?: Record<string, unknown>;
  /** spec.process; `script` defaults to apps/idle.cjs. */
  process?: Record<string, unknown>;
}

export interface EnvDef {
  name?: string;
  namespace: string;
  prune?: boolean;
  selfHeal?: boolean;
  /** spec.policy.pruneLimit; default: the product's ("50%"). */
  pruneLimit?: number | string;
  env?: Record<string, string>;
}

export interface ManifestRepo {
  dir: string;
  /** Rewrites the whole repository: every task in base/, the one environment, the scripts. */
  write(env: EnvDef, tasks: readonly TaskDef[]): void;
  /** Writes extra files (path → content). */
  files(files: Record<string, string>): void;
  cleanup(): void;
}

function taskDoc(t: TaskDef): Record<string, unknown> {
  return {
    apiVersion: 'pm2-gitops/v1',
    kind: 'Task',
    metadata: { name: t.name },
    spec: {
      type: t.type ?? 'service',
      ...(t.dependsOn?.length ? { dependsOn: t.dependsOn } : {}),
      health: t.health ?? { minUptimeSeconds: 0.3, timeoutSeconds: 20 },
      process: { script: 'apps/idle.cjs', ...(t.process ?? {}) },
    },
  };
}

function envDoc(e: EnvDef): Record<string, unknown> {
  return {
    apiVersion: 'pm2-gitops/v1',
    kind: 'Environment',
    metadata: { name: e.name ?? 'dev' },
    spec: {
      resources: ['../../base'],
      namespace: e.namespace,
      ...(e.env ? { env: e.env } : {}),
      policy: { prune: e.prune ?? true, selfHeal: e.selfHeal ?? true, ...(e.pruneLimit !== undefined ? { pruneLimit: e.pruneLimit } : {}) },
    },
  };
}

/** A manifest repository (not a git repository) in a fresh temp dir. */
export function manifestRepo(prefix = 'pm2gt-manifests-'): ManifestRepo {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const put = (path: string, content: string): void => {
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  };
  const repo: ManifestRepo = {
    dir,
    write(env, tasks) {
      rmSync(join(dir, 'base'), { recursive: true, force: true });
      rmSync(join(dir, 'environments'), { recursive: true, force: true });
      repo.files({ 'apps/env-server.cjs': ENV_SERVER_CJS, 'apps/idle.cjs': IDLE_CJS, 'apps/exit.cjs': EXIT_CJS, 'apps/crash.cjs': CRASH_CJS });
      for (const t of tasks) put(`base/${t.name}.yaml`, `${JSON.stringify(taskDoc(t), null, 2)}\n`);
      put(`environments/${env.name ?? 'dev'}/environment.yaml`, `${JSON.stringify(envDoc(env), null, 2)}\n`);
    },
    files(files) {
      for (const [path, content] of Object.entries(files)) put(path, content);
    },
    cleanup() { rmSync(dir, { recursive: true, force: true }); },
  };
  return repo;
}

/** One entry of `apply --json`'s actions. */
export interface ApplyAction {
  task: string;
  action: string;
  reason: string;
  result: 'ok' | 'failed' | 'skipped';
  message?: string;
  startedAt: string;
  durationMs: number;
}

/** The document `apply --json` prints. */
export interface ApplyReport {
  environment: string;
  namespace: string;
  revision: string;
  converged: boolean;
  actions: ApplyAction[];
  holds: Array<{ task: string; reason: string; blocking: boolean }>;
  inSync: string[];
}

/** Parses `apply --json` (or `plan --json`) stdout, with the output in the error when it is not JSON. */
export function parseReport<T = ApplyReport>(stdout: string, stderr = ''): T {
  try {
    return JSON.parse(stdout) as T;
  } catch {
    throw new Error(`not a JSON report:\n${stdout}\n--- stderr ---\n${stderr}`);
  }
}

/**
 * An isolated PM2 daemon (started on first use) and an empty manifest
 * repository for one describe block; both are removed after its tests.
 */
export function pm2AndRepo(): { pm2: IsolatedPm2; repo: ManifestRepo } {
  const pm2 = isolatedPm2();
  const repo = manifestRepo();
  afterAll(async () => {
    await pm2.kill();
    repo.cleanup();
  });
  return { pm2, repo };
}
