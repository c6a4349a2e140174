import { createHash } from 'node:crypto';
import type { TokenExchangeCredentials } from '../../sdk-types/security.ts';
import { s } from '../../core/config/index.ts';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import type { RequestContext } from '../../core/pipeline/index.ts';
import { BoundedMap } from '../../core/state/bounded-map.ts';
import { readSecret, secretSchema } from './secret.ts';
import { bearerOf, type CredentialResolver } from './per-user.ts';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Form parameters the grants set themselves. */
const RESERVED_PARAMS = new Set(['grant_type', 'subject_token', 'subject_token_type', 'assertion', 'audience', 'resource', 'scope', 'requested_token_type', 'client_id', 'client_secret']);
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_EXCHANGE_DEFAULTS = { timeoutMs: 5000, cacheEntries: 10_000 } as const;
/** A cached token is dropped this long before it expires, so that none reaches the upstream about to lapse. */
const EXPIRY_MARGIN_MS = 10_000;
/** The longest error text of the endpoint quoted in a message (it is the endpoint's, not ours). */
const QUOTE_MAX = 200;

const httpUrl = s.string({ pattern: /^https?:\/\/[^\s]+$/, patternHint: 'an http(s) URL' });

export const tokenExchangeSchema = s.object(
  {
    tokenEndpoint: httpUrl,
    audience: s.string({ nonEmpty: true }),
    resource: s.string({ nonEmpty: true }),
    scope: s.string({ nonEmpty: true }),
    clientId: s.string({ nonEmpty: true }),
    clientSecret: secretSchema,
    subjectTokenType: s.string({ nonEmpty: true }),
    requestedTokenType: s.string({ nonEmpty: true }),
    timeoutMs: s.number({ integer: true, min: 1, max: 120_000 }),
    cacheEntries: s.number({ integer: true, min: 1, max: 1_000_000 }),
    grantType: s.literal('tokenExchange', 'jwtBearer'),
    clientAuthMethod: s.literal('basic', 'post'),
    additionalParams: s.record(s.string()),
    cacheTtlMs: s.number({ integer: true, min: 1, max: 86_400_000 }),
    resourceAuthorizationServer: s.object(
      { tokenEndpoint: httpUrl, clientId: s.string({ nonEmpty: true }), clientSecret: secretSchema, clientAuthMethod: s.literal('basic', 'post'), scope: s.string() },
      { required: ['tokenEndpoint'] },
    ),
  },
  {
    required: ['tokenEndpoint'],
    refine(v, path, issues) {
      for (const name of Object.keys(v.additionalParams ?? {})) {
        if (RESERVED_PARAMS.has(name)) issues.push({ path: `${path}.additionalParams.${name}`, message: 'is a parameter of the grant itself: set it with its own setting' });
      }
      if (v.grantType === 'jwtBearer' && (v.subjectTokenType !== undefined || v.requestedTokenType !== undefined)) issues.push({ path, message: 'subjectTokenType and requestedTokenType belong to the tokenExchange grant, not jwtBearer' });
      if (v.clientAuthMethod !== undefined && v.clientId === undefined) issues.push({ path: `${path}.clientAuthMethod`, message: 'needs clientId' });
      if (v.grantType === 'jwtBearer') {
        if (v.audience === undefined && v.resource === undefined && v.scope === undefined) issues.push({ path, message: 'needs audience, resource or scope: what the token is asked for' });
      } else if (v.audience === undefined && v.resource === undefined) issues.push({ path, message: 'needs audience or resource: the upstream the exchanged token is for' });
      if (v.clientSecret !== undefined && v.clientId === undefined) issues.push({ path: `${path}.clientSecret`, message: 'needs clientId (the secret authenticates that client)' });
    },
  },
);

interface Cached {
  token: string;
  expiresAt: number;
}

/**
 * Exchanges each caller's bearer token at the configured endpoint and caches the result per (caller, caller's
 * token) for this policy's audience, until it expires. Concurrent requests of one caller share one exchange.
 */
