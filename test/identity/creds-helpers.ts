import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';

const TOKEN_SERVER = fileURLToPath(new URL('../fixtures/identity/creds/token-server.ts', import.meta.url));
const UPSTREAM = fileURLToPath(new URL('../fixtures/identity/creds/upstream.ts', import.meta.url));

export { CLIENT_ID, CLIENT_SECRET, GATEWAY_AUDIENCE, UPSTREAM_AUDIENCES } from '../fixtures/identity/creds/constants.ts';

export interface Proc {
  url: string;
  port: number;
  child: ChildProcess;
  close(): Promise<void>;
}

/** Starts a fixture script that prints `listening <port>`; bounded to 15 s. */
async function start(script: string, args: string[], env: Record<string, string>, what: string): Promise<Proc> {
  const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not report its port within 15 s: ${out}`)), 15_000);
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}`));
    });
  }).catch((err) => {
    child.kill('SIGKILL');
    throw err;
  });
  const close = () =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((r) => {
          child.once('exit', () => r());
          child.kill('SIGKILL');
        });
  return { url: `http://127.0.0.1:${port}`, port, child, close };
}

export interface TokenServer extends Proc {
  /** A user's token, as the authorization server would issue it at login (aud: the gateway, unless given). */
  mint(sub: string, options?: { aud?: string; ttl?: number; claims?: Record<string, unknown>; iss?: string }): Promise<{ token: string; jti: string }>;
  revoke(jti: string): Promise<void>;
  exchanges(): Promise<number>;
}

export async function startTokenServer(exchangeTtlSeconds = 120, env: Record<string, string> = {}): Promise<TokenServer> {
  const proc = await start(TOKEN_SERVER, [String(exchangeTtlSeconds)], env, 'token server');
  const post = async (path: string, body: unknown) => (await fetch(`${proc.url}${path}`, { method: 'POST', body: JSON.stringify(body) })).json();
  return {
    ...proc,
    mint: (sub, options = {}) => post('/mint', { sub, ...options }) as Promise<{ token: string; jti: string }>,
    revoke: async (jti) => void (await post('/revoke', { jti })),
    exchanges: async () => ((await (await fetch(`${proc.url}/stats`)).json()) as { exchanges: number }).exchanges,
  };
}

export interface UpstreamStats {
  accepted: number;
  refused: number;
  users: string[];
  refusedReasons: string[];
}

export interface CredsUpstream extends Proc {
  stats(): Promise<UpstreamStats>;
}

/** The token-checking upstream (MCP at /mcp, REST at /api/whoami, A2A at /). */
export async function startCredsUpstream(env: { tokens?: Record<string, string>; jwks?: string; audience?: string }): Promise<CredsUpstream> {
  const proc = await start(
    UPSTREAM,
    [],
    {
      UPSTREAM_TOKENS: JSON.stringify(env.tokens ?? {}),
      ...(env.jwks ? { UPSTREAM_JWKS: env.jwks } : {}),
      ...(env.audience ? { UPSTREAM_AUDIENCE: env.audience } : {}),
    },
    'creds upstream',
  );
  return { ...proc, stats: async () => (await (await fetch(`${proc.url}/stats`)).json()) as UpstreamStats };
}

/** An A2A v1.0 JSON-RPC SendMessage body. */
export function sendMessage(text: string): string {
  return JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { messageId: crypto.randomUUID(), role: 'ROLE_USER', parts: [{ text }] } } });
}

/** An MCP `initialize` POST body (2025-11-25). */
export function initializeBody(): string {
  return JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'creds-test', version: '1' } } });
}

export const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

const UPSTREAM_AS = fileURLToPath(new URL('../fixtures/identity/creds/upstream-as.ts', import.meta.url));

/** The upstream's own authorization server (oidc-provider), JWT access tokens living `accessTokenTtl` seconds. */
export async function startUpstreamAs(accessTokenTtl: number): Promise<Proc & { revokeAccount(id: string): Promise<number> }> {
  const proc = await start(UPSTREAM_AS, [String(accessTokenTtl)], {}, 'upstream authorization server');
  return {
    ...proc,
    revokeAccount: async (accountId) => ((await (await fetch(`${proc.url}/revoke-account`, { method: 'POST', body: JSON.stringify({ accountId }) })).json()) as { revoked: number }).revoked,
  };
}

/**
 * A browser at the authorization server: follows the login URL, signs in as `user` on oidc-provider's development
 * login page, consents, and returns the URL it is sent back to (the gateway's callback, with `code` and `state`)
 * without opening it, so that tests can open it, replay it or take its code. Cookies kept per host; bounded.
 */
export async function browserLogin(loginUrl: string, user: string): Promise<string> {
  const jar = new Map<string, string>();
  const origin = new URL(loginUrl).origin;
  let url = loginUrl;
  let method = 'GET';
  let body: string | undefined;
  for (let step = 0; step < 20; step++) {
    const headers: Record<string, string> = { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') };
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, { method, body, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      const next = new URL(res.headers.get('location')!, url);
      if (next.origin !== origin) return next.toString();
      url = next.toString();
      method = 'GET';
      body = undefined;
      continue;
    }
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`the authorization server showed no login or consent form (${res.status}): ${html.replace(/<style[\s\S]*<\/style>/, "").slice(0, 1500)}`);
    url = new URL(action.replace(/&amp;/g, '&'), url).toString();
    method = 'POST';
    body = prompt === 'login' ? new URLSearchParams({ prompt, login: user, password: 'any' }).toString() : new URLSearchParams({ prompt }).toString();
  }
  throw new Error('the login did not come back to the client within 20 steps');
}
