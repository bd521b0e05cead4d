/**
 * Suspension records (pure): `suspensions/<env>.json` on the status branch
 * says whether an environment is suspended, who said so and when. The
 * status branch is where every host's controller and every operator's CLI
 * meet, and its history is the audit trail of who suspended and resumed what.
 */

export const SUSPENSIONS_DIR = 'suspensions';

/** One environment's suspension, as last set by `suspend`/`resume` (CLI or API). */
export interface Suspension {
  environment: string;
  suspended: boolean;
  /** Who: the OS user@host, `--by NAME`, or the API token's subject. */
  by: string;
  /** ISO time it was set. */
  at: string;
  reason?: string;
}

/** The record's path on the status branch. */
export function suspensionPath(environment: string): string {
  return `${SUSPENSIONS_DIR}/${environment}.json`;
}

/** The record as committed. */
export function serializeSuspension(s: Suspension): string {
  const { environment, suspended, by, at, reason } = s;
  return `${JSON.stringify({ environment, suspended, by, at, ...(reason ? { reason } : {}) }, null, 2)}\n`;
}

/** Reads a record; undefined when it is not one (a file that cannot be read suspends nothing, and is logged by the caller). */
export function parseSuspension(text: string, environment: string): Suspension | undefined {
  let v: Partial<Suspension>;
  try {
    v = JSON.parse(text) as Partial<Suspension>;
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object' || v.environment !== environment || typeof v.suspended !== 'boolean' || typeof v.by !== 'string' || typeof v.at !== 'string') return undefined;
  return { environment, suspended: v.suspended, by: v.by, at: v.at, ...(typeof v.reason === 'string' && v.reason ? { reason: v.reason } : {}) };
}

/** The status file's line about a suspension. */
export function suspensionText(s: Pick<Suspension, 'by' | 'at' | 'reason'>): string {
  return `suspended by ${s.by} at ${s.at}${s.reason ? ` (${s.reason})` : ''}`;
}
