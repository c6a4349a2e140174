import type { CelRule } from './cel-rules.ts';
import type { AuthorizationInput } from './authorization.ts';

/**
 * Settings of the security policies: authentication (`jwtAuth`, `apiKey`, `mcpAuthentication`), authorization in
 * Rego (`authorization`) and the credential sent to the backend (`backendAuth`). Paths are relative to the config
 * file.
 */

/**
 * What an authentication policy does when the credential is missing or invalid.
 * - `strict`: a valid credential is required; otherwise 401.
 * - `optional`: no credential passes as `anonymous`; a credential that is present must be valid.
 * - `permissive`: an invalid or missing credential passes as `anonymous` (for rollouts: log, do not block).
 * @default 'strict'
 * @example 'optional'
 */
export type AuthMode = 'strict' | 'optional' | 'permissive';

/**
 * Where keys for verifying JWTs come from: exactly one of `url`, `file` or `inline`.
 * @example { url: 'https://idp.example.com/.well-known/jwks.json' }
 */
export interface JwksSource {
  /** A JWKS endpoint. Fetched on first use, cached, and re-fetched on an unknown `kid` (at a bounded rate). @default undefined @example 'https://idp.example.com/jwks' */
  url?: string;
  /** A JSON file holding a JWKS (`{ "keys": [...] }`), watched for changes. @default undefined @example './jwks.json' */
  file?: string;
  /** A JWKS object written in the config. @default undefined @example { keys: [{ kty: 'OKP', crv: 'Ed25519', x: '...' }] } */
  inline?: { keys: Array<Record<string, unknown>> };
  /** How long fetched keys are used before a background re-fetch (`url` only). @default 600000 @example 300000 */
  cacheMs?: number;
  /** Least time between two fetches triggered by unknown `kid`s (`url` only): bounds what a forged token can cost. @default 30000 @example 60000 */
  minRefetchIntervalMs?: number;
}

/**
 * A secret read from the config, the environment or a file: exactly one of `secret`, `env` or `file`. The admin
 * config dump never shows `secret`.
 * @example { env: 'JWT_HMAC_SECRET' }
 */
export interface SecretSource {
  /** The secret itself (prefer `env` or `file`: the config may be committed). @default undefined @example 'dev-only-secret' */
  secret?: string;
  /** Name of an environment variable holding the secret. @default undefined @example 'UPSTREAM_TOKEN' */
  env?: string;
  /** A file holding the secret (surrounding whitespace trimmed). @default undefined @example '/run/secrets/token' */
  file?: string;
}

/**
 * Where the credential is read from. The first present source wins, in the order header, query, cookie.
 * @default { header: 'authorization' } (with the `Bearer ` prefix)
 * @example { header: 'authorization', query: 'access_token' }
 */
export interface TokenLocation {
  /** Header name. For `authorization` the `Bearer ` scheme is required and stripped. @default 'authorization' @example 'x-agent-token' */
  header?: string;
  /** Query-parameter name. @default undefined @example 'access_token' */
  query?: string;
  /** Cookie name. @default undefined @example 'session' */
  cookie?: string;
}

/**
 * JWT bearer-token authentication, verified with `jose`.
 * @example { issuer: 'https://idp.example.com', audiences: ['portcullis'], jwks: { url: 'https://idp.example.com/jwks' } }
 */
