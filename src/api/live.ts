/**
 * Live tasks for the API (I/O: one PM2 list per look, shared by requests that
 * come within `cacheMs`), so that a busy dashboard or scraper costs the
 * daemon one call at a time, not one per request.
 */
import type { Pm2Client } from '../adapters/pm2.js';
import type { EnvironmentReport } from '../controller/observer.js';
import type { LiveTask, Pm2Entry } from '../domain/live.js';
import { normalizeLiveOf } from '../live/normalize.js';

/** A reader of every given environment's live tasks; resolves to undefined when PM2 cannot be read. */
export function liveReader(pm2: Pick<Pm2Client, 'list' | 'lost'>, cacheMs = 500): (reports: readonly EnvironmentReport[]) => Promise<Map<string, LiveTask[]> | undefined> {
  let cached: { at: number; entries: Promise<Pm2Entry[]>; normalized: WeakMap<EnvironmentReport, LiveTask[]> } | undefined;
  return async (reports) => {
    if (pm2.lost) return undefined;
    if (!cached || Date.now() - cached.at > cacheMs) cached = { at: Date.now(), entries: pm2.list(), normalized: new WeakMap() };
    const look = cached;
    let entries: Pm2Entry[];
    try {
      entries = await look.entries;
    } catch {
      if (cached === look) cached = undefined;
      return undefined;
    }
    const out = new Map<string, LiveTask[]>();
    for (const r of reports) {
      if (!r.state) continue;
      // The same list and report give the same array, so that answers made from it can be kept (see server.ts).
      let live = look.normalized.get(r);
      if (!live) look.normalized.set(r, (live = normalizeLiveOf(entries, r.state)));
      out.set(r.environment, live);
    }
    return out;
  };
}
