import { createHash, randomBytes } from 'node:crypto';
import type { UpstreamOAuthCredentials } from '../../sdk-types/security.ts';
import type { Identity } from '../../sdk-types/identity.ts';
import { s } from '../../core/config/index.ts';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import type { RequestContext } from '../../core/pipeline/index.ts';
import { GLOBAL_SCOPE, type StateStore } from '../../core/state/index.ts';
import { credentialChannel, publish } from '../../core/telemetry/index.ts';
import { CREDENTIAL_LINK_SOURCE } from '../../core/pipeline/index.ts';
import { configError, readSecret, secretSchema } from './secret.ts';
import { OAUTH_LINKS, OAuthLinks, type LinkTokens } from './oauth-store.ts';
import type { LinkBackend } from './link-backends.ts';
import type { CredentialResolver } from './per-user.ts';

export const OAUTH_DEFAULTS = { loginTimeoutMs: 600_000, timeoutMs: 5000 } as const;
/** A token this close to its expiry is refreshed first. */
const REFRESH_MARGIN_MS = 30_000;
const QUOTE_MAX = 200;

const httpUrl = s.string({ pattern: /^https?:\/\/[^\s]+$/, patternHint: 'an http(s) URL' });

export const oauthSchema = s.object(
  {
    name: s.string({ pattern: /^[A-Za-z0-9._-]{1,64}$/, patternHint: 'letters, digits, ".", "_" or "-" (at most 64)' }),
    authorizationEndpoint: httpUrl,
    tokenEndpoint: httpUrl,
    clientId: s.string({ nonEmpty: true }),
    clientSecret: secretSchema,
    scopes: s.array(s.string({ pattern: /^[\x21\x23-\x5b\x5d-\x7e]+$/, patternHint: 'a scope token' })),
    resource: s.string({ nonEmpty: true }),
    redirectUri: s.string({ pattern: /^(https?:\/\/[^\s]+|\/[^\s]*)$/, patternHint: 'an http(s) URL, or a path (then the request\'s own origin is put before it)' }),
    encryptionKey: secretSchema,
    loginTimeoutMs: s.number({ integer: true, min: 1000, max: 86_400_000 }),
    timeoutMs: s.number({ integer: true, min: 1, max: 120_000 }),
    store: s.oneOf("'memory' or { redis: { url, prefix? } }", [
      { when: (v) => typeof v === 'string', schema: s.literal('memory') },
      {
        when: (v) => s.isPlainObject(v),
        schema: s.object(
          { redis: s.object({ url: s.string({ pattern: /^rediss?:\/\//, patternHint: 'a redis:// or rediss:// URL' }), prefix: s.string() }, { required: ['url'] }) },
          { required: ['redis'] },
        ),
      },
    ]),
  },
  {
    required: ['authorizationEndpoint', 'tokenEndpoint', 'clientId', 'redirectUri'],
    refine(v, path, issues) {
      if (s.isPlainObject(v.store) && v.encryptionKey === undefined) issues.push({ path: `${path}.encryptionKey`, message: 'is required with a Redis store (every replica must open the tokens the others sealed)' });
    },
  },
);

/** What the callback needs of one link; rebuilt by every reload (a changed secret takes effect at once). */
export interface OAuthLinkRuntime {
  name: string;
  encryptionKey: Buffer;
  /** Where this link's tokens and logins live. */
  backend: LinkBackend;
  /** Exchanges an authorization code with its PKCE verifier (and the redirect URI the login used); throws the server's refusal. */
  redeemCode(code: string, verifier: string, redirectUri: string): Promise<LinkTokens>;
}

/** A failed call to the token endpoint: `error` is the OAuth error code when the server said one. */
class TokenEndpointError extends Error {
  readonly error: string | undefined;
  readonly status: number | undefined;
  constructor(message: string, error: string | undefined, status: number | undefined) {
    super(message);
    this.error = error;
    this.status = status;
  }
}

/** The link's name: `name`, else the authorization server's host. */
export function linkName(config: UpstreamOAuthCredentials): string {
  return config.name ?? new URL(config.authorizationEndpoint).host;
}

/** The refusal that carries the login URL: the body names it as `error.loginUrl` beside the code and message. */
export class LinkRequiredError extends GatewayError {
  readonly loginUrl: string;
  readonly link: string;
  constructor(message: string, loginUrl: string, link: string) {
    super(ErrorCodes.UPSTREAM_LINK_REQUIRED, message);
    this.loginUrl = loginUrl;
    this.link = link;
  }
  override toJSON() {
    const body = super.toJSON();
    return { error: { ...body.error, loginUrl: this.loginUrl } };
  }
}

/** The gateway's link store, created with the first oauth link and shown to its admin server. */
export function oauthLinks(state: StateStore): OAuthLinks {
  return state.getOrCreate(OAUTH_LINKS, GLOBAL_SCOPE, () => {
    const links = new OAuthLinks();
    state.set(CREDENTIAL_LINK_SOURCE, GLOBAL_SCOPE, links);
    return links;
  });
}

/**
 * The `oauth` mode: each user's own upstream token, got through the authorization-code flow (PKCE S256) with the
 * upstream's authorization server the first time, kept encrypted per user, refreshed with the refresh token.
 */
export function createOAuthResolver(
  config: UpstreamOAuthCredentials,
  build: { baseDir: string; path: string; state: StateStore; logger?: { warn(obj: object, msg: string): void } },
): { name: string; resolve: CredentialResolver; linked(identity: Identity | undefined): Promise<boolean>; close(): Promise<void> } {
  const name = linkName(config);
  const links = oauthLinks(build.state);
  const clientSecret = config.clientSecret ? readSecret(config.clientSecret, build.baseDir, `${build.path}.clientSecret`) : undefined;
  let encryptionKey: Buffer;
  if (config.encryptionKey) {
    encryptionKey = Buffer.from(readSecret(config.encryptionKey, build.baseDir, `${build.path}.encryptionKey`), 'base64');
    if (encryptionKey.length !== 32) throw configError(`${build.path}.encryptionKey: expected base64 of 32 bytes (openssl rand -base64 32), got ${encryptionKey.length} bytes`);
  } else {
    // Without a configured key, one per process: links live in this process's memory and die with it anyway.
    encryptionKey = links.runtimes.get(name)?.encryptionKey ?? randomBytes(32);
  }
  const timeoutMs = config.timeoutMs ?? OAUTH_DEFAULTS.timeoutMs;

  async function tokenRequest(form: URLSearchParams): Promise<LinkTokens> {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (clientSecret !== undefined) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(config.clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
    else form.set('client_id', config.clientId);
    if (config.resource !== undefined) form.set('resource', config.resource);
    let res: Response;
    let body: Record<string, unknown> = {};
    try {
      res = await fetch(config.tokenEndpoint, { method: 'POST', headers, body: form, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
      const text = await res.text();
      try {
        const parsed = JSON.parse(text) as unknown;
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
      } catch {
        // not JSON: reported by status below
      }
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      throw new TokenEndpointError(timedOut ? `${config.tokenEndpoint} did not answer within ${timeoutMs} ms` : `${config.tokenEndpoint} could not be reached (${(err as Error).message})`, undefined, undefined);
    }
    if (!res.ok) {
      const error = typeof body.error === 'string' ? body.error.slice(0, QUOTE_MAX) : undefined;
      const description = typeof body.error_description === 'string' ? `: ${body.error_description.slice(0, QUOTE_MAX)}` : '';
      throw new TokenEndpointError(`${config.tokenEndpoint} answered ${res.status}${error ? ` ${error}${description}` : ''}`, error, res.status);
    }
    const accessToken = body.access_token;
    if (typeof accessToken !== 'string' || accessToken === '' || /[\s\0]/.test(accessToken)) throw new TokenEndpointError(`${config.tokenEndpoint} answered without a usable access_token`, undefined, res.status);
    const refreshToken = typeof body.refresh_token === 'string' && body.refresh_token !== '' ? body.refresh_token : undefined;
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : undefined;
    return { accessToken, refreshToken, expiresAt: expiresIn === undefined ? undefined : Date.now() + expiresIn * 1000 };
  }

  const store = config.store === undefined || config.store === 'memory' ? { backend: links.memory as LinkBackend, release: async () => {} } : links.acquireRedis(config.store.redis.url, config.store.redis.prefix ?? 'portcullis:links:');
  links.runtimes.set(name, {
    name,
    encryptionKey,
    backend: store.backend,
    redeemCode: (code, verifier, redirectUri) => tokenRequest(new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier })),
  });

  const refreshing = new Map<string, Promise<LinkTokens>>();

  /** The callback URL: `redirectUri`, or the request's origin before it when it is a path. */
  function redirectOf(ctx: RequestContext): string {
    if (!config.redirectUri.startsWith('/')) return config.redirectUri;
    return `${ctx.scheme}://${String(ctx.clientHeaders.host ?? 'localhost')}${config.redirectUri}`;
  }

  function loginUrl(state: string, verifier: string, redirectUri: string): string {
    const url = new URL(config.authorizationEndpoint);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', config.clientId);
    url.searchParams.set('redirect_uri', redirectUri);
    if (config.scopes?.length) url.searchParams.set('scope', config.scopes.join(' '));
    if (config.resource !== undefined) url.searchParams.set('resource', config.resource);
    url.searchParams.set('state', state);
    url.searchParams.set('code_challenge', createHash('sha256').update(verifier).digest('base64url'));
    url.searchParams.set('code_challenge_method', 'S256');
    return url.toString();
  }

  async function requireLogin(ctx: RequestContext, subject: string): Promise<never> {
    const session = ctx.clientHeaders['mcp-session-id'];
    const { state, login } = await links.startLogin(
      { link: name, subject, session: typeof session === 'string' ? session : undefined, route: ctx.routeName, redirectUri: redirectOf(ctx) },
      config.loginTimeoutMs ?? OAUTH_DEFAULTS.loginTimeoutMs,
    );
    const url = loginUrl(state, login.verifier, login.redirectUri);
    ctx.log.info({ route: ctx.routeName, subject, link: name, code: ErrorCodes.UPSTREAM_LINK_REQUIRED }, 'backendAuth.oauth: the caller has not linked the upstream account yet');
    throw new LinkRequiredError(`backendAuth.oauth: link your "${name}" account first: open ${url} and sign in, then retry`, url, name);
  }

  const resolve: CredentialResolver = async (ctx) => {
    try {
      return await resolveLinked(ctx);
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      throw new GatewayError(ErrorCodes.UPSTREAM_CREDENTIAL_MISSING, `backendAuth.oauth: the "${name}" link store could not be reached (${(err as Error).message}); nothing was sent upstream`, { status: 503, cause: err });
    }
  };

  const resolveLinked: CredentialResolver = async (ctx) => {
    const subject = ctx.identity && ctx.identity.kind !== 'anonymous' ? ctx.identity.subject : undefined;
    if (subject === undefined) {
      throw new GatewayError(ErrorCodes.UPSTREAM_CREDENTIAL_MISSING, `backendAuth.oauth: the "${name}" upstream acts as the calling user, so the caller must be authenticated (add jwtAuth or apiKey to the route)`);
    }
    const tokens = await links.get(name, subject);
    if (!tokens) return requireLogin(ctx, subject);
    if (tokens.expiresAt === undefined || tokens.expiresAt - REFRESH_MARGIN_MS > Date.now()) return { value: tokens.accessToken };
    if (tokens.refreshToken === undefined) {
      await links.delete(name, subject);
      publish(credentialChannel, () => ({ event: 'revoke' as const, link: name, subject, by: 'gateway' as const, route: ctx.routeName, reason: 'the access token expired and there is no refresh token' }));
      return requireLogin(ctx, subject);
    }
    const key = `${subject}`;
    let pending = refreshing.get(key);
    if (!pending) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refreshToken });
      pending = tokenRequest(form).finally(() => refreshing.delete(key));
      refreshing.set(key, pending);
    }
    try {
      const fresh = await pending;
      // A server that does not rotate refresh tokens keeps the old one valid.
      const kept = { ...fresh, refreshToken: fresh.refreshToken ?? tokens.refreshToken };
      if (await links.has(name, subject)) await links.set(name, subject, kept, true);
      publish(credentialChannel, () => ({ event: 'refresh' as const, link: name, subject, by: 'gateway' as const, route: ctx.routeName }));
      return { value: kept.accessToken };
    } catch (err) {
      const e = err as TokenEndpointError;
      if (e.error === 'invalid_grant') {
        // The authorization server revoked the grant (or the refresh token expired): the user must link again.
        await links.delete(name, subject);
        publish(credentialChannel, () => ({ event: 'revoke' as const, link: name, subject, by: 'gateway' as const, route: ctx.routeName, reason: 'the authorization server refused the refresh token (invalid_grant)' }));
        return requireLogin(ctx, subject);
      }
      throw new GatewayError(ErrorCodes.TOKEN_EXCHANGE_FAILED, `backendAuth.oauth: refreshing the "${name}" token failed: ${e.message}; nothing was sent upstream`, { cause: err });
    }
  };
  return {
    name,
    resolve,
    linked: async (identity) => {
      if (identity === undefined || identity.kind === 'anonymous') return false;
      try {
        return await links.has(name, identity.subject);
      } catch (err) {
        build.logger?.warn({ link: name, err: (err as Error).message }, 'backendAuth.oauth: the link store could not be read; policies see no link');
        return false;
      }
    },
    close: store.release,
  };
}
