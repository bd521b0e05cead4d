/**
 * What `--help` says beyond the flags (pure): each command's examples and
 * exit codes, and defaults shown as a user types them.
 */
import type { Help, Option } from 'commander';

/** The lines after a command's flags: a few examples, then every exit code it may end with. */
interface CommandHelp {
  examples: Array<[command: string, what: string]>;
  exitCodes: Array<[code: number, meaning: string]>;
  /** What the command talks to, and so what exit 6 means for it. */
  reaches?: 'git' | 'git and PM2';
}

const BUG: [number, string] = [70, 'internal error: a bug (the stack is printed)'];

const INVALID: [number, string] = [2, 'invalid flags or manifests (each problem as file:line:column /pointer: message)'];

const HELP: Record<string, CommandHelp> = {
  render: {
    reaches: 'git',
    examples: [
      ['pm2-gitops render --path manifests --env dev', 'the desired state of dev as YAML, env values as sha256: prefixes'],
      ['pm2-gitops render --env prod --json', 'the same as one JSON document'],
    ],
    exitCodes: [[0, 'rendered'], INVALID],
  },
  diff: {
    reaches: 'git and PM2',
    examples: [
      ['pm2-gitops diff --path manifests --env dev', 'each changed option as live → desired'],
      ['pm2-gitops diff --env prod --json', 'the drifts as JSON (patches from live to desired)'],
    ],
    exitCodes: [[0, 'no differences'], [1, 'something differs'], INVALID],
  },
  plan: {
    reaches: 'git and PM2',
    examples: [
      ['pm2-gitops plan --path manifests --env dev', 'the actions apply would take, in order'],
      ['pm2-gitops plan --env prod --json', 'the plan as JSON'],
    ],
    exitCodes: [[0, 'planned (with or without actions)'], INVALID],
  },
  apply: {
    reaches: 'git and PM2',
    examples: [
      ['export PM2_HOME=$(mktemp -d)', 'a PM2 daemon of its own for this shell, to try things'],
      ['pm2-gitops apply --path manifests --env dev', 'reconcile dev once'],
      ['pm2-gitops apply --env prod --concurrency 2 --json', 'two actions at a time; the results as JSON'],
    ],
    exitCodes: [
      [0, 'converged'],
      [2, 'invalid flags or manifests, or a controller runs the environment on this PM2 daemon (see --force)'],
      [4, 'an action failed, a failed job blocks its dependents, or the prune limit held the plan'],
    ],
  },
  run: {
    reaches: 'git and PM2',
    examples: [
      ['pm2-gitops run --path manifests --env dev', 'follow this repository\'s branch and reconcile dev'],
      ['pm2-gitops run --repo /srv/git/ops.git --branch main --interval 1m', 'every environment of a bare repository\'s main'],
      ['pm2-gitops run --env prod --require-approvals prod=2 --allowed-signers keys', 'prod applies only commits approved by two people of the file keys'],
      ['PM2_GITOPS_JWT_SECRET=… pm2-gitops run --env dev --listen 127.0.0.1:8080', 'also serve the HTTP API (health, metrics, tasks, events, webhook)'],
      ['… run --env prod --notify https://hooks.slack.com/services/…', 'post failures, refusals, rollbacks and healed drift there'],
    ],
    exitCodes: [
      [0, 'stopped by SIGTERM or SIGINT (after the current step)'],
      [2, 'refused before anything runs: invalid flags; another live controller holds the state dir or an --env environment on this PM2 daemon (the message names the lock file and the holder\'s pid, host and start time; without --env such environments are skipped and logged); or the evidence chain is signed by another key (see --rotate-key)'],
    ],
  },
  status: {
    reaches: 'git',
    examples: [
      ['pm2-gitops status --env dev', 'status/dev.md from the branch pm2-gitops/status'],
      ['pm2-gitops status --repo /srv/git/ops.git --json', 'every environment\'s status, parsed, as JSON'],
    ],
    exitCodes: [[0, 'printed (also when there is no status yet)'], [2, 'invalid flags']],
  },
  verify: {
    reaches: 'git',
    examples: [
      ['pm2-gitops verify --public-key keys/signing.pub', 'every environment\'s evidence chain'],
      ['pm2-gitops verify --public-key old.pub --public-key new.pub --json', 'chains with a key rotation, as JSON'],
    ],
    exitCodes: [[0, 'every report verifies'], [2, 'no --public-key, or a key file cannot be read'], [5, 'a report is tampered with or unsigned, or there is no status branch']],
  },
  token: {
    examples: [
      ['PM2_GITOPS_JWT_SECRET=… pm2-gitops token --subject ci --ttl 1h', 'a viewer token (HS256) for the HTTP API'],
      ['pm2-gitops token --subject alice --role operator --jwt-private-key signing.key', 'an operator token signed with an Ed25519 key (EdDSA)'],
    ],
    exitCodes: [[0, 'printed'], [2, 'no secret or key, a secret shorter than 32 bytes, or an invalid --ttl']],
  },
  keygen: {
    examples: [
      ['pm2-gitops keygen --out /etc/pm2-gitops', 'writes signing.key (mode 600) and signing.pub'],
      ['pm2-gitops keygen --out /etc/pm2-gitops --force', 'a new pair; the old one is kept beside it'],
    ],
    exitCodes: [[0, 'written'], [2, 'a key pair exists there (see --force)']],
  },
  suspend: {
    reaches: 'git',
    examples: [
      ['pm2-gitops suspend --env prod --reason "database migration"', 'controllers observe and report prod and change nothing; the status says who and when'],
      ['pm2-gitops suspend --repo git@host:ops.git --env prod --by alice', 'from any machine that may push the repository\'s status branch'],
    ],
    exitCodes: [[0, 'recorded on the status branch'], [2, 'invalid flags']],
  },
  resume: {
    reaches: 'git',
    examples: [
      ['pm2-gitops resume --env prod', 'controllers reconcile prod again at their next fetch'],
      ['pm2-gitops resume --repo git@host:ops.git --env prod --by alice --json', 'the record as JSON'],
    ],
    exitCodes: [[0, 'recorded on the status branch'], [2, 'invalid flags']],
  },
  import: {
    examples: [
      ['pm2-gitops import ecosystem.config.js --out manifests', 'Task manifests and an Environment named default'],
      ['pm2-gitops import ecosystem.json --out deploy --env prod --namespace shop', 'another Environment name, and the namespace of its processes'],
    ],
    exitCodes: [[0, 'written'], [2, 'the file cannot be read or imported, or files exist in --out (see --force)']],
  },
  export: {
    reaches: 'git',
    examples: [
      ['pm2-gitops export --path manifests --env dev > ecosystem.config.js', 'an ecosystem file for `pm2 start`'],
      ['pm2-gitops export --env prod --format json', 'the same as JSON'],
    ],
    exitCodes: [[0, 'printed'], INVALID],
  },
};

