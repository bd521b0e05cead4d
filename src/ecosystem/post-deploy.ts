/**
 * post-deploy (pure): the `post-deploy` command of a `pm2 deploy` target →
 * the `spec.build` it amounts to, and a message for every step it does not
 * carry over. `pm2 deploy` runs the command with `sh` in the new checkout
 * (the folder of the ecosystem file) after each deploy; pm2-gitops runs
 * `spec.build` in each task's cwd, in a build of its own, before any process
 * is touched, and reloads the processes itself. Messages name the deploy
 * target, the step's position and its program, never the rest of a command
 * (it may hold a value).
 */
import type { BuildSpec } from '../domain/manifest.js';

/** The build a post-deploy command amounts to, with what was said about its steps. */
export interface PostDeployBuild {
  /** Undefined when no step could be carried over. */
  build?: BuildSpec;
  /** Steps changed or dropped on purpose (the reload the controller does itself, an install kept as written). */
  notes: string[];
  /** Steps that were not carried over, and why. */
  warnings: string[];
}

/** One `&&`/`;`/newline-separated part of a command. */
export interface CommandStep {
  text: string;
  words: string[];
  /** The first shell feature the step uses beyond a plain command, if any. */
  shell?: string;
}

/** pm2 subcommands that (re)start the apps: the controller does that itself. */
const PM2_STARTS = new Set(['reload', 'restart', 'start', 'startOrReload', 'startOrRestart', 'startOrGracefulReload', 'gracefulReload']);
/** npm subcommands that install the dependencies. */
const NPM_INSTALLS = new Set(['install', 'i', 'ci', 'clean-install', 'isntall', 'add']);
/** npm subcommands that are build steps once the dependencies are in. */
const NPM_STEPS = new Set(['run', 'run-script', 'rum', 'urn', 'test', 't', 'rebuild', 'rb', 'prune', 'exec', 'x']);
/** yarn and pnpm commands that are not a script of the package: they change the package or the host. */
const PACKAGE_MANAGER_OTHERS = new Set(['add', 'remove', 'rm', 'upgrade', 'up', 'update', 'global', 'link', 'unlink', 'publish', 'login', 'logout', 'config', 'cache', 'init', 'set', 'policies', 'self-update', 'start', 'dlx', 'store', 'setup']);
/** Programs whose command is a build step as it stands. */
const BUILD_PROGRAMS = new Set(['node', 'npx', 'tsc']);

function isFlag(word: string): boolean {
  return word.startsWith('-');
}

/** Splits a command at `&&`, `;` and newlines outside quotes, noting what else of the shell a step uses. */
export function splitCommand(command: string): CommandStep[] {
  const steps: CommandStep[] = [];
  let text = '';
  let word: string | undefined;
  let words: string[] = [];
  let shell: string | undefined;
  let quote: '"' | "'" | undefined;
  const endWord = (): void => { if (word !== undefined) words.push(word); word = undefined; };
  const endStep = (): void => {
    endWord();
    if (text.trim()) steps.push({ text: text.trim(), words, ...(shell ? { shell } : {}) });
    text = ''; words = []; shell = undefined;
  };
  const mark = (what: string): void => { shell ??= what; };
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    const next = command[i + 1];
    if (quote) {
      text += c;
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && next !== undefined) { word = (word ?? '') + next; text += next; i++; }
      else { if (quote === '"' && (c === '`' || (c === '$' && next === '('))) mark('command substitution'); word = (word ?? '') + c; }
      continue;
    }
    if (c === '"' || c === "'") { quote = c; word ??= ''; text += c; continue; }
    if (c === '\\' && next !== undefined) { if (next === '\n') { i++; continue; } word = (word ?? '') + next; text += c + next; i++; continue; }
    if (c === '&' && next === '&') { i++; endStep(); continue; }
    if (c === ';' || c === '\n') { endStep(); continue; }
    if (c === '|') mark(next === '|' ? 'a fallback (||)' : 'a pipe');
    else if (c === '>' || c === '<') mark('a redirection');
    else if (c === '&') mark('a background job');
    else if (c === '`' || (c === '$' && next === '(')) mark('command substitution');
    else if (c === '(' || c === ')') mark('a subshell');
    else if (c === '#' && word === undefined) mark('a comment');
    text += c;
    if (c === ' ' || c === '\t') endWord();
    else word = (word ?? '') + c;
  }
  if (quote) mark('an unclosed quote');
  endStep();
  return steps;
}

type Kind =
  | { kind: 'install' }
  | { kind: 'run' }
  | { kind: 'reload' }
  | { kind: 'cd' }
  | { kind: 'other'; reason: string };

function basename(program: string): string {
  return program.slice(program.lastIndexOf('/') + 1);
}

