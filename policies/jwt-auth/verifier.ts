import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Identity } from '../../sdk-types/identity.ts';
import type { JwtAuthPolicy } from '../../sdk-types/security.ts';
import type { Logger } from '../../core/telemetry/index.ts';
import { configError, readSecret } from '../backend-auth/secret.ts';
import { createKeyResolver } from './keys.ts';
import type { StateStore } from '../../core/state/index.ts';

export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
export const DEFAULT_CLOCK_SKEW_SECONDS = 30;
/** How long a verified token is trusted without checking its signature again, at most (bounded by its `exp`). */
export const VERIFIED_CACHE_MS = 60_000;
const VERIFIED_CACHE_MAX = 10_000;

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

function reason(err: unknown): string {
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
  const jwks = options.jwks ? createKeyResolver(options.jwks, options.baseDir, `${options.path}.jwks`, options.state) : undefined;
  const secret = options.secret ? new TextEncoder().encode(readSecret(options.secret, options.baseDir, `${options.path}.secret`)) : undefined;
  const getKey: JWTVerifyGetKey = (header, token) => {
    // The key kind follows from the algorithm, never the other way round: an HS token is never checked against a
    // public key (the RS/HS confusion attack), and an RS token never against the secret.
    if (HMAC_ALGORITHMS.includes(header.alg)) {
      if (!secret) throw new errors.JOSEAlgNotAllowed('HMAC is not configured');
      return secret;
    }
    return jwks!(header, token);
  };
  const verifyOptions = {
    issuer: options.issuer,
    audience: options.audiences,
    algorithms,
    clockTolerance: options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS,
    // A token without `exp` would be valid forever: refused unless the config opts out.
    requiredClaims: (options.requireExp ?? true) ? ['exp'] : [],
  };
  // Agents send the same token on every call: re-verifying the signature each time is the biggest cost of the
  // policy (WebCrypto, tens of µs). A verified token is remembered until the earlier of its expiry and
  // VERIFIED_CACHE_MS; only tokens that verified are kept, so forged ones cannot fill it. A reload starts empty.
  const verified = new Map<string, { identity: Identity; until: number }>();
  const skewMs = (options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS) * 1000;
  return {
    async verify(token) {
      const hit = verified.get(token);
      if (hit) {
        if (Date.now() < hit.until) return hit.identity;
        verified.delete(token);
      }
      const identity = await verifyUncached(token);
      const exp = typeof identity.claims.exp === 'number' ? identity.claims.exp * 1000 + skewMs : Infinity;
      if (verified.size >= VERIFIED_CACHE_MAX) verified.delete(verified.keys().next().value!);
      verified.set(token, { identity, until: Math.min(exp, Date.now() + VERIFIED_CACHE_MS) });
      return identity;
    },
  };

  async function verifyUncached(token: string): Promise<Identity> {
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new TokenRejected('malformed token');
    }
    if (typeof alg !== 'string' || alg.toLowerCase() === 'none') throw new TokenRejected('unsigned tokens (alg "none") are never accepted');
    if (!algorithms.includes(alg)) throw new TokenRejected(`token algorithm "${alg}" is not allowed`);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, verifyOptions));
    } catch (err) {
      const why = reason(err);
      if (why === 'signing keys are unavailable' || why === 'token could not be verified') {
        options.logger.warn({ policy: options.path, err: (err as Error).message }, 'JWT verification failed');
      }
      throw new TokenRejected(why);
    }
    // jose checks `iat` only together with maxTokenAge; a token minted in the future (a skewed or forged issuer
    // clock) is refused beyond the same tolerance as `exp` and `nbf`.
    if (payload.iat !== undefined && payload.iat * 1000 > Date.now() + skewMs) throw new TokenRejected(ISSUED_IN_FUTURE);
    return Object.freeze({
      kind: 'jwt',
      subject: typeof payload.sub === 'string' ? payload.sub : '',
      roles: rolesOf(payload, options.rolesClaim),
      claims: payload as Record<string, unknown>,
    }) as Identity;
  }
}
