import { openToken, sealToken } from './request-state.ts';

/**
 * The cursor a 2026-07-28 client pages a route's merged list with: which target the next page starts at (its index
 * and name) and that target's own cursor, for one route and one list method, base64url-encoded under an HMAC-SHA256
 * with the request-state key (derived from the session key, so every worker and replica accepts it). A client
 * cannot point it at another target, list or route, nor hand a target a cursor the target never gave.
 */
const PREFIX = 'pcc1.';
const DOMAIN = 'mcp-list-cursor';

interface Payload {
  /** Route and list method. */
  r: string;
  m: string;
  /** Target index and name. */
  t: number;
  n: string;
  /** The target's own cursor. */
  c: unknown;
}

export interface CursorBinding {
  route: string;
  method: string;
}

export interface OpenedCursor {
  index: number;
  target: string;
  cursor: unknown;
}

export function sealCursor(binding: CursorBinding, at: OpenedCursor): string {
  const payload: Payload = { r: binding.route, m: binding.method, t: at.index, n: at.target, c: at.cursor };
  return sealToken(PREFIX, DOMAIN, payload);
}

/** Where a gateway cursor points, or why it is refused. */
export function openCursor(token: unknown, binding: CursorBinding): OpenedCursor | { refused: string } {
  const p = openToken<Payload>(PREFIX, DOMAIN, token);
  if ('refused' in p) return p;
  if (p.r !== binding.route || p.m !== binding.method) return { refused: 'it was issued for another route or list' };
  if (!Number.isInteger(p.t) || p.t < 0 || typeof p.n !== 'string') return { refused: 'it is malformed' };
  return { index: p.t, target: p.n, cursor: p.c };
}
