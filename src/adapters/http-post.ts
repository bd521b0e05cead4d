/** Posting JSON over HTTP(S) (I/O): the notifications of `run --notify`. */

/** How long one post may take before it counts as failed. */
export const POST_TIMEOUT_MS = 10_000;

/** Posts `body` (JSON text) to `url`; resolves to the HTTP status, rejects when no answer came (network, timeout). */
export async function postJson(url: string, body: string, timeoutMs = POST_TIMEOUT_MS): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'pm2-gitops' },
    body,
    signal: AbortSignal.timeout(timeoutMs),
    // A redirect is not followed: the body would go to a place nobody configured.
    redirect: 'manual',
  });
  // The answer's body is not needed; reading it frees the connection.
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
}

/** A URL as logs may show it: scheme, host and port, never its path or credentials (a Slack webhook's path is its secret). */
export function urlOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'an unreadable URL';
  }
}
