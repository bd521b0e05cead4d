import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { homedir, hostname } from 'node:os';
import { writeFileAtomic } from '../adapters/fs.js';
import { createLogger } from '../adapters/logger.js';
import { Pm2Client } from '../adapters/pm2.js';
import { Controller } from '../controller/controller.js';
import { preferSmallHeap } from '../controller/runtime.js';
import { rebuildState } from '../controller/rebuild.js';
import { StateStore } from '../controller/state-store.js';
import { ValidationError } from '../domain/errors.js';
import { generateSigningKey, parsePrivateKey } from '../report/keys.js';
import { StatusRepo } from '../report/status-repo.js';
import { parseAllowedSigners } from '../source/approval.js';
import { GitSource, isLocalRepo } from '../source/git-source.js';
import { parseDuration } from './duration.js';
import type { CliIo } from './io.js';

export interface RunOptions {
  repo: string;
  path: string;
  env: string[];
  branch?: string;
  interval: string;
  resync: string;
  stateDir?: string;
  signingKey?: string;
  allowedSigners?: string;
  requireApprovals: string[];
  host?: string;
  concurrency: string;
}

/** Secrets the controller reads from its environment and removes, so managed processes never inherit them. */
const SECRET_VARS = ['PM2_GITOPS_JWT_SECRET', 'PM2_GITOPS_WEBHOOK_SECRET'];

function approvalFloor(flags: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const flag of flags) {
    const m = /^([a-z0-9][a-z0-9-]*)=(\d+)$/.exec(flag);
    if (!m) throw new ValidationError(`--require-approvals ${JSON.stringify(flag)}: expected ENV=N, e.g. prod=2`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** The evidence signing key: --signing-key, else one kept (and created once) in the state dir. */
function loadKeys(stateDir: string, file: string | undefined): { privateKey: KeyObject; publicKey: KeyObject; file: string } {
  const keyFile = file ? resolve(file) : join(stateDir, 'signing.key');
  if (!file && !existsSync(keyFile)) {
    const pair = generateSigningKey('pm2-gitops');
    // Atomic: a key truncated by a crash would stop every later start.
    writeFileAtomic(join(stateDir, 'signing.pub'), pair.publicText);
    writeFileAtomic(keyFile, pair.privateText, { mode: 0o600 });
  }
  try {
    const privateKey = parsePrivateKey(readFileSync(keyFile, 'utf8'));
    return { privateKey, publicKey: createPublicKey(privateKey), file: keyFile };
  } catch (err) {
    throw new ValidationError(`cannot read the signing key ${keyFile}: ${(err as Error).message}`, [], { cause: err });
  }
}

/** `pm2-gitops run`: the controller loop, until SIGTERM or SIGINT. */
export async function runCommand(opts: RunOptions, io: CliIo): Promise<number> {
  preferSmallHeap();
  for (const name of SECRET_VARS) delete process.env[name];
  const url = isLocalRepo(opts.repo) ? resolve(opts.repo) : opts.repo;
  const root = resolve(opts.stateDir ?? join(homedir(), '.pm2-gitops'));
  const stateDir = join(root, `${basename(url).replace(/\.git$/, '').replace(/[^A-Za-z0-9._-]/g, '-') || 'repo'}-${createHash('sha256').update(`${url}\n${opts.path}`).digest('hex').slice(0, 10)}`);
  mkdirSync(stateDir, { recursive: true });
  const logger = createLogger();
  const host = opts.host ?? hostname();
  const keys = loadKeys(stateDir, opts.signingKey);
  const allowedSigners = opts.allowedSigners ? parseAllowedSigners(readFileSync(resolve(opts.allowedSigners), 'utf8')) : [];
  const source = await GitSource.open({ repo: url, branch: opts.branch, stateDir, logger });
  const status = await StatusRepo.open({
    url,
    dir: join(stateDir, 'status'),
    author: { name: 'pm2-gitops', email: `pm2-gitops@${host}` },
    logger,
    ...(opts.signingKey && readFileSync(keys.file, 'utf8').includes('OPENSSH') ? { signingKeyFile: keys.file } : {}),
  });
  const pm2 = await Pm2Client.connect();
  const store = new StateStore(stateDir);
  const warnings = [...status.repairs];
  if (store.damaged) warnings.push(await rebuildState(store, { status, pm2, host, logger }));
  const controller = new Controller({
    source, status, pm2, logger, stateDir, host, store, warnings,
    path: opts.path,
    allowedSigners,
    ...(opts.allowedSigners ? { allowedSignersFile: resolve(opts.allowedSigners) } : {}),
    approvalFloor: approvalFloor(opts.requireApprovals),
    keys,
    concurrency: Number(opts.concurrency),
    now: () => new Date(),
  }, {
    environments: opts.env,
    intervalMs: parseDuration(opts.interval, '--interval'),
    resyncMs: parseDuration(opts.resync, '--resync'),
  });
  logger.info({ repo: url, branch: source.branch, path: opts.path, stateDir, host }, 'controller starting');
  io.err(`pm2-gitops: following ${url} branch ${source.branch} (state in ${stateDir})\n`);
  const stopped = new Promise<void>((resolveStop) => {
    const stop = (signal: string): void => {
      logger.info({ signal }, 'stopping after the current step');
      // Bounded at every step (Controller.stop waits 6 s at most, a disconnect 1 s), so the process is gone within 10 s.
      void controller.stop().then(() => pm2.disconnect()).finally(() => resolveStop());
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await controller.start();
  await stopped;
  return 0;
}