export function createTokenExchangeResolver(config: TokenExchangeCredentials, baseDir: string, path: string): { resolve: CredentialResolver; cache: BoundedMap<string, Cached> } {
  const secret = config.clientSecret ? readSecret(config.clientSecret, baseDir, `${path}.clientSecret`) : '';
  const post = config.clientAuthMethod === 'post';
  const basic = config.clientId === undefined || post ? undefined : `Basic ${Buffer.from(`${encodeURIComponent(config.clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
  const timeoutMs = config.timeoutMs ?? TOKEN_EXCHANGE_DEFAULTS.timeoutMs;
  const cache = new BoundedMap<string, Cached>(config.cacheEntries ?? TOKEN_EXCHANGE_DEFAULTS.cacheEntries);
  const inflight = new Map<string, Promise<Cached>>();
  const audience = config.audience ?? config.resource ?? config.scope ?? '';

  const fail = (message: string, status?: number, cause?: unknown) =>
    new GatewayError(ErrorCodes.TOKEN_EXCHANGE_FAILED, `backendAuth.tokenExchange: ${message}; nothing was sent upstream`, { status, cause });

  /** One client's way to authenticate at a token endpoint: HTTP Basic, or client_id/client_secret in the form. */
  interface ClientAuth {
    basic?: string;
    post?: { clientId: string; secret?: string };
  }
  const clientAuthOf = (c: { clientId?: string; clientSecret?: unknown; clientAuthMethod?: string }, secretValue: string): ClientAuth =>
    c.clientId === undefined
      ? {}
      : c.clientAuthMethod === 'post'
        ? { post: { clientId: c.clientId, secret: c.clientSecret === undefined ? undefined : secretValue } }
        : { basic: `Basic ${Buffer.from(`${encodeURIComponent(c.clientId)}:${encodeURIComponent(secretValue)}`).toString('base64')}` };
  const firstAuth: ClientAuth = basic ? { basic } : post && config.clientId !== undefined ? { post: { clientId: config.clientId, secret: config.clientSecret === undefined ? undefined : secret } } : {};
  const chained = config.resourceAuthorizationServer;
  const chainedAuth = chained ? clientAuthOf(chained, chained.clientSecret ? readSecret(chained.clientSecret, baseDir, `${path}.resourceAuthorizationServer.clientSecret`) : '') : {};

  /** One token request: the form posted with the client's authentication; the token, its type and lifetime. */
  async function leg(endpoint: string, form: URLSearchParams, auth: ClientAuth): Promise<{ token: string; lifetimeMs: number }> {
    if (auth.post) {
      form.set('client_id', auth.post.clientId);
      if (auth.post.secret !== undefined) form.set('client_secret', auth.post.secret);
    }
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (auth.basic) headers.authorization = auth.basic;
    let res: Response;
    let text: string;
    try {
      const signal = AbortSignal.timeout(timeoutMs);
      res = await fetch(endpoint, { method: 'POST', headers, body: form, signal, redirect: 'error' });
      text = await res.text();
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError') throw fail(`${endpoint} did not answer within ${timeoutMs} ms (timeoutMs)`, 504);
      throw fail(`${endpoint} could not be reached (${(err as Error).message})`, 502, err);
    }
    let body: Record<string, unknown> | undefined;
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const error = typeof body?.error === 'string' ? body.error.slice(0, QUOTE_MAX) : undefined;
      const description = typeof body?.error_description === 'string' ? `: ${body.error_description.slice(0, QUOTE_MAX)}` : '';
      // The endpoint refusing the caller's token (expired, revoked, not for this exchange) is the caller's problem.
      const callerFault = res.status === 400 || res.status === 401 || res.status === 403;
      throw fail(`${endpoint} refused the exchange with ${res.status}${error ? ` ${error}${description}` : ''}`, callerFault && error !== 'invalid_client' ? 403 : 502);
    }
    const token = body?.access_token;
    if (typeof token !== 'string' || token === '' || /[\s\0]/.test(token)) throw fail(`${endpoint} answered without a usable access_token`);
    const tokenType = body?.token_type;
    if (typeof tokenType !== 'string' || !/^(bearer|n_a)$/i.test(tokenType)) throw fail(`${endpoint} answered token_type ${JSON.stringify(tokenType)}; only Bearer (or N_A) tokens are sent upstream`);
    const expiresIn = body?.expires_in;
    return { token, lifetimeMs: typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : (config.cacheTtlMs ?? 0) };
  }

  async function exchange(subjectToken: string, capMs: number | undefined): Promise<Cached> {
    const form =
      config.grantType === 'jwtBearer'
        ? new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion: subjectToken })
        : new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token: subjectToken, subject_token_type: config.subjectTokenType ?? ACCESS_TOKEN_TYPE });
    for (const [name, value] of Object.entries(config.additionalParams ?? {})) form.set(name, value);
    if (config.audience !== undefined) form.set('audience', config.audience);
    if (config.resource !== undefined) form.set('resource', config.resource);
    if (config.scope !== undefined) form.set('scope', config.scope);
    if (config.requestedTokenType !== undefined) form.set('requested_token_type', config.requestedTokenType);
    let got = await leg(config.tokenEndpoint, form, firstAuth);
    if (chained) {
      // Cross App Access: the first token (an ID-JAG) is the RFC 7523 assertion at the resource authorization server.
      const second = new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion: got.token });
      const scope = chained.scope ?? config.scope;
      if (scope !== undefined && scope !== '') second.set('scope', scope);
      got = await leg(chained.tokenEndpoint, second, chainedAuth);
    }
    const now = Date.now();
    // Never cached past the caller's own token: once that lapses, the exchange must be asked again (and refused).
    const expiresAt = Math.min(now + got.lifetimeMs, capMs ?? Number.POSITIVE_INFINITY) - EXPIRY_MARGIN_MS;
    return { token: got.token, expiresAt };
  }

  const resolve: CredentialResolver = async (ctx: RequestContext) => {
    const subjectToken = bearerOf(ctx);
    if (subjectToken === undefined) {
      throw new GatewayError(ErrorCodes.UPSTREAM_CREDENTIAL_MISSING, 'backendAuth.tokenExchange: the request has no bearer token to exchange for the upstream (send Authorization: Bearer <token>, verified by jwtAuth)');
    }
    const subject = ctx.identity?.subject ?? '';
    const key = `${subject}\n${audience}\n${createHash('sha256').update(subjectToken).digest('base64url')}`;
    const hit = cache.get(key);
    if (hit && hit.expiresAt > Date.now()) return { value: hit.token };
    if (hit) cache.delete(key);
    let pending = inflight.get(key);
    if (!pending) {
      const exp = ctx.identity?.claims.exp;
      pending = exchange(subjectToken, typeof exp === 'number' ? exp * 1000 : undefined).finally(() => inflight.delete(key));
      inflight.set(key, pending);
    }
    try {
      const got = await pending;
      if (got.expiresAt > Date.now()) cache.set(key, got);
      return { value: got.token };
    } catch (err) {
      ctx.log.warn({ route: ctx.routeName, subject: ctx.identity?.subject, code: (err as GatewayError).code, err: (err as Error).message }, 'backendAuth.tokenExchange failed');
      throw err;
    }
  };
  return { resolve, cache };
}
