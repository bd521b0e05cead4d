/**
 * How PM2 reads a `script` (pure). PM2 runs a script that contains a space as
 * an inline command: `Common.verifyConfs` (lib/Common.js) replaces it by
 * `bash` (else `sh`) with the args `['-c', script]`, whatever args the app
 * had, and resolves `bash` on PATH, so its interpreter becomes `none`. The
 * command runs in the app's cwd: `"node server.js"`, `"npm run start"`.
 */

/** Whether PM2 runs `script` through `bash -c` rather than as a file or a program on PATH. */
export function isInlineCommand(script: string): boolean {
  return script.includes(' ');
}
