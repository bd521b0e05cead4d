import { describe, expect, it } from 'vitest';
import { DaemonUnreachableError, ValidationError } from '../domain/errors.js';
import type { DesiredState } from '../domain/manifest.js';
import { redactValue } from '../diff/redact.js';
import { capProblems, describeFailure, firstLine, scrub, secretsOf } from './failure.js';

const state = {
  environment: 'dev', namespace: 'dev', file: 'e.yaml', policy: { prune: false, selfHeal: false, rollback: false, approvals: { required: 0 } },
  tasks: [{ name: 'web', sourceName: 'web', file: 'w.yaml', type: 'service', dependsOn: [], labels: {}, context: {}, process: { script: 'x.js', env: { TOKEN: 'tok-very-secret', ON: 1 }, env_prod: { KEY: 'prod-key-123' } } }],
} as unknown as DesiredState;

describe('describeFailure', () => {
  it('[broken-commit-reported] an unexpected error is internal, first line only, never its stack or an env value', () => {
    const err = new TypeError('cannot read tok-very-secret of undefined\n    at thing (x.js:1:1)');
    const f = describeFailure(err, secretsOf([state]));
    expect(f.reason).toBe('internal');
    expect(f.message).toBe(`internal error: cannot read ${redactValue('tok-very-secret')} of undefined`);
  });

  it('names PM2 rejections and unreachable daemons', () => {
    expect(describeFailure(new ValidationError('x', [{ file: 'base/w.yaml', pointer: '/spec/process', message: 'PM2 rejects task web: Interpreter q is NOT AVAILABLE' }])))
      .toEqual({ reason: 'pm2-rejected', message: 'base/w.yaml: PM2 rejects task web: Interpreter q is NOT AVAILABLE' });
    expect(describeFailure(new DaemonUnreachableError('the PM2 daemon is gone')).reason).toBe('daemon-unreachable');
  });
});

describe('scrub and firstLine', () => {
  it('hides env values of every env block and URL credentials', () => {
    const secrets = secretsOf([state]);
    expect(secrets).toEqual(['tok-very-secret', 'prod-key-123']);
    expect(scrub('fetch https://bob:hunter2@git.example.com/x.git with prod-key-123', secrets)).toBe(`fetch https://***@git.example.com/x.git with ${redactValue('prod-key-123')}`);
  });

  it('cuts long messages', () => {
    expect(firstLine(new Error('x'.repeat(2000))).length).toBeLessThanOrEqual(500);
    expect(firstLine(new Error('\n\n  second line\nthird'))).toBe('second line');
  });
});

describe('capProblems', () => {
  it('[status-size] keeps 200 problems and says how many more there were', () => {
    const out = capProblems(Array.from({ length: 5000 }, (_, i) => `p${i}`));
    expect(out).toHaveLength(201);
    expect(out[200]).toBe('… and 4800 more problems');
    expect(capProblems(['a'])).toEqual(['a']);
  });
});
