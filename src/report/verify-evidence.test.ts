import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../domain/manifest.js';
import { canonicalJson } from './canonical.js';
import { buildEvidence, chainHash, evidenceFileName, serializeEvidence, signEvidence, type EvidenceInput } from './evidence.js';
import { generateSigningKey, keyId, type SigningKeyPair } from './keys.js';
import { buildRotation, rotationFileName, signRotation } from './rotation.js';
import { buildKeyring, verifyEvidence, type EvidenceFile } from './verify-evidence.js';

const OLD = generateSigningKey();
const NEW = generateSigningKey();
const id = (k: SigningKeyPair): string => keyId(k.publicKey);

type Step = { report: SigningKeyPair; revision?: string } | { rotate: [SigningKeyPair, SigningKeyPair]; endorsed: boolean };

function report(sequence: number, timestamp: string, previous: string | null, previousFile: string | undefined, revision: string): EvidenceInput {
  return {
    environment: 'dev', host: 'h', timestamp, sequence, outcome: 'converged',
    provenance: { revision, signature: { verified: false, detail: '' }, approvers: [] },
    precedence: { policy: DEFAULT_POLICY, approvals: { required: 0, granted: 0, ok: true, reasons: [] } },
    reproducibility: {}, drifts: [], actions: [], liveDigest: 'x', problems: [],
    previous, ...(previousFile ? { previousFile } : {}),
  };
}

/** A well-linked chain of reports and rotations, as the controller writes it. */
function chain(steps: Step[]): EvidenceFile[] {
  const files: EvidenceFile[] = [];
  steps.forEach((step, i) => {
    const timestamp = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
    const prev = files[files.length - 1];
    const link = { previous: prev ? chainHash(prev.text) : null, previousFile: prev?.name.split('/').pop() };
    if ('report' in step) {
      const r = signEvidence(buildEvidence(report(i + 1, timestamp, link.previous, link.previousFile, step.revision ?? 'a'.repeat(40))), step.report.privateKey, step.report.publicKey);
      files.push({ name: `evidence/dev/${evidenceFileName(r)}`, text: serializeEvidence(r) });
    } else {
      const [from, to] = step.rotate;
      const record = signRotation(buildRotation({ environment: 'dev', host: 'h', timestamp, sequence: i + 1, previousKeyId: id(from), newKey: to.publicKey, ...link }), to, step.endorsed ? from : undefined);
      files.push({ name: `evidence/dev/${rotationFileName(record)}`, text: `${canonicalJson(record)}\n` });
    }
  });
  return files;
}

const both = buildKeyring([OLD.publicKey, NEW.publicKey]);

describe('verifyEvidence: keys and rotations', () => {
  it('a chain of one key verifies with that key', () => {
    const r = verifyEvidence(chain([{ report: OLD }, { report: OLD }]), OLD.publicKey);
    expect(r).toMatchObject({ ok: true, checked: 2, rotations: 0, problems: [], warnings: [] });
  });

  it('[signing-key] a rotation signed by both keys hands the chain over: old key before, new key after', () => {
    const r = verifyEvidence(chain([{ report: OLD }, { rotate: [OLD, NEW], endorsed: true }, { report: NEW }]), both);
    expect(r).toMatchObject({ ok: true, checked: 3, rotations: 1, problems: [], warnings: [] });
  });

  it('[signing-key] a rotation the lost old key could not sign verifies when both keys are given, with a warning', () => {
    const r = verifyEvidence(chain([{ report: OLD }, { rotate: [OLD, NEW], endorsed: false }, { report: NEW }]), both);
    expect(r.ok).toBe(true);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]!.message).toContain(`was not signed by the previous key (its private key was lost); ${id(NEW)} is accepted because it was given with --public-key`);
  });

  it('[signing-key] only the old key given: the rotation and the reports after it do not verify', () => {
    const files = chain([{ report: OLD }, { rotate: [OLD, NEW], endorsed: true }, { report: NEW }]);
    const r = verifyEvidence(files, OLD.publicKey);
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => [p.file, p.message])).toEqual([
      [files[1]!.name, `key rotation to ${id(NEW)}, which is not among the given public keys: give it with --public-key to accept the reports after the rotation`],
      [files[2]!.name, `signed by key ${id(NEW)}, which is not among the given public keys`],
    ]);
  });

  it('[signing-key] a report signed by the new key before the rotation fails, though every signature and link holds', () => {
    const files = chain([{ report: OLD }, { report: NEW }, { rotate: [OLD, NEW], endorsed: true }, { report: NEW }]);
    const r = verifyEvidence(files, both);
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toEqual({ file: files[1]!.name, message: `signed by key ${id(NEW)}, but the chain is signed by ${id(OLD)} at this point: a report signed by a later key placed before its key rotation, or a key change without a rotation record` });
  });

  it('[signing-key] a first report signed by the new key, before the rotation, fails at the rotation', () => {
    const files = chain([{ report: NEW }, { rotate: [OLD, NEW], endorsed: true }, { report: NEW }]);
    const r = verifyEvidence(files, both);
    expect(r.problems).toEqual([{ file: files[1]!.name, message: `key rotation from ${id(OLD)}, but the chain is signed by ${id(NEW)} at this point: a report signed by the new key ${id(NEW)} placed before its key rotation` }]);
  });

  it('[signing-key] a key change without a rotation record fails', () => {
    const r = verifyEvidence(chain([{ report: OLD }, { report: NEW }]), both);
    expect(r.ok).toBe(false);
    expect(r.problems[0]!.message).toContain(`signed by key ${id(NEW)}, but the chain is signed by ${id(OLD)} at this point`);
  });

  it('[signing-key] a rotation record changed afterwards (another new key) fails', () => {
    const other = generateSigningKey();
    const files = chain([{ report: OLD }, { rotate: [OLD, NEW], endorsed: true }]);
    const edited = JSON.parse(files[1]!.text) as { newKey: { keyId: string } };
    edited.newKey.keyId = id(other);
    files[1] = { name: files[1]!.name, text: `${canonicalJson(edited)}\n` };
    const r = verifyEvidence(files, buildKeyring([OLD.publicKey, NEW.publicKey, other.publicKey]));
    expect(r.problems.map((p) => p.message)).toEqual(expect.arrayContaining([
      'the new key\'s signature does not verify: the key rotation record was changed',
      'the previous key\'s signature does not verify: the key rotation record was changed',
    ]));
  });

  it('only rotation records may follow the report the status file names', () => {
    const files = chain([{ report: OLD }, { report: OLD }, { rotate: [OLD, NEW], endorsed: true }]);
    const head = { name: files[1]!.name.split('/').pop()!, hash: chainHash(files[1]!.text) };
    expect(verifyEvidence(files, both, { head }).ok).toBe(true);
    const older = { name: files[0]!.name.split('/').pop()!, hash: chainHash(files[0]!.text) };
    expect(verifyEvidence(files, both, { head: older }).problems[0]!.message).toContain(`the status file names ${older.name} as the newest report, but the chain ends at ${files[1]!.name}`);
  });

  it('[applied-refs] a revision gone from the repository is a warning, not a problem', () => {
    const gone = 'b'.repeat(40);
    const files = chain([{ report: OLD }, { report: OLD, revision: gone }]);
    const r = verifyEvidence(files, OLD.publicKey, { revisionGone: (sha) => (sha === gone ? 'not reachable from any ref' : undefined) });
    expect(r.ok).toBe(true);
    expect(r.problems).toEqual([]);
    expect(r.warnings).toEqual([{ file: files[1]!.name, message: `revision ${gone} gone from the remote: not reachable from any ref` }]);
  });
});
