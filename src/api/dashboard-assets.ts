/**
 * The dashboard's files (I/O, once at start): plain HTML, CSS and JavaScript
 * from the `dashboard/` folder beside this module (copied next to the
 * compiled one by the build), served with a strict Content-Security-Policy.
 * The page holds no data: everything it shows comes from the API with the
 * operator's token.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname } from 'node:path';

/** One file of the dashboard. */
export interface DashboardAsset { body: Buffer; type: string; etag: string }

/** Scripts, styles and connections only from this server; no inline code, no frames, no forms posted elsewhere. */
export const DASHBOARD_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "connect-src 'self'",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The folder the files are read from: `dashboard/` beside this module (src/api or dist/api). */
export const DASHBOARD_DIR = new URL('./dashboard/', import.meta.url);

/**
 * Reads the dashboard: `index.html` is served at `/`, every other file of the
 * folder at `/dashboard/<name>`. Throws when the folder or its index is
 * missing (a package built without it), naming the folder.
 */
export function loadDashboard(dir: URL = DASHBOARD_DIR): Map<string, DashboardAsset> {
  const out = new Map<string, DashboardAsset>();
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => extname(n) in TYPES).sort();
  } catch (err) {
    throw new Error(`the dashboard folder ${dir.pathname} cannot be read (the build copies src/api/dashboard there)`, { cause: err });
  }
  if (!names.includes('index.html')) throw new Error(`the dashboard folder ${dir.pathname} has no index.html`);
  for (const name of names) {
    const body = readFileSync(new URL(name, dir));
    const asset = { body, type: TYPES[extname(name)]!, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"` };
    out.set(name === 'index.html' ? '/' : `/dashboard/${name}`, asset);
  }
  return out;
}

/** Answers a GET or HEAD of a dashboard file (304 when the client has it). */
export function serveAsset(req: IncomingMessage, res: ServerResponse, asset: DashboardAsset): void {
  const headers = {
    'content-type': asset.type,
    'cache-control': 'no-cache',
    etag: asset.etag,
    'content-security-policy': DASHBOARD_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
  };
  if (req.headers['if-none-match'] === asset.etag) { res.writeHead(304, headers); res.end(); return; }
  res.writeHead(200, { ...headers, 'content-length': String(asset.body.length) });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
}
