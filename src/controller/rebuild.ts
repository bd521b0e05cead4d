/**
 * Rebuilds the controller's memory when state.json was unreadable: from the
 * evidence chain on the status branch (what was last applied and converged,
 * what was rolled back, the last action on each task) and, for environments
 * without evidence, from the markers PM2 keeps on every managed process.
 * memoryFromEvidence is pure; rebuildState reads the status clone and PM2.
 */
import type { Logger } from '../adapters/logger.js';
import type { Pm2Client } from '../adapters/pm2.js';
import { MARKER_KEY, type Pm2Entry } from '../domain/live.js';
import { parseMarker } from '../live/normalize.js';
import type { EvidenceReport } from '../report/evidence.js';
import type { StatusRepo } from '../report/status-repo.js';
import { digest } from '../report/canonical.js';
import { reportLayout } from '../report/layout.js';
import type { EnvMemory, StateStore } from './state-store.js';

/** The memory one environment's evidence reports imply (reports of any order; only `host`'s count). */
export function memoryFromEvidence(reports: readonly EvidenceReport[], host: string): EnvMemory {
  const mine = reports.filter((r) => r.host === host).sort((a, b) => b.sequence - a.sequence);
  const memory: EnvMemory = { bad: [] };
  const newest = mine[0];
  if (!newest) return memory;
  const key = `${newest.provenance.revision}:${newest.outcome}`;
  // Reports hold their problems already capped, as the key is computed from (environment.ts reportKey).
  memory.lastReportKey = newest.reason ? `${key}:${newest.reason}:${digest(newest.problems).slice(0, 12)}` : key;
  for (const r of mine) {
    if (!memory.lastGood && r.outcome === 'converged') memory.lastGood = r.provenance.revision;
    if (!memory.lastGood && r.outcome === 'rolled-back' && r.rollback) memory.lastGood = r.rollback.to;
    if (r.rollback && !memory.bad.some((b) => b.revision === r.rollback!.from)) memory.bad.push({ revision: r.rollback.from, reason: r.rollback.reason });
    for (const a of r.actions) {
      memory.lastActions ??= {};
      memory.lastActions[a.task] ??= { action: `${a.action} (${a.result})`, ...(a.message ? { message: a.message } : {}), at: a.startedAt };
    }
  }
  memory.bad.reverse();
  return memory;
}

/** Per environment, the revision of its most recently started managed process. */
export function revisionsFromMarkers(entries: readonly Pm2Entry[]): Map<string, string> {
  const newest = new Map<string, { revision: string; at: number }>();
  for (const e of entries) {
    const marker = parseMarker(e.pm2_env[MARKER_KEY]);
    if (!marker?.environment || !marker.revision) continue;
    const at = Number(e.pm2_env.pm_uptime ?? 0);
    const seen = newest.get(marker.environment);
    if (!seen || at > seen.at) newest.set(marker.environment, { revision: marker.revision, at });
  }
  return new Map([...newest].map(([env, v]) => [env, v.revision]));
}

function readReports(status: StatusRepo, dir: string, logger: Logger): EvidenceReport[] {
  const out: EvidenceReport[] = [];
  for (const name of status.list(dir).filter((n) => n.endsWith('.json'))) {
    try {
      out.push(JSON.parse(status.read(`${dir}/${name}`) ?? '') as EvidenceReport);
    } catch (err) {
      logger.warn({ err, file: `${dir}/${name}` }, 'skipping an unreadable evidence report');
    }
  }
  return out;
}

/**
 * Fills a store whose file was damaged; resolves to the warning every status
 * file of this run shows. PM2 being unreachable only narrows what is rebuilt.
 */
export async function rebuildState(store: StateStore, deps: { status: StatusRepo; pm2: Pm2Client; host: string; fleet?: boolean; logger: Logger }): Promise<string> {
  const { status, pm2, host, logger } = deps;
  const entries = await pm2.list().catch((err: unknown) => {
    logger.warn({ err }, 'cannot read PM2 while rebuilding the state');
    return [] as Pm2Entry[];
  });
  const markers = revisionsFromMarkers(entries);
  const envs = new Set([...status.list('evidence'), ...markers.keys()]);
  const rebuilt: string[] = [];
  for (const env of envs) {
    const memory = memoryFromEvidence(readReports(status, reportLayout(env, deps.fleet ? host : undefined).evidenceDir, logger), host);
    memory.lastGood ??= markers.get(env);
    store.update(env, (m) => Object.assign(m, memory));
    rebuilt.push(`${env}${memory.lastGood ? ` (last good ${memory.lastGood.slice(0, 12)})` : ''}`);
  }
  const when = new Date().toISOString();
  const warning = `state.json could not be read (${store.damaged?.error ?? 'damaged'}) and was rebuilt at ${when} from the status branch and PM2: ${rebuilt.join(', ') || 'nothing to rebuild'}; the damaged file is ${store.damaged?.movedTo ?? '?'}`;
  logger.warn({ environments: rebuilt, movedTo: store.damaged?.movedTo }, warning);
  return warning;
}
