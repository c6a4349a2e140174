import type { BackendAuthPolicy } from '../../sdk-types/security.ts';
import { s } from '../../core/config/index.ts';
import { headerNameSchema } from '../../core/config/index.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';
import { createCredentialInterceptor } from '../../core/upstream/index.ts';
import { resolve } from 'node:path';
import { readSecret, secretFiles, secretSchema } from './secret.ts';
import { createJwtSigner, createJwtSignInterceptor, jwtSignFiles, jwtSignSchema } from './jwt-sign.ts';
import { createIdentityMapResolver, identityMapFiles, identityMapSchema } from './identity-map.ts';
import { createTokenExchangeResolver, tokenExchangeSchema } from './token-exchange.ts';
import { bearerOf, createPerUserInstance } from './per-user.ts';
import { createOAuthResolver, oauthSchema } from './oauth.ts';
export { upstreamOAuthCallback } from './oauth-callback.ts';

/**
 * Sends the backend a credential on every attempt: the gateway's own (static, from the environment or a file),
 * or with `passthrough` the one the client sent in `header`. An interceptor of the route's upstream, built once:
 * it applies to HTTP hosts and remote MCP targets, after authentication removed the client's credential from
 * what is forwarded, so a client's token reaches a backend only when the config says so.
 */
export const backendAuth: PolicyDefinition<BackendAuthPolicy> = {
  name: 'backendAuth',
  phase: 'upstream',
  requires: ['http-upstream'],
  schema: s.object(
    { header: headerNameSchema, credential: secretSchema, prefix: s.string(), passthrough: s.boolean(), jwtSign: jwtSignSchema, identityMap: identityMapSchema, tokenExchange: tokenExchangeSchema, oauth: oauthSchema },
    {
      exactlyOne: ['credential', 'passthrough', 'jwtSign', 'identityMap', 'tokenExchange', 'oauth'],
      refine(v, path, issues) {
        if (v.passthrough === false) issues.push({ path: `${path}.passthrough`, message: 'must be true when set (give a credential instead to send the gateway\'s own)' });
        if (v.passthrough === true && v.prefix !== undefined) issues.push({ path: `${path}.prefix`, message: 'applies to a credential, not to passthrough (the client\'s value is sent as it came)' });
        for (const mode of ['tokenExchange', 'oauth'] as const) {
          if (v[mode] !== undefined && (v.prefix !== undefined || v.header !== undefined)) issues.push({ path, message: `${mode} sends \`Authorization: Bearer <token>\`: header and prefix do not apply` });
        }
      },
    },
  ),
  files: (config, baseDir) => [
    ...secretFiles(config.credential, baseDir),
    ...jwtSignFiles(config.jwtSign, baseDir, resolve),
    ...(config.identityMap ? identityMapFiles(config.identityMap, baseDir) : []),
  ],
  create(config, build) {
    const header = (config.header ?? 'authorization').toLowerCase();
    // Per-user modes (docs/upstream-credentials.md): each caller's own credential, resolved per request.
    const perUser = { header, prefix: config.prefix ?? '', scope: build.scope, state: build.state };
    if (config.identityMap) {
      const map = createIdentityMapResolver(config.identityMap, build.baseDir, `${build.path}.identityMap`);
      return createPerUserInstance({ ...perUser, resolve: map.resolve, probe: (ctx) => ({ identityMap: map.has(ctx.identity) }) });
    }
    const bearer = { ...perUser, header: 'authorization', prefix: 'Bearer ' };
    if (config.tokenExchange) {
      const resolve = createTokenExchangeResolver(config.tokenExchange, build.baseDir, `${build.path}.tokenExchange`).resolve;
      return createPerUserInstance({ ...bearer, resolve, probe: (ctx) => ({ tokenExchange: bearerOf(ctx) !== undefined }) });
    }
    if (config.oauth) {
      const oauth = createOAuthResolver(config.oauth, { baseDir: build.baseDir, path: `${build.path}.oauth`, state: build.state, logger: build.logger });
      // On an MCP route, an unlinked user gets a URL elicitation from the MCP backend rather than an HTTP refusal.
      const deferLinks = build.backendKinds !== undefined && build.backendKinds.length > 0 && build.backendKinds.every((k) => k === 'mcp');
      return createPerUserInstance({ ...bearer, resolve: oauth.resolve, probe: async (ctx) => ({ [oauth.name]: await oauth.linked(ctx.identity) }), close: oauth.close, deferLinks });
    }
    if (config.passthrough) {
      return {
        step: (_ctx, next) => next(),
        upstream: { attempt: createCredentialInterceptor({ header, passthrough: { from: header } }), readsClientHeaders: true },
      };
    }
    if (config.jwtSign) {
      const signer = createJwtSigner(config.jwtSign, build.baseDir, `${build.path}.jwtSign`);
      return { step: (_ctx, next) => next(), upstream: { attempt: createJwtSignInterceptor(header, config.prefix ?? 'Bearer ', signer) } };
    }
    const value = `${config.prefix ?? ''}${readSecret(config.credential!, build.baseDir, `${build.path}.credential`)}`;
    return { step: (_ctx, next) => next(), upstream: { attempt: createCredentialInterceptor({ header, value }) } };
  },
};
