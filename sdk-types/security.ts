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
 * An identity provider that does not follow the MCP authorization spec as written, and the adapter the gateway
 * puts in front of it (agentgateway's `provider`). With a provider the protected-resource metadata names the gateway
 * as the authorization server, and the gateway serves the provider's metadata, rewritten, at
 * `/.well-known/oauth-authorization-server<resource path>`:
 * - `keycloak`: OIDC discovery under the realm; registration relayed to `<issuer>/clients-registrations/openid-connect`.
 * - `auth0`: RFC 8414 metadata; `?audience=<audiences[0]>` appended to the authorization endpoint (no RFC 8707).
 * - `okta`: OIDC discovery; the audience parameter as for Auth0; registration relayed to `<origin>/oauth2/v1/clients`.
 * - `descope`: OIDC discovery; registration relayed to Descope's management endpoint (prefer `clientId`).
 * - `authentik`: OIDC discovery; no registration at the provider: `clientId` is required.
 * - `entra`: the tenant's v2.0 OIDC document; authorization and token endpoints proxied by the gateway (the RFC 8707
 *   `resource` parameter stripped), PKCE advertised, no registration at the provider: `clientId` is required.
 * @example 'keycloak'
 */
export type McpAuthProvider = 'keycloak' | 'auth0' | 'okta' | 'entra' | 'descope' | 'authentik';

/**
 * How an MCP client may present its token (RFC 6750 section 2): `header` (`Authorization: Bearer`), `body` (an
 * `access_token` field of an `application/x-www-form-urlencoded` body) or `query` (an `access_token` query parameter).
 * @example 'header'
 */
export type BearerMethod = 'header' | 'body' | 'query';

/**
 * MCP authorization (OAuth 2.1 resource server): serves Protected Resource Metadata (RFC 9728) at
 * `/.well-known/oauth-protected-resource` and its path-suffixed form, the authorization server's metadata at
 * `/.well-known/oauth-authorization-server<resource path>` (rewritten by `provider`), answers 401 with
 * `WWW-Authenticate: Bearer resource_metadata="..."`, and accepts only JWTs whose audience is this resource.
 * Written in agentgateway's YAML as `mcpAuthentication` with `resourceMetadata`, it is read into this shape.
 * @example { issuer: 'https://auth.example.com', resource: 'https://mcp.example.com/mcp', jwks: { url: 'https://auth.example.com/jwks' } }
 */
