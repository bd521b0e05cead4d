/**
 * The process-wide secret registry: every render registers the env values of
 * what it read (src/domain/secrets.ts says which and how they are replaced),
 * and everything the process writes out passes through it. Plain data, no I/O.
 */
import type { DesiredState } from './manifest.js';
import { buildRedactor, collectSecrets, collectStateSecrets, sameSecrets, type Redactor, type Secrets } from './secrets.js';

/** A loaded manifest file, as far as secrets are concerned: its documents, readable or not. */
export interface LoadedFile { documents: ReadonlyArray<{ value: unknown }>; unreadable?: ReadonlyArray<{ value: unknown }> }

function* documentsOf(files: readonly LoadedFile[]): Iterable<unknown> {
  for (const file of files) {
    for (const doc of file.documents) yield doc.value;
    for (const doc of file.unreadable ?? []) yield doc.value;
  }
}

const keptFileSecrets = new WeakMap<readonly LoadedFile[], Secrets>();

/**
 * The secrets of everything the process has loaded, by source (a manifest
 * folder and environment, say): a render registers what it read, and every
 * output (CLI messages, logs, status and evidence) is redacted through it.
 * Registering a source again replaces what it held; the oldest sources are
 * forgotten beyond `limit`, so a long-running controller does not grow.
 */
export class SecretRegistry {
  private readonly sources = new Map<string, readonly Secrets[]>();
  private current: Redactor | undefined;

  constructor(private readonly limit = 32) {}

  /** Replaces the secrets of `source`. */
  register(source: string, secrets: readonly Secrets[]): void {
    const before = this.sources.get(source);
    this.sources.delete(source);
    this.sources.set(source, secrets);
    if (this.sources.size > this.limit) this.sources.delete(this.sources.keys().next().value!);
    // The same secrets as before (a render of unchanged files): the redactor stays as it is.
    if (before && before.length === secrets.length && before.every((s, i) => s === secrets[i] || sameSecrets(s, secrets[i]!))) return;
    this.current = undefined;
  }

  /**
   * Registers what a render read and made: the secrets of every loaded file
   * (kept for a list of files that cannot change, as the loader hands out the
   * same frozen list while no file changed) and of the rendered state (when
   * it can hold more than its files, see `copiesIntoEnv`).
   */
  registerRender(source: string, files: readonly LoadedFile[], state?: DesiredState): void {
    let fromFiles = Object.isFrozen(files) ? keptFileSecrets.get(files) : undefined;
    if (!fromFiles) {
      fromFiles = collectSecrets(documentsOf(files));
      if (Object.isFrozen(files)) keptFileSecrets.set(files, fromFiles);
    }
    // The state holds only what its files hold, unless a patch copies a value into env from elsewhere.
    this.register(source, state && fromFiles.copiesIntoEnv ? [fromFiles, collectStateSecrets(state, fromFiles)] : [fromFiles]);
  }

  /** The redactor of every registered secret (built on first use after a change). */
  redactor(): Redactor {
    return (this.current ??= buildRedactor([...this.sources.values()].flat()));
  }

  /** `text` with every registered secret replaced. */
  redactText(text: string): string {
    return this.sources.size === 0 ? text : this.redactor().text(text);
  }

  /** A copy of `value` with every registered secret replaced in its strings. */
  redactJson<T>(value: T): T {
    return this.sources.size === 0 ? value : this.redactor().json(value);
  }
}

/** The process-wide registry: fed by every render, applied to everything the process writes out. */
export const processSecrets = new SecretRegistry();
