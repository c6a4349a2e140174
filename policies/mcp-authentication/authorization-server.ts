import type { McpAuthenticationPolicy } from '../../sdk-types/security.ts';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import type { RequestContext } from '../../core/pipeline/index.ts';
import { callIdp, fetchMetadata } from './idp.ts';
import { entraEndpoints, oidcDiscoveryUrl, rewriteMetadata, type ProviderAdapter } from './providers.ts';

/** A registration or token request body is a small JSON or form document. */
const REQUEST_BODY_LIMIT = 64 * 1024;
/** The provider's metadata is fetched again after this long (errors are not remembered). */
const METADATA_TTL_MS = 60_000;

const CORS = { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'content-type, authorization' };

export interface AuthorizationServerOptions {
  config: McpAuthenticationPolicy;
  adapter: ProviderAdapter;
  /** The gateway's RFC 8414 metadata URL for this resource: `<origin>/.well-known/oauth-authorization-server<path>`. */
  gatewayAs: string;
  /** The URL that stands for the provider when a `provider` is set: the resource URL. */
  gatewayIssuer: string;
  clientSecret: string | undefined;
  timeoutMs: number;
}

/**
 * The authorization-server side the gateway serves for one resource: the provider's metadata rewritten by its
 * adapter, registration answered from `clientId` or relayed, and (Entra) the authorization and token endpoints.
 */
export function createAuthorizationServer(options: AuthorizationServerOptions) {
  const { config, adapter } = options;
  const asPath = new URL(options.gatewayAs).pathname;
  let cached: { doc: string; until: number } | undefined;
  let pending: Promise<string> | undefined;

  /** One fetch at a time: clients that arrive while the cache is cold wait for the same answer. */
  function metadata(): Promise<string> {
    if (cached && cached.until > Date.now()) return Promise.resolve(cached.doc);
    pending ??= fetchRewritten().finally(() => (pending = undefined));
    return pending;
  }

  async function fetchRewritten(): Promise<string> {
    let doc: Record<string, unknown>;
    if (config.provider === undefined) {
      // A spec-compliant server publishes RFC 8414 metadata; many (oidc-provider among them) only OIDC discovery.
      try {
        doc = await fetchMetadata(adapter.discoveryUrl(config.issuer), options.timeoutMs);
      } catch (err) {
        if (!(err instanceof GatewayError) || !/answered HTTP 404$/.test(err.message)) throw err;
        doc = await fetchMetadata(oidcDiscoveryUrl(config.issuer), options.timeoutMs);
      }
    } else {
      doc = await fetchMetadata(adapter.discoveryUrl(config.issuer), options.timeoutMs);
    }
    const out = rewriteMetadata(adapter, config.provider !== undefined, doc, {
      gatewayAs: options.gatewayAs,
      gatewayIssuer: options.gatewayIssuer,
      audience: config.audiences?.[0],
    });
    if ('invalid' in out) throw new GatewayError(ErrorCodes.IDP_METADATA_INVALID, `${out.invalid} (${config.provider ?? 'spec-compliant'} adapter, ${adapter.discoveryUrl(config.issuer)})`);
    const text = JSON.stringify(out);
    cached = { doc: text, until: Date.now() + METADATA_TTL_MS };
    return text;
  }

  /** Answers `path` when it is one of this resource's authorization-server paths; false otherwise. */
  async function handle(ctx: RequestContext): Promise<boolean> {
    if (ctx.path === asPath) {
      if (!isRead(ctx)) return methodNotAllowed(ctx, 'GET, HEAD');
      json(ctx, 200, await metadata(), 'max-age=60');
      return true;
    }
    if (ctx.path === `${asPath}/client-registration`) {
      if (ctx.method !== 'POST') return methodNotAllowed(ctx, 'POST');
      await register(ctx);
      return true;
    }
    if (adapter.proxiesAuthorization && ctx.path === `${asPath}/authorize`) {
      if (!isRead(ctx)) return methodNotAllowed(ctx, 'GET, HEAD');
      const target = new URL(entraEndpoints(config.issuer).authorizationEndpoint);
      const params = new URLSearchParams(ctx.search.slice(1));
      params.delete('resource');
      target.search = params.toString();
      ctx.respond({ status: 302, headers: { location: target.href, 'content-length': '0' }, body: '' });
      return true;
    }
    if (adapter.proxiesAuthorization && ctx.path === `${asPath}/token`) {
      if (ctx.method !== 'POST') return methodNotAllowed(ctx, 'POST');
      await token(ctx);
      return true;
    }
    return false;
  }

  async function register(ctx: RequestContext): Promise<void> {
    const body = await readBody(ctx);
    if (config.clientId !== undefined) {
      // A pre-registered client: nothing is created at the provider. Strict MCP clients check that the redirect
      // URIs they asked for come back, so those are carried over.
      let redirectUris: unknown = [];
      try {
        const asked = JSON.parse(body.toString('utf8')) as { redirect_uris?: unknown };
        if (Array.isArray(asked?.redirect_uris)) redirectUris = asked.redirect_uris;
      } catch {
        // Not JSON: answered with the client anyway, as agentgateway does.
      }
      const doc = { client_id: config.clientId, client_id_issued_at: 0, token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: redirectUris };
      json(ctx, 201, JSON.stringify(doc));
      return;
    }
    const target = adapter.registrationUrl(config.issuer);
    if (typeof target !== 'string') throw new GatewayError(ErrorCodes.IDP_REGISTRATION_UNSUPPORTED, target.unsupported);
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    // Keycloak's initial access token, Okta's SSWS token: the client's credential for the registration endpoint.
    const authorization = ctx.clientHeaders.authorization;
    if (typeof authorization === 'string') headers.authorization = authorization;
    const answer = await callIdp(target, { method: 'POST', headers, body, timeoutMs: options.timeoutMs, what: 'registration' });
    relay(ctx, answer.status, answer.contentType, answer.body);
  }

  async function token(ctx: RequestContext): Promise<void> {
    const form = new URLSearchParams((await readBody(ctx)).toString('utf8'));
    form.delete('resource');
    const authorization = ctx.clientHeaders.authorization;
    // The secret belongs to the configured client: attached only to its user-delegated grants, never to
    // client_credentials (this endpoint is reachable without a token) and never when the client sent its own.
    const grant = form.get('grant_type');
    if (
      options.clientSecret !== undefined &&
      authorization === undefined &&
      !form.has('client_secret') &&
      config.clientId !== undefined &&
      form.get('client_id') === config.clientId &&
      (grant === 'authorization_code' || grant === 'refresh_token')
    ) {
      form.set('client_secret', options.clientSecret);
    }
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (typeof authorization === 'string') headers.authorization = authorization;
    const answer = await callIdp(entraEndpoints(config.issuer).tokenEndpoint, { method: 'POST', headers, body: form.toString(), timeoutMs: options.timeoutMs, what: 'token' });
    relay(ctx, answer.status, answer.contentType, answer.body, 'no-store');
  }

  return { handle, asPath };
}

