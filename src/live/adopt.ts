/**
 * Adoption (I/O: PM2's option handling and a record in the build store):
 * processes that pm2-gitops did not start (no marker), running from the
 * repository exactly as the manifests say (what `pm2 start ecosystem.config.js`
 * left), are taken over as they are: compared against the app resolved in the
 * repository rather than the task's stable link, so that the first plan
 * changes nothing. The code digest seen at adoption is recorded; once the
 * task's code changes, the process is delivered like any other (built,
 * restarted from its link).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../adapters/fs.js';
import type { Pm2Client } from '../adapters/pm2.js';
import type { LiveTask } from '../domain/live.js';
import type { DesiredState } from '../domain/manifest.js';
import { diff } from '../diff/diff.js';
import { resolveDesired, type ResolvedTask } from './read.js';

interface AdoptionRecord { codeDigest: string }

function recordFile(stateDir: string, namespace: string, task: string): string {
  return join(stateDir, 'adopted', namespace, `${task}.json`);
}

function readRecord(file: string): AdoptionRecord | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<AdoptionRecord>;
    return typeof value.codeDigest === 'string' ? { codeDigest: value.codeDigest } : undefined;
  } catch {
    return undefined; // unreadable: adopted again from what runs now
  }
}

export interface AdoptInput {
  pm2: Pm2Client;
  state: DesiredState;
  repoDir: string;
  revision: string;
  cpus: number;
  stateDir: string;
  resolved: readonly ResolvedTask[];
  live: readonly LiveTask[];
  /** Whether to record what is adopted (apply), or only look (plan, diff). */
  record: boolean;
}

/**
 * Whether a live task may run where `pm2 start` left it: no marker, or the
 * marker of a run pm2-gitops made in place (no code digest), as the one more
 * run of an adopted job is; otherwise its next pass would deliver and run it
 * again although neither its spec nor its code changed.
 */
export function inPlaceMarker(l: LiveTask): boolean {
  return l.marker === undefined || l.marker.codeDigest === undefined;
}

/**
 * The resolved tasks with those whose live processes are adopted compared in
 * place (their comparable and app as resolved in the repository, no code
 * digest): a process without a marker (or with one of a run in place), matching its task's options where it
 * runs, and whose code did not change since it was adopted.
 */
export function adopt(input: AdoptInput): ResolvedTask[] {
  const liveByName = new Map(input.live.map((l) => [l.name, l]));
  const candidates = input.resolved.filter((r) => { const l = liveByName.get(r.task.name); return l !== undefined && inPlaceMarker(l); });
  if (candidates.length === 0) return [...input.resolved];
  let inPlace: ResolvedTask[];
  try {
    inPlace = resolveDesired({ ...input.state, tasks: candidates.map((r) => r.task) }, input.pm2, { repoDir: input.repoDir, revision: input.revision, cpus: input.cpus, cacheKey: `${input.state.environment}\u0000in-place` });
  } catch {
    return [...input.resolved]; // PM2 rejects the task where it is: nothing to adopt
  }
  const adopted = new Map<string, ResolvedTask>();
  for (const r of inPlace) {
    const l = liveByName.get(r.task.name)!;
    const [drift] = diff([{ name: r.task.name, type: r.task.type, comparable: r.comparable }], [l]);
    if (drift?.kind !== 'in-sync') continue;
    const digest = input.resolved.find((x) => x.task.name === r.task.name)?.marker.codeDigest;
    const file = recordFile(input.stateDir, input.state.namespace, r.task.name);
    const seen = readRecord(file);
    if (seen && digest && seen.codeDigest !== digest) continue; // the code changed since: deliver it
    if (!seen && digest && input.record) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileAtomic(file, `${JSON.stringify({ codeDigest: digest })}\n`);
    }
    adopted.set(r.task.name, r);
  }
  return input.resolved.map((r) => adopted.get(r.task.name) ?? r);
}
