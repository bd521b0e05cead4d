/**
 * A small git runner for the delivery stage (I/O): plumbing commands whose
 * output is parsed here (NUL-separated listings), with a private index or git
 * dir set through the environment, never through the user's repository.
 */
import { spawn } from 'node:child_process';
import type { BlobEntry } from './types.js';

/** Variables that would point git at another repository or index than the one asked for. */
const GIT_LOCATION_VARIABLES = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_NAMESPACE', 'GIT_PREFIX', 'GIT_COMMON_DIR'];

/** Options of one git run. */
export interface GitRun {
  /** Directory to run in. */
  cwd?: string;
  /** Added to the environment (after git's location variables were removed). */
  env?: Record<string, string>;
  /** Written to stdin. */
  input?: string | Buffer;
  /** Exit codes that are not errors (default: 0 only). */
  okCodes?: readonly number[];
}

/** How git ended: its exit code, stdout as bytes, the start of stderr. */
export interface GitResult { code: number; stdout: Buffer; stderr: string }

/** Runs git; rejects with its stderr when it exits with a code not in `okCodes`. */
export function runGit(args: readonly string[], opts: GitRun = {}): Promise<GitResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', GIT_LITERAL_PATHSPECS: '1', GIT_TERMINAL_PROMPT: '0' };
  for (const name of GIT_LOCATION_VARIABLES) delete env[name];
  Object.assign(env, opts.env);
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: opts.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => { if (stderr.length < 16_384) stderr += d.toString('utf8'); });
    child.on('error', reject);
    child.on('close', (code) => {
      const result = { code: code ?? -1, stdout: Buffer.concat(out), stderr };
      if ((opts.okCodes ?? [0]).includes(result.code)) resolve(result);
      else reject(new Error(`git ${args.filter((a) => !a.startsWith('--git-dir') && !a.startsWith('--work-tree')).slice(0, 3).join(' ')} exited ${result.code}: ${stderr.trim().split('\n').slice(-3).join(' / ')}`));
    });
    child.stdin.on('error', () => { /* git may exit before reading all of stdin; its exit code tells */ });
    child.stdin.end(opts.input ?? '');
  });
}

/** Parses `git ls-tree -r -z` (`<mode> <type> <oid>\t<path>`) and `git ls-files -s -z` (`<mode> <oid> <stage>\t<path>`). */
export function parseListing(stdout: Buffer, format: 'ls-tree' | 'ls-files'): BlobEntry[] {
  const out: BlobEntry[] = [];
  for (const record of stdout.toString('utf8').split('\0')) {
    if (!record) continue;
    const tab = record.indexOf('\t');
    const fields = record.slice(0, tab).split(' ');
    const path = record.slice(tab + 1);
    out.push(format === 'ls-tree' ? { mode: fields[0]!, oid: fields[2]!, path } : { mode: fields[0]!, oid: fields[1]!, path });
  }
  return out;
}

/** The records `git update-index -z --index-info` reads for these entries. */
export function indexInfo(entries: readonly BlobEntry[]): string {
  return entries.map((e) => `${e.mode} ${e.oid}\t${e.path}\0`).join('');
}
