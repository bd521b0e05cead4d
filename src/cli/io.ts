/** What a command may print; only main.ts binds it to the real streams. */
export interface CliIo {
  out(text: string): void;
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
}
