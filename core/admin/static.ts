import { readFile, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `scripts/build-ui.mjs` writes the built UI. */
export const UI_DIST = fileURLToPath(new URL('../../ui/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** Nothing from elsewhere: the UI works with no network, and a script injected into it could not phone out. */
const CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Portcullis admin</title>
<h1>The admin UI is not built</h1><p>Run <code>node scripts/build-ui.mjs</code> (npm install does it) and reload this page.</p>`;

function send(res: ServerResponse, status: number, type: string, body: Buffer | string, cache: string): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': cache,
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  });
  res.end(body);
}

/** Serves `/ui` and its assets from the build; any other path under `/ui/` gets the app (it routes by hash). */
export async function serveUi(path: string, res: ServerResponse, dist = UI_DIST): Promise<void> {
  let rel: string;
  try {
    rel = path === '/ui' || path === '/ui/' ? 'index.html' : decodeURIComponent(path.slice('/ui/'.length));
  } catch {
    return send(res, 404, 'text/plain', 'not found', 'no-store');
  }
  const file = normalize(join(dist, rel));
  if (!file.startsWith(dist.endsWith(sep) ? dist : dist + sep)) return send(res, 404, 'text/plain', 'not found', 'no-store');
  try {
    const info = await stat(file);
    if (info.isFile()) {
      // Vite names assets by content hash: they never change under one name.
      const cache = rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
      return send(res, 200, TYPES[extname(file)] ?? 'application/octet-stream', await readFile(file), cache);
    }
  } catch {
    // fall through to the app
  }
  if (rel.startsWith('assets/')) return send(res, 404, 'text/plain', 'not found', 'no-store');
  try {
    return send(res, 200, TYPES['.html'], await readFile(join(dist, 'index.html')), 'no-cache');
  } catch {
    return send(res, 503, TYPES['.html'], NOT_BUILT, 'no-store');
  }
}