export interface McpAuthenticationPolicy {
  /** The authorization server's issuer. @example 'https://auth.example.com' */
  issuer: string;
  /** The canonical URL of the protected MCP endpoint: the required token audience. @example 'https://mcp.example.com/mcp' */
  resource: string;
  /**
   * Keys of the authorization server.
   * @default derived from `provider` and `issuer` as agentgateway does (keycloak `<issuer>/protocol/openid-connect/certs`,
   * authentik `<issuer>/jwks/`, entra the tenant's `discovery/v2.0/keys`, otherwise `<issuer>/.well-known/jwks.json`)
   * @example { url: 'https://auth.example.com/jwks' }
   */
  jwks?: JwksSource;
  /** The identity provider's adapter, see {@link McpAuthProvider}. @default undefined (a spec-compliant server) @example 'keycloak' */
  provider?: McpAuthProvider;
  /**
   * `strict` answers 401 with the challenge when the token is missing or invalid; `optional` lets requests without a
   * token through (anonymous) and refuses invalid ones; `permissive` refuses nothing (a valid token still sets the
   * identity). Only `strict` makes an MCP client start its OAuth flow.
   * @default 'strict'
   * @example 'optional'
   */
  mode?: AuthMode;
  /** Where the token may be, announced as `bearer_methods_supported`; a request using two at once gets 400. @default ['header'] @example ['header', 'query'] */
  bearerMethodsSupported?: BearerMethod[];
  /** Token audiences accepted (agentgateway's `audiences`; some providers put their client id there). @default [resource] @example ['mcp_proxy'] */
  audiences?: string[];
  /** Authorization servers announced in the metadata. @default [issuer], or the resource itself with a `provider` @example ['https://auth.example.com'] */
  authorizationServers?: string[];
  /** Scopes announced in the metadata and in the 401 challenge. @default undefined @example ['mcp:tools'] */
  scopesSupported?: string[];
  /** Scopes every token must carry (`scope` or `scp` claim); otherwise 403 `insufficient_scope`. @default [] @example ['mcp:tools'] */
  requiredScopes?: string[];
  /** Human-readable name in the metadata. @default undefined @example 'Portcullis MCP' */
  resourceName?: string;
  /** `resource_documentation` in the metadata. @default undefined @example 'https://mcp.example.com/docs' */
  resourceDocumentation?: string;
  /** `resource_policy_uri` in the metadata. @default undefined @example 'https://mcp.example.com/policy' */
  resourcePolicyUri?: string;
  /**
   * A client registered beforehand at the provider: registration requests (RFC 7591) to the gateway are answered
   * with it (a public client, `token_endpoint_auth_method: none`) instead of being relayed.
   * @default undefined
   * @example 'mcp-gateway-client'
   */
  clientId?: string;
  /**
   * The secret of `clientId`'s registration (only `entra`): added by the gateway to the `authorization_code` and
   * `refresh_token` requests it proxies for that client, never shown to clients.
   * @default undefined
   * @example { env: 'ENTRA_CLIENT_SECRET' }
   */
  clientSecret?: SecretSource;
  /** Time allowed for a call to the identity provider (metadata, registration, token), in milliseconds. @default 5000 @example 10000 */
  idpTimeoutMs?: number;
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
  /**
   * The gateway signs a short-lived JWT for the backend on every request (agentgateway's `jwtSign`), sent as
   * `prefix` + token in `header` (`Authorization: Bearer <jwt>` by default).
   * @default none
   * @example { signingKey: { file: './signing-key.pem' }, alg: 'ES256', kid: 'k1', claims: { iss: 'gw', aud: 'https://api.example.com' } }
   */
  jwtSign?: BackendJwtSign;
  /**
   * Per-user upstream credentials: each caller's own secret, picked by its identity. See {@link IdentityMapCredentials}.
   * @default undefined
   * @example { credentials: { alice: 'env://ALICE_GITHUB_TOKEN', bob: 'file://./secrets/bob' } }
   */
  identityMap?: IdentityMapCredentials;
  /**
   * Per-user upstream credentials by OAuth 2.0 Token Exchange (RFC 8693): the caller's token is exchanged for one
   * whose audience is the upstream. See {@link TokenExchangeCredentials}.
   * @default undefined
   * @example { tokenEndpoint: 'https://idp.example.com/token', audience: 'https://mcp.example.com', clientId: 'gateway', clientSecret: { env: 'GW_CLIENT_SECRET' } }
   */
  tokenExchange?: TokenExchangeCredentials;
  /**
   * Per-user upstream credentials by OAuth on behalf of the user: the first call of a user who has not linked the
   * upstream account is refused with `PCL_ERR_UPSTREAM_LINK_REQUIRED` and a login URL; after the user signs in at
   * the upstream's authorization server, the gateway holds that user's tokens (encrypted) and refreshes them. See
   * {@link UpstreamOAuthCredentials}.
   * @default undefined
   * @example { name: 'github', authorizationEndpoint: 'https://github.com/login/oauth/authorize', tokenEndpoint: 'https://github.com/login/oauth/access_token', clientId: 'Iv1.abc', clientSecret: { env: 'GITHUB_CLIENT_SECRET' }, redirectUri: 'https://gw.example.com/oauth/callback' }
   */
  oauth?: UpstreamOAuthCredentials;
}

/**
 * A JWT the gateway signs per request: the configured claims plus `iat` (backdated 10 s) and `exp` (ttl after
 * signing).
 * @example { signingKey: { env: 'SIGNING_KEY_PEM' }, alg: 'RS256', claims: { iss: 'ACCOUNT.USER', sub: 'ACCOUNT.USER' } }
 */
export interface BackendJwtSign {
  /** The private key, PEM (PKCS#8, PKCS#1 or SEC1): inline, or from a file or an environment variable. @example { file: './signing-key.pem' } */
  signingKey: string | SecretSource;
  /** Signing algorithm; the key must fit it (RSA for RS256-RS512 and PS256, EC P-256/P-384 for ES256/ES384). @default 'RS256' @example 'ES256' */
  alg?: 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'ES256' | 'ES384';
  /** `kid` in the token's header. @default none @example 'key-2026-01' */
  kid?: string;
  /** Claims of every token (`iat`, `exp`, `nbf` are the signer's). @default {} @example { iss: 'gw', sub: 'svc', aud: 'https://api.example.com' } */
  claims?: Record<string, unknown>;
  /** Token lifetime (agentgateway's `ttl: 300s`). @default 300000 @example 60000 */
  ttlMs?: number;
}