function packageManagerStep(program: string, args: string[]): Kind {
  const [sub, ...rest] = args;
  const positional = rest.filter((a) => !isFlag(a));
  const global = rest.some((a) => a === '-g' || a === '--global') || sub === 'global';
  if (global) return { kind: 'other', reason: 'it installs packages on the host, outside the build' };
  // A bare `yarn` (or `yarn --flags`) installs; npm and pnpm need their install command.
  const installs = program === 'npm' ? NPM_INSTALLS.has(sub ?? '')
    : sub === 'install' || sub === 'i' || (program === 'yarn' && (sub === undefined || isFlag(sub)));
  if (installs) {
    if (positional.length || (program === 'npm' && sub === 'add')) return { kind: 'other', reason: 'it installs named packages: add them to package.json, and the install step installs them' };
    return { kind: 'install' };
  }
  if (sub === undefined) return { kind: 'other', reason: `${program} without a command does nothing to build` };
  if (program === 'npm') {
    if (NPM_STEPS.has(sub)) return { kind: 'run' };
    return { kind: 'other', reason: `npm ${sub} is not an install or build command` };
  }
  if (PACKAGE_MANAGER_OTHERS.has(sub)) return { kind: 'other', reason: `${program} ${sub} is not an install or build command` };
  return { kind: 'run' };
}

function classify(words: string[]): Kind {
  const program = basename(words[0]!);
  const args = words.slice(1);
  if (program === 'pm2' || program === 'pm2-runtime' || (program === 'npx' && basename(args[0] ?? '') === 'pm2')) {
    const sub = program === 'npx' ? args[1] : args[0];
    return PM2_STARTS.has(sub ?? '') ? { kind: 'reload' } : { kind: 'other', reason: 'pm2-gitops keeps the processes itself; pm2 commands do not belong in a build' };
  }
  if (program === 'npm' || program === 'yarn' || program === 'pnpm') return packageManagerStep(program, args);
  if (BUILD_PROGRAMS.has(program)) return { kind: 'run' };
  if (program === 'cd' || program === 'pushd' || program === 'popd') return { kind: 'cd' };
  if (program === 'git') return { kind: 'other', reason: 'the controller fetches and checks out each revision itself' };
  if (program === 'sudo' || program === 'su') return { kind: 'other', reason: 'build steps run as the controller\'s user' };
  return { kind: 'other', reason: 'spec.build takes install and build commands (npm, yarn, pnpm, npx, node, tsc); a build builds from the revision\'s files alone: make it a package.json script and call that' };
}

/** A note for an install that reuse cannot trust to give the same result from the same lockfile. */
function installNote(words: string[]): string | undefined {
  const [program, sub] = [basename(words[0]!), words[1]];
  if (program === 'npm' && sub !== 'ci' && sub !== 'clean-install') {
    return 'kept as written as spec.build.install; an install is reused while package.json, the lockfile and the command stay the same, which "npm ci" guarantees (it installs the committed lockfile exactly, and fails when the lockfile is out of date): consider "npm ci"';
  }
  const frozen = words.some((w) => w === '--frozen-lockfile' || w === '--immutable');
  if ((program === 'yarn' || program === 'pnpm') && !frozen) {
    return `kept as written as spec.build.install; an install is reused while package.json, the lockfile and the command stay the same: consider "${program} install ${program === 'yarn' ? '--immutable (Yarn 2+) or --frozen-lockfile' : '--frozen-lockfile'}"`;
  }
  return undefined;
}

/**
 * The build of a post-deploy command. `where` names it in messages, e.g.
 * `deploy.production["post-deploy"]`.
 */
export function buildOfPostDeploy(command: unknown, where: string): PostDeployBuild {
  const out: PostDeployBuild = { notes: [], warnings: [] };
  if (typeof command !== 'string') {
    out.warnings.push(`${where} is not a command (a string); not carried over`);
    return out;
  }
  const steps = splitCommand(command);
  let install: string | undefined;
  const run: string[] = [];
  for (const [i, step] of steps.entries()) {
    const at = `${where} step ${i + 1}`;
    const first = step.words[0] ?? '';
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(first)) { out.warnings.push(`${at} (sets variables) was not carried over: put the variables in the task's env`); continue; }
    const program = basename(first) || '?';
    if (step.shell) { out.warnings.push(`${at} (${program}) was not carried over: it uses ${step.shell}; make it a package.json script and call that`); continue; }
    const kind = classify(step.words);
    if (kind.kind === 'cd') {
      const after = steps.length - i - 1;
      const rest = after === 0 ? ' was' : ` and the ${after === 1 ? 'step' : `${after} steps`} after it were`;
      out.warnings.push(`${at} (${program})${rest} not carried over: spec.build runs every step in the task's cwd`);
      break;
    }
    if (kind.kind === 'reload') { out.notes.push(`${at} (pm2 ${program === 'npx' ? step.words[2] : step.words[1]}) dropped: the controller reloads or restarts the processes itself once the build is ready`); continue; }
    if (kind.kind === 'other') { out.warnings.push(`${at} (${program}) was not carried over: ${kind.reason}`); continue; }
    if (kind.kind === 'install') {
      if (install !== undefined) { out.warnings.push(`${at} (${program}) was not carried over: spec.build has one install step, taken from an earlier step`); continue; }
      install = step.text;
      const note = installNote(step.words);
      if (note) out.notes.push(`${at} (${program}): ${note}`);
      if (run.length) out.notes.push(`${at} (${program}) comes after build steps in ${where}; spec.build installs first`);
      continue;
    }
    run.push(step.text);
  }
  if (install !== undefined || run.length) out.build = { ...(install !== undefined ? { install } : {}), ...(run.length ? { run } : {}) };
  return out;
}
