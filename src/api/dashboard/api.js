// Talking to the controller: the token (this tab's sessionStorage only),
// JSON requests and the event stream. The token goes in the Authorization
// header of every request, the event stream's too (fetch, not EventSource,
// which cannot send headers), so it never appears in a URL or a log.

const TOKEN_KEY = 'pm2-gitops.token';

/** Thrown when the controller refuses the token (401): the page asks for a new one. */
export class Unauthorized extends Error {}

/** The token of this tab, if one was entered. */
export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function storeToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** The claims of a JWT, read (not checked: the controller checks) to show who is signed in and until when. */
export function claimsOf(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = atob(part + '='.repeat((4 - (part.length % 4)) % 4));
    const claims = JSON.parse(json);
    return { subject: String(claims.sub ?? '?'), role: claims.role === 'operator' ? 'operator' : 'viewer', exp: Number(claims.exp) || undefined };
  } catch {
    return undefined;
  }
}

/** A request with the token; resolves to { status, body } (body: parsed JSON or undefined). Throws Unauthorized on 401. */
export async function request(token, path, { method = 'GET', signal } = {}) {
  const res = await fetch(path, { method, headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, cache: 'no-store', signal });
  if (res.status === 401) throw new Unauthorized('the controller refused the token');
  const text = await res.text();
  let body;
  try { body = text ? JSON.parse(text) : undefined; } catch { body = undefined; }
  return { status: res.status, ok: res.ok, body };
}

/** Splits SSE text into frames; returns the frames and what is left of an unfinished one. */
export function parseFrames(buffer) {
  const frames = [];
  const text = buffer.replace(/\r\n?/g, '\n');
  let start = 0;
  let end;
  while ((end = text.indexOf('\n\n', start)) >= 0) {
    const frame = { data: [] };
    for (const line of text.slice(start, end).split('\n')) {
      if (!line || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') frame.data.push(value);
      else frame[field] = value;
    }
    frames.push(frame);
    start = end + 2;
  }
  return { frames, rest: text.slice(start) };
}

/**
 * Follows `/api/events`: calls `onEvent(event)` for each event and
 * `onState('live' | 'connecting' | 'down')` as the connection goes. It
 * reconnects by itself (with Last-Event-ID, so nothing is missed within the
 * controller's replay) and treats a stream silent for 45 s (heartbeats come
 * every 15 s) as dead. Returns a function that stops it.
 */
export function followEvents(token, { onEvent, onState, onUnauthorized }) {
  let stopped = false;
  let lastId;
  let retryMs = 2000;
  let controller;
  let failures = 0;

  async function once() {
    controller = new AbortController();
    let silence;
    const watch = () => { clearTimeout(silence); silence = setTimeout(() => controller.abort(), 45_000); };
    onState(failures ? 'down' : 'connecting');
    try {
      watch();
      const res = await fetch('/api/events', {
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) },
        cache: 'no-store', signal: controller.signal,
      });
      if (res.status === 401) { stopped = true; onUnauthorized(); return; }
      if (!res.ok || !res.body) throw new Error(`events answered ${res.status}`);
      onState('live');
      failures = 0;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        watch();
        const { frames, rest } = parseFrames(buffer + value);
        buffer = rest;
        for (const f of frames) {
          if (f.retry && /^\d+$/.test(f.retry)) retryMs = Number(f.retry);
          if (f.id) lastId = f.id;
          if (!f.data.length) continue;
          try { onEvent(JSON.parse(f.data.join('\n'))); } catch (err) { console.error('event not understood', err); }
        }
      }
    } catch (err) {
      if (stopped) return;
      if (!(err instanceof DOMException)) console.warn('event stream', err);
    } finally {
      clearTimeout(silence);
    }
    if (stopped) return;
    failures++;
    onState('down');
    setTimeout(() => { if (!stopped) void once(); }, Math.min(retryMs * failures, 15_000));
  }

  void once();
  return () => { stopped = true; controller?.abort(); };
}
