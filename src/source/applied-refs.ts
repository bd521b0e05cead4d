/**
 * Applied refs (I/O, simple-git): after the controller applied a revision it
 * pushes `refs/pm2-gitops/applied/<sha>` to the manifest repository, so the
 * revision stays reachable (and its evidence checkable) after a force-push and
 * a garbage collection of the remote. Pushed from the controller's mirror,
 * which holds the commit. A push that fails is kept pending (in the state dir)
 * and retried with the next one; it never stops a reconcile.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../adapters/logger.js';
import { gitAt } from '../adapters/git.js';

/** The ref prefix of applied revisions. */
export const APPLIED_REFS = 'refs/pm2-gitops/applied/';

/** How many pushed revisions are remembered, so that the file stays small. */
const KEEP_PUSHED = 1000;

interface Memory { pushed: string[]; pending: string[] }

/** The applied refs of one controller. */
export class AppliedRefs {
  private readonly file: string;
  private memory: Memory;
  private failing = false;

  constructor(private readonly opts: { mirror: string; stateDir: string; logger: Logger }) {
    this.file = join(opts.stateDir, 'applied-refs.json');
    this.memory = existsSync(this.file) ? (JSON.parse(readFileSync(this.file, 'utf8')) as Memory) : { pushed: [], pending: [] };
  }

  /** Revisions applied but not yet pushed. */
  pending(): readonly string[] {
    return this.memory.pending;
  }

  /** Records that `sha` was applied and pushes its ref (with any still pending); resolves even when the push fails. */
  async record(sha: string): Promise<void> {
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha)) return;
    if (!this.memory.pushed.includes(sha) && !this.memory.pending.includes(sha)) {
      this.memory.pending.push(sha);
      this.save();
    }
    await this.flush();
  }

  /** Pushes every pending ref in one push; a failure is logged and retried at the next call. */
  async flush(): Promise<void> {
    const shas = [...this.memory.pending];
    if (!shas.length) return;
    try {
      await gitAt(this.opts.mirror).raw(['push', '--quiet', 'origin', ...shas.map((sha) => `${sha}:${APPLIED_REFS}${sha}`)]);
    } catch (err) {
      if (!this.failing) this.opts.logger.warn({ err, revisions: shas }, 'cannot push the applied refs yet; retrying with the next push');
      this.failing = true;
      return;
    }
    if (this.failing) this.opts.logger.info({ revisions: shas }, 'applied refs pushed');
    this.failing = false;
    // Bounded: a revision pushed long ago and applied again is pushed again, which changes nothing.
    this.memory = { pushed: [...this.memory.pushed, ...shas].slice(-KEEP_PUSHED), pending: this.memory.pending.filter((s) => !shas.includes(s)) };
    this.save();
  }

  private save(): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.memory, null, 2)}\n`);
    renameSync(tmp, this.file);
  }
}
