/**
 * Approvals for the commands that apply (DESIGN section 5): the controller's
 * floor (`--require-approvals ENV=N`) and, for `apply`, the check of the
 * commit it would apply. The floor can be raised by a manifest, never lowered.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gitAt } from '../adapters/git.js';
import { NotApprovedError, ValidationError } from '../domain/errors.js';
import type { DesiredState } from '../domain/manifest.js';
import { evaluateApproval, parseAllowedSigners, requiredApprovals } from '../source/approval.js';
import { commitFacts } from '../source/commit-facts.js';

/** `--require-approvals ENV=N` flags → approvals required per environment. */
export function approvalFloor(flags: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const flag of flags) {
    const m = /^([a-z0-9][a-z0-9-]*)=(\d+)$/.exec(flag);
    if (!m) throw new ValidationError(`--require-approvals ${JSON.stringify(flag)}: expected ENV=N, e.g. prod=2`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/**
 * Throws NotApprovedError (exit 3) when the environment requires approvals
 * and the commit `apply` would apply lacks them. Only a commit can be
 * approved: uncommitted changes of the manifests or code are not.
 */
export async function checkApproval(a: { state: DesiredState; repoDir: string; revision: string; floor: Record<string, number>; allowedSigners?: string }): Promise<void> {
  const required = requiredApprovals(a.floor[a.state.environment] ?? 0, a.state.policy.approvals.required);
  if (required === 0) return;
  const refuse = (why: string): never => {
    throw new NotApprovedError(`${a.state.environment} requires ${required} approval${required === 1 ? '' : 's'}; not applied, nothing was changed: ${why}`);
  };
  if (!/^[0-9a-f]{40}$/.test(a.revision)) refuse(a.revision.endsWith('+dirty') ? 'the working tree has uncommitted changes, and only a commit can be approved' : 'the manifests are not in a git commit');
  const signers = a.allowedSigners ? parseAllowedSigners(readFileSync(resolve(a.allowedSigners), 'utf8')) : [];
  const facts = await commitFacts(gitAt(a.repoDir), a.revision, a.allowedSigners);
  const decision = evaluateApproval(facts, required, signers);
  if (!decision.ok) refuse(`${decision.granted} of ${required} granted: ${decision.reasons.join('; ')}`);
}
