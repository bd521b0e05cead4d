/**
 * Broken and hostile manifest files through the built CLI: `render` and `plan`
 * exit 2 with a short report naming the file, and print no secret, no bytes of
 * the file and nothing of the YAML library's own; environments that do not
 * include a broken file are not affected by it.
 */
import { closeSync, cpSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { cli, ROOT, type RunResult } from './helpers/cli.js';

const SECRET = 's3cr3t-cli-value';
const temp = mkdtempSync(join(tmpdir(), 'pm2gt-input-'));
// No command here reaches PM2 (the manifests are refused first); if one did, it would find its own empty home.
const env = { ...process.env, PM2_HOME: join(temp, 'pm2') };
afterAll(() => rmSync(temp, { recursive: true, force: true }));

let repo: string;
let count = 0;
beforeEach(() => {
  repo = join(temp, `repo-${count++}`);
  cpSync(join(ROOT, 'manifests'), repo, { recursive: true });
});

const api = () => readFileSync(join(repo, 'base/api.yaml'), 'utf8');
const render = (envName: string) => cli(['render', '--repo', repo, '--env', envName, '--json'], { env });

/**
 * The problems the report lists, asserting its shape and that it holds no secret.
 * A file that cannot be read at all hides its tasks, so the environment's patch
 * of the api then matches no task: that follow-up is left out here.
 */
function problems(r: RunResult, envName = 'dev'): string[] {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).not.toContain(SECRET);
  expect(r.stderr).not.toMatch(/Warning|stringified|YAMLParseError|at line \d+, column \d+:/);
  const [header, ...lines] = r.stderr.trimEnd().split('\n');
  expect(header).toMatch(new RegExp(`^pm2-gitops: environment ${envName} is invalid: ${lines.length} problems?$`));
  return lines.map((l) => l.trim()).filter((l) => !l.includes('matches no task of this environment'));
}