function isRead(ctx: RequestContext): boolean {
  return ctx.method === 'GET' || ctx.method === 'HEAD';
}

function methodNotAllowed(ctx: RequestContext, allow: string): true {
  const err = new GatewayError(ErrorCodes.BAD_REQUEST, `${ctx.path} accepts ${allow}, not ${ctx.method}`, { status: 405 });
  const body = JSON.stringify(err.toJSON());
  ctx.respond({ status: 405, headers: { allow, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }, body, errorCode: err.code });
  return true;
}

function json(ctx: RequestContext, status: number, body: string, cache?: string): void {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...CORS };
  if (cache) headers['cache-control'] = cache;
  ctx.respond({ status, headers, body });
}

function relay(ctx: RequestContext, status: number, contentType: string | undefined, body: Buffer, cache?: string): void {
  const headers: Record<string, string> = { 'content-length': String(body.length), ...CORS };
  if (contentType) headers['content-type'] = contentType;
  if (cache) headers['cache-control'] = cache;
  ctx.respond({ status, headers, body });
}

async function readBody(ctx: RequestContext): Promise<Buffer> {
  if (!ctx.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.body) {
    size += (chunk as Buffer).length;
    if (size > REQUEST_BODY_LIMIT) {
      ctx.body.destroy();
      throw new GatewayError(ErrorCodes.BODY_TOO_LARGE, `a registration or token request must be at most ${REQUEST_BODY_LIMIT} bytes`);
    }
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  }
  return Buffer.concat(chunks);
}
