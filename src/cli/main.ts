/**
 * The CLI entry point: parses arguments, lazy-loads one command, and turns
 * typed errors into exit codes. The only module that calls process.exit.
 */
import { Command, CommanderError, Option } from 'commander';
import { pm2IdentityKeys } from '../adapters/pm2-identity.js';
import { environmentNameOf } from '../domain/environment-name.js';
import { EXIT, GitopsError } from '../domain/errors.js';
import { processSecrets } from '../domain/secret-registry.js';
import { HELP_CONFIG, helpAfter, PROGRAM_HELP_AFTER } from './help.js';
import type { CliIo } from './io.js';

/** Every message the CLI prints passes the one redaction step: env values of whatever the command loaded never show. */
const io: CliIo = {
  out: (text) => { process.stdout.write(processSecrets.redactText(text)); },
  outRaw: (text) => { process.stdout.write(text); },
  err: (text) => { process.stderr.write(processSecrets.redactText(text)); },
  isTty: Boolean(process.stdout.isTTY),
};

type Action<O> = (opts: O, io: CliIo, args: string[]) => Promise<number>;

/** `--state-dir`: where builds and the stable paths of delivered code live; `apply` and `run` share it. */
function stateOptions(cmd: Command): Command {
  return cmd.option('--state-dir <dir>', 'where builds and the paths processes run from are kept (default: $PM2_HOME/pm2-gitops, shared with run)');
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--env` (repeatable): PM2's name of an environment (`local_production`) names the Environment import made of it (`local-production`). */
function collectEnv(value: string, previous: string[]): string[] {
  return [...previous, environmentNameOf(value)];
}

/** Flags that shape every render: where paths may lead, and how many workers a task may ask for. */
function renderFlags(cmd: Command): Command {
  return cmd
    .option('--allow-root <dir>', 'a folder outside the repository that cwd and script may lie in (repeatable)', collect, [])
    .option('--max-instances <n>', 'most workers one task may ask for (default: 4 × the CPUs of this host)')
    .option('--host-label <key=value>', 'a label of this host that spec.hostSelector matches (repeatable)', collect, []);
}

function sourceOptions(cmd: Command): Command {
  return renderFlags(cmd
    .option('--repo <path|url>', 'manifest repository (working tree, bare repository or URL)', '.')
    .option('--path <dir>', 'manifest folder inside the repository', '.')
    .option('--env <name>', 'environment to work on (default: the only one)', environmentNameOf)
    .option('--host <name>', 'the host whose tasks to work on (spec.hosts; default: this hostname; render and export: every task unless --host or --host-label is given)')
    .option('--json', 'print one JSON document on stdout', false));
}

function lazy<O>(load: () => Promise<Action<O>>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const action = await load();
    process.exitCode = await action(cmd.opts() as O, io, cmd.args);
  };
}

function build(): Command {
  const program = new Command('pm2-gitops')
    .description('Declarative GitOps reconciler for PM2')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .configureHelp(HELP_CONFIG)
    .addHelpText('after', PROGRAM_HELP_AFTER);

  sourceOptions(program.command('render').description('print the rendered desired state (YAML, or --json); env values as SHA-256 prefixes'))
    .option('--show-env', 'print env values as they are (keep the output out of logs)', false)
    .action(lazy(async () => (await import('./render.js')).renderCommand));

  stateOptions(sourceOptions(program.command('diff').description('print per-task differences against live PM2 (exit 1 when anything differs)')))
    .action(lazy(async () => (await import('./diff.js')).diffCommand));

  stateOptions(sourceOptions(program.command('plan').description('print the ordered actions apply would take')))
    .action(lazy(async () => (await import('./plan.js')).planCommand));

  stateOptions(sourceOptions(program.command('apply').description('reconcile once: build what changed, run the plan and print the actions and their results')))
    .option('--keep-builds <n>', 'builds kept per task (besides those running)', '5')
    .option('--concurrency <n>', 'actions that may run at once', '8')
    .option('--force', 'apply even while a controller runs the environment on this PM2 daemon (it is refused otherwise, exit 2)', false)
    .option('--allowed-signers <file>', 'SSH allowed-signers file of the people who may sign and approve')
    .option('--require-approvals <env=n>', 'minimum approvals for an environment (repeatable); an environment that requires approvals is applied only from an approved commit, else exit 3', collect, [])
    .action(lazy(async () => (await import('./apply.js')).applyCommand));

  renderFlags(program.command('run').description('the controller loop: follow a git branch and reconcile, until SIGTERM or SIGINT'))
    .option('--repo <path|url>', 'manifest repository (local path, bare or not, or URL)', '.')
    .option('--path <dir>', 'manifest folder inside the repository', '.')
    .option('--env <name>', 'environment to run (repeat for several; default: every environment)', collectEnv, [])
    .option('--branch <name>', 'branch to follow (default: the remote\'s default branch)')
    .option('--interval <duration>', 'how often to fetch', '30s')
    .option('--resync <duration>', 'how often to reconcile even when nothing changed', '3m')
    .option('--state-dir <dir>', 'where the controller keeps its clone, releases, state, builds and the paths processes run from (default: $PM2_HOME/pm2-gitops, shared with apply)')
    .option('--keep-builds <n>', 'builds kept per task (besides those running)', '5')
    .option('--signing-key <file>', 'Ed25519 key (keygen) that signs evidence and status commits (default: one kept in the state dir, evidence only)')
    .option('--rotate-key', 'go on with a new signing key: record a key rotation in each environment\'s evidence chain (with no --signing-key and a lost state-dir key: create the new pair there)', false)
    .option('--previous-key <file>', 'the old private key, so that it signs the key rotation record too')
    .option('--allowed-signers <file>', 'SSH allowed-signers file of the people who may sign and approve')
    .option('--require-approvals <env=n>', 'minimum approvals for an environment (repeatable)', collect, [])
    .option('--host <name>', 'this host\'s name: the tasks that target it (spec.hosts) run here, and it reports to status/<env>/<name>.md and its own evidence chain (default: the hostname, reporting to status/<env>.md)')
    .option('--host-timeout <duration>', 'a host whose status is older than this shows as lost in the fleet summary', '10m')
    .option('--concurrency <n>', 'actions that may run at once', '8')
    .option('--listen <host:port>', 'serve the HTTP API (health, metrics, environments, events, webhook) on HOST:PORT (host default 127.0.0.1); tokens are checked with PM2_GITOPS_JWT_SECRET or --jwt-public-key')
    .option('--notify <url>', 'post a notification (JSON with a Slack-compatible text) there when a reconcile or build fails, an approval is refused, a rollback happens or drift is healed (repeatable)', collect, [])
    .option('--jwt-public-key <file>', 'Ed25519 public key (keygen\'s signing.pub or PEM) that API tokens are checked with (EdDSA) instead of PM2_GITOPS_JWT_SECRET (HS256)')
    .action(lazy(async () => (await import('./run.js')).runCommand));

  program.command('token').description('mint a bearer token (JWT) for the controller\'s HTTP API')
    .requiredOption('--subject <name>', 'who the token is for (logged with each request)')
    .option('--ttl <duration>', 'how long it is valid, e.g. 30m, 1h', '1h')
    .addOption(new Option('--role <role>', 'viewer: read only; operator: may also trigger reconciles').choices(['viewer', 'operator']).default('viewer'))
    .option('--jwt-private-key <file>', 'sign with this Ed25519 private key (EdDSA) instead of PM2_GITOPS_JWT_SECRET (HS256)')
    .option('--json', 'print one JSON document (token, subject, role, alg, expires)', false)
    .action(lazy(async () => (await import('./token.js')).tokenCommand));

  program.command('status').description('print the status of an environment from the status branch')
    .option('--repo <path|url>', 'manifest repository', '.')
    .option('--env <name>', 'environment (default: all)', environmentNameOf)
    .option('--host <name>', 'the status of this host of a fleet (default: each environment\'s summary)')
    .option('--json', 'print one JSON document', false)
    .action(lazy(async () => (await import('./status.js')).statusCommand));

  for (const [name, what] of [['suspend', 'suspend an environment: every controller observes and reports it and changes nothing until it is resumed'], ['resume', 'resume a suspended environment: controllers reconcile it again']] as const) {
    program.command(name).description(what)
      .option('--repo <path|url>', 'manifest repository (its status branch records it)', '.')
      .requiredOption('--env <name>', 'environment', environmentNameOf)
      .option('--by <name>', 'who, in the status file and the status branch\'s history (default: the OS user@host)')
      .option('--reason <text>', 'why, in the status file')
      .option('--json', 'print the record as one JSON document', false)
      .action(lazy(async () => (await import('./suspend.js'))[name === 'suspend' ? 'suspendCommand' : 'resumeCommand']));
  }

  program.command('verify').description('check signatures and the hash chain of evidence reports (exit 5 when invalid)')
    .option('--repo <path|url>', 'manifest repository', '.')
    .option('--env <name>', 'environment (default: all)', environmentNameOf)
    .option('--host <name>', 'only the evidence chain of this host of a fleet (default: every chain)')
    .option('--public-key <file>', 'a trusted public key file (signing.pub, or one key per line); repeat it for the keys of rotations', collect, [])
    .option('--json', 'print one JSON document', false)
    .action(lazy(async () => (await import('./verify.js')).verifyCommand));

  program.command('keygen').description('create the controller\'s Ed25519 signing key pair')
    .requiredOption('--out <dir>', 'folder for signing.key and signing.pub')
    .option('--force', 'make a new pair even where one exists (the old files are kept as signing.key.<keyid> and signing.pub.<keyid>)', false)
    .option('--json', 'print one JSON document', false)
    .action(lazy(async () => (await import('./keygen.js')).keygenCommand));

  program.command('import').description('turn an ecosystem.config.js/.json/.yaml into Task manifests and an Environment')
    .argument('<file>', 'ecosystem file')
    .requiredOption('--out <dir>', 'folder to write the manifests to')
    .option('--env <name>', 'name of the default Environment', environmentNameOf, 'default')
    .option('--namespace <name>', 'PM2 namespace of the Environments (default: the apps\' own, else "default")')
    .option('--force', 'overwrite existing files', false)
    .option('--json', 'print what was written as JSON', false)
    .action(lazy(async () => (await import('./import.js')).importCommand));

  sourceOptions(program.command('export').description('print an ecosystem file equivalent to an environment'))
    .addOption(new Option('--format <format>', 'module format of the output').choices(['cjs', 'esm', 'json']).default('cjs'))
    .option('--out <file>', 'write the file there (paths relative to its folder; default: print it, paths relative to the repository root)')
    .action(lazy(async () => (await import('./export.js')).exportCommand));

  // Subcommands inherit the help settings; each ends with its own examples and exit codes.
  for (const cmd of program.commands) cmd.addHelpText('after', helpAfter(cmd.name()));
  return program;
}

function report(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) return 0;
    return EXIT.invalid;
  }
  if (err instanceof GitopsError) {
    io.err(`pm2-gitops: ${err.message}\n`);
    // A cause whose first line the message already carries would only repeat it (with Node's require stack, say).
    if (err.cause instanceof Error && !err.message.includes(err.cause.message.split('\n')[0]!)) io.err(`  caused by: ${err.cause.message}\n`);
    return err.exitCode;
  }
  io.err(`pm2-gitops: internal error (this is a bug, please report it):\n${err instanceof Error ? err.stack : String(err)}\n`);
  return EXIT.bug;
}

/**
 * Run by PM2 (the controller as a PM2 app), this process carries PM2's record
 * of itself as variables (name, namespace, pm_id, exec_mode, …). PM2 passes a
 * client's environment on to every app it starts and lets those variables
 * override the app's options, so they go before PM2 is first loaded: the
 * processes `run` and `apply` start get their manifests' options and env.
 */
function dropPm2Identity(): void {
  for (const key of pm2IdentityKeys(process.env)) delete process.env[key];
}

/** Runs the CLI with `argv` (as process.argv) and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  dropPm2Identity();
  try {
    await build().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return report(err);
  }
}

/** Resolves once everything written to `stream` so far has been handed to the OS (a pipe takes 64 KiB at a time). */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => { stream.write('', () => resolve()); });
}

const code = await main(process.argv);
await Promise.all([drained(process.stdout), drained(process.stderr)]);
// Exit explicitly: a PM2 client or a watcher may still hold the event loop open.
process.exit(code);
