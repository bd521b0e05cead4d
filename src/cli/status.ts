import { hostOf } from './render-options.js';
import { reportLayout } from '../report/layout.js';
import { parseStatus } from '../report/status-parse.js';
import { STATUS_BRANCH } from '../report/status-repo.js';
import { openBranch } from '../source/branch-reader.js';
import type { CliIo } from './io.js';

/** `pm2-gitops status`: prints `status/<env>.md` (or every environment's) from the status branch. */
export async function statusCommand(opts: { repo: string; env?: string; host?: string; json?: boolean }, io: CliIo): Promise<number> {
  if (opts.host !== undefined) hostOf({ host: opts.host });
  const branch = await openBranch(opts.repo, STATUS_BRANCH);
  try {
    const envs = opts.env ? [opts.env] : (await branch.list('status')).filter((n) => n.endsWith('.md')).map((n) => n.replace(/\.md$/, ''));
    const statuses: Record<string, string | null> = {};
    for (const env of envs) statuses[env] = (await branch.read(reportLayout(env, opts.host).statusFile)) ?? null;
    if (opts.json) {
      const environments = Object.fromEntries(Object.entries(statuses).map(([env, text]) => [env, text === null ? null : parseStatus(text)]));
      io.out(`${JSON.stringify({ branch: STATUS_BRANCH, found: Boolean(branch.ref), environments, statuses }, null, 2)}\n`);
      return 0;
    }
    if (!envs.length) io.out(`no status yet: ${opts.repo} has no ${branch.ref ? 'status files on' : ''} ${STATUS_BRANCH}${branch.ref ? '' : ' branch'}\n`);
    for (const env of envs) io.out(statuses[env] ?? `no status for environment ${env}${opts.host !== undefined ? ` from host ${opts.host}` : ''} on ${STATUS_BRANCH} yet\n`);
    return 0;
  } finally {
    branch.close();
  }
}