export interface JwtAuthPolicy {
  /** Accepted `iss` values. @example 'https://idp.example.com' */
  issuer: string | string[];
  /** Accepted `aud` values; at least one must be in the token. Absent: `aud` is not checked. @default undefined @example ['portcullis'] */
  audiences?: string[];
  /** Public keys (RS/PS/ES/EdDSA). Required unless only `secret` (HMAC) is used. @default undefined @example { url: 'https://idp.example.com/jwks' } */
  jwks?: JwksSource;
  /** HMAC secret: HS256/384/512 are accepted only when this is set (and listed in `algorithms`). @default undefined @example { env: 'JWT_HMAC_SECRET' } */
  secret?: SecretSource;
  /**
   * Accepted `alg` values. `none` is always rejected; HS* need `secret`.
   * @default ['RS256','RS384','RS512','PS256','PS384','PS512','ES256','ES384','ES512','EdDSA'] (plus HS256/384/512 when `secret` is set)
   * @example ['ES256']
   */
  algorithms?: string[];
  /** Tolerance for `exp`, `nbf` and `iat`, in seconds: a token whose `iat` is later than now plus this is refused. @default 30 @example 5 */
  clockSkewSeconds?: number;
  /**
   * Refuse tokens without an `exp` claim (401 `token has no expiry (exp claim missing)`): such a token would be valid
   * forever. Set `false` only for an issuer that never sets `exp`.
   * @default true
   * @example false
   */
  requireExp?: boolean;
  /** See {@link AuthMode}. @default 'strict' @example 'optional' */
  mode?: AuthMode;
  /** Where the token is read from. @default { header: 'authorization' } @example { cookie: 'session' } */
  token?: TokenLocation;
  /** Claim holding the caller's roles (an array, or a space-separated string). @default 'roles' (falls back to the space-separated `scope` when unset) @example 'groups' */
  rolesClaim?: string;
  /** Forward the token to the backend. By default it is removed once validated. @default false @example true */
  passthrough?: boolean;
}

/**
 * One API key and the identity it stands for: exactly one of `sha256`, `env` or `file`.
 * @example { name: 'readonly-agent', sha256: '<hex>', roles: ['readonly'], metadata: { team: 'search' } }
 */
export interface ApiKeyEntry {
  /** The caller's name: `identity.subject`. @example 'readonly-agent' */
  name: string;
  /** Hex SHA-256 of the key (`printf %s "$KEY" | sha256sum`): the key itself never sits in the config. @default undefined @example '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' */
  sha256?: string;
  /** Environment variable holding the key itself. @default undefined @example 'INGEST_AGENT_KEY' */
  env?: string;
  /** File holding the key itself. @default undefined @example './secrets/agent.key' */
  file?: string;
  /** Roles for authorization rules. @default [] @example ['readonly'] */
  roles?: string[];
  /** Extra facts, seen by Rego as `input.identity.claims`. @default {} @example { team: 'search' } */
  metadata?: Record<string, unknown>;
}

/**
 * API-key authentication.
 * @example { header: 'x-api-key', keys: [{ name: 'ingest-agent', env: 'INGEST_AGENT_KEY', roles: ['ingest'] }] }
 */
export interface ApiKeyPolicy {
  /** The accepted keys. @default undefined @example [{ name: 'readonly-agent', sha256: '...', roles: ['readonly'] }] */
  keys?: ApiKeyEntry[];
  /** A JSON or YAML file with more entries (a list of {@link ApiKeyEntry}), watched: edit it to add or revoke keys. @default undefined @example './keys.yaml' */
  keysFile?: string;
  /** Header carrying the key. For `authorization` the `Bearer ` scheme is required. @default 'authorization' @example 'x-api-key' */
  header?: string;
  /** `strict`, `optional` or `permissive` (see {@link AuthMode}). @default 'strict' @example 'optional' */
  mode?: AuthMode;
  /** Forward the key to the backend. By default it is removed once validated. @default false @example true */
  passthrough?: boolean;
}

/**
 * MCP authorization (OAuth 2.1 resource server): serves Protected Resource Metadata (RFC 9728) at
 * `/.well-known/oauth-protected-resource` and its path-suffixed form, answers 401 with
 * `WWW-Authenticate: Bearer resource_metadata="..."`, and accepts only JWTs whose audience is this resource.
 * @example { issuer: 'https://auth.example.com', resource: 'https://mcp.example.com/mcp', jwks: { url: 'https://auth.example.com/jwks' } }
 */
