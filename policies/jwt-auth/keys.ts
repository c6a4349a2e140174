import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { JwksSource } from '../../sdk-types/security.ts';
import { s } from '../../core/config/index.ts';
import { configError } from '../backend-auth/secret.ts';
import { stateKey, type StateStore } from '../../core/state/index.ts';

export const DEFAULT_JWKS_CACHE_MS = 600_000;
export const DEFAULT_MIN_REFETCH_MS = 30_000;
const JWKS_FETCH_TIMEOUT_MS = 5_000;

export const jwksSchema = s.object(
  {
    url: s.string({ pattern: /^https?:\/\/\S+$/, patternHint: 'an http(s) URL' }),
    file: s.string({ nonEmpty: true }),
    inline: s.object({ keys: s.array(s.record({ describe: 'any', check() {} })) }, { required: ['keys'] }),
    cacheMs: s.number({ integer: true, min: 0 }),
    minRefetchIntervalMs: s.number({ integer: true, min: 0 }),
  },
  { exactlyOne: ['url', 'file', 'inline'] },
);

export function jwksFiles(source: JwksSource | undefined, baseDir: string): string[] {
  return source?.file ? [resolve(baseDir, source.file)] : [];
}

/**
 * The key resolver for a JWKS source. A remote set lives in the gateway's persistent state, keyed by its URL and
 * timings, so a reload neither drops the cached keys nor resets the re-fetch rate limit; jose re-fetches on an
 * unknown `kid` at most once per `minRefetchIntervalMs`.
 */
const REMOTE_JWKS = stateKey<JWTVerifyGetKey>('jwtAuth.remoteJwks');

export function createKeyResolver(source: JwksSource, baseDir: string, path: string, state: StateStore): JWTVerifyGetKey {
  if (source.url) {
    const cacheMs = source.cacheMs ?? DEFAULT_JWKS_CACHE_MS;
    const cooldown = source.minRefetchIntervalMs ?? DEFAULT_MIN_REFETCH_MS;
    // Gateway-wide: two routes naming the same JWKS share its cache and its re-fetch rate limit.
    return state.getOrCreate(REMOTE_JWKS, `${source.url} ${cacheMs} ${cooldown}`, () =>
      createRemoteJWKSet(new URL(source.url!), { cacheMaxAge: cacheMs, cooldownDuration: cooldown, timeoutDuration: JWKS_FETCH_TIMEOUT_MS }),
    );
  }
  let jwks: unknown = source.inline;
  if (source.file) {
    const file = resolve(baseDir, source.file);
    try {
      jwks = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw configError(`${path}.file: cannot read a JWKS from ${file}: ${(err as Error).message}`);
    }
  }
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys)) {
    throw configError(`${path}: a JWKS is an object with a "keys" array`);
  }
  try {
    return createLocalJWKSet(jwks as JSONWebKeySet);
  } catch (err) {
    throw configError(`${path}: invalid JWKS: ${(err as Error).message}`);
  }
}
