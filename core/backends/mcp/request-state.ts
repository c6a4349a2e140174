import { createHmac, timingSafeEqual } from 'node:crypto';
import { sessionKeys } from '../../replica/index.ts';

/**
 * The request state the gateway hands a 2026-07-28 client with an input-required result, and takes back on the
 * retry: the target's own state (if it gave one) wrapped with who asked (the caller's identity, see `ownerOf`),
 * what for (method and the name or URI it names) and until when, under an HMAC-SHA256. A client cannot change it,
 * another caller cannot use it, and it cannot be replayed on another request or after it lapses.
 *
 * The key is derived from the session key (core/cluster/session-key.ts): the operator's `PORTCULLIS_SESSION_KEY`,
 * which every replica shares, or the one a supervisor makes for its workers; so a retry or a cursor is accepted by
 * whichever worker or replica it lands on. During a key rotation, tokens made under the previous key still open.
 */
/** How long an issued request state is accepted. */
export const STATE_TTL_MS = 10 * 60_000;
const PREFIX = 'pcl1.';

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

/** The HMAC of `body` under each key (the current first); `domain` keeps one kind of token from verifying as another. */
function macs(domain: string | undefined, body: string): Buffer[] {
  const data = domain === undefined ? body : `${domain}\u0000${body}`;
  return sessionKeys().keys.map((k) => createHmac('sha256', k.state).update(data).digest());
}

/** A token the gateway hands a client and takes back: `prefix`, the payload as base64url JSON, and its HMAC. */
export function sealToken(prefix: string, domain: string | undefined, payload: object): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${prefix}${body}.${macs(domain, body)[0]!.toString('base64url')}`;
}

/** The payload of a token `sealToken` made with the same prefix and domain, or why it is refused. */
export function openToken<T>(prefix: string, domain: string | undefined, token: unknown): T | { refused: string } {
  if (typeof token !== 'string' || !token.startsWith(prefix)) return { refused: 'it was not issued by this gateway' };
  const dot = token.lastIndexOf('.');
  const body = token.slice(prefix.length, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const valid = dot > prefix.length && macs(domain, body).some((expected) => given.length === expected.length && timingSafeEqual(given, expected));
  if (!valid) return { refused: 'its integrity check failed' };
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
