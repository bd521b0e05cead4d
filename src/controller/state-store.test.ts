import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StateStore } from './state-store.js';

describe('StateStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pm2gt-store-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('[corrupt-state] a truncated state.json is set aside, not fatal', () => {
    const store = new StateStore(dir);
    store.update('dev', (m) => { m.lastGood = 'abc'; });
    const file = join(dir, 'state.json');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.slice(0, text.length / 2));
    const reopened = new StateStore(dir);
    expect(reopened.damaged?.error).toMatch(/JSON/);
    expect(existsSync(reopened.damaged!.movedTo)).toBe(true);
    expect(existsSync(file)).toBe(false);
    expect(reopened.environments()).toEqual([]);
  });

  it('[corrupt-state] a file of the wrong shape counts as damaged too', () => {
    writeFileSync(join(dir, 'state.json'), '{"environments":{"dev":{}}}');
    expect(new StateStore(dir).damaged?.error).toBe('environment dev has no "bad" list');
  });

  it('saves atomically, leaving no temporary file', () => {
    const store = new StateStore(join(dir, 'fresh'));
    store.update('a', (m) => { m.lastGood = 'x'; });
    expect(readdirSync(join(dir, 'fresh'))).toEqual(['state.json']);
    expect(new StateStore(join(dir, 'fresh')).env('a').lastGood).toBe('x');
  });
});
