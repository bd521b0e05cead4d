/**
 * The fleet summary (pure): every host's `status/<env>/<host>.md` → the
 * environment's `status/<env>.md`, for people: which host runs which
 * revision and code, which lag behind the newest revision, which failed,
 * which have not reported for the host timeout (lost), and when each was
 * last seen. With a single host, the summary is that host's full status with
 * the fleet section after it, so a fleet of one reads like a single host.
 */
import { parseStatus, type ParsedStatus } from './status-parse.js';
import { clip, fitLines, STATUS_MAX_BYTES } from './status.js';

/** One host's status file as read from the status branch. */
export interface HostStatusFile { host: string; text: string }

export interface FleetInput {
  environment: string;
  hosts: readonly HostStatusFile[];
  now: Date;
  /** A host whose status is older than this is lost. */
  hostTimeoutMs: number;
}

/** How one host stands in the fleet, worst first. */
export type HostStanding = 'lost' | 'failed' | 'lagging' | 'current';

/** One row of the fleet table. */
export interface FleetHost {
  host: string;
  standing: HostStanding;
  /** The host's own result (converged, failed, rolled back, …). */
  result: string;
  /** The revision the host runs, when one runs. */
  running?: string;
  /** The revision the host last saw at the tip. */
  revision?: string;
  /** Short code digests its tasks run, by task. */
  code: Array<{ task: string; digest: string }>;
  lastSeen?: string;
  /** Where the rollout stands for the host (its status file's `rollout` line), when the environment has one. */
  rollout?: string;
}

export interface Fleet {
  environment: string;
  /** The revision of the host that reported last (among hosts not lost). */
  newest?: string;
  hosts: FleetHost[];
}

const SHA = /\b[0-9a-f]{40}\b/;
const STANDING_TEXT: Record<HostStanding, string> = {
  lost: '**lost** (no status within the host timeout)',
  failed: '**failed**',
  lagging: '**lagging** (behind the newest revision)',
  current: 'up to date',
};

/** The line that marks a status file as a fleet summary. */
export const FLEET_HEADING = '## Fleet';

function rowOf(host: string, s: ParsedStatus): Omit<FleetHost, 'standing'> {
  const running = /^[0-9a-f]{40}$/.test(s.fields.running ?? '') ? s.fields.running : undefined;
  const revision = SHA.exec(s.fields.revision ?? '')?.[0];
  const code = s.tasks.flatMap((t) => (t.code?.running ? [{ task: t.task, digest: t.code.running }] : []));
  return { host, result: (s.fields.result ?? '–').split(' (')[0]!, ...(running ? { running } : {}), ...(revision ? { revision } : {}), code, ...(s.fields.reconciled ? { lastSeen: s.fields.reconciled } : {}), ...(s.fields.rollout ? { rollout: s.fields.rollout } : {}) };
}

/** Reads the hosts' status files into the fleet's standing at `now`. */
export function assessFleet(input: FleetInput): Fleet {
  const rows = [...input.hosts].sort((a, b) => a.host.localeCompare(b.host)).map((h) => {
    const parsed = parseStatus(h.text);
    // Held back on purpose (a rollout, a sync window, a suspension): behind, not failed.
    const heldBack = /^(waiting|suspended)\b/.test(parsed.fields.result ?? '');
    return { row: rowOf(h.host, parsed), converged: parsed.converged, heldBack };
  });
  const seenAt = (r: { lastSeen?: string }): number => (r.lastSeen ? Date.parse(r.lastSeen) : Number.NaN);
  const isLost = (r: { lastSeen?: string }): boolean => !(input.now.getTime() - seenAt(r) <= input.hostTimeoutMs);
  let newest: { revision: string; at: number } | undefined;
  for (const { row } of rows) {
    if (isLost(row) || !row.revision) continue;
    if (!newest || seenAt(row) > newest.at) newest = { revision: row.revision, at: seenAt(row) };
  }
  const hosts = rows.map(({ row, converged, heldBack }): FleetHost => {
    let standing: HostStanding = 'current';
    if (isLost(row)) standing = 'lost';
    else if (heldBack) standing = newest && row.running === newest.revision ? 'current' : 'lagging';
    else if (!converged) standing = 'failed';
    else if (newest && row.running !== newest.revision) standing = 'lagging';
    return { ...row, standing };
  });
  return { environment: input.environment, ...(newest ? { newest: newest.revision } : {}), hosts };
}