/** The width help text wraps at, as commander's own columns do. */
const WIDTH = 80;

/** `text` in lines of at most WIDTH characters, each after `indent` spaces (the first after `first`). */
function wrap(text: string, indent: number, first = ' '.repeat(indent)): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(' ')) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = ' '.repeat(indent);
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines;
}

function table(rows: Array<[string, string]>, indent: number): string[] {
  const width = Math.max(...rows.map(([a]) => a.length));
  return rows.flatMap(([a, b]) => wrap(b, indent + width + 2, `${' '.repeat(indent)}${a.padEnd(width)}  `));
}

/** The text after the flags of `command`: its examples and exit codes (empty for a command without any). */
export function helpAfter(command: string): string {
  const help = HELP[command];
  if (!help) return '';
  const examples = help.examples.flatMap(([cmd, what]) => [`  $ ${cmd}`, ...wrap(what, 6)]);
  const unreachable: Array<[number, string]> = help.reaches ? [[6, help.reaches === 'git' ? 'the git repository cannot be reached' : 'the git repository or the PM2 daemon cannot be reached']] : [];
  const codes = table([...help.exitCodes, ...unreachable, BUG].map(([code, meaning]) => [String(code), meaning]), 2);
  return `\nExamples:\n${examples.join('\n')}\n\nExit codes:\n${codes.join('\n')}\n`;
}

/** The program's own help ends with a first session and where each command's exit codes are. */
export const PROGRAM_HELP_AFTER = `
Examples:
  $ export PM2_HOME=$(mktemp -d)
      a PM2 daemon of its own for this shell, to try things
  $ pm2-gitops import ecosystem.config.js --out manifests
  $ pm2-gitops plan --path manifests --env default
  $ pm2-gitops apply --path manifests --env default

Each command's help (pm2-gitops help <command>) lists its exit codes.
`;

/**
 * A default as a user would type it: `30s`, not `"30s"`; nothing for an
 * empty list or an off switch, whose absence says as much.
 */
export function shownDefault(option: Pick<Option, 'defaultValue' | 'defaultValueDescription'>): string | undefined {
  if (option.defaultValueDescription) return option.defaultValueDescription;
  const value: unknown = option.defaultValue;
  if (value === undefined || value === false) return undefined;
  if (Array.isArray(value)) return value.length ? value.join(', ') : undefined;
  return String(value);
}

/**
 * Commander's option description with `shownDefault`; the rest (choices) as
 * commander shows it.
 */
export function optionDescription(option: Option): string {
  const extra: string[] = [];
  if (option.argChoices) extra.push(`choices: ${option.argChoices.join(', ')}`);
  const shown = shownDefault(option);
  if (shown !== undefined) extra.push(`default: ${shown}`);
  return extra.length ? `${option.description} (${extra.join(', ')})` : option.description;
}

/** Settings for `Command.configureHelp`: options described by `optionDescription`. */
export const HELP_CONFIG: Partial<Help> = { optionDescription };
