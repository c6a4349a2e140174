import type { TokenLocation } from '../../sdk-types/security.ts';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import type { RequestContext } from '../../core/pipeline/index.ts';
import { markSecretHeader } from '../authorization/index.ts';

/** Where a credential was found, so it can be removed before forwarding. */
export type CredentialSource = { kind: 'header' | 'query' | 'cookie'; name: string };

export type Extracted = { token: string; source: CredentialSource } | { malformed: string } | undefined;

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

function headerValue(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.clientHeaders[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads a credential from the first configured place that has one: header, then query, then cookie. */
export function extractCredential(ctx: RequestContext, where: TokenLocation, bearer: boolean): Extracted {
  const header = (where.header ?? (where.query || where.cookie ? undefined : 'authorization'))?.toLowerCase();
  if (header) {
    const raw = headerValue(ctx, header);
    if (raw !== undefined) {
      markSecretHeader(ctx, header);
      if (header === 'authorization' && bearer) {
        const m = BEARER.exec(raw);
        if (!m) return { malformed: 'the authorization header must be "Bearer <token>"' };
        return { token: m[1], source: { kind: 'header', name: header } };
      }
      const token = raw.trim();
      if (token === '') return { malformed: `the ${header} header is empty` };
      return { token, source: { kind: 'header', name: header } };
    }
  }
  if (where.query && ctx.search) {
    const value = new URLSearchParams(ctx.search.slice(1)).get(where.query);
    if (value !== null && value !== '') return { token: value, source: { kind: 'query', name: where.query } };
  }
  if (where.cookie) {
    const cookie = headerValue(ctx, 'cookie');
    for (const part of cookie?.split(';') ?? []) {
      const eq = part.indexOf('=');
      if (eq !== -1 && part.slice(0, eq).trim() === where.cookie) {
        const value = part.slice(eq + 1).trim();
        if (value) return { token: decodeURIComponent(value), source: { kind: 'cookie', name: where.cookie } };
      }
    }
  }
  return undefined;
}

/** Takes the validated credential out of what is sent upstream: the backend must not be able to replay it. */
export function removeCredential(ctx: RequestContext, source: CredentialSource): void {
  if (source.kind === 'header') {
    delete ctx.requestHeaders[source.name];
  } else if (source.kind === 'query') {
    const params = new URLSearchParams(ctx.search.slice(1));
    params.delete(source.name);
    const rest = params.toString();
    ctx.search = rest ? `?${rest}` : '';
  } else {
    const cookie = ctx.requestHeaders.cookie;
    const text = Array.isArray(cookie) ? cookie.join('; ') : cookie;
    const kept = (text ?? '')
      .split(';')
      .map((p) => p.trim())
      .filter((p) => p && p.slice(0, p.indexOf('=')).trim() !== source.name);
    if (kept.length > 0) ctx.requestHeaders.cookie = kept.join('; ');
    else delete ctx.requestHeaders.cookie;
  }
}

/**
 * Answers 401 with a stable code and a `WWW-Authenticate` challenge. The message says what was wrong with the
 * credential, never the credential itself.
 */
export function rejectUnauthenticated(ctx: RequestContext, message: string, challenge?: string): void {
  const err = new GatewayError(ErrorCodes.UNAUTHENTICATED, message);
  const body = JSON.stringify(err.toJSON());
  const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
  if (challenge) headers['www-authenticate'] = challenge;
  ctx.respond({ status: err.status, headers, body, errorCode: err.code });
}
