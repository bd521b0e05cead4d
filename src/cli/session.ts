import { resolve } from 'node:path';
import { workingTreeRevision } from '../adapters/git.js';
import { createLogger, type Logger } from '../adapters/logger.js';
import { Pm2Client } from '../adapters/pm2.js';
import type { DesiredState } from '../domain/manifest.js';
import { loadDesiredState } from '../manifest/load.js';
import { pickEnvironment } from './environment.js';
import type { SourceOptions } from './io.js';
import { renderOptions } from './render-options.js';

export interface Session {
  state: DesiredState;
  repoDir: string;
  revision: string;
  pm2: Pm2Client;
  logger: Logger;
  close(): Promise<void>;
}

/** Renders the environment of a working tree and connects to PM2 (only after the manifests validated). */
export async function openSession(opts: SourceOptions): Promise<Session> {
  const env = pickEnvironment(opts);
  const repoDir = resolve(opts.repo);
  const state = loadDesiredState({ repoRoot: repoDir, path: opts.path }, env, renderOptions(opts));
  const revision = await workingTreeRevision(repoDir, opts.path ?? '.', state);
  const logger = createLogger();
  const pm2 = await Pm2Client.connect();
  return { state, repoDir, revision, pm2, logger, close: () => pm2.disconnect() };
}
