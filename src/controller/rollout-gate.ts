/**
 * The rollout gate of one host of a fleet: reads the other hosts' status
 * files from the status branch (pulled at the start of the pass) and holds a
 * new revision back until the earlier waves report it healthy. A held-back
 * host keeps its revision and self-heals it, like a closed sync window.
 */
import { join } from 'node:path';
import type { Rollout } from '../domain/manifest.js';
import { parseStatus } from '../report/status-parse.js';
import type { StatusRepo } from '../report/status-repo.js';
import type { ReportLayout } from '../report/layout.js';
import type { Gate } from './gate.js';
import { decideRollout, type PeerReport } from './rollout.js';

const SHA = /\b[0-9a-f]{40}\b/;

/** One host's status file as the rollout reads it. */
export function peerReport(host: string, text: string, now: Date, hostTimeoutMs: number): PeerReport {
  const s = parseStatus(text);
  const seen = Date.parse(s.fields.reconciled ?? '');
  const running = /^[0-9a-f]{40}$/.test(s.fields.running ?? '') ? s.fields.running : undefined;
  const revision = SHA.exec(s.fields.revision ?? '')?.[0];
  const badStart = text.indexOf('\n## Bad revisions');
  const bad = badStart < 0 ? [] : [...text.slice(badStart).matchAll(/^- `([0-9a-f]{40})`/gm)].map((m) => m[1]!);
  return {
    host,
    ...(revision ? { revision } : {}),
    ...(running ? { running } : {}),
    converged: s.converged,
    result: s.fields.result ?? '',
    bad,
    lost: !(now.getTime() - seen <= hostTimeoutMs),
  };
}

/** The other hosts' reports on the environment (this host's own file left out). */
export function peersOf(status: Pick<StatusRepo, 'list' | 'read'>, layout: ReportLayout, now: Date, hostTimeoutMs: number): PeerReport[] {
  if (!layout.hostsDir || !layout.host) return [];
  return status.list(layout.hostsDir)
    .filter((n) => n.endsWith('.md') && n.slice(0, -3) !== layout.host)
    .map((n) => peerReport(n.slice(0, -3), status.read(join(layout.hostsDir!, n)) ?? '', now, hostTimeoutMs));
}

export interface RolloutGateInput {
  rollout: Rollout;
  self: string;
  tip: string;
  /** The tip would be applied by this pass (accepted, new, and the gate let it through). */
  applying: boolean;
  lastGood?: string;
  peers: readonly PeerReport[];
  now: Date;
  /** How soon a waiting host looks at the status branch again. */
  pollMs: number;
}

/** The gate narrowed by the rollout, and the status line that says where the rollout stands. */
export function rolloutGate(gate: Gate, r: RolloutGateInput): { gate: Gate; line: string } {
  const decision = decideRollout({ rollout: r.rollout, self: r.self, tip: r.tip, peers: r.peers });
  if (!r.applying) return { gate, line: `wave ${decision.wave} of ${decision.waves}` };
  if (decision.verdict === 'go') return { gate, line: decision.text };
  const held = `revision ${r.tip} is not applied here: rollout ${decision.text}`;
  return {
    gate: {
      mode: r.lastGood ? 'heal' : 'observe',
      outcome: 'waiting',
      message: held,
      problems: [held],
      // A failed rollout waits for a new commit; a pending one looks again soon.
      ...(decision.verdict === 'wait' ? { wakeAt: new Date(r.now.getTime() + r.pollMs) } : {}),
    },
    line: decision.text,
  };
}