/**
 * Browser login with an OpenID provider (agentgateway's `oidc`): authorization code flow with PKCE; the session is
 * a sealed cookie, and the ID token's claims are the caller's identity (as a verified JWT's: `jwt.sub` in CEL).
 * @example { issuer: 'https://idp.example.com/realms/main', clientId: 'gateway', clientSecret: { env: 'OIDC_CLIENT_SECRET' }, redirectURI: 'https://app.example.com/oauth/callback', scopes: ['profile', 'email'] }
 */
export interface OidcPolicy {
  /** The provider's issuer; its metadata is read from `<issuer>/.well-known/openid-configuration` on the first login. @example 'https://accounts.example.com' */
  issuer: string;
  /** The gateway's client id at the provider. @example 'agentgateway-browser' */
  clientId: string;
  /** The client secret (`client_secret_basic` or what the provider's metadata asks for): inline, or from the environment or a file. @example { env: 'OIDC_CLIENT_SECRET' } */
  clientSecret: string | SecretSource;
  /** The callback URL registered at the provider; the gateway answers its path. Cookies are `Secure` when it is https. @example 'https://app.example.com/oauth/callback' */
  redirectURI: string;
  /** Scopes asked for besides `openid` (always asked). @default [] @example ['profile', 'email'] */
  scopes?: string[];
  /** Key material for sealing the session cookie (HKDF-derived). Give it to rotate sessions independently of the client secret. @default the client secret @example { env: 'OIDC_COOKIE_SECRET' } */
  cookieSecret?: SecretSource;
  /** Path that ends the browser's session here (the provider's own session is not ended). @default `logout` beside the callback path (`/oauth/logout` for `/oauth/callback`) @example '/signout' */
  logoutPath?: string;
  /** Where the browser goes after logout. @default '/' @example '/goodbye' */
  postLogoutRedirect?: string;
}

/**
 * An external HTTP authorizer (agentgateway's `extAuthz` with `protocol: { http: {} }`), such as oauth2-proxy's
 * `/oauth2/auth`. gRPC authorizers are not served.
 * @example { host: 'localhost:4180', includeRequestHeaders: ['cookie'], protocol: { http: { path: '"/oauth2/auth"', redirect: '"/oauth2/start?rd=" + request.path' } } }
 */
export interface ExtAuthzPolicy {
  /** The authorizer, `host:port` (plain HTTP). @example 'localhost:4180' */
  host: string;
  /** How to ask it. */
  protocol: { http: ExtAuthzHttp };
  /** Request headers sent to the authorizer (`:authority` for the Host). @default ['authorization'] @example ['cookie'] */
  includeRequestHeaders?: string[];
  /** When the authorizer cannot be reached: `deny` (403 `PCL_ERR_EXT_AUTHZ_FAILED`) or `allow`. @default 'deny' @example 'allow' */
  failureMode?: 'allow' | 'deny';
}

/** The HTTP form of an authorization check. Every expression is CEL over the request (`request`, `source`, `jwt`, ...). */
export interface ExtAuthzHttp {
  /** The path (and query) asked, a CEL string expression. @default the request's own path and query @example '"/oauth2/auth"' */
  path?: string;
  /** Where a 401/403 answer sends the browser (302), a CEL string expression. @default the answer is passed to the client @example '"/oauth2/start?rd=" + request.path' */
  redirect?: string;
  /** Headers added to the check, name to CEL string expression. @default {} @example { 'x-forwarded-host': 'request.host' } */
  addRequestHeaders?: Record<string, string>;
  /** Headers of an allowing answer copied onto the request sent upstream. @default [] @example ['x-auth-request-user'] */
  includeResponseHeaders?: string[];
  /** Values kept for the access log as `extauthz.<key>`, CEL over `response.headers`, `response.status`, `response.body` and the request. @default {} @example { githubUser: 'response.headers["x-auth-request-user"]' } */
  metadata?: Record<string, string>;
}

/**
 * `backendAuth.oauth`: the gateway runs the OAuth 2.0 authorization-code flow with PKCE (S256) against the
 * upstream's own authorization server, once per user, and sends that user's access token upstream as
 * `Authorization: Bearer`. Tokens are kept encrypted (AES-256-GCM, bound to the link and the user) in this
 * gateway process's memory, refreshed with the refresh token when they near expiry, and never shown to the client.
 * `redirectUri` must reach a route with the {@link UpstreamOAuthCallbackPolicy} policy.
 * @example { name: 'tools', authorizationEndpoint: 'https://as.example.com/auth', tokenEndpoint: 'https://as.example.com/token', clientId: 'gateway', clientSecret: { env: 'AS_SECRET' }, scopes: ['openid', 'offline_access'], redirectUri: 'https://gw.example.com/oauth/callback', encryptionKey: { env: 'LINK_KEY' } }
 */
