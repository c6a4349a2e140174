import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The request state the gateway hands a 2026-07-28 client with an input-required result, and takes back on the
 * retry: the target's own state (if it gave one) wrapped with who asked (the caller's identity, see `ownerOf`),
 * what for (method and the name or URI it names) and until when, under an HMAC-SHA256. A client cannot change it,
 * another caller cannot use it, and it cannot be replayed on another request or after it lapses.
 *
 * The key is `PORTCULLIS_MCP_STATE_KEY` when set (any string; hashed to 32 bytes), so every worker and replica of
 * a gateway accepts what another issued; otherwise a random key of this process.
 */
export const STATE_KEY_ENV = 'PORTCULLIS_MCP_STATE_KEY';
/** How long an issued request state is accepted. */
export const STATE_TTL_MS = 10 * 60_000;
const PREFIX = 'pcl1.';

let key: Buffer | undefined;
function stateKey(): Buffer {
  if (!key) {
    const configured = process.env[STATE_KEY_ENV];
    key = configured ? createHash('sha256').update(configured).digest() : randomBytes(32);
  }
  return key;
}

interface Payload {
  /** Owner (caller identity). */
  o: string;
  /** Method and the name or URI the request names. */
  m: string;
  n: string;
  /** The target's own state. */
  s?: string;
  /** Expiry, ms since the epoch. */
  e: number;
  /** The handle of a call this process keeps open for the retry (serve/input-bridge.ts). */
  h?: string;
}

function mac(body: string): Buffer {
  return createHmac('sha256', stateKey()).update(body).digest();
}

/** An HMAC-SHA256 under the same key; `domain` keeps one kind of token (list cursors) from verifying as another. */
function gatewayMac(domain: string | undefined, body: string): Buffer {
  return domain === undefined ? mac(body) : createHmac('sha256', stateKey()).update(`${domain}\u0000${body}`).digest();
}

/** A token the gateway hands a client and takes back: `prefix`, the payload as base64url JSON, and its HMAC. */
export function sealToken(prefix: string, domain: string | undefined, payload: object): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${prefix}${body}.${gatewayMac(domain, body).toString('base64url')}`;
}

/** The payload of a token `sealToken` made with the same prefix and domain, or why it is refused. */
export function openToken<T>(prefix: string, domain: string | undefined, token: unknown): T | { refused: string } {
  if (typeof token !== 'string' || !token.startsWith(prefix)) return { refused: 'it was not issued by this gateway' };
  const dot = token.lastIndexOf('.');
  const body = token.slice(prefix.length, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = gatewayMac(domain, body);
  if (dot <= prefix.length || given.length !== expected.length || !timingSafeEqual(given, expected)) return { refused: 'its integrity check failed' };
  try {
    const p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown;
    return p !== null && typeof p === 'object' && !Array.isArray(p) ? (p as T) : { refused: 'it is malformed' };
  } catch {
    return { refused: 'it is malformed' };
  }
}

/** What a request is bound to: its method and the name or URI it names. */
export interface StateBinding {
  owner: string;
  method: string;
  name: string;
}

export function sealState(binding: StateBinding, inner: string | undefined, now = Date.now(), handle?: string): string {
  const payload: Payload = {
    o: binding.owner,
    m: binding.method,
    n: binding.name,
    e: now + STATE_TTL_MS,
    ...(inner !== undefined ? { s: inner } : {}),
    ...(handle !== undefined ? { h: handle } : {}),
  };
  return sealToken(PREFIX, undefined, payload);
}

/** The target's state (or the gateway's call handle) inside a sealed one, or why it is refused. */
export function openState(token: unknown, binding: StateBinding, now = Date.now()): { inner: string | undefined; handle?: string } | { refused: string } {
  const p = openToken<Payload>(PREFIX, undefined, token);
  if ('refused' in p) return p;
  if (p.o !== binding.owner) return { refused: 'it was issued to another caller' };
  if (p.m !== binding.method || p.n !== binding.name) return { refused: 'it was issued for another request' };
  if (now > p.e) return { refused: 'it expired' };
  return { inner: p.s, ...(typeof p.h === 'string' ? { handle: p.h } : {}) };
}
