/**
 * Which environments this controller may reconcile (I/O): it must hold the
 * environment's lease on this PM2 daemon, and the environment's evidence chain
 * must continue with this controller's signing key, or be handed over to it by
 * a key rotation record (with --rotate-key).
 */
import { join } from 'node:path';
import type { ControllerLeases } from '../adapters/controller-lease.js';
import type { Logger } from '../adapters/logger.js';
import { ConflictError } from '../domain/errors.js';
import { canonicalJson } from '../report/canonical.js';
import { chainHash } from '../report/evidence.js';
import { reportLayout } from '../report/layout.js';
import { buildRotation, chainKeyOf, rotationFileName, signRotation } from '../report/rotation.js';
import type { StatusRepo } from '../report/status-repo.js';
import type { StateStore } from '../controller/state-store.js';
import type { AppliedRefs } from '../source/applied-refs.js';
import type { SigningKeys } from './run-keys.js';

/** What deciding a claim needs. */
export interface ClaimContext {
  leases: ControllerLeases;
  status: StatusRepo;
  store: StateStore;
  keys: SigningKeys;
  rotateKey: boolean;
  /** Whether --previous-key was given: then it must be the key the chain is at. */
  previousKeyGiven: boolean;
  appliedRefs: AppliedRefs;
  host: string;
  /** Whether this host reports as one host of a fleet (its own evidence chain per environment). */
  fleet: boolean;
  logger: Logger;
  now(): Date;
}

type Claim = { ok: true } | { ok: false; message: string };

/** The claims of one controller on its environments. */
export class EnvironmentClaims {
  /** Environments whose chain was checked (and rotated when asked). */
  private readonly continued = new Set<string>();
  /** The last refusal logged per environment, so an unchanged one is logged once. */
  private readonly refused = new Map<string, string>();

  constructor(private readonly ctx: ClaimContext) {}

  /** Claims every named environment at startup; throws ConflictError (exit 2) for the first it cannot run. */
  async holdAll(envs: readonly string[]): Promise<void> {
    for (const env of envs) {
      const claim = await this.claim(env);
      if (!claim.ok) throw new ConflictError(claim.message);
    }
  }

  /**
   * Before each pass: the environments of the pass this controller may
   * reconcile. The others are logged and left to the controller that holds
   * them (which also writes their status). Retries pending applied refs.
   */
  async admit(envs: readonly string[]): Promise<string[]> {
    await this.ctx.appliedRefs.flush();
    const admitted: string[] = [];
    for (const env of envs) {
      let claim: Claim;
      try {
        claim = await this.claim(env);
      } catch (err) {
        claim = { ok: false, message: `cannot check the evidence chain of ${env}: ${(err as Error).message}` };
      }
      if (claim.ok) {
        if (this.refused.delete(env)) this.ctx.logger.info({ environment: env }, `${env}: now run by this controller`);
        admitted.push(env);
      } else if (this.refused.get(env) !== claim.message) {
        this.refused.set(env, claim.message);
        this.ctx.logger.warn({ environment: env }, `${env} is not reconciled by this controller: ${claim.message}`);
      }
    }
    return admitted;
  }

  private async claim(env: string): Promise<Claim> {
    if (!this.ctx.leases.holds(env)) {
      const lease = await this.ctx.leases.claim(env);
      if (!lease.ok) return lease;
    }
    if (this.continued.has(env)) return { ok: true };
    const chain = await this.continueChain(env);
    if (!chain.ok) {
      // Not run here after all: leave the environment to a controller that can.
      this.ctx.leases.release(env);
      return chain;
    }
    this.continued.add(env);
    return { ok: true };
  }

  /** Checks that the chain goes on with this controller's key; writes the rotation record when asked to. */
  private async continueChain(env: string): Promise<Claim> {
    const { status, keys } = this.ctx;
    const dir = reportLayout(env, this.ctx.fleet ? this.ctx.host : undefined).evidenceDir;
    const last = status.list(dir).filter((f) => f.endsWith('.json')).pop();
    if (!last) return { ok: true };
    const path = join(dir, last);
    const text = status.read(path) ?? '';
    let entry: { sequence?: unknown };
    try {
      entry = JSON.parse(text) as { sequence?: unknown };
    } catch (err) {
      return { ok: false, message: `the newest evidence entry ${path} is not valid JSON (${(err as Error).message}); the chain cannot go on from it` };
    }
    const chainKey = chainKeyOf(entry);
    if (!chainKey || chainKey === keys.id) return { ok: true };
    if (!this.ctx.rotateKey) {
      return { ok: false, message: `the evidence chain of ${env} is signed by key ${chainKey} (up to ${path}), but this controller signs with ${keys.id}; it never goes on with another key without a rotation record: start it with the key that signed the chain, or add --rotate-key to record the rotation (with --previous-key FILE while the old private key is at hand, so that it signs the rotation too)` };
    }
    const previous = keys.previous.find((p) => p.id === chainKey);
    if (!previous && this.ctx.previousKeyGiven) {
      return { ok: false, message: `--previous-key is not the key the evidence chain of ${env} is signed by (${chainKey}); give that key, or leave --previous-key out when it is lost` };
    }
    const record = signRotation(buildRotation({
      environment: env,
      host: this.ctx.host,
      timestamp: this.ctx.now().toISOString(),
      sequence: Number(entry.sequence) + 1,
      previousKeyId: chainKey,
      newKey: keys.publicKey,
      previous: chainHash(text),
      previousFile: last,
    }), keys, previous);
    const file = join(dir, rotationFileName(record));
    await status.write([{ path: file, text: `${canonicalJson(record)}\n` }], `${env}: signing key rotated from ${chainKey} to ${keys.id}`);
    // An apply interrupted before it reported would have taken this sequence: it takes the next one.
    const pending = this.ctx.store.env(env).pending;
    if (pending && pending.sequence >= record.sequence) this.ctx.store.update(env, (m) => { m.pending = { ...pending, sequence: record.sequence + 1 }; });
    this.ctx.logger.warn({ environment: env, from: chainKey, to: keys.id, signedByPreviousKey: Boolean(previous), evidence: file }, 'signing key rotated; the rotation is recorded in the evidence chain');
    return { ok: true };
  }
}
