/**
 * What git says of one commit for its approval (thin shell over git): author,
 * committer, subject, `Approved-by` trailers and whether its signature
 * verifies against the allowed signers.
 */
import { resolve } from 'node:path';
import type { SimpleGit } from 'simple-git';
import type { CommitFacts } from './approval.js';

const SEP = '\u001f';

/** The facts of commit `sha` in the repository `git` works on. */
export async function commitFacts(git: SimpleGit, sha: string, allowedSignersFile?: string): Promise<CommitFacts> {
  const config = allowedSignersFile ? ['-c', `gpg.ssh.allowedSignersFile=${resolve(allowedSignersFile)}`] : [];
  const format = ['%H', '%an', '%ae', '%cn', '%ce', '%s', '%G?', '%GS', '%GK', `%(trailers:key=Approved-by,valueonly,separator=%x1e)`].join('%x1f');
  const out = await git.raw([...config, 'log', '-1', `--format=${format}`, sha]);
  const [, an = '', ae = '', cn = '', ce = '', subject = '', code = 'N', signer = '', key = '', trailers = ''] = out.replace(/\n$/, '').split(SEP);
  let verified = false;
  let detail = '';
  try {
    const res = await git.raw([...config, 'verify-commit', '--verbose', sha]);
    verified = true;
    detail = res.trim().split('\n').pop() ?? '';
  } catch (err) {
    detail = (err as Error).message.trim().split('\n').filter(Boolean).pop() ?? '';
  }
  return {
    sha,
    author: { name: an, email: ae },
    committer: { name: cn, email: ce },
    subject,
    approvedBy: trailers.split('\u001e').map((t) => t.trim()).filter(Boolean),
    signature: { code, verified, ...(signer ? { signer } : {}), ...(key ? { key } : {}), detail },
  };
}
