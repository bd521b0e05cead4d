import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { ValidationError, VerifyError } from '../domain/errors.js';
import { parsePublicKey } from '../report/keys.js';
import { STATUS_BRANCH } from '../report/status-repo.js';
import { isFleetSummary } from '../report/fleet.js';
import { hostOf } from './render-options.js';
import { reportLayout } from '../report/layout.js';
import { parseStatusEvidence } from '../report/status.js';
import { buildKeyring, verifyEvidence, type Keyring, type VerifyProblem, type VerifyWarning } from '../report/verify-evidence.js';
import { openBranch, type BranchReader } from '../source/branch-reader.js';
import type { CliIo } from './io.js';

export interface VerifyOptions { repo: string; env?: string; host?: string; publicKey: string[]; json?: boolean }

/** One chain checked: an environment's (a single host's), or that of one host of a fleet. */
interface EnvSummary { environment: string; host?: string; checked: number; rotations: number; problems: VerifyProblem[]; warnings: VerifyWarning[] }

/** The keys of one file: an OpenSSH line per key (a keyring), or PEM blocks. */
function keysOf(text: string): KeyObject[] {
  const pem = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g);
  if (pem) return pem.map((block) => parsePublicKey(block));
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => parsePublicKey(l));
}

/** Every key of every --public-key file, by key id. */
export function readKeyring(files: readonly string[]): Keyring {
  if (!files.length) throw new ValidationError('verify needs --public-key FILE (the controller\'s signing.pub; repeat it, or give a file with one key per line, when the keys were rotated)');
  const keys: KeyObject[] = [];
  for (const file of files) {
    try {
      const found = keysOf(readFileSync(resolve(file), 'utf8'));
      if (!found.length) throw new Error('no key in the file');
      keys.push(...found);
    } catch (err) {
      throw new ValidationError(`cannot read the public key ${file}: ${(err as Error).message}`, [], { cause: err });
    }
  }
  return buildKeyring(keys);
}

async function goneRevisions(branch: BranchReader, texts: readonly string[]): Promise<Map<string, string>> {
  const shas = new Set(texts.map((t) => { try { return (JSON.parse(t) as { provenance?: { revision?: string } }).provenance?.revision ?? ''; } catch { return ''; } }).filter(Boolean));
  const gone = new Map<string, string>();
  for (const sha of shas) {
    const state = await branch.revisionState(sha);
    if (state === 'missing') gone.set(sha, 'not reachable from any ref, and its objects are gone (force-pushed away and garbage-collected)');
    if (state === 'unreachable') gone.set(sha, 'not reachable from any ref (force-pushed away); git gc will remove it');
  }
  return gone;
}

/** Verifies one chain: the environment's own (no `host`) or one host's, against the status file that names its newest report. */
async function verifyChain(branch: BranchReader, env: string, ring: Keyring, host?: string): Promise<EnvSummary> {
  const layout = reportLayout(env, host);
  const dir = layout.evidenceDir;
  const names = (await branch.list(dir)).filter((n) => n.endsWith('.json'));
  const files = await Promise.all(names.map(async (name) => ({ name: `${dir}/${name}`, text: (await branch.read(`${dir}/${name}`)) ?? '' })));
  const gone = await goneRevisions(branch, files.map((f) => f.text));
  const statusText = await branch.read(layout.statusFile);
  // A fleet summary names the newest report of a host's chain, not of this one.
  const head = statusText && !(host === undefined && isFleetSummary(statusText)) ? parseStatusEvidence(statusText) : undefined;
  const result = verifyEvidence(files, ring, {
    revisionGone: (sha) => gone.get(sha),
    ...(head ? { head: { name: head.file.split('/').pop()!, hash: head.hash } } : {}),
  });
  const full = <T extends { file: string }>(p: T): T => ({ ...p, file: p.file.includes('/') ? p.file : `${dir}/${p.file}` });
  return { environment: env, ...(host !== undefined ? { host } : {}), checked: result.checked, rotations: result.rotations, problems: result.problems.map(full), warnings: result.warnings.map(full) };
}

/**
 * Every chain of an environment: its own (reports directly in
 * evidence/<env>/) and each host's (evidence/<env>/<host>/); with `host`,
 * only that host's.
 */
async function verifyEnvironment(branch: BranchReader, env: string, ring: Keyring, host?: string): Promise<EnvSummary[]> {
  if (host !== undefined) return [await verifyChain(branch, env, ring, host)];
  const entries = await branch.list(`evidence/${env}`);
  const out: EnvSummary[] = [];
  if (entries.some((n) => n.endsWith('.json'))) out.push(await verifyChain(branch, env, ring));
  for (const name of entries.filter((n) => !n.endsWith('.json'))) {
    if ((await branch.list(`evidence/${env}/${name}`)).length) out.push(await verifyChain(branch, env, ring, name));
  }
  return out;
}

function printText(summary: readonly EnvSummary[], io: CliIo): void {
  for (const s of summary) {
    const rotated = s.rotations ? ` (${s.rotations} key rotation${s.rotations === 1 ? '' : 's'})` : '';
    const verdict = s.problems.length ? `${s.problems.length} problem${s.problems.length === 1 ? '' : 's'}` : 'all valid';
    const warned = s.warnings.length ? `, ${s.warnings.length} warning${s.warnings.length === 1 ? '' : 's'}` : '';
    io.out(`${s.environment}${s.host !== undefined ? ` host ${s.host}` : ''}: ${s.checked} report${s.checked === 1 ? '' : 's'}${rotated}, ${verdict}${warned}\n`);
    for (const p of s.problems) io.out(`  ${p.file}: ${p.message}\n`);
    for (const w of s.warnings) io.out(`  warning: ${w.file}: ${w.message}\n`);
  }
}

/** `pm2-gitops verify`: signatures, keys, hash chain and revisions of every evidence report; exit 5 when any is tampered with. */
export async function verifyCommand(opts: VerifyOptions, io: CliIo): Promise<number> {
  if (opts.host !== undefined) hostOf({ host: opts.host });
  const ring = readKeyring(opts.publicKey);
  const branch = await openBranch(opts.repo, STATUS_BRANCH);
  try {
    if (!branch.ref) throw new VerifyError(`${opts.repo} has no ${STATUS_BRANCH} branch: nothing to verify`);
    const envs = opts.env ? [opts.env] : await branch.list('evidence');
    const summary: EnvSummary[] = [];
    for (const env of envs) summary.push(...await verifyEnvironment(branch, env, ring, opts.host));
    if (opts.host !== undefined && summary.every((s) => s.checked === 0)) throw new VerifyError(`no evidence of host ${opts.host} on ${STATUS_BRANCH}${opts.env ? ` for environment ${opts.env}` : ''}`);
    const problems = summary.flatMap((s) => s.problems);
    const warnings = summary.flatMap((s) => s.warnings);
    if (opts.json) io.out(`${JSON.stringify({ ok: problems.length === 0, environments: summary, problems, warnings }, null, 2)}\n`);
    else printText(summary, io);
    if (problems.length) throw new VerifyError(`evidence does not verify; first broken: ${problems[0]!.file}: ${problems[0]!.message}`);
    return 0;
  } finally {
    branch.close();
  }
}
