import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ValidationError, VerifyError } from '../domain/errors.js';
import { verifyEvidence, type VerifyProblem } from '../report/evidence.js';
import { parsePublicKey } from '../report/keys.js';
import { STATUS_BRANCH } from '../report/status-repo.js';
import { parseStatusEvidence } from '../report/status.js';
import { openBranch } from '../source/branch-reader.js';
import type { CliIo } from './io.js';

export interface VerifyOptions { repo: string; env?: string; publicKey: string; json?: boolean }

/** `pm2-gitops verify`: signatures, hash chain and revisions of every evidence report; exit 5 when any fails. */
export async function verifyCommand(opts: VerifyOptions, io: CliIo): Promise<number> {
  let publicKey;
  try {
    publicKey = parsePublicKey(readFileSync(resolve(opts.publicKey), 'utf8'));
  } catch (err) {
    throw new ValidationError(`cannot read the public key ${opts.publicKey}: ${(err as Error).message}`, [], { cause: err });
  }
  const branch = await openBranch(opts.repo, STATUS_BRANCH);
  try {
    if (!branch.ref) throw new VerifyError(`${opts.repo} has no ${STATUS_BRANCH} branch: nothing to verify`);
    const envs = opts.env ? [opts.env] : await branch.list('evidence');
    const summary: Array<{ environment: string; checked: number; problems: VerifyProblem[] }> = [];
    for (const env of envs) {
      const names = (await branch.list(`evidence/${env}`)).filter((n) => n.endsWith('.json'));
      const files = await Promise.all(names.map(async (name) => ({ name: `evidence/${env}/${name}`, text: (await branch.read(`evidence/${env}/${name}`)) ?? '' })));
      const shas = new Set(files.map((f) => { try { return (JSON.parse(f.text) as { provenance?: { revision?: string } }).provenance?.revision ?? ''; } catch { return ''; } }).filter(Boolean));
      const existing = new Set<string>();
      for (const sha of shas) if (await branch.hasCommit(sha)) existing.add(sha);
      const statusText = await branch.read(`status/${env}.md`);
      const head = statusText ? parseStatusEvidence(statusText) : undefined;
      const result = verifyEvidence(files, publicKey, {
        revisionExists: (sha) => existing.has(sha),
        ...(head ? { head: { name: head.file.split('/').pop()!, hash: head.hash } } : {}),
      });
      summary.push({ environment: env, checked: result.checked, problems: result.problems.map((p) => ({ ...p, file: p.file.includes('/') ? p.file : `evidence/${env}/${p.file}` })) });
    }
    const problems = summary.flatMap((s) => s.problems);
    if (opts.json) io.out(`${JSON.stringify({ ok: problems.length === 0, environments: summary }, null, 2)}\n`);
    else {
      for (const s of summary) io.out(`${s.environment}: ${s.checked} report${s.checked === 1 ? '' : 's'}, ${s.problems.length ? `${s.problems.length} problem${s.problems.length === 1 ? '' : 's'}` : 'all valid'}\n`);
      for (const p of problems) io.out(`  ${p.file}: ${p.message}\n`);
    }
    if (problems.length) throw new VerifyError(`evidence does not verify; first broken: ${problems[0]!.file}: ${problems[0]!.message}`);
    return 0;
  } finally {
    branch.close();
  }
}
