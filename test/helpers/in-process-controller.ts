/**
 * A controller built in the test's own process (the parts `run` wires, real
 * git and a real PM2 daemon), for tests that need what a child process
 * cannot give: an injected clock, an observer that records every report.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/adapters/logger.js';
import { Pm2Client } from '../../src/adapters/pm2.js';
import { Controller } from '../../src/controller/controller.js';
import type { ControllerObserver, EnvironmentReport } from '../../src/controller/observer.js';
import { StateStore } from '../../src/controller/state-store.js';
import { StatusRepo } from '../../src/report/status-repo.js';
import { GitSource } from '../../src/source/git-source.js';

export interface InProcessController {
  controller: Controller;
  /** Every report, in order. */
  reports: EnvironmentReport[];
  stop(): Promise<void>;
}

/** Starts a controller on `repo` against the daemon of `pm2Home`, reading time from `now`. */
export async function inProcessController(opts: { repo: string; pm2Home: string; environments: string[]; now: () => Date; intervalMs?: number; resyncMs?: number; observer?: ControllerObserver }): Promise<InProcessController> {
  const stateDir = mkdtempSync(join(tmpdir(), 'pm2gt-inproc-'));
  const logger = silentLogger;
  const source = await GitSource.open({ repo: opts.repo, stateDir, logger });
  const status = await StatusRepo.open({ url: opts.repo, dir: join(stateDir, 'status'), author: { name: 'pm2-gitops', email: 'pm2-gitops@test-host' }, logger });
  const pm2 = await Pm2Client.connect({ home: opts.pm2Home });
  const reports: EnvironmentReport[] = [];
  const controller = new Controller({
    source, status, pm2, logger, stateDir, store: new StateStore(stateDir), path: '.', host: 'test-host',
    allowedSigners: [], approvalFloor: {}, deliveryDir: stateDir,
    observer: { ...opts.observer, reported: (r) => { reports.push(r); opts.observer?.reported?.(r); } },
    now: opts.now,
  }, { environments: opts.environments, intervalMs: opts.intervalMs ?? 500, resyncMs: opts.resyncMs ?? 3_600_000 });
  await controller.start();
  return {
    controller,
    reports,
    async stop() {
      await controller.stop();
      await pm2.disconnect();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