describe('broken manifest files through the CLI', () => {
  it('[yaml-alias] an unresolved alias in another environment\'s file breaks only that environment', async () => {
    const staging = join(repo, 'environments/staging/environment.yaml');
    writeFileSync(staging, readFileSync(staging, 'utf8').replace('namespace: staging', 'namespace: *nope'));
    expect((await render('dev')).code).toBe(0);
    const lines = problems(await render('staging'), 'staging');
    expect(lines).toContain('environments/staging/environment.yaml:7:14 /spec/namespace: the alias (*name) refers to no anchor (&name) defined before it');
  });

  it('[yaml-alias] an unresolved alias in a file no resource includes breaks nothing; it is listed when the environment is not found', async () => {
    mkdirSync(join(repo, 'notes'));
    writeFileSync(join(repo, 'notes/draft.yaml'), `kind: Task\nmetadata: { name: draft }\nspec: { process: { script: x.js, env: { A: *nope, B: ${SECRET} } } }\n`);
    expect((await render('dev')).code).toBe(0);
    const lines = problems(await render('nope'), 'nope');
    expect(lines).toEqual([
      '. /: environment "nope" not found; available: dev, prod, staging',
      'notes/draft.yaml:3:44 /spec/process/env/A: the alias (*name) refers to no anchor (&name) defined before it',
    ]);
  });

  it('[secret-yaml-syntax] a syntax error is one problem that quotes nothing of the file, from render and from plan', async () => {
    writeFileSync(join(repo, 'base/api.yaml'), `- ${api().replace('GREETING: hello', `GREETING: ${SECRET}`)}`);
    for (const command of ['render', 'plan']) {
      const r = await cli([command, '--repo', repo, '--env', 'dev'], { env });
      expect(problems(r)).toEqual(['base/api.yaml:2:1 /: invalid YAML: unexpected content after a complete value; check the indentation of this line']);
    }
  });

  it('[secret-yaml-warning] a collection as a key is a problem, and the YAML library prints nothing', async () => {
    writeFileSync(join(repo, 'base/api.yaml'), api().replace('      GREETING: hello', `      GREETING: hello\n      ? [${SECRET}]\n      : x`));
    expect(problems(await render('dev'))).toEqual(['base/api.yaml:25:9 /spec/process/env: a key is a map or a list; keys must be strings']);
  });

  it('[secret-utf16] a UTF-16 manifest is named, not printed', async () => {
    const text = api().replace('GREETING: hello', `GREETING: ${SECRET}`);
    writeFileSync(join(repo, 'base/api.yaml'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    const r = await render('dev');
    expect(r.stderr).not.toContain(Buffer.from(SECRET, 'utf16le').toString('utf8'));
    expect(r.stderr).not.toContain('\0');
    expect(problems(r)).toEqual(['base/api.yaml:1:1 /: not UTF-8 text (looks like UTF-16); save the file as UTF-8']);
  });

  it('[binary-file] a 274 KB PNG named .yaml is one short line, none of its bytes', async () => {
    const noise = Buffer.alloc(274 * 1024);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 251;
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), deflateSync(noise, { level: 0 }), Buffer.from(SECRET)]);
    writeFileSync(join(repo, 'base/logo.yaml'), png);
    const r = await render('dev');
    expect(r.stderr.length).toBeLessThan(300);
    expect(r.stderr).toMatch(/^[\x20-\x7e\n]*$/);
    expect(problems(r)).toEqual(['base/logo.yaml:1:1 /: not UTF-8 text (looks like a binary file); manifests are YAML text in UTF-8']);
  });

  it('[file-size] a 100 MB manifest is refused from its size, naming the size and the limit', { timeout: 60_000 }, async () => {
    const fd = openSync(join(repo, 'base/huge.yaml'), 'w');
    ftruncateSync(fd, 100 * 1024 * 1024); // sparse: no disk space, but 100 MB to read
    closeSync(fd);
    expect(problems(await render('dev'))).toEqual([
      'base/huge.yaml:1:1 /: file is too large: 104857600 bytes, the limit is 1048576 bytes (1 MiB) per manifest file; split it into several files',
    ]);
  });

  it('[nul-bytes] a NUL in an env value is refused at its pointer and never printed', async () => {
    writeFileSync(join(repo, 'base/api.yaml'), api().replace('GREETING: hello', `GREETING: ${SECRET}\0`));
    const r = await render('dev');
    expect(r.stderr).not.toContain('\0');
    expect(problems(r)).toEqual([
      `base/api.yaml:24:${17 + SECRET.length} /spec/process/env/GREETING: the value holds a control character (U+0000, NUL); manifests may hold no control characters other than tab and line breaks`,
    ]);
  });

  it('[big-integers] a big integer is refused with the hint to quote it, never printed', async () => {
    writeFileSync(join(repo, 'base/api.yaml'), api().replace('GREETING: hello', 'GREETING: hello\n      ACCOUNT: 123456789012345678901234567890'));
    const r = await render('dev');
    expect(r.stderr).not.toMatch(/1234567890|e\+29/);
    expect(problems(r)).toEqual([
      'base/api.yaml:25:16 /spec/process/env/ACCOUNT: an integer of 30 digits is outside the range numbers keep exactly (±9007199254740991); quote it to keep it exact',
    ]);
  });
});

describe('import of a YAML ecosystem file', () => {
  it('[yaml-alias] refuses an unresolved alias with exit 2 and the file and line, never a stack or the text', async () => {
    const file = join(temp, 'ecosystem.yaml');
    writeFileSync(file, `apps:\n  - name: api\n    script: server.js\n    env: { TOKEN: ${SECRET} }\n    args: *nowhere\n`);
    const r = await cli(['import', file, '--out', join(temp, 'imported')], { env });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/ecosystem\.yaml:5:\d+/);
    expect(r.stderr).not.toContain(SECRET);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  });
});
