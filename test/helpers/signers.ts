/** SSH signing keys for approval tests: people, their keys, the allowed-signers file. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Person } from './git.js';

/** Creates an Ed25519 SSH key pair with ssh-keygen; resolves to the private key's path. */
export function sshKey(dir: string, name: string): string {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return file;
}

/** One allowed-signers line (OpenSSH format) for a person and their key. */
export function allowedLine(p: Person, keyFile: string): string {
  const [type, blob] = readFileSync(`${keyFile}.pub`, 'utf8').trim().split(/\s+/);
  return `${p.email} namespaces="git" ${type} ${blob}`;
}
