/**
 * The controller's own memory (I/O): per environment, the last good revision,
 * revisions marked bad, what was last reported, and the journal of an apply in
 * progress. Written atomically (temp file, fsync, rename); a file that cannot
 * be read is set aside and rebuilt (rebuild.ts) instead of stopping the start.
 */
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../adapters/fs.js';
import type { FailureReason } from '../domain/failure.js';

/** A failed build as the status file shows it while its revision stays marked bad. */
export interface BuildFailureNote { task: string; message: string; tail: readonly string[] }

/** A failed apply that will be tried again (`spec.policy.retry`): how often it failed and when the next attempt is due. */
export interface RetryNote { revision: string; failures: number; nextAt: string; message: string }

export interface EnvMemory {
  lastGood?: string;
  /** Revisions not retried until a new commit; `code` when it failed with an error rather than failed health. */
  bad: Array<{ revision: string; reason: string; code?: FailureReason; builds?: BuildFailureNote[] }>;
  /** revision + outcome of the last report, so an unchanged refusal is reported once. */
  lastReportKey?: string;
  /** The last action taken on each task: `create (ok)`, with its message and time. */
  lastActions?: Record<string, { action: string; message?: string; at: string }>;
  /** Written before an apply starts; cleared once its evidence is committed. */
  pending?: { revision: string; sequence: number; plannedActions: number; at: string };
  retry?: RetryNote;
}

interface Memory { environments: Record<string, EnvMemory> }

function parseMemory(text: string): Memory {
  const value = JSON.parse(text) as unknown;
  const envs = (value as Partial<Memory> | null)?.environments;
  if (!envs || typeof envs !== 'object' || Array.isArray(envs)) throw new Error('no "environments" object');
  for (const [name, m] of Object.entries(envs)) {
    if (!m || typeof m !== 'object' || !Array.isArray((m as Partial<EnvMemory>).bad)) throw new Error(`environment ${name} has no "bad" list`);
  }
  return value as Memory;
}

/** JSON-file state under the state dir. */
export class StateStore {
  private readonly file: string;
  private memory: Memory;
  /** Set when state.json existed but could not be read: where it was moved and why. */
  readonly damaged: { movedTo: string; error: string } | undefined;

  /** Loads `state.json`; one that cannot be parsed is moved to `state.json.damaged-<time>` and the memory starts empty. */
  constructor(stateDir: string) {
    this.file = join(stateDir, 'state.json');
    this.memory = { environments: {} };
    if (!existsSync(this.file)) return;
    try {
      this.memory = parseMemory(readFileSync(this.file, 'utf8'));
    } catch (err) {
      const movedTo = `${this.file}.damaged-${Date.now()}`;
      renameSync(this.file, movedTo);
      this.damaged = { movedTo, error: (err as Error).message };
    }
  }

  /** The memory of one environment (created empty). */
  env(name: string): EnvMemory {
    this.memory.environments[name] ??= { bad: [] };
    return this.memory.environments[name];
  }

  /** The environments remembered. */
  environments(): string[] {
    return Object.keys(this.memory.environments).sort();
  }

  /** Changes one environment's memory and saves at once. */
  update(name: string, change: (m: EnvMemory) => void): void {
    change(this.env(name));
    mkdirSync(join(this.file, '..'), { recursive: true });
    writeFileAtomic(this.file, `${JSON.stringify(this.memory, null, 2)}\n`);
  }
}
