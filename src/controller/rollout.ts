/**
 * Progressive rollout across a fleet (pure, DESIGN section 8): an
 * Environment's `spec.rollout` puts its hosts in waves; a host applies a new
 * revision only when every host of the earlier waves reports it healthy on
 * the status branch, and a revision that failed on an earlier wave goes no
 * further. Git is the only thing the hosts share, so each host decides for
 * itself from the other hosts' status files.
 */
import type { Rollout } from '../domain/manifest.js';

/** What one other host's status file says, as far as a rollout cares. */
export interface PeerReport {
  host: string;
  /** The revision it saw at the tip. */
  revision?: string;
  /** The revision it runs. */
  running?: string;
  /** It converged (every task ready, running its desired code). */
  converged: boolean;
  /** Its result as written (`failed`, `rolled back`, …). */
  result: string;
  /** Revisions it marked bad. */
  bad: readonly string[];
  /** No status within the host timeout. */
  lost: boolean;
}

export interface RolloutInput {
  rollout: Rollout;
  /** This host. */
  self: string;
  /** The revision this host would apply. */
  tip: string;
  /** The other hosts of the environment, from their status files. */
  peers: readonly PeerReport[];
}

export interface RolloutDecision {
  /** go: apply the tip; wait: not yet (earlier waves are not healthy yet); stopped: an earlier wave failed on it. */
  verdict: 'go' | 'wait' | 'stopped';
  /** 1-based wave of this host, and how many waves there are. */
  wave: number;
  waves: number;
  /** One line for the status file's `rollout` field (no secret: host names and revisions only). */
  text: string;
}

/**
 * The waves with their hosts: named hosts where they are listed, `*` (or,
 * without `*`, one last wave) for every other host; `maxUnavailable: N`
 * takes the hosts in name order, N at a time. Empty waves are left out.
 */
export function resolveWaves(rollout: Rollout, hosts: readonly string[]): string[][] {
  const all = [...new Set(hosts)].sort();
  if ('maxUnavailable' in rollout) {
    const size = Math.max(1, Math.floor(rollout.maxUnavailable));
    const out: string[][] = [];
    for (let i = 0; i < all.length; i += size) out.push(all.slice(i, i + size));
    return out;
  }
  const named = new Set(rollout.waves.flat().filter((h) => h !== '*'));
  const rest = all.filter((h) => !named.has(h));
  const waves = rollout.waves.map((wave) => wave.flatMap((h) => (h === '*' ? rest : [h])));
  if (!rollout.waves.some((w) => w.includes('*')) && rest.length) waves.push(rest);
  return waves.filter((w) => w.length > 0);
}

const short = (sha: string): string => `\`${sha.slice(0, 12)}\``;

type PeerStanding = 'healthy' | 'failed' | 'pending' | 'lost' | 'unknown';

function standingOf(peer: PeerReport | undefined, tip: string): PeerStanding {
  if (!peer) return 'unknown';
  if (peer.bad.includes(tip)) return 'failed';
  if (peer.revision === tip && /^(failed|rolled back)/.test(peer.result)) return 'failed';
  if (peer.running === tip && peer.converged) return 'healthy';
  return peer.lost ? 'lost' : 'pending';
}

/** Whether this host may apply `tip` now, and the line that says where the rollout stands. */
export function decideRollout(input: RolloutInput): RolloutDecision {
  const byHost = new Map(input.peers.map((p) => [p.host, p]));
  const waves = resolveWaves(input.rollout, [input.self, ...input.peers.map((p) => p.host)]);
  const index = waves.findIndex((w) => w.includes(input.self));
  const wave = index + 1;
  const of = `wave ${wave} of ${waves.length}`;
  if (index <= 0) return { verdict: 'go', wave, waves: waves.length, text: `${of}: applies new revisions first` };
  const waiting: string[] = [];
  const skipped: string[] = [];
  for (const [i, hosts] of waves.slice(0, index).entries()) {
    const standings = hosts.map((h) => ({ host: h, standing: standingOf(byHost.get(h), input.tip) }));
    const failed = standings.filter((s) => s.standing === 'failed');
    if (failed.length) {
      const how = failed.map((s) => `${s.host} (${byHost.get(s.host)!.result.split(' (')[0]})`).join(', ');
      return { verdict: 'stopped', wave, waves: waves.length, text: `${of}: stopped, revision ${short(input.tip)} failed in wave ${i + 1} on ${how}; this host keeps its revision` };
    }
    const lost = standings.filter((s) => s.standing === 'lost').map((s) => s.host);
    const pending = standings.filter((s) => s.standing === 'pending' || s.standing === 'unknown').map((s) => s.host);
    // A lost host cannot vouch for the revision, nor hold the fleet back: the others of its wave decide, if any.
    if (lost.length === hosts.length) waiting.push(`wave ${i + 1} (${hosts.join(', ')}: every host lost)`);
    else if (pending.length) waiting.push(`wave ${i + 1} (${pending.join(', ')})`);
    skipped.push(...lost);
  }
  const lostNote = skipped.length ? `; lost, not waited for: ${skipped.join(', ')}` : '';
  if (waiting.length) {
    return { verdict: 'wait', wave, waves: waves.length, text: `${of}: waits for ${waiting.join(', ')} to report revision ${short(input.tip)} healthy${lostNote}` };
  }
  return { verdict: 'go', wave, waves: waves.length, text: `${of}: earlier waves report revision ${short(input.tip)} healthy${lostNote}` };
}
