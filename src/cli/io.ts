/** What a command may print; only main.ts binds it to the real streams. */
export interface CliIo {
  /** Prints to stdout, every env value the process loaded replaced by its SHA-256 prefix. */
  out(text: string): void;
  /** Prints to stdout as it is, env values included: only for output meant to show them (`render --show-env`, `export`). */
  outRaw(text: string): void;
  /** Prints to stderr, redacted as `out`. */
  err(text: string): void;
  /** Whether stdout is a terminal (colours, pretty output). */
  isTty: boolean;
}

/** Options every command that reads manifests takes. */
export interface SourceOptions {
  repo: string;
  path?: string;
  env?: string;
  json?: boolean;
  /** Folders outside the repository that paths may lie in (`--allow-root`, repeatable). */
  allowRoot?: string[];
  /** Most workers per task (`--max-instances`), as written. */
  maxInstances?: string;
  /** The host the state is for (`--host`), and its labels (`--host-label KEY=VALUE`, repeatable). */
  host?: string;
  hostLabel?: string[];
}