export interface UpstreamOAuthCredentials {
  /** The link's name, shown to admins and in audit lines; one user has one link per name. @default the authorization endpoint's host @example 'github' */
  name?: string;
  /** The authorization server's authorization endpoint. @default undefined (required) @example 'https://as.example.com/authorize' */
  authorizationEndpoint: string;
  /** The authorization server's token endpoint (code redemption and refresh). @default undefined (required) @example 'https://as.example.com/token' */
  tokenEndpoint: string;
  /** The gateway's client id at that server. @default undefined (required) @example 'portcullis' */
  clientId: string;
  /** The gateway's client secret (HTTP Basic); absent: a public client (`client_id` in the form). @default undefined @example { env: 'AS_CLIENT_SECRET' } */
  clientSecret?: SecretSource;
  /** Scopes asked for (add `offline_access` where the server needs it for a refresh token). @default [] @example ['repo', 'offline_access'] */
  scopes?: string[];
  /** The `resource` (RFC 8707) asked for at authorization, redemption and refresh. @default undefined @example 'https://api.example.com' */
  resource?: string;
  /**
   * The gateway's callback URL, as registered at the authorization server; or a path, then the calling request's
   * own origin (scheme and Host) is put before it (the server still accepts only the URLs registered with it).
   * @default undefined (required)
   * @example 'https://gw.example.com/oauth/callback'
   */
  redirectUri: string;
  /** Key that seals stored tokens: base64 of 32 bytes. @default a random key per process (links do not survive a restart anyway) @example { env: 'PORTCULLIS_LINK_KEY' } */
  encryptionKey?: SecretSource;
  /** How long a login URL stays valid, in milliseconds (1000 to 86400000). @default 600000 @example 300000 */
  loginTimeoutMs?: number;
  /** How long one token-endpoint call may take, in milliseconds. @default 5000 @example 2000 */
  timeoutMs?: number;
  /**
   * Where the sealed tokens and logins in progress live: this process's memory, or Redis, shared by every worker
   * and replica naming the same URL and prefix (then `encryptionKey` is required). A Redis that cannot be reached
   * fails the call closed.
   * @default 'memory'
   * @example { redis: { url: 'redis://127.0.0.1:6379', prefix: 'portcullis:links:' } }
   */
  store?: 'memory' | { redis: { url: string; prefix?: string } };
}

/**
 * The gateway's OAuth callback for `backendAuth.oauth`: put it on its own route, matching the path of
 * `redirectUri`, with no authentication (the single-use `state` is what authenticates the callback) and no
 * backend. Answers a small HTML page on success, `PCL_ERR_OAUTH_CALLBACK_INVALID` (400) otherwise.
 * @example { name: 'oauth-callback', matches: [{ path: { exact: '/oauth/callback' } }], policies: { upstreamOAuthCallback: {} } }
 */
export type UpstreamOAuthCallbackPolicy = Record<string, never>;

/**
 * Where one user's upstream credential is: a {@link SecretSource}, or a reference URL: `env://NAME` (an environment
 * variable) or `file://PATH` (a file, trimmed; a relative path is resolved against the config's folder, so
 * `file://./secrets/alice` and `file:///run/secrets/alice` both work). Read when the config loads; files are watched.
 * @example 'env://ALICE_GITHUB_TOKEN'
 */
export type CredentialRef = string | SecretSource;

/**
 * `backendAuth.identityMap`: the upstream gets the credential mapped to the caller. The caller is named by `key`
 * (its subject: a JWT's `sub` or an API key's name; or one of its claims). A caller with no entry is refused with
 * `PCL_ERR_UPSTREAM_CREDENTIAL_MISSING` (403) unless `fallback` says otherwise.
 * @example { key: { claim: 'email' }, credentials: { 'alice@example.com': 'env://ALICE_TOKEN' }, fallback: 'deny' }
 */
export interface IdentityMapCredentials {
  /** What names the caller in `credentials`: `subject`, or the value of a claim (a string claim). @default 'subject' @example { claim: 'email' } */
  key?: 'subject' | { claim: string };
  /** Caller name to its credential. @default undefined (required) @example { alice: 'env://ALICE_TOKEN', bob: { file: './secrets/bob' } } */
  credentials: Record<string, CredentialRef>;
  /**
   * A caller with no entry: `deny` refuses it (403 `PCL_ERR_UPSTREAM_CREDENTIAL_MISSING`), `none` calls the
   * upstream without a credential, `{ credential }` sends a shared one.
   * @default 'deny'
   * @example { credential: { env: 'READONLY_TOKEN' } }
   */
  fallback?: 'deny' | 'none' | { credential: CredentialRef };
}

