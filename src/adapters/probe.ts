/** Health probes (I/O): one HTTP GET or one TCP connect, each with a short timeout. */
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';

export interface ProbeResult { ok: boolean; detail: string }

/** Answers whether one HTTP GET returns the expected status (default: any 2xx). */
export function probeHttp(url: string, expectStatus?: number, timeoutMs = 2000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const get = url.startsWith('https:') ? httpsRequest : request;
    const req = get(url, { method: 'GET', timeout: timeoutMs, headers: { 'user-agent': 'pm2-gitops-health' } }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      const ok = expectStatus !== undefined ? status === expectStatus : status >= 200 && status < 300;
      resolve({ ok, detail: `GET ${url} → ${status}` });
    });
    req.on('timeout', () => { req.destroy(new Error('timed out')); });
    req.on('error', (err) => resolve({ ok: false, detail: `GET ${url} failed: ${err.message}` }));
    req.end();
  });
}

/** Answers whether a TCP connection to host:port opens. */
export function probeTcp(host: string, port: number, timeoutMs = 2000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean, detail: string): void => { socket.destroy(); resolve({ ok, detail }); };
    socket.setTimeout(timeoutMs, () => done(false, `tcp ${host}:${port} timed out`));
    socket.once('connect', () => done(true, `tcp ${host}:${port} open`));
    socket.once('error', (err) => done(false, `tcp ${host}:${port} failed: ${err.message}`));
  });
}
