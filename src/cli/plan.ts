import { reconcileOnce } from '../reconcile.js';
import { COLOR, formatPlan, PLAIN } from './format.js';
import type { CliIo, SourceOptions } from './io.js';
import { openSession } from './session.js';

/** `pm2-gitops plan`: the ordered actions apply would take. */
export async function planCommand(opts: SourceOptions, io: CliIo): Promise<number> {
  const s = await openSession(opts);
  try {
    const result = await reconcileOnce({ state: s.state, repoDir: s.repoDir, revision: s.revision, apply: false, delivery: s.delivery }, { pm2: s.pm2, logger: s.logger });
    if (opts.json) io.out(`${JSON.stringify(result.plan, null, 2)}\n`);
    else io.out(formatPlan(result.plan, io.isTty ? COLOR : PLAIN));
    return 0;
  } finally {
    await s.close();
  }
}
