import { describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';

const COMMANDS = ['render', 'diff', 'plan', 'apply', 'run', 'status', 'verify', 'keygen', 'import', 'export', 'suspend', 'resume'];

/** The flags a help text lists under Options. */
function flagsOf(help: string): Set<string> {
  const options = help.slice(help.indexOf('Options:'), help.indexOf('Examples:'));
  return new Set([...options.matchAll(/^\s+(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]!));
}

/** The `Exit codes:` section as code → meaning (continuation lines joined). */
function exitCodesOf(help: string): Map<number, string> {
  const section = help.slice(help.indexOf('Exit codes:') + 'Exit codes:'.length);
  const codes = new Map<number, string>();
  let last: number | undefined;
  for (const line of section.split('\n')) {
    const m = /^ {2}(\d+)\s+(.*)$/.exec(line);
    if (m) codes.set((last = Number(m[1])), m[2]!);
    else if (last !== undefined && line.trim()) codes.set(last, `${codes.get(last)!} ${line.trim()}`);
  }
  return codes;
}

describe('--help', () => {
  it.each(COMMANDS)('[first-help] %s --help ends with examples that use its own flags, then its exit codes', async (command) => {
    const r = await cli([command, '--help']);
    expect(r.code, r.stderr).toBe(0);
    const help = r.stdout;
    expect(help.indexOf('Examples:')).toBeGreaterThan(help.indexOf('Options:'));
    expect(help.indexOf('Exit codes:')).toBeGreaterThan(help.indexOf('Examples:'));
    expect(help.trimEnd().split('\n').at(-1)).toMatch(/^ {2}70\s+internal error/);

    const examples = [...help.matchAll(/^ {2}\$ pm2-gitops (\S+)(.*)$/gm)];
    expect(examples.length).toBeGreaterThanOrEqual(2);
    expect(examples.length).toBeLessThanOrEqual(3);
    const flags = flagsOf(help);
    for (const [, cmd, rest] of examples) {
      expect(cmd).toBe(command);
      for (const flag of rest!.match(/--[\w-]+/g) ?? []) expect(flags, `${command} example uses ${flag}`).toContain(flag);
    }
    for (const line of help.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);

    const codes = exitCodesOf(help);
    expect(codes.get(0)).toBeTruthy();
    expect(codes.get(70)).toBeTruthy();
  });

  it('[first-help] defaults show as typed: no quotes, no empty lists, no "false" for a switch', async () => {
    const texts = await Promise.all(COMMANDS.map(async (c) => (await cli([c, '--help'])).stdout));
    const all = texts.join('\n');
    expect(all).not.toMatch(/\(default: \[\]\)|\(default: "|\(default: false\)/);
    const run = texts[COMMANDS.indexOf('run')]!.replace(/\s+/g, ' ');
    expect(run).toContain('--concurrency <n> actions that may run at once (default: 8)');
    expect(run).toContain('--interval <duration> how often to fetch (default: 30s)');
    expect(run).toContain('(repeat for several; default: every environment) --branch');
    expect(run).toContain('until SIGTERM or SIGINT');
  });

  it('[first-help] exit codes name what each command ends with', async () => {
    const codes = async (c: string): Promise<number[]> => [...exitCodesOf((await cli([c, '--help'])).stdout).keys()];
    expect(await codes('diff')).toEqual([0, 1, 2, 6, 70]);
    expect(await codes('apply')).toEqual([0, 2, 4, 6, 70]);
    expect(await codes('verify')).toEqual([0, 2, 5, 6, 70]);
    expect(await codes('keygen')).toEqual([0, 2, 70]);
    const top = await cli(['--help']);
    expect(top.stdout).toContain('Examples:');
    expect(top.stdout).toContain('$ export PM2_HOME=$(mktemp -d)');
  });
});
