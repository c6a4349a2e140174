import { resolve } from 'node:path';
import type { CredentialRef, IdentityMapCredentials, SecretSource } from '../../sdk-types/security.ts';
import type { Identity } from '../../sdk-types/identity.ts';
import { s } from '../../core/config/index.ts';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import type { RequestContext } from '../../core/pipeline/index.ts';
import { readSecret, secretSchema } from './secret.ts';
import type { CredentialResolver, ResolvedCredential } from './per-user.ts';

const REF = /^(env|file):\/\/(.+)$/;

/** A credential reference: `env://NAME`, `file://PATH`, or a secret source object. */
const credentialRefSchema = s.oneOf('a reference (env://NAME or file://PATH) or { secret | env | file }', [
  { when: (v) => typeof v === 'string', schema: s.string({ pattern: REF, patternHint: 'env://NAME or file://PATH' }) },
  { when: (v) => s.isPlainObject(v), schema: secretSchema },
]);

export const identityMapSchema = s.object(
  {
    key: s.oneOf("'subject' or { claim }", [
      { when: (v) => typeof v === 'string', schema: s.literal('subject') },
      { when: (v) => s.isPlainObject(v), schema: s.object({ claim: s.string({ nonEmpty: true }) }, { required: ['claim'] }) },
    ]),
    credentials: s.record(credentialRefSchema),
    fallback: s.oneOf("'deny', 'none' or { credential }", [
      { when: (v) => typeof v === 'string', schema: s.literal('deny', 'none') },
      { when: (v) => s.isPlainObject(v), schema: s.object({ credential: credentialRefSchema }, { required: ['credential'] }) },
    ]),
  },
  { required: ['credentials'] },
);

/** A reference as the secret source it names. */
export function sourceOf(ref: CredentialRef): SecretSource {
  if (typeof ref !== 'string') return ref;
  const m = REF.exec(ref)!;
  // file:///abs/path keeps its leading slash; file://./rel and file://rel are relative to the config's folder.
  return m[1] === 'env' ? { env: m[2] } : { file: m[2] };
}

/** Files an identity map reads, so hot reload watches them (a rotated user token takes effect at once). */
export function identityMapFiles(config: IdentityMapCredentials, baseDir: string): string[] {
  const refs = [...Object.values(config.credentials), ...(typeof config.fallback === 'object' ? [config.fallback.credential] : [])];
  return refs.map(sourceOf).flatMap((src) => (src.file !== undefined ? [resolve(baseDir, src.file)] : []));
}

/** The caller's name in the map: its subject, or a string claim; undefined for an anonymous caller. */
export function callerKey(identity: Identity | undefined, key: IdentityMapCredentials['key']): string | undefined {
  if (!identity || identity.kind === 'anonymous') return undefined;
  if (key === undefined || key === 'subject') return identity.subject;
  const v = identity.claims[key.claim];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Reads every mapped secret now (a missing variable or file is a config error naming the entry, never its value)
 * and returns the resolver: an exact-name lookup per request.
 */
export function createIdentityMapResolver(config: IdentityMapCredentials, baseDir: string, path: string): { resolve: CredentialResolver; has(identity: Identity | undefined): boolean } {
  const secrets = new Map<string, string>();
  for (const [name, ref] of Object.entries(config.credentials)) secrets.set(name, readSecret(sourceOf(ref), baseDir, `${path}.credentials.${name}`));
  const fallback = config.fallback ?? 'deny';
  const fallbackValue: ResolvedCredential | undefined =
    fallback === 'none' ? { value: undefined } : fallback === 'deny' ? undefined : { value: readSecret(sourceOf(fallback.credential), baseDir, `${path}.fallback.credential`) };
  const lookup = (identity: Identity | undefined) => {
    const name = callerKey(identity, config.key);
    return name === undefined ? undefined : secrets.get(name);
  };
  const keyName = config.key === undefined || config.key === 'subject' ? 'subject' : `claim "${config.key.claim}"`;
  return {
    has: (identity) => lookup(identity) !== undefined,
    resolve(ctx: RequestContext): ResolvedCredential {
      const value = lookup(ctx.identity);
      if (value !== undefined) return { value };
      if (fallbackValue) return fallbackValue;
      const who = ctx.identity && ctx.identity.kind !== 'anonymous' ? `caller "${ctx.identity.subject}"` : 'an anonymous caller';
      ctx.log.warn({ route: ctx.routeName, subject: ctx.identity?.subject, code: ErrorCodes.UPSTREAM_CREDENTIAL_MISSING }, 'backendAuth.identityMap: no upstream credential for the caller');
      throw new GatewayError(
        ErrorCodes.UPSTREAM_CREDENTIAL_MISSING,
        `backendAuth.identityMap: no upstream credential for ${who} (looked up by ${keyName}); add an entry to credentials or set a fallback`,
      );
    },
  };
}
