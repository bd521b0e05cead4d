import { describe, expect, it } from 'vitest';

/** The dashboard's own module (plain JavaScript, loaded as the browser loads it). */
interface ClientApi {
  parseFrames(buffer: string): { frames: Array<Record<string, string> & { data: string[] }>; rest: string };
  claimsOf(token: string): { subject: string; role: string; exp?: number } | undefined;
}
const client = (await import(new URL('./dashboard/api.js', import.meta.url).href)) as ClientApi;

describe('the dashboard\'s event stream and token reading', () => {
  it('[api-dashboard] splits SSE text into frames across chunks, skipping comments, and keeps an unfinished frame', () => {
    const first = client.parseFrames('retry: 2000\n\n: keep-alive\n\nid: 7\nevent: process\ndata: {"type":"process"}\n\nid: 8\nevent: task-st');
    expect(first.frames).toEqual([{ data: [], retry: '2000' }, { data: [] }, { data: ['{"type":"process"}'], id: '7', event: 'process' }]);
    const second = client.parseFrames(`${first.rest}ate\r\ndata: {"a":1}\r\n\r\n`);
    expect(second.frames).toEqual([{ data: ['{"a":1}'], id: '8', event: 'task-state' }]);
    expect(second.rest).toBe('');
  });

  it('[api-dashboard] reads who a token names and its role (the controller checks it), and refuses what is not a JWT', () => {
    const payload = Buffer.from(JSON.stringify({ sub: 'alice', role: 'operator', exp: 1900000000 })).toString('base64url');
    expect(client.claimsOf(`eyJhbGciOiJIUzI1NiJ9.${payload}.sig`)).toEqual({ subject: 'alice', role: 'operator', exp: 1900000000 });
    const viewer = Buffer.from(JSON.stringify({ sub: 'bob', role: 'admin' })).toString('base64url');
    expect(client.claimsOf(`x.${viewer}.y`)).toMatchObject({ subject: 'bob', role: 'viewer' });
    expect(client.claimsOf('not-a-token')).toBeUndefined();
  });
});
