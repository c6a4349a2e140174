import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SessionKeys } from './session-key.ts';

/** What a remote target's upstream session needs to be resumed by another replica without a new `initialize`. */
export interface ResumableTarget {
  /** The upstream `Mcp-Session-Id` (absent for a server that keeps no session, and for OpenAPI targets). */
  s?: string;
  /** The protocol version the target answered to `initialize`. */
  v: string;
  /** The server capabilities it declared, by name (list filtering only asks whether one is there). */
  k: string[];
}

/**
 * What a session id says, once opened. Field names are short: the id travels in every request's header.
 * A session is either resumable (`u`: every target is remote, so any replica can rebuild it) or bound to its owner
 * (`p`: it holds a stdio or legacy-SSE target, or is a legacy-SSE client session, so requests go to the owner).
 */
export interface SessionClaims {
  /** Format version. */
  f: 1;
  /** The route's identity: its config path and name (see SessionIds). */
  r: string;
  /** The owner identity (see `ownerOf`). */
  o: string;
  /** The client's negotiated protocol version and its initialize params (capabilities, clientInfo). */
  v: string;
  c?: { capabilities: Record<string, unknown>; clientInfo: { name: string; version: string } };
  /** Resumable sessions: each remote target's upstream session, by target name. */
  u?: Record<string, ResumableTarget>;
  /** Bound sessions: the owning replica's peer address ('' when it has none: no other replica can reach it). */
  p?: string;
  /** The owning worker (workers > 1). */
  w?: number;
  /** Issue time (ms since the epoch) and a nonce: two sessions never share an id. */
  t: number;
  n: string;
}

const VERSION = 1;
const IV = 12;
const TAG = 16;

/**
 * Seals claims into a session id: base64url of `version | iv | AES-256-GCM(json) | tag`, with `prefix` (the worker
 * prefix, which the local handoff reads without opening the id) as associated data, so it cannot be swapped either.
 */
export function sealSessionId(claims: SessionClaims, keys: SessionKeys, prefix = ''): string {
  const key = keys.keys[0];
  const iv = randomBytes(IV);
  const cipher = createCipheriv('aes-256-gcm', key.seal, iv);
  cipher.setAAD(Buffer.from(prefix));
  const body = Buffer.concat([cipher.update(JSON.stringify(claims), 'utf8'), cipher.final()]);
  return prefix + Buffer.concat([Buffer.of(VERSION), iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** Why an id did not open: for the log line, never for the client (which sees "unknown session" either way). */
export type OpenFailure = 'malformed' | 'unauthentic';

/**
 * Opens a session id with any of the keys (the current one first). A truncated, bit-flipped, foreign-key or
 * otherwise forged id gives `{ failure }`; nothing is thrown.
 */
export function openSessionId(id: string, keys: SessionKeys): { claims: SessionClaims } | { failure: OpenFailure } {
  const dot = id.indexOf('.');
  const prefix = dot > 0 && dot < 6 && id.charCodeAt(0) === 119 /* w */ ? id.slice(0, dot + 1) : '';
  const text = id.slice(prefix.length);
  // Bounded: an id is far below this; a larger header is not worth decoding.
  if (text.length < 40 || text.length > 16_384 || !/^[A-Za-z0-9_-]+$/.test(text)) return { failure: 'malformed' };
  const raw = Buffer.from(text, 'base64url');
  // Only the canonical encoding: a last character that differs in its unused bits would decode to the same bytes,
  // and so be a second spelling of one session's id.
  if (raw.length < 1 + IV + TAG + 2 || raw[0] !== VERSION || raw.toString('base64url') !== text) return { failure: 'malformed' };
  const iv = raw.subarray(1, 1 + IV);
  const body = raw.subarray(1 + IV, raw.length - TAG);
  const tag = raw.subarray(raw.length - TAG);
  for (const key of keys.keys) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.seal, iv, { authTagLength: TAG });
      decipher.setAAD(Buffer.from(prefix));
      decipher.setAuthTag(tag);
      const json = Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      const claims = JSON.parse(json) as SessionClaims;
      if (claims?.f !== 1 || typeof claims.r !== 'string' || typeof claims.o !== 'string') return { failure: 'malformed' };
      return { claims };
    } catch {
      // not this key
    }
  }
  return { failure: 'unauthentic' };
}
