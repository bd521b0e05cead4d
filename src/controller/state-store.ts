/**
 * The controller's own memory (I/O): per environment, the last good revision,
 * revisions marked bad, what was last reported, and the journal of an apply in
 * progress. Written atomically (temp file + rename).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface EnvMemory {
  lastGood?: string;
  bad: Array<{ revision: string; reason: string }>;
  /** revision + outcome of the last report, so an unchanged refusal is reported once. */
  lastReportKey?: string;
  /** The last action taken on each task: `create (ok)`, with its message and time. */
  lastActions?: Record<string, { action: string; message?: string; at: string }>;
  /** Written before an apply starts; cleared once its evidence is committed. */
  pending?: { revision: string; sequence: number; plannedActions: number; at: string };
}

interface Memory { environments: Record<string, EnvMemory> }

/** JSON-file state under the state dir. */
export class StateStore {
  private readonly file: string;
  private memory: Memory;

  constructor(stateDir: string) {
    this.file = join(stateDir, 'state.json');
    this.memory = existsSync(this.file) ? (JSON.parse(readFileSync(this.file, 'utf8')) as Memory) : { environments: {} };
  }

  /** The memory of one environment (created empty). */
  env(name: string): EnvMemory {
    this.memory.environments[name] ??= { bad: [] };
    return this.memory.environments[name];
  }

  /** Changes one environment's memory and saves at once. */
  update(name: string, change: (m: EnvMemory) => void): void {
    change(this.env(name));
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.memory, null, 2)}\n`);
    renameSync(tmp, this.file);
  }
}