/**
 * `backendAuth.tokenExchange`: the caller's bearer token (the one authentication verified, from the `authorization`
 * header) is exchanged at `tokenEndpoint` (RFC 8693, `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`)
 * for a token for the upstream, sent as `Bearer <token>`. Results are cached per caller and audience until they
 * expire (never past the caller's own token's `exp`), in a bounded cache. An endpoint that refuses, fails or does
 * not answer in `timeoutMs` fails the call closed with `PCL_ERR_TOKEN_EXCHANGE_FAILED`; a caller without a
 * bearer token is refused with `PCL_ERR_UPSTREAM_CREDENTIAL_MISSING`.
 * @example { tokenEndpoint: 'https://idp.example.com/token', audience: 'https://mcp.example.com', clientId: 'gateway', clientSecret: { env: 'GW_SECRET' } }
 */
export interface TokenExchangeCredentials {
  /** The authorization server's token endpoint (http or https URL). @default undefined (required) @example 'https://idp.example.com/oauth/token' */
  tokenEndpoint: string;
  /** The `audience` asked for: the upstream's name at the authorization server. One of `audience` or `resource` is required. @default undefined @example 'https://mcp.example.com' */
  audience?: string;
  /** The `resource` asked for (an absolute URI of the upstream). @default undefined @example 'https://mcp.example.com/mcp' */
  resource?: string;
  /** The `scope` asked for, space-separated. @default undefined @example 'repo:read' */
  scope?: string;
  /** The gateway's client id at the authorization server (sent with `clientSecret` as HTTP Basic). @default undefined (no client authentication) @example 'gateway' */
  clientId?: string;
  /** The gateway's client secret. @default undefined @example { env: 'GW_CLIENT_SECRET' } */
  clientSecret?: SecretSource;
  /** `subject_token_type` sent. @default 'urn:ietf:params:oauth:token-type:access_token' @example 'urn:ietf:params:oauth:token-type:jwt' */
  subjectTokenType?: string;
  /** `requested_token_type` sent, if any. @default undefined @example 'urn:ietf:params:oauth:token-type:access_token' */
  requestedTokenType?: string;
  /** How long one exchange may take, in milliseconds. @default 5000 @example 2000 */
  timeoutMs?: number;
  /** How many exchanged tokens the cache keeps (least recently used evicted). @default 10000 @example 1000 */
  cacheEntries?: number;
  /**
   * The grant: `tokenExchange` (RFC 8693, the caller's token as `subject_token`) or `jwtBearer` (RFC 7523, the
   * caller's token as `assertion`: the shape of Microsoft Entra's on-behalf-of flow, with `additionalParams`).
   * @default 'tokenExchange'
   * @example 'jwtBearer'
   */
  grantType?: 'tokenExchange' | 'jwtBearer';
  /**
   * How the gateway authenticates as `clientId`: `basic` (HTTP Basic, client_secret_basic) or `post` (`client_id`
   * and `client_secret` in the form, client_secret_post).
   * @default 'basic'
   * @example 'post'
   */
  clientAuthMethod?: 'basic' | 'post';
  /**
   * More form parameters sent as they are (they cannot override the grant's own parameters).
   * @default undefined
   * @example { requested_token_use: 'on_behalf_of' }
   */
  additionalParams?: Record<string, string>;
  /**
   * How long a token is cached when the endpoint gives no `expires_in`, in milliseconds (still never past the
   * caller's own token's expiry). Without it, such a token is not cached.
   * @default undefined
   * @example 300000
   */
  cacheTtlMs?: number;
  /**
   * Cross App Access (ID-JAG): the token got from `tokenEndpoint` (ask for `requestedTokenType:
   * 'urn:ietf:params:oauth:token-type:id-jag'`, `audience` the resource authorization server) is presented as an
   * RFC 7523 jwt-bearer `assertion` at this resource authorization server, and the access token it answers is the
   * one sent upstream. `scope` defaults to the first leg's.
   * @default undefined
   * @example { tokenEndpoint: 'https://auth.example.com/oauth/token', clientId: 'resource-client', clientSecret: { env: 'RES_SECRET' }, clientAuthMethod: 'post' }
   */
  resourceAuthorizationServer?: {
    tokenEndpoint: string;
    clientId?: string;
    clientSecret?: SecretSource;
    clientAuthMethod?: 'basic' | 'post';
    scope?: string;
  };
}
