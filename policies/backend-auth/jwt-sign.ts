import { createPrivateKey, sign, constants, type KeyObject } from 'node:crypto';
import type { BackendJwtSign } from '../../sdk-types/security.ts';
import { s } from '../../core/config/index.ts';
import type { Issue, Schema } from '../../core/schema/index.ts';
import { withHeader } from '../../core/upstream/index.ts';
import type { UpstreamInterceptor } from '../../core/upstream/index.ts';
import { configError, readSecret, secretSchema } from './secret.ts';

/**
 * `backendAuth.jwtSign` (agentgateway's): the gateway signs a short-lived JWT with its private key for every
 * request to the backend, for upstreams that take key-pair JWTs instead of a static credential (Snowflake's SQL
 * API, for one). The token carries the configured claims plus `iat` (backdated 10 s for validators whose clocks
 * trail) and `exp` (`iat` + 10 s + ttl, i.e. ttl from signing time), its header the algorithm and `kid`. Signed with
 * node:crypto synchronously on each attempt, so a retry carries a fresh token; the key is parsed once, when the
 * config loads, and a key that does not fit the algorithm is a config error.
 */

export const JWT_SIGN_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384'] as const;
type Alg = (typeof JWT_SIGN_ALGS)[number];

/** Claims the signer owns (agentgateway reserves `nbf` too, though it does not emit it). */
const RESERVED = ['iat', 'exp', 'nbf'];
const DEFAULT_TTL_MS = 300_000;
const BACKDATE_S = 10;

const HASH: Record<Alg, string> = { RS256: 'sha256', RS384: 'sha384', RS512: 'sha512', PS256: 'sha256', ES256: 'sha256', ES384: 'sha384' };
const CURVE: Partial<Record<Alg, string>> = { ES256: 'prime256v1', ES384: 'secp384r1' };

const claimsSchema: Schema = {
  describe: 'object of claims',
  check(value, path, issues) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      issues.push({ path, message: `expected an object of claims, got ${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value}` });
      return;
    }
    for (const key of RESERVED) {
      if (key in value) issues.push({ path: `${path}.${key}`, message: `"${key}" is set by the signer and cannot be configured` });
    }
  },
  jsonSchema: () => ({ type: 'object', not: { anyOf: RESERVED.map((key) => ({ required: [key] })) } }),
};

/** The signing key: a PEM inline (agentgateway's `signingKey: |`), or a secret source (`{ file }`, `{ env }`). */
const signingKeySchema: Schema = {
  describe: 'PEM string or { secret | env | file }',
  check(value, path, issues) {
    if (typeof value === 'string') {
      if (!value.includes('-----BEGIN')) issues.push({ path, message: 'expected a PEM private key ("-----BEGIN PRIVATE KEY-----" ...), or { file: <path> } / { env: <name> }' });
      return;
    }
    secretSchema.check(value, path, issues);
  },
  jsonSchema: (ctx) => ({ anyOf: [{ type: 'string', pattern: '-----BEGIN' }, ctx.of(secretSchema, '')] }),
};

export const jwtSignSchema = s.object(
  {
    signingKey: signingKeySchema,
    alg: s.literal(...JWT_SIGN_ALGS),
    kid: s.string({ nonEmpty: true }),
    claims: claimsSchema,
    ttlMs: s.number({ integer: true, min: 1000, max: 86_400_000 }),
  },
  { required: ['signingKey'] },
);

/** Reads and checks the key for `alg` once; the message names the setting, never the key. */
function loadKey(config: BackendJwtSign, baseDir: string, path: string): KeyObject {
  const pem = typeof config.signingKey === 'string' ? config.signingKey : readSecret(config.signingKey, baseDir, `${path}.signingKey`);
  const alg: Alg = config.alg ?? 'RS256';
  let key: KeyObject;
  try {
    key = createPrivateKey(pem.trim());
  } catch (err) {
    throw configError(`${path}.signingKey: not a PEM private key (${(err as Error).message})`);
  }
  const curve = CURVE[alg];
  if (curve) {
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== curve) {
      throw configError(`${path}.signingKey: ${alg} needs an EC key on ${curve === 'prime256v1' ? 'P-256' : 'P-384'}, got ${describeKey(key)}`);
    }
  } else if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'rsa-pss') {
    throw configError(`${path}.signingKey: ${alg} needs an RSA key, got ${describeKey(key)}`);
  }
  return key;
}

function describeKey(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return `an ${key.asymmetricKeyType?.toUpperCase()} key${curve ? ` on ${curve}` : ''}`;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A signer that makes a fresh token on each call. */
export function createJwtSigner(config: BackendJwtSign, baseDir: string, path: string): () => string {
  const issues: Issue[] = [];
  jwtSignSchema.check(config, path, issues);
  if (issues.length > 0) throw configError(s.formatIssues(issues));
  const key = loadKey(config, baseDir, path);
  const alg: Alg = config.alg ?? 'RS256';
  const header = b64({ alg, typ: 'JWT', ...(config.kid === undefined ? {} : { kid: config.kid }) });
  const claims = config.claims ?? {};
  const ttlS = Math.ceil((config.ttlMs ?? DEFAULT_TTL_MS) / 1000);
  const options = alg.startsWith('ES')
    ? { key, dsaEncoding: 'ieee-p1363' as const }
    : alg === 'PS256'
      ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
      : { key };
  return () => {
    const now = Math.floor(Date.now() / 1000);
    const input = `${header}.${b64({ ...claims, iat: now - BACKDATE_S, exp: now + ttlS })}`;
    return `${input}.${sign(HASH[alg], Buffer.from(input), options).toString('base64url')}`;
  };
}

/** Sets `header` to `prefix` + a freshly signed token on every attempt. */
export function createJwtSignInterceptor(header: string, prefix: string, signer: () => string): UpstreamInterceptor {
  return (dispatch) =>
    function jwtSign(opts, handler) {
      return dispatch({ ...opts, headers: withHeader(opts.headers, header, `${prefix}${signer()}`) }, handler);
    };
}

export function jwtSignFiles(config: BackendJwtSign | undefined, baseDir: string, resolvePath: (base: string, f: string) => string): string[] {
  const key = config?.signingKey;
  return key !== undefined && typeof key !== 'string' && key.file !== undefined ? [resolvePath(baseDir, key.file)] : [];
}
