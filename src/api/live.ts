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
  let cached: { at: number; entries: Promise<Pm2Entry[]> } | undefined;
  return async (reports) => {
    if (pm2.lost) return undefined;
    if (!cached || Date.now() - cached.at > cacheMs) cached = { at: Date.now(), entries: pm2.list() };
    let entries: Pm2Entry[];
    try {
      entries = await cached.entries;
    } catch {
      cached = undefined;
      return undefined;
    }
    const out = new Map<string, LiveTask[]>();
    for (const r of reports) {
      if (!r.state) continue;
      out.set(r.environment, normalizeLiveOf(entries, r.state));
    }
    return out;
  };
}
