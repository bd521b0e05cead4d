import { join, resolve } from 'node:path';
import { workingTreeRevision } from '../adapters/git.js';
import { createLogger, type Logger } from '../adapters/logger.js';
import { Pm2Client, pm2Home } from '../adapters/pm2.js';
import { codeTaskOf } from '../delivery/deliver.js';
import { readWorkingTreeCode } from '../delivery/read-code.js';
import type { DeliveryInput } from '../reconcile.js';
import { ValidationError } from '../domain/errors.js';
import type { DesiredState } from '../domain/manifest.js';
import { loadDesiredState, manifestFilePaths } from '../manifest/load.js';
import { pickEnvironment } from './environment.js';
import type { SourceOptions } from './io.js';
import { renderOptions } from './render-options.js';

export interface Session {
  state: DesiredState;
  repoDir: string;
  revision: string;
  pm2: Pm2Client;
  logger: Logger;
  /** How the working tree's code is delivered: the build store and its code now. */
  delivery: DeliveryInput;
  close(): Promise<void>;
}

/** The default state dir: it belongs to the PM2 daemon it manages. */
export function defaultStateDir(): string {
  return join(pm2Home(), 'pm2-gitops');
}

/** Renders the environment of a working tree and connects to PM2 (only after the manifests validated). */
export async function openSession(opts: SourceOptions & { stateDir?: string; keepBuilds?: string }): Promise<Session> {
  const env = pickEnvironment(opts);
  const repoDir = resolve(opts.repo);
  const source = { repoRoot: repoDir, path: opts.path };
  const state = loadDesiredState(source, env, renderOptions(opts));
  const revision = await workingTreeRevision(repoDir, opts.path ?? '.', state);
  const stateDir = resolve(opts.stateDir ?? defaultStateDir());
  const snapshot = await readWorkingTreeCode({ dir: repoDir, stateDir, tasks: state.tasks.map(codeTaskOf), manifestFiles: manifestFilePaths(source) });
  const delivery: DeliveryInput = { stateDir, snapshot, keepBuilds: keepBuilds(opts.keepBuilds), retryFailed: true };
  const logger = createLogger();
  const pm2 = await Pm2Client.connect();
  return { state, repoDir, revision, pm2, logger, delivery, close: () => pm2.disconnect() };
}

/** `--keep-builds N`: a whole number of at least 1; throws ValidationError (exit 2) otherwise. */
export function keepBuilds(flag: string | undefined): number | undefined {
  if (flag === undefined) return undefined;
  const n = Number(flag);
  if (!/^\d+$/.test(flag) || !Number.isSafeInteger(n) || n < 1) throw new ValidationError(`--keep-builds: expected a whole number of at least 1 (got ${flag.length} characters)`);
  return n;
}