const short = (sha: string | undefined): string => (sha ? `\`${sha.slice(0, 12)}\`` : '–');
const cell = (text: string): string => clip(text.replace(/\|/g, '\\|').replace(/\n/g, ' ')) || '–';

/** The rollout row: where a stopped rollout stopped, or which hosts wait for earlier waves. */
export function rolloutSummary(hosts: readonly FleetHost[]): string | undefined {
  if (!hosts.some((h) => h.rollout)) return undefined;
  const stopped = hosts.filter((h) => h.rollout?.includes(': stopped,'));
  const waiting = hosts.filter((h) => h.rollout?.includes(': waits for '));
  if (stopped.length) {
    const why = /stopped, (revision \S+) failed in wave (\d+) on (.*); this host keeps its revision/.exec(stopped[0]!.rollout!);
    const where = why ? `stopped at wave ${why[2]}: ${why[1]} failed on ${why[3]}` : 'stopped';
    return `${where}; held back: ${stopped.map((h) => h.host).join(', ')}`;
  }
  if (waiting.length) return `in progress; waiting for earlier waves: ${waiting.map((h) => h.host).join(', ')}`;
  return 'no host held back';
}

/** The fleet section: counts, the newest revision and one row per host. */
function fleetLines(fleet: Fleet, hostTimeoutMs: number): string[] {
  const count = (s: HostStanding): number => fleet.hosts.filter((h) => h.standing === s).length;
  const names = (s: HostStanding): string => fleet.hosts.filter((h) => h.standing === s).map((h) => h.host).join(', ') || '–';
  const rollout = rolloutSummary(fleet.hosts);
  return [
    '| | |',
    '| --- | --- |',
    `| hosts | ${fleet.hosts.length}: ${count('current')} up to date, ${count('lagging')} lagging, ${count('failed')} failed, ${count('lost')} lost |`,
    `| newest revision | ${fleet.newest ? `\`${fleet.newest}\`` : '–'} |`,
    `| lagging | ${cell(names('lagging'))} |`,
    `| failed | ${cell(names('failed'))} |`,
    `| lost | ${cell(names('lost'))} |`,
    ...(rollout ? [`| rollout | ${cell(rollout)} |`] : []),
    `| host timeout | ${Math.round(hostTimeoutMs / 1000)}s |`,
    '',
    '| host | standing | result | running | tip seen | code | last seen |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...fitLines(fleet.hosts.map((h) => `| ${cell(h.host)} | ${STANDING_TEXT[h.standing]} | ${cell(h.result)} | ${short(h.running)} | ${short(h.revision)} | ${cell(h.code.map((c) => `${c.task} \`${c.digest}\``).join(', '))} | ${h.lastSeen ?? '–'} |`),
      STATUS_MAX_BYTES / 2, (n) => `| … and ${n} more hosts | | | | | | |`),
  ];
}

/** The summary file `status/<env>.md`; deterministic for the same files, time and timeout. */
export function buildFleetSummary(input: FleetInput): string {
  const fleet = assessFleet(input);
  const section = fleetLines(fleet, input.hostTimeoutMs);
  if (input.hosts.length === 1) {
    // A fleet of one: that host's status as it is (scripts and people read it as before), then the fleet.
    return `${input.hosts[0]!.text.trimEnd()}\n\n${FLEET_HEADING}\n\n${section.join('\n')}\n`;
  }
  return `${[`# ${input.environment}`, '', `${fleet.hosts.length} hosts report on this environment; each one's full status is \`status/${input.environment}/<host>.md\`.`, '', FLEET_HEADING, '', ...section].join('\n')}\n`;
}

/** Whether a status file is a fleet summary (rather than one host's status). */
export function isFleetSummary(text: string): boolean {
  return text.split('\n').includes(FLEET_HEADING);
}
