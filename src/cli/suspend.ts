/**
 * `pm2-gitops suspend --env E` / `resume --env E`: commits a suspension
 * record to the status branch of the manifest repository (DESIGN section 7).
 * Every controller of the repository, on every host, reads it at its next
 * pass: a suspended environment is observed and reported, never changed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { UnreachableError, ValidationError } from '../domain/errors.js';
import { STATUS_BRANCH, StatusRepo } from '../report/status-repo.js';
import type { Suspension } from '../report/suspension.js';
import { isLocalRepo } from '../source/git-source.js';
import { writeSuspensions } from '../controller/suspensions.js';
import type { CliIo } from './io.js';

export interface SuspendOptions {
  repo: string;
  env?: string;
  /** Who suspends (default: the OS user@host). */
  by?: string;
  reason?: string;
  json?: boolean;
}

/** The OS user@host, or just the host when the user cannot be told. */
function osUser(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `unknown@${hostname()}`;
  }
}

async function setSuspension(opts: SuspendOptions, io: CliIo, suspended: boolean): Promise<number> {
  const env = opts.env;
  if (!env) throw new ValidationError(`--env is required: the environment to ${suspended ? 'suspend' : 'resume'}`);
  if (!/^[a-z0-9][a-z0-9-]*$/.test(env)) throw new ValidationError(`--env: expected an environment name ([a-z0-9][a-z0-9-]*), got a name of ${env.length} characters`);
  const by = (opts.by ?? osUser()).trim();
  if (!by || /[\n\r]/.test(by)) throw new ValidationError('--by: expected a name on one line');
  const url = isLocalRepo(opts.repo) ? resolve(opts.repo) : opts.repo;
  const dir = mkdtempSync(join(tmpdir(), 'pm2-gitops-suspend-'));
  try {
    const status = await StatusRepo.open({ url, dir, author: { name: by, email: `pm2-gitops@${hostname()}` } });
    const record: Suspension = { environment: env, suspended, by, at: new Date().toISOString(), ...(opts.reason ? { reason: opts.reason } : {}) };
    if (!(await writeSuspensions(status, [record]))) throw new UnreachableError(`cannot push ${STATUS_BRANCH} to ${opts.repo}: the ${suspended ? 'suspension' : 'resume'} was not recorded`);
    const reported = status.read(`status/${env}.md`) !== undefined;
    if (opts.json) {
      io.out(`${JSON.stringify({ ...record, branch: STATUS_BRANCH, reported }, null, 2)}\n`);
      return 0;
    }
    io.out(`${env}: ${suspended ? 'suspended' : 'resumed'} by ${by} at ${record.at} (recorded on ${STATUS_BRANCH})\n`);
    io.out(suspended
      ? 'controllers see it at their next fetch (run --interval): they observe and report the environment and change nothing until it is resumed\n'
      : 'controllers see it at their next fetch (run --interval) and reconcile the environment again\n');
    if (!reported) io.err(`pm2-gitops: note: no controller has reported environment ${env} on ${STATUS_BRANCH} yet\n`);
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `pm2-gitops suspend`. */
export function suspendCommand(opts: SuspendOptions, io: CliIo): Promise<number> {
  return setSuspension(opts, io, true);
}

/** `pm2-gitops resume`. */
export function resumeCommand(opts: SuspendOptions, io: CliIo): Promise<number> {
  return setSuspension(opts, io, false);
}
