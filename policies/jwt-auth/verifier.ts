import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import type { Identity } from '../../sdk-types/identity.ts';
import type { JwtAuthPolicy } from '../../sdk-types/security.ts';
import type { Logger } from '../../core/telemetry/index.ts';
import { configError, readSecret } from '../backend-auth/secret.ts';
import { loadJose } from './jose.ts';
import { createKeySet, type KeySet } from './keys.ts';
import type { StateStore } from '../../core/state/index.ts';

export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
export const DEFAULT_CLOCK_SKEW_SECONDS = 30;
/** Verified tokens remembered per policy (least recently used go first). */
export const VERIFIED_CACHE_MAX = 2_048;

type Errors = (typeof import('jose'))['errors'];

/** The token checks of a `jwtAuth` config (the public type), plus what the verifier needs from the gateway. */
export interface VerifierOptions extends Pick<JwtAuthPolicy, 'issuer' | 'audiences' | 'jwks' | 'secret' | 'algorithms' | 'clockSkewSeconds' | 'rolesClaim' | 'requireExp'> {
  baseDir: string;
  path: string;
  state: StateStore;
  logger: Logger;
}

/** Why a token was refused; the message is safe to send to the client (it never contains the token). */
export class TokenRejected extends Error {}

/** The client-facing reasons for the claim checks the verifier adds on top of jose's. */
export const NO_EXPIRY = 'token has no expiry (exp claim missing)';
export const ISSUED_IN_FUTURE = 'token issued in the future (iat claim)';

export interface Verifier {
  verify(token: string): Promise<Identity>;
  /**
   * The identity of a token this verifier accepted before, when that still holds: the token has not expired, and
   * the keys it was checked with are current. Synchronous, no I/O: the fast path of every request after the first.
   */
  cached(token: string): Identity | undefined;
}

/** Checks the algorithm settings at load: `none` never, HMAC only with a secret, something to verify with. */
export function checkAlgorithms(options: Pick<VerifierOptions, 'algorithms' | 'jwks' | 'secret' | 'path'>): string[] {
  const algorithms = options.algorithms ?? [...(options.jwks ? ASYMMETRIC_ALGORITHMS : []), ...(options.secret ? HMAC_ALGORITHMS : [])];
  for (const alg of algorithms) {
    if (alg.toLowerCase() === 'none') throw configError(`${options.path}.algorithms: "none" is never accepted`);
    if (HMAC_ALGORITHMS.includes(alg) && !options.secret) throw configError(`${options.path}.algorithms: ${alg} needs "secret" (HMAC keys are never taken from a JWKS)`);
    if (!HMAC_ALGORITHMS.includes(alg) && !ASYMMETRIC_ALGORITHMS.includes(alg)) throw configError(`${options.path}.algorithms: unknown algorithm "${alg}"`);
    if (ASYMMETRIC_ALGORITHMS.includes(alg) && !options.jwks) throw configError(`${options.path}.algorithms: ${alg} needs "jwks"`);
  }
  if (algorithms.length === 0) throw configError(`${options.path}: set "jwks" (public keys) or "secret" (HMAC)`);
  return algorithms;
}

function rolesOf(payload: JWTPayload, claim: string | undefined): string[] {
  const value = payload[claim ?? 'roles'] ?? (claim === undefined ? payload.scope : undefined);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  return [];
}

function reason(errors: Errors, err: unknown): string {
  if (err instanceof TokenRejected) return err.message;
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'token not yet valid';
    if (err.claim === 'iss') return 'token issuer is not accepted';
    if (err.claim === 'aud') return 'token audience is not accepted';
    if (err.claim === 'iat' && err.reason === 'check_failed') return ISSUED_IN_FUTURE;
    if (err.claim === 'exp' && err.reason === 'missing') return NO_EXPIRY;
    return `token claim "${err.claim}" is invalid`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return 'token algorithm is not allowed';
  if (err instanceof errors.JWKSNoMatchingKey) return 'no signing key matches the token';
  if (err instanceof errors.JWKSMultipleMatchingKeys) return 'several signing keys match the token (set "kid")';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'malformed token';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return 'signing keys are unavailable';
  return 'token could not be verified';
}

