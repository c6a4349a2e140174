import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import type { JwksSource } from '../../sdk-types/security.ts';
import { s } from '../../core/config/index.ts';
import { configError } from '../backend-auth/secret.ts';
import { stateKey, type StateStore } from '../../core/state/index.ts';
import { loadJose } from './jose.ts';

export const DEFAULT_JWKS_CACHE_MS = 600_000;
export const DEFAULT_MIN_REFETCH_MS = 30_000;
const JWKS_FETCH_TIMEOUT_MS = 5_000;

export const jwksSchema = s.object(
  {
    url: s.string({ pattern: /^https?:\/\/\S+$/, patternHint: 'an http(s) URL' }),
    file: s.string({ nonEmpty: true }),
    inline: s.object({ keys: s.array(s.record({ describe: 'any', check() {}, jsonSchema: () => ({}) })) }, { required: ['keys'] }),
    cacheMs: s.number({ integer: true, min: 0 }),
    minRefetchIntervalMs: s.number({ integer: true, min: 0 }),
  },
  { exactlyOne: ['url', 'file', 'inline'] },
);

export function jwksFiles(source: JwksSource | undefined, baseDir: string): string[] {
  return source?.file ? [resolve(baseDir, source.file)] : [];
}

/**
 * The public keys tokens are checked against. A verified token is remembered together with the `generation` it
 * was checked under: when the keys may have changed, remembered tokens are checked again.
 */
export interface KeySet {
  /** jose's key resolver. */
  readonly getKey: JWTVerifyGetKey;
  /** Grows whenever the keys may have changed (a remote set fetched again, on expiry or on an unknown `kid`). */
  readonly generation: number;
  /** False while the keys are due to be fetched again (a remote set older than `cacheMs`, or not fetched yet). */
  readonly fresh: boolean;
}

/**
 * A JWKS behind a URL, fetched by jose (on first use, when older than `cacheMs`, and on an unknown `kid` at most
 * once per `minRefetchIntervalMs`). Every completed fetch starts a new generation.
 */
class RemoteKeySet implements KeySet {
  generation = 0;
  private remote?: JWTVerifyGetKey & { readonly fresh: boolean };
  private creating?: Promise<JWTVerifyGetKey & { readonly fresh: boolean }>;
  private readonly url: URL;
  private readonly cacheMs: number;
  private readonly cooldown: number;

  constructor(url: URL, cacheMs: number, cooldown: number) {
    this.url = url;
    this.cacheMs = cacheMs;
    this.cooldown = cooldown;
  }

  get fresh(): boolean {
    return this.remote?.fresh === true;
  }

  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const remote = this.remote ?? (await (this.creating ??= this.create()));
    return remote(header, token);
  };

  private async create() {
    const jose = await loadJose();
    const counted: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      this.generation++;
      return response;
    };
    this.remote = jose.createRemoteJWKSet(this.url, {
      cacheMaxAge: this.cacheMs,
      cooldownDuration: this.cooldown,
      timeoutDuration: JWKS_FETCH_TIMEOUT_MS,
      [jose.customFetch]: counted,
    });
    return this.remote;
  }
}

/** A JWKS from a file or the config: fixed for the life of the policy (a changed file is a reload). */
class LocalKeySet implements KeySet {
  readonly generation = 0;
  readonly fresh = true;
  private local?: Promise<JWTVerifyGetKey>;
  private readonly jwks: JSONWebKeySet;

  constructor(jwks: JSONWebKeySet) {
    this.jwks = jwks;
  }

  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const local = await (this.local ??= loadJose().then((jose) => jose.createLocalJWKSet(this.jwks)));
    return local(header, token);
  };
}

/** jose's own test for a key set (`createLocalJWKSet` refuses what fails it), made at load without loading jose. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Object.prototype.toString.call(value) !== '[object Object]') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

function checkJwks(jwks: unknown, path: string): JSONWebKeySet {
  let copy: unknown;
  try {
    copy = structuredClone(jwks);
  } catch {
    throw configError(`${path}: invalid JWKS: JSON Web Key Set malformed`);
  }
  if (!isPlainObject(copy) || !Array.isArray(copy.keys) || !copy.keys.every(isPlainObject)) {
    throw configError(`${path}: invalid JWKS: JSON Web Key Set malformed`);
  }
  return copy as unknown as JSONWebKeySet;
}

/**
 * The key set of a JWKS source. A remote set lives in the gateway's persistent state, keyed by its URL and
 * timings, so a reload neither drops the cached keys nor resets the re-fetch rate limit.
 */
const REMOTE_JWKS = stateKey<KeySet>('jwtAuth.remoteJwks');

export function createKeySet(source: JwksSource, baseDir: string, path: string, state: StateStore): KeySet {
  if (source.url) {
    const cacheMs = source.cacheMs ?? DEFAULT_JWKS_CACHE_MS;
    const cooldown = source.minRefetchIntervalMs ?? DEFAULT_MIN_REFETCH_MS;
    // Gateway-wide: two routes naming the same JWKS share its cache and its re-fetch rate limit.
    return state.getOrCreate(REMOTE_JWKS, `${source.url} ${cacheMs} ${cooldown}`, () => new RemoteKeySet(new URL(source.url!), cacheMs, cooldown));
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
  return new LocalKeySet(checkJwks(jwks, path));
}