export interface McpAuthenticationPolicy {
  /** The authorization server's issuer. @example 'https://auth.example.com' */
  issuer: string;
  /** The canonical URL of the protected MCP endpoint: the required token audience. @example 'https://mcp.example.com/mcp' */
  resource: string;
  /** Keys of the authorization server. @example { url: 'https://auth.example.com/jwks' } */
  jwks: JwksSource;
  /** Token audiences accepted (agentgateway's `audiences`; some providers put their client id there). @default [resource] @example ['mcp_proxy'] */
  audiences?: string[];
  /** Authorization servers announced in the metadata. @default [issuer] @example ['https://auth.example.com'] */
  authorizationServers?: string[];
  /** Scopes announced in the metadata. @default undefined @example ['mcp:tools'] */
  scopesSupported?: string[];
  /** Human-readable name in the metadata. @default undefined @example 'Portcullis MCP' */
  resourceName?: string;
  /** Accepted `alg` values. @default the asymmetric algorithms of {@link JwtAuthPolicy.algorithms} @example ['RS256'] */
  algorithms?: string[];
  /** Claim holding roles. @default 'roles' (falls back to the space-separated `scope`) @example 'groups' */
  rolesClaim?: string;
  /** Tolerance for `exp`, `nbf` and `iat`, in seconds. Tokens without `exp` are always refused here. @default 30 @example 5 */
  clockSkewSeconds?: number;
  /** Forward the token to the backend. @default false @example true */
  passthrough?: boolean;
}

/**
 * Authorization rules in Rego, compiled to WebAssembly with `opa build -t wasm`, evaluated for the HTTP request
 * and for every MCP message (lists are filtered item by item). The input is {@link AuthorizationInput}.
 * @example { rego: './policy/authz.rego', data: './policy/roles.yaml' }
 */
export interface AuthorizationPolicy {
  /** Rego files (their `_test.rego` siblings are for `portcullis policy test`). Give `rego`, `rules` or both. @default none @example ['./policy/authz.rego'] */
  rego?: string | string[];
  /**
   * CEL rules on the HTTP request, in agentgateway's form (see {@link CelRule}). With `rego` too, both must allow.
   * @default none
   * @example ['jwt.sub == "test-user"', { deny: 'request.path.startsWith("/admin")' }]
   */
  rules?: CelRule[];
  /** JSON or YAML files merged into `data` (objects merged at the top level, later files win). @default [] @example ['./policy/roles.yaml'] */
  data?: string | string[];
  /**
   * The rule that decides, as `package/rule`. Its value is `true`/`false` or `{ allow, reason }`; undefined denies.
   * @default 'authz/allow'
   * @example 'agents/decision'
   */
  entrypoint?: string;
  /** Path to the OPA compiler (`opa`, or `opa-compile` built from tools/opa-compile). @default `PORTCULLIS_OPA`, else `opa` on PATH, else `<repo>/.tools/bin/opa-compile`, else `<repo>/.tools/bin/opa` @example '/usr/local/bin/opa' */
  opaPath?: string;
}

/**
 * The credential sent to the backend (HTTP hosts and remote MCP targets) on every request, set after
 * authentication removed the client's. Give exactly one of `credential` and `passthrough`.
 * @example { header: 'authorization', credential: { env: 'UPSTREAM_TOKEN' }, prefix: 'Bearer ' }
 */
export interface BackendAuthPolicy {
  /** Header to set (and, with `passthrough`, the client header it is copied from). @default 'authorization' @example 'x-upstream-key' */
  header?: string;
  /** The gateway's own credential. @default none (then `passthrough` is required) @example { env: 'UPSTREAM_TOKEN' } */
  credential?: SecretSource;
  /** Text put before the credential, e.g. `Bearer ` (not with `passthrough`). @default '' @example 'Bearer ' */
  prefix?: string;
  /**
   * Send the client's own credential: the value of `header` as the client sent it (before authentication removed
   * it). On an MCP route, a remote target's calls carry the credential of the session's latest client request.
   * @default false
   * @example true
   */
  passthrough?: boolean;
}
