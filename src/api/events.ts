/**
 * Server-Sent Events of `GET /api/events`: process events from PM2's bus and
 * the controller's own (task state changes, reconcile and build started and
 * finished, approval refused), each with the correlation id of its pass.
 * A client that reads too slowly is dropped rather than buffered without end;
 * one that reconnects with Last-Event-ID gets what it missed from a short replay.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { processSecrets } from '../domain/secret-registry.js';

export type EventType =
  | 'process' | 'task-state' | 'reconcile-started' | 'reconcile-finished'
  | 'build-started' | 'build-finished' | 'approval-refused';

/** One event as the API sends it. */
export interface ApiEvent {
  type: EventType;
  correlationId: string;
  at: string;
  environment?: string;
  data: Record<string, unknown>;
}

/** The SSE frame of one event (pure): `id`, `event` and one `data` line of JSON. */
export function formatEvent(id: number, event: ApiEvent): string {
  // JSON.stringify escapes newlines, so one data line always holds the whole event.
  return `id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** Frames kept for clients that reconnect (Last-Event-ID). */
const REPLAY = 256;
/** Bytes a slow client may have waiting before it is dropped. */
const MAX_BUFFERED = 1024 * 1024;
const HEARTBEAT_MS = 15_000;

/** The SSE clients and the events they get. */
export class EventHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly recent: Array<{ id: number; frame: string }> = [];
  private nextId = 1;
  private readonly heartbeat: NodeJS.Timeout;

  constructor() {
    this.heartbeat = setInterval(() => { for (const c of this.clients) this.send(c, ': keep-alive\n\n'); }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** How many clients are connected. */
  get size(): number {
    return this.clients.size;
  }

  /** Sends `event` (redacted) to every client. */
  publish(event: ApiEvent): void {
    const id = this.nextId++;
    const frame = formatEvent(id, processSecrets.redactJson(event));
    this.recent.push({ id, frame });
    if (this.recent.length > REPLAY) this.recent.shift();
    for (const c of this.clients) this.send(c, frame);
  }

  /** Answers an SSE request and keeps it open until the client leaves or the hub closes. */
  attach(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    const last = Number(req.headers['last-event-id']);
    if (Number.isInteger(last)) for (const r of this.recent) if (r.id > last) res.write(r.frame);
    res.flushHeaders();
    this.clients.add(res);
    const leave = (): void => { this.clients.delete(res); };
    req.once('close', leave);
    res.once('close', leave);
  }

  private send(client: ServerResponse, frame: string): void {
    if (client.writableLength > MAX_BUFFERED) {
      this.clients.delete(client);
      client.destroy();
      return;
    }
    client.write(frame);
  }

  /** Ends every stream. */
  close(): void {
    clearInterval(this.heartbeat);
    for (const c of this.clients) c.end();
    this.clients.clear();
  }
}