export function createVerifier(options: VerifierOptions): Verifier {
  const algorithms = checkAlgorithms(options);
  const keys: KeySet | undefined = options.jwks ? createKeySet(options.jwks, options.baseDir, `${options.path}.jwks`, options.state) : undefined;
  const secret = options.secret ? new TextEncoder().encode(readSecret(options.secret, options.baseDir, `${options.path}.secret`)) : undefined;
  // Start loading jose now (a configured policy will need it), without making the first request wait for the load.
  loadJose().catch(() => {});
  const skewSeconds = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  const verifyOptions = {
    issuer: options.issuer,
    audience: options.audiences,
    algorithms,
    clockTolerance: skewSeconds,
    // A token without `exp` would be valid forever: refused unless the config opts out.
    requiredClaims: (options.requireExp ?? true) ? ['exp'] : [],
  };
  // Agents send the same token on every call: re-verifying the signature each time is the biggest cost of the
  // policy (WebCrypto, tens of µs). A verified token is remembered by its exact text, with the key generation it was
  // checked under, until jose itself would call it expired; only tokens that verified are kept, so forged ones
  // cannot fill it, and a refusal is never remembered. A reload starts empty.
  // `generation` is undefined for a token checked with the HMAC secret, which no key set fetch changes.
  const verified = new Map<string, { identity: Identity; until: number; generation: number | undefined }>();
  const cached = (token: string): Identity | undefined => {
    const hit = verified.get(token);
    if (hit === undefined) return undefined;
    verified.delete(token);
    if (Date.now() >= hit.until || (hit.generation !== undefined && (hit.generation !== keys?.generation || !keys.fresh))) return undefined;
    // Back to the end: the least recently used token is the first to go.
    verified.set(token, hit);
    return hit.identity;
  };
  return {
    cached,
    async verify(token) {
      const hit = cached(token);
      if (hit) return hit;
      // The generation before the check: keys fetched while it runs make it stale at once, never the other way.
      const generation = keys?.generation;
      const { identity, hmac } = await verifyUncached(token);
      const exp = identity.claims.exp;
      // jose refuses a token once floor(now / 1 s) >= exp + clockTolerance: the same instant, in milliseconds.
      const until = typeof exp === 'number' ? Math.ceil(exp + skewSeconds) * 1000 : Infinity;
      if (verified.size >= VERIFIED_CACHE_MAX) verified.delete(verified.keys().next().value!);
      verified.set(token, { identity, until, generation: hmac ? undefined : (generation ?? 0) });
      return identity;
    },
  };

  async function verifyUncached(token: string): Promise<{ identity: Identity; hmac: boolean }> {
    const { decodeProtectedHeader, errors, jwtVerify } = await loadJose();
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new TokenRejected('malformed token');
    }
    if (typeof alg !== 'string' || alg.toLowerCase() === 'none') throw new TokenRejected('unsigned tokens (alg "none") are never accepted');
    if (!algorithms.includes(alg)) throw new TokenRejected(`token algorithm "${alg}" is not allowed`);
    const getKey: JWTVerifyGetKey = (header, jws) => {
      // The key kind follows from the algorithm, never the other way round: an HS token is never checked against a
      // public key (the RS/HS confusion attack), and an RS token never against the secret.
      if (HMAC_ALGORITHMS.includes(header.alg)) {
        if (!secret) throw new errors.JOSEAlgNotAllowed('HMAC is not configured');
        return secret;
      }
      return keys!.getKey(header, jws);
    };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, verifyOptions));
    } catch (err) {
      const why = reason(errors, err);
      if (why === 'signing keys are unavailable' || why === 'token could not be verified') {
        options.logger.warn({ policy: options.path, err: (err as Error).message }, 'JWT verification failed');
      }
      throw new TokenRejected(why);
    }
    // jose checks `iat` only together with maxTokenAge; a token minted in the future (a skewed or forged issuer
    // clock) is refused beyond the same tolerance as `exp` and `nbf`.
    if (payload.iat !== undefined && payload.iat * 1000 > Date.now() + skewSeconds * 1000) throw new TokenRejected(ISSUED_IN_FUTURE);
    const identity = Object.freeze({
      kind: 'jwt',
      subject: typeof payload.sub === 'string' ? payload.sub : '',
      roles: rolesOf(payload, options.rolesClaim),
      claims: payload as Record<string, unknown>,
    }) as Identity;
    return { identity, hmac: HMAC_ALGORITHMS.includes(alg) };
  }
}
