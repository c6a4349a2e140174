import type { McpAuthenticationPolicy } from '../../sdk-types/security.ts';
import { s } from '../../core/config/index.ts';
import type { PolicyDefinition, RequestContext } from '../../core/pipeline/index.ts';
import { extractCredential, rejectUnauthenticated, removeCredential } from '../jwt-auth/credential.ts';
import { jwksFiles, jwksSchema } from '../jwt-auth/keys.ts';
import { ASYMMETRIC_ALGORITHMS, createVerifier, TokenRejected } from '../jwt-auth/verifier.ts';

const WELL_KNOWN = '/.well-known/oauth-protected-resource';
const url = s.string({ pattern: /^https?:\/\/[^\s#]+$/, patternHint: 'an http(s) URL without a fragment' });

/** Where RFC 9728 puts the metadata of a resource: the well-known prefix inserted before the resource's path. */
export function metadataUrl(resource: string): string {
  const u = new URL(resource);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
  return `${u.origin}${WELL_KNOWN}${path}`;
}

/**
 * The MCP authorization spec's resource-server side: Protected Resource Metadata (RFC 9728) at the well-known
 * URL and its path-suffixed form, 401 with a `WWW-Authenticate` challenge that points to it, and bearer tokens
 * accepted only when their audience is this resource (RFC 8707), so a token minted for another server is useless
 * here. The metadata route needs no backend: this policy answers it.
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
      audiences: s.array(s.string({ nonEmpty: true }), { minItems: 1 }),
      authorizationServers: s.array(url, { minItems: 1 }),
      scopesSupported: s.array(s.string({ nonEmpty: true })),
      resourceName: s.string({ nonEmpty: true }),
      algorithms: s.array(s.string({ nonEmpty: true }), { minItems: 1 }),
      rolesClaim: s.string({ nonEmpty: true }),
      clockSkewSeconds: s.number({ integer: true, min: 0, max: 3600 }),
      passthrough: s.boolean(),
    },
    { required: ['issuer', 'resource', 'jwks'] },
  ),
  files: (config, baseDir) => jwksFiles(config.jwks, baseDir),
  create(config, build) {
    const verifier = createVerifier({
      issuer: config.issuer,
      audiences: config.audiences ?? [config.resource],
      jwks: config.jwks,
      algorithms: config.algorithms ?? ASYMMETRIC_ALGORITHMS,
      clockSkewSeconds: config.clockSkewSeconds,
      rolesClaim: config.rolesClaim,
      baseDir: build.baseDir,
      path: build.path,
      state: build.state,
      logger: build.logger,
    });
    const metadataLocation = metadataUrl(config.resource);
    const metadataPath = new URL(metadataLocation).pathname;
    const metadata = JSON.stringify({
      resource: config.resource,
      authorization_servers: config.authorizationServers ?? [config.issuer],
      bearer_methods_supported: ['header'],
      ...(config.scopesSupported ? { scopes_supported: config.scopesSupported } : {}),
      ...(config.resourceName ? { resource_name: config.resourceName } : {}),
    });
    const scope = config.scopesSupported?.length ? `, scope="${config.scopesSupported.join(' ')}"` : '';
    const challenge = `Bearer resource_metadata="${metadataLocation}"${scope}`;
    const invalid = (message: string) => `Bearer error="invalid_token", error_description="${message.replace(/"/g, "'")}", resource_metadata="${metadataLocation}"`;

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

    return {
      async step(ctx, next) {
        if ((ctx.method === 'GET' || ctx.method === 'HEAD') && (ctx.path === WELL_KNOWN || ctx.path === metadataPath)) return serveMetadata(ctx);
        const found = extractCredential(ctx, { header: 'authorization' }, true);
        if (found === undefined) return rejectUnauthenticated(ctx, 'missing bearer token', challenge);
        if ('malformed' in found) return rejectUnauthenticated(ctx, found.malformed, invalid(found.malformed));
        try {
          ctx.identity = await verifier.verify(found.token);
        } catch (err) {
          if (!(err instanceof TokenRejected)) throw err;
          ctx.log.debug({ route: ctx.routeName, reason: err.message }, 'MCP bearer token refused');
          return rejectUnauthenticated(ctx, err.message, invalid(err.message));
        }
        if (!config.passthrough) removeCredential(ctx, found.source);
        return next();
      },
    };
  },
};
