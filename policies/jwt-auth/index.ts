import type { JwtAuthPolicy } from '../../sdk-types/security.ts';
import { headerNameSchema, s } from '../../core/config/index.ts';
import type { Next, PolicyDefinition, RequestContext } from '../../core/pipeline/index.ts';
import { secretFiles, secretSchema } from '../backend-auth/secret.ts';
import { extractCredential, rejectUnauthenticated, removeCredential, type CredentialSource } from './credential.ts';
import { jwksFiles, jwksSchema } from './keys.ts';
import { createVerifier, TokenRejected } from './verifier.ts';

export { createVerifier, TokenRejected } from './verifier.ts';
export { jwksSchema, jwksFiles, createKeySet, type KeySet } from './keys.ts';
export { extractCredential, rejectUnauthenticated, removeCredential } from './credential.ts';

const stringOrList = s.oneOf('string or array of string', [
  { when: (v) => typeof v === 'string', schema: s.string({ nonEmpty: true }) },
  { when: (v) => Array.isArray(v), schema: s.array(s.string({ nonEmpty: true }), { minItems: 1 }) },
]);

/** The `error` parameter of a Bearer challenge (RFC 6750) for a refused token. */
const invalidToken = (message: string) => `Bearer error="invalid_token", error_description="${message.replace(/"/g, "'")}"`;

/**
 * JWT bearer tokens verified with jose against a JWKS (URL, file or inline) or an HMAC secret. The verified
 * claims become the request's identity; the token is removed before forwarding unless `passthrough`.
 */
export const jwtAuth: PolicyDefinition<JwtAuthPolicy> = {
  name: 'jwtAuth',
  phase: 'authentication',
  schema: s.object(
    {
      issuer: stringOrList,
      audiences: s.array(s.string({ nonEmpty: true }), { minItems: 1 }),
      jwks: jwksSchema,
      secret: secretSchema,
      algorithms: s.array(s.string({ nonEmpty: true }), { minItems: 1 }),
      clockSkewSeconds: s.number({ integer: true, min: 0, max: 3600 }),
      requireExp: s.boolean(),
      mode: s.literal('strict', 'optional', 'permissive'),
      token: s.object({ header: headerNameSchema, query: s.string({ nonEmpty: true }), cookie: s.string({ nonEmpty: true }) }),
      rolesClaim: s.string({ nonEmpty: true }),
      passthrough: s.boolean(),
    },
    { required: ['issuer'] },
  ),
  files: (config, baseDir) => [...jwksFiles(config.jwks, baseDir), ...secretFiles(config.secret, baseDir)],
  create(config, build) {
    const verifier = createVerifier({ ...config, baseDir: build.baseDir, path: build.path, state: build.state, logger: build.logger });
    const mode = config.mode ?? 'strict';
    const where = config.token ?? { header: 'authorization' };
    const verifyThen = async (ctx: RequestContext, next: Next, token: string, source: CredentialSource): Promise<void> => {
      try {
        ctx.identity = await verifier.verify(token);
      } catch (err) {
        if (!(err instanceof TokenRejected)) throw err;
        ctx.log.debug({ route: ctx.routeName, reason: err.message }, 'JWT refused');
        if (mode === 'permissive') return next();
        return rejectUnauthenticated(ctx, err.message, invalidToken(err.message));
      }
      if (!config.passthrough) removeCredential(ctx, source);
      return next();
    };
    return {
      step(ctx, next) {
        const found = extractCredential(ctx, where, true);
        if (found === undefined) {
          if (mode !== 'strict' || (ctx.identity && ctx.identity.kind !== 'anonymous')) return next();
          return rejectUnauthenticated(ctx, 'missing bearer token', 'Bearer');
        }
        if ('malformed' in found) {
          if (mode === 'permissive') return next();
          return rejectUnauthenticated(ctx, found.malformed, invalidToken(found.malformed));
        }
        // A token verified before and still valid: no promise, no await.
        const identity = verifier.cached(found.token);
        if (identity === undefined) return verifyThen(ctx, next, found.token, found.source);
        ctx.identity = identity;
        if (!config.passthrough) removeCredential(ctx, found.source);
        return next();
      },
    };
  },
};
