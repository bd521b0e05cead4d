import { describe, expect, it } from 'vitest';
import type { DesiredState, DesiredTask } from '../domain/manifest.js';
import { appConfigOf } from './read.js';

const task = (process: Record<string, unknown>): DesiredTask => ({
  name: 'web', sourceName: 'web', file: 'base/web.yaml', type: 'service', dependsOn: [], labels: {}, context: {}, process: process as DesiredTask['process'],
});
const state = { environment: 'production', namespace: 'shop', file: 'environments/production/environment.yaml', policy: {}, tasks: [] } as unknown as DesiredState;

describe('appConfigOf', () => {
  it('[import-pwd-env] leaves env_<name> blocks out of what PM2 starts (PM2 reads them only from a file), keeps env and the options', () => {
    const app = appConfigOf(task({ script: 'server.js', cwd: 'api', env: { PORT: '80' }, env_production: { PORT: '81' }, env_staging: { PORT: '82' }, instances: 2 }), state, '/repo');
    expect(app).toEqual({ script: 'server.js', env: { PORT: '80' }, instances: 2, name: 'web', namespace: 'shop', cwd: '/repo/api' });
  });
});
