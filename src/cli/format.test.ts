import { describe, expect, it } from 'vitest';
import { diff } from '../diff/diff.js';
import { redactValue } from '../diff/redact.js';
import type { LiveTask } from '../domain/live.js';
import { formatDrifts, PLAIN } from './format.js';

const live = (name: string, process: Record<string, unknown>): LiveTask => ({
  name, namespace: 'n', process, instances: [{ pmId: 0, pid: 1, status: 'online', restarts: 0, startedAt: 0, unstableRestarts: 0 }],
});

describe('formatDrifts', () => {
  it('[first-diff] shows each changed option as live → desired, env values as their sha256: prefixes', () => {
    const drifts = diff(
      [{ name: 'web', type: 'service', comparable: { instances: 2, exec_mode: 'cluster', env: { TOKEN: 'tok-new-4411', PORT: '3000' }, args: ['--fast'] } }],
      [live('web', { instances: 1, exec_mode: 'cluster', env: { TOKEN: 'tok-old-9921', PORT: '3000', OLD: 'gone-value' }, kill_timeout: 3000 })],
    );
    const text = formatDrifts(drifts, PLAIN);
    expect(text.split('\n')).toEqual([
      '~ web: 5 options differ (live → desired)',
      '    + /args: ["--fast"]',
      '    - /env/OLD',
      `    ~ /env/TOKEN: ${redactValue('tok-old-9921')} → ${redactValue('tok-new-4411')}`,
      '    ~ /instances: 1 → 2',
      '    - /kill_timeout',
      '',
    ]);
    expect(text).not.toMatch(/tok-old|tok-new|gone-value/);
  });

  it('[first-diff] says "1 option differs" for a single difference', () => {
    const drifts = diff([{ name: 'api', type: 'service', comparable: { max_memory_restart: 209715200 } }], [live('api', { max_memory_restart: 104857600 })]);
    expect(formatDrifts(drifts, PLAIN)).toBe('~ api: 1 option differs (live → desired)\n    ~ /max_memory_restart: 104857600 → 209715200\n');
  });
});
