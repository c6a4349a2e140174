import type { McpAuthenticationPolicy } from '../../sdk-types/security.ts';
import { s } from '../../core/config/index.ts';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import type { PolicyDefinition, RequestContext } from '../../core/pipeline/index.ts';
import { readSecret, secretFiles, secretSchema } from '../backend-auth/secret.ts';
import { jwksFiles, jwksSchema, rejectUnauthenticated } from '../jwt-auth/index.ts';
import { ASYMMETRIC_ALGORITHMS, createVerifier, TokenRejected } from '../jwt-auth/verifier.ts';
import { createAuthorizationServer } from './authorization-server.ts';
import { findBearer } from './bearer.ts';
import { PROVIDERS, SPEC_COMPLIANT } from './providers.ts';

const WELL_KNOWN = '/.well-known/oauth-protected-resource';
const DEFAULT_IDP_TIMEOUT_MS = 5_000;
const url = s.string({ pattern: /^https?:\/\/[^\s#]+$/, patternHint: 'an http(s) URL without a fragment' });

/** Where RFC 9728 puts the metadata of a resource: the well-known prefix inserted before the resource's path. */
export function metadataUrl(resource: string): string {
  const u = new URL(resource);
  return `${u.origin}${WELL_KNOWN}${resourcePath(resource)}`;
}

/** The resource's path without a trailing slash ('' for the root). */
function resourcePath(resource: string): string {
  const u = new URL(resource);
  return u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
}

/** A quoted-string parameter of a challenge (RFC 9110 section 11.2): no quote or backslash inside. */
const quoted = (v: string): string => `"${v.replace(/["\\]/g, "'")}"`;

/** The scopes a token carries: `scope` (space-separated, RFC 8693/9068) or `scp` (an array or a string: Okta, Entra). */
function scopesOf(claims: Record<string, unknown>): Set<string> {
  const out = new Set<string>();
  for (const v of [claims.scope, claims.scp]) {
    if (typeof v === 'string') for (const x of v.split(' ')) if (x) out.add(x);
    if (Array.isArray(v)) for (const x of v) if (typeof x === 'string') out.add(x);
  }
  return out;
}

/**
 * The MCP authorization spec's resource-server side: Protected Resource Metadata (RFC 9728) at the well-known
 * URL and its path-suffixed form, the authorization server's metadata at the RFC 8414 URL of the resource (as the
 * identity provider's adapter rewrites it), client registration answered or relayed, 401/403 with the spec's
 * `WWW-Authenticate` challenges, and bearer tokens accepted only when their audience is this resource (RFC 8707),
 * so a token minted for another server is useless here. The well-known routes need no backend: this policy
 * answers them.
 */
export const mcpAuthentication: PolicyDefinition<McpAuthenticationPolicy> = {
  name: 'mcpAuthentication',
  phase: 'authentication',
  terminal: true,
  schema: s.object(
    {
      issuer: url,
      resource: url,
      jwks: jwksSchema,
      provider: s.literal('keycloak', 'auth0', 'okta', 'entra', 'descope', 'authentik'),
      mode: s.literal('strict', 'optional', 'permissive'),
      bearerMethodsSupported: s.array(s.literal('header', 'body', 'query'), { minItems: 1 }),
      audiences: s.array(s.string({ nonEmpty: true }), { minItems: 1 }),
      authorizationServers: s.array(url, { minItems: 1 }),
      scopesSupported: s.array(s.string({ nonEmpty: true })),
      requiredScopes: s.array(s.string({ nonEmpty: true })),
      resourceName: s.string({ nonEmpty: true }),
      resourceDocumentation: url,
      resourcePolicyUri: url,
      clientId: s.string({ nonEmpty: true }),
      clientSecret: secretSchema,
      idpTimeoutMs: s.number({ integer: true, min: 1, max: 120_000 }),
      algorithms: s.array(s.string({ nonEmpty: true }), { minItems: 1 }),
      rolesClaim: s.string({ nonEmpty: true }),
      clockSkewSeconds: s.number({ integer: true, min: 0, max: 3600 }),
      passthrough: s.boolean(),
    },
    {
      required: ['issuer', 'resource'],
      refine(value, path, issues) {
        if (value.clientSecret !== undefined && value.clientId === undefined) issues.push({ path: `${path}.clientSecret`, message: 'is the secret of `clientId`: set clientId too' });
        if (value.clientSecret !== undefined && value.provider !== 'entra') issues.push({ path: `${path}.clientSecret`, message: 'is only used with provider "entra" (its token endpoint is the only one the gateway proxies)' });
      },
    },
  ),
  files: (config, baseDir) => [...jwksFiles(config.jwks, baseDir), ...secretFiles(config.clientSecret, baseDir)],
  create(config, build) {
    const adapter = config.provider ? PROVIDERS[config.provider] : SPEC_COMPLIANT;
    let jwks = config.jwks;
    try {
      // Every URL the adapter derives from the issuer is checked now (an Entra issuer without a tenant), not on the
      // first client's request.
      adapter.discoveryUrl(config.issuer);
      jwks ??= { url: adapter.jwksUrl(config.issuer) };
    } catch (err) {
      throw new GatewayError(ErrorCodes.CONFIG_INVALID, `${build.path}.issuer: ${(err as Error).message}`);
    }
    const verifier = createVerifier({
      issuer: config.issuer,
      audiences: config.audiences ?? [config.resource],
      jwks,
      algorithms: config.algorithms ?? ASYMMETRIC_ALGORITHMS,
      clockSkewSeconds: config.clockSkewSeconds,
      rolesClaim: config.rolesClaim,
      baseDir: build.baseDir,
      path: build.path,
      state: build.state,
      logger: build.logger,
    });
    const mode = config.mode ?? 'strict';
    const methods = config.bearerMethodsSupported ?? ['header'];
    const required = config.requiredScopes ?? [];
    const origin = new URL(config.resource).origin;
    const path = resourcePath(config.resource);
    const metadataLocation = metadataUrl(config.resource);
    const metadataPath = new URL(metadataLocation).pathname;
    // With a provider the gateway stands for it: clients discover its metadata, rewritten, at the gateway.
    const gatewayIssuer = `${origin}${path}`;
    const authorizationServer = createAuthorizationServer({
      config,
      adapter,
      gatewayAs: `${origin}/.well-known/oauth-authorization-server${path}`,
      gatewayIssuer,
      clientSecret: config.clientSecret ? readSecret(config.clientSecret, build.baseDir, `${build.path}.clientSecret`) : undefined,
      timeoutMs: config.idpTimeoutMs ?? DEFAULT_IDP_TIMEOUT_MS,
    });
    const metadata = JSON.stringify({
      resource: config.resource,
      authorization_servers: config.authorizationServers ?? (config.provider ? [gatewayIssuer] : [config.issuer]),
      bearer_methods_supported: methods,
      ...(config.scopesSupported ? { scopes_supported: config.scopesSupported } : {}),
      ...(config.resourceName ? { resource_name: config.resourceName } : {}),
      ...(config.resourceDocumentation ? { resource_documentation: config.resourceDocumentation } : {}),
      ...(config.resourcePolicyUri ? { resource_policy_uri: config.resourcePolicyUri } : {}),
    });
    const scope = config.scopesSupported?.length ? `, scope=${quoted(config.scopesSupported.join(' '))}` : '';
    const rm = `resource_metadata=${quoted(metadataLocation)}`;
    // RFC 6750 section 3 and the MCP authorization spec: where the metadata is, and what went wrong.
    const challenge = `Bearer ${rm}${scope}`;
    const invalidToken = (message: string) => `Bearer error="invalid_token", error_description=${quoted(message)}, ${rm}`;
    const invalidRequest = (message: string) => `Bearer error="invalid_request", error_description=${quoted(message)}, ${rm}`;
    const insufficientScope = `Bearer error="insufficient_scope", scope=${quoted(required.join(' '))}, error_description="the token lacks a required scope", ${rm}`;

    const serveMetadata = (ctx: RequestContext) => {
      ctx.respond({
        status: 200,
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(metadata)),
          'cache-control': 'max-age=300',
          // Browser-based MCP clients read it cross-origin.
          'access-control-allow-origin': '*',
        },
        body: metadata,
      });
    };

    const refuse = (ctx: RequestContext, status: 400 | 403, code: 'PCL_ERR_BAD_REQUEST' | 'PCL_ERR_INSUFFICIENT_SCOPE', message: string, challengeValue: string) => {
      const err = new GatewayError(code, message);
      const body = JSON.stringify(err.toJSON());
      ctx.respond({ status, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'www-authenticate': challengeValue }, body, errorCode: err.code });
    };

    return {
      async step(ctx, next) {
        if ((ctx.method === 'GET' || ctx.method === 'HEAD') && (ctx.path === WELL_KNOWN || ctx.path === metadataPath)) return serveMetadata(ctx);
        if (ctx.path.startsWith('/.well-known/oauth-authorization-server')) {
          try {
            if (await authorizationServer.handle(ctx)) return;
          } catch (err) {
            // What the identity provider did wrong, for the operator; never a request body (credentials).
            ctx.log.warn({ route: ctx.routeName, code: (err as GatewayError).code, reason: (err as Error).message }, 'mcpAuthentication: identity provider call failed');
            return ctx.respondError(err);
          }
        }
        const found = await findBearer(ctx, methods);
        if (found === undefined) {
          if (mode !== 'strict' || (ctx.identity && ctx.identity.kind !== 'anonymous')) return next();
          return rejectUnauthenticated(ctx, 'missing bearer token', challenge);
        }
        if ('malformed' in found) {
          if (mode === 'permissive') return next();
          if (found.invalidRequest) return refuse(ctx, 400, ErrorCodes.BAD_REQUEST, found.malformed, invalidRequest(found.malformed));
          return rejectUnauthenticated(ctx, found.malformed, invalidToken(found.malformed));
        }
        try {
          ctx.identity = verifier.cached(found.token) ?? (await verifier.verify(found.token));
        } catch (err) {
          if (!(err instanceof TokenRejected)) throw err;
          ctx.log.debug({ route: ctx.routeName, reason: err.message }, 'MCP bearer token refused');
          if (mode === 'permissive') return next();
          return rejectUnauthenticated(ctx, err.message, invalidToken(err.message));
        }
        if (required.length > 0 && mode !== 'permissive') {
          const has = scopesOf(ctx.identity.claims);
          const missing = required.filter((x) => !has.has(x));
          if (missing.length > 0) return refuse(ctx, 403, ErrorCodes.INSUFFICIENT_SCOPE, `the token lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (mcpAuthentication.requiredScopes)`, insufficientScope);
        }
        if (!config.passthrough) found.remove();
        return next();
      },
    };
  },
};
