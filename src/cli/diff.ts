import { reconcileOnce } from '../reconcile.js';
import { COLOR, formatDrifts, PLAIN } from './format.js';
import type { CliIo, SourceOptions } from './io.js';
import { openSession } from './session.js';

/** `pm2-gitops diff`: per-task differences against live PM2; exit 1 when anything differs. */
export async function diffCommand(opts: SourceOptions, io: CliIo): Promise<number> {
  const s = await openSession(opts);
  try {
    const result = await reconcileOnce({ state: s.state, repoDir: s.repoDir, revision: s.revision, apply: false, delivery: s.delivery }, { pm2: s.pm2, logger: s.logger });
    const differs = result.drifts.some((d) => d.kind !== 'in-sync' || d.unhealthy.length > 0);
    if (opts.json) io.out(`${JSON.stringify({ environment: result.environment, namespace: result.namespace, revision: result.revision, differs, drifts: result.drifts }, null, 2)}\n`);
    else io.out(formatDrifts(result.drifts, io.isTty ? COLOR : PLAIN));
    return differs ? 1 : 0;
  } finally {
    await s.close();
  }
}
