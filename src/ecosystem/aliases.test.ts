import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { canonicalOptions, PM2_ALIASES, scriptOf } from './aliases.js';

const require = createRequire(import.meta.url);

describe('PM2 option aliases', () => {
  it('[import-aliases] are the aliases PM2 itself derives from its schema, in the order it tries them', () => {
    const schema = (require('pm2/lib/tools/Config.js') as { schema: Record<string, { alias?: string[] }> }).schema;
    const pm2: Record<string, string[]> = {};
    for (const [option, def] of Object.entries(schema)) {
      const aliases = (def.alias ?? []).filter((a) => a !== option);
      if (!option.includes('\\') && aliases.length) pm2[option] = aliases;
    }
    expect(PM2_ALIASES).toEqual(pm2);
  });

  it('[import-aliases] takes the script from script, then cmd, command and exec, as PM2 does', () => {
    expect(scriptOf({ cmd: 'server.js' })).toBe('server.js');
    expect(scriptOf({ command: 'npm start' })).toBe('npm start');
    expect(scriptOf({ script: 'a.js', cmd: 'b.js', exec: 'c.js' })).toBe('a.js');
    expect(scriptOf({ exec: 'c.js', cmd: 'b.js' })).toBe('b.js');
    expect(scriptOf({})).toBeUndefined();
  });

  it('[import-aliases] writes camelCase options under PM2\'s own names and keeps the aliases render folds', () => {
    const r = canonicalOptions({ ignoreWatch: ['node_modules'], maxMemoryRestart: '1G', execMode: 'cluster', interpreter: 'none', out: 'o.log', watch: true });
    expect(r.options).toEqual({ ignore_watch: ['node_modules'], max_memory_restart: '1G', exec_mode: 'cluster', interpreter: 'none', out: 'o.log', watch: true });
    expect(r.renamed).toEqual([['ignoreWatch', 'ignore_watch'], ['maxMemoryRestart', 'max_memory_restart'], ['execMode', 'exec_mode']]);
    expect(r.conflicts).toEqual([]);
  });

  it('[import-renders] keeps one key per option: the first set one in PM2\'s order', () => {
    const both = canonicalOptions({ combine_logs: true, merge_logs: true });
    expect(both.options).toEqual({ merge_logs: true });
    expect(both.conflicts).toEqual([{ option: 'merge_logs', kept: 'merge_logs', dropped: ['combine_logs'] }]);
    // PM2 reads an option that is not set (false, 0, '') from its next alias.
    expect(canonicalOptions({ merge_logs: false, combine_logs: true }).options).toEqual({ combine_logs: true });
    expect(canonicalOptions({ killTimeout: 5000, kill_timeout: 0 }).options).toEqual({ kill_timeout: 5000 });
    expect(canonicalOptions({ out: 'a.log', out_log: 'b.log', outFile: 'c.log' }).options).toEqual({ out_log: 'b.log' });
    expect(canonicalOptions({ script: 'a.js', cmd: 'b.js' }).options).toEqual({});
  });
});
