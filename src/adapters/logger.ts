/** The logger (pino) on stderr: pretty in a terminal, JSON lines otherwise; env values never logged. */
import { pino, type DestinationStream, type Logger } from 'pino';
import { processSecrets } from '../domain/secret-registry.js';

export type { Logger };

/** Paths pino censors, wherever an env map could be logged. */
export const REDACT_PATHS = ['env', '*.env', '*.*.env', 'app.env', 'process.env', '*.process.env', 'secret', '*.secret', 'token', '*.token'];

/**
 * Creates the process-wide logger; level from `level` or PM2_GITOPS_LOG_LEVEL
 * (default info). `destination` replaces stderr (JSON lines), for tests.
 */
export function createLogger(opts: { level?: string; pretty?: boolean; destination?: DestinationStream } = {}): Logger {
  const level = opts.level ?? process.env.PM2_GITOPS_LOG_LEVEL ?? 'info';
  const pretty = opts.destination ? false : opts.pretty ?? Boolean(process.stderr.isTTY);
  const base = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    // Every line passes the one redaction step, whatever field an env value hides in (a message, an error).
    hooks: { streamWrite: (line: string) => processSecrets.redactText(line) },
  };
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, ignore: 'pid,hostname' } } });
  }
  return pino(base, opts.destination ?? pino.destination({ dest: 2, sync: true }));
}

/**
 * A child of `logger` that also carries `bindings`, leaving out the keys it
 * carries already: a key bound twice would appear twice on every line
 * (`"environment":"dev","environment":"dev"`), which JSON readers take in
 * different ways.
 */
export function withBindings(logger: Logger, bindings: Record<string, unknown>): Logger {
  const bound = logger.bindings();
  const missing = Object.entries(bindings).filter(([key]) => !(key in bound));
  return missing.length ? logger.child(Object.fromEntries(missing)) : logger;
}

/** A logger that drops everything, for library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
