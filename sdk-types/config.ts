import type { McpOpenApiTarget } from './openapi.ts';
import type { McpTargetTools, McpToolSearch, McpToolset } from './tools.ts';
import type { A2aBackend } from './a2a.ts';
import type { McpAuthorizationPolicy, RequestMirrorPolicy } from './cel-rules.ts';
import type { ApiKeyPolicy, AuthorizationPolicy, BackendAuthPolicy, ExtAuthzPolicy, JwtAuthPolicy, McpAuthenticationPolicy, OidcPolicy, SecretSource, UpstreamOAuthCallbackPolicy } from './security.ts';

/**
 * The Portcullis configuration model: binds → listeners → routes → backends, with policies on listeners and
 * routes. `gateway.config.ts` exports one of these through {@link defineConfig}; a YAML or JSON file in
 * agentgateway's local-config format is read into the same model.
 *
 * Every field below is checked at load time: unknown keys are rejected and each error names its path.
 */

/** A size in bytes or a duration in milliseconds: the unit is in the field name. */
export type Milliseconds = number;

import type { AuditConfig, LangfuseConfig, StatsConfig, TracingConfig } from './telemetry.ts';
import type { RateLimitPolicy } from './rate-limit.ts';
import type { RemoteRateLimitPolicy } from './remote-rate-limit.ts';
import type { FilterAttachment, HeaderInjectionPolicy, PiiRedactionPolicy, ToolArgumentRulesPolicy, ToolPinningPolicy } from './filter-policies.ts';

/** The whole gateway configuration. */
export interface GatewayConfig {
  /**
   * Ports the gateway listens on, each with its listeners.
   * @example
   * binds: [{ port: 8080, listeners: [{ routes: [{ backends: [{ host: '127.0.0.1:9000' }] }] }] }]
   */
  binds: Bind[];
  /** The admin server (`/config_dump`). @default { address: '127.0.0.1:15000' } @example admin: { address: '127.0.0.1:15000' } */
  admin?: AdminConfig;
  /** The readiness server (`/healthz/ready`). @default { address: '127.0.0.1:15021' } @example readiness: { address: '0.0.0.0:15021' } */
  readiness?: ReadinessConfig;
  /** Log level and format. @default { level: 'info', format: 'json' } @example logging: { level: 'debug', format: 'pretty' } */
  logging?: LoggingConfig;
  /** Limits applied to every request. @default { maxRequestBodyBytes: 10485760 } @example limits: { maxRequestBodyBytes: 1024 * 1024 } */
  limits?: LimitsConfig;
  /** Connection settings used for every HTTP backend. @default see {@link UpstreamConfig} @example upstream: { connectTimeoutMs: 2000 } */
  upstream?: UpstreamConfig;
  /** Graceful shutdown. @default { drainTimeoutMs: 25000 } @example shutdown: { drainTimeoutMs: 10000 } */
  shutdown?: ShutdownConfig;
  /** Prometheus `/metrics` server. @default { address: '127.0.0.1:15020' } @example stats: { address: '0.0.0.0:15020' } */
  stats?: StatsConfig;
  /** OpenTelemetry traces over OTLP/HTTP; off when absent. @default undefined @example tracing: { endpoint: 'http://127.0.0.1:4318/v1/traces' } */
  tracing?: TracingConfig;
  /** Langfuse export; off when absent. @default undefined @example langfuse: { publicKey: { env: 'LANGFUSE_PUBLIC_KEY' }, secretKey: { env: 'LANGFUSE_SECRET_KEY' } } */
  langfuse?: LangfuseConfig;
  /** One line per authorization decision; off when absent. @default undefined @example audit: { destination: 'stdout' } */
  audit?: AuditConfig;
  /**
   * Plugged-in telemetry sinks, by the name they were registered under (`createGateway({ sinks })`); each is on
   * while its key is here, with the config its own schema checks. @default {} @example sinks: { counting: { label: 'edge' } }
   */
  sinks?: Readonly<Record<string, unknown>>;
  /**
   * Worker processes serving the data plane, each with its own runtime, all on the same ports; `'auto'` starts
   * one per core (`os.availableParallelism()`). With more than one, a supervisor process runs the admin and
   * readiness servers, watches the config and reloads every worker at once (all or none). Read at start only:
   * a reload does not change the number of workers. Use `'auto'` in production on a host with several cores.
   * @default 1
   * @example workers: 'auto'
   */
  workers?: number | 'auto';
}

/** A port the gateway binds, and the listeners that share it. */
export interface Bind {
  /** TCP port. `0` asks the system for a free one (tests). @example 8080 */
  port: number;
  /**
   * Local address to bind.
   * @default '0.0.0.0'
   * @example '127.0.0.1'
   */
  address?: string;
  /** Listeners on this port, chosen by the request's host name (SNI for HTTPS). @example listeners: [{ hostname: 'api.example.com', routes: [] }] */
  listeners: Listener[];
}

/** A listener: a host name on a bind, its protocol and its routes. */
export interface Listener {
  /** Name used in logs and metrics. @default 'bind<port>' (or 'bind<port>-listener<index>' when a bind has several) @example 'public' */
  name?: string;
  /** Accepted for agentgateway compatibility; not used. @default undefined @example 'gateway' */
  gatewayName?: string;
  /**
   * Host name this listener serves; `*.example.com` matches one or more labels before `example.com`;
   * absent or `*` matches every host.
   * @example 'api.example.com'
   */
  hostname?: string;
  /** `HTTP` or `HTTPS`; HTTPS needs `tls`. Every listener of a bind has the same protocol. @default 'HTTP' @example 'HTTPS' */
  protocol?: 'HTTP' | 'HTTPS';
  /** Certificate and key (PEM file paths, relative to the config file) for HTTPS. @example tls: { cert: './certs/gw.crt', key: './certs/gw.key' } */
  tls?: ListenerTls;
  /** Policies applied to every route of this listener; a route's own policy of the same kind replaces it. @example policies: { cors: { allowOrigins: ['*'] } } */
  policies?: Policies;
  /** Routes, chosen by Gateway-API precedence (see README). @example routes: [{ backends: [{ host: '127.0.0.1:9000' }] }] */
  routes: Route[];
}

/** Server certificate for an HTTPS listener. */
export interface ListenerTls {
  /** Path to the PEM certificate chain. @example './certs/server.crt' */
  cert: string;
  /** Path to the PEM private key. @example './certs/server.key' */
  key: string;
}

/** A route: what requests it matches, the policies applied to them and where they go. */
export interface Route {
  /** Name used in logs and metrics. @default 'route<index>' @example 'orders-api' */
  name?: string;
  /** Host names this route serves (wildcards allowed); absent matches every host of the listener. @example ['api.example.com', '*.api.example.com'] */
  hostnames?: string[];
  /**
   * Any one of these matches selects the route; absent matches everything (`pathPrefix: '/'`).
   * @example matches: [{ path: { pathPrefix: '/api' }, method: 'GET' }]
   */
  matches?: RouteMatch[];
  /** Policies on this route. @example policies: { timeout: { requestTimeoutMs: 5000 } } */
  policies?: Policies;
  /**
   * Where matched requests go. Empty only when a `directResponse` or `requestRedirect` policy answers.
   * @example backends: [{ host: '127.0.0.1:9000', weight: 3 }, { host: '127.0.0.1:9001', weight: 1 }]
   */
  backends?: Backend[];
}

/** Conditions that must all hold for a request to match. */
export interface RouteMatch {
  /** Path condition. @default { pathPrefix: '/' } */
  path?: PathMatch;
  /** HTTP method, upper case. @example 'POST' */
  method?: string;
  /** Header conditions (names are case-insensitive). @example headers: [{ name: 'x-canary', value: { exact: 'true' } }] */
  headers?: ValueMatch[];
  /** Query-parameter conditions. @example query: [{ name: 'version', value: { regex: 'v[23]' } }] */
  query?: ValueMatch[];
}

/** `exact`, `pathPrefix` (whole segments: `/api` matches `/api/x`, not `/apix`) or `regex` (whole path). */
export type PathMatch = { exact: string } | { pathPrefix: string } | { regex: string };

/** A named header or query value, matched exactly or by a regular expression over the whole value. */
export interface ValueMatch {
  /** Header or query-parameter name. @example 'x-tenant' */
  name: string;
  /** `{ exact: 'a' }` or `{ regex: 'a.*' }` (anchored: the whole value must match). @example { exact: 'tenant-a' } */
  value: { exact: string } | { regex: string };
}

/** A backend: an HTTP host or an MCP server set. */
export type Backend = HostBackend | McpBackend | A2aBackend;

/** An HTTP upstream reached with undici. */
export interface HostBackend {
  /**
   * `host:port` of the upstream (IPv6 in brackets).
   * @example '127.0.0.1:9000'
   */
  host: string;
  /** Share of traffic relative to the route's other backends; 0 takes it out. @default 1 @example 3 */
  weight?: number;
}

/** An MCP backend: one or more MCP servers served as one. */
export interface McpBackend {
  /** The MCP servers behind this backend. */
  mcp: McpBackendConfig;
  /** Share of traffic relative to the route's other backends. @default 1 */
  weight?: number;
}

/** MCP backend settings. */
export interface McpBackendConfig {
  /** The MCP servers, each with a unique name. */
  targets: McpTarget[];
  /**
   * How tool, prompt and resource-template names are prefixed with `<target>_`: `conditional` prefixes only when
   * there is more than one target, `always` always, `never` never (colliding names are then logged and left out).
   * With a prefix, resource URIs are also rewritten to `portcullis://<target>/<uri>`.
   * @default 'conditional'
   * @example 'always'
   */
  prefixMode?: 'conditional' | 'always' | 'never';
  /**
   * `failClosed`: a session starts only when every target starts, and a call to a failed target is an error.
   * `failOpen`: a target that cannot start, crashes or hangs is left out of lists (clients get `list_changed`) and
   * restarted with backoff while the other targets keep serving the session.
   * @default 'failClosed'
   * @example 'failOpen'
   */
  failureMode?: 'failClosed' | 'failOpen';
  /**
   * `stateful`: one upstream session per target per client session (`Mcp-Session-Id`). `stateless`: no session id;
   * every request is served by upstream sessions opened for it and closed after it.
   * @default 'stateful'
   * @example 'stateless'
   */
  statefulMode?: 'stateful' | 'stateless';
  /**
   * A client session with no request in flight and no open stream for this long is closed, with its upstream
   * sessions and the stdio processes they hold. A session with an open stream (a client listening on its GET
   * stream) is never idle, so this only reclaims sessions whose client left without DELETE (the Inspector CLI, a
   * script) or is between requests without listening; such a client that comes back gets 404 and initializes a new
   * session, as the MCP spec asks.
   * @default 60000
   * @example 600000
   */
  sessionIdleTimeoutMs?: number;
  /** Time a target has to answer one request before the call fails with a JSON-RPC error. @default 60000 @example 10000 */
  requestTimeoutMs?: number;
  /**
   * Most messages one JSON-RPC batch may hold; a larger batch is refused whole (413 `PCL_ERR_MCP_BATCH_TOO_LARGE`)
   * before any of it is served.
   * @default 100
   * @example 20
   */
  maxBatchSize?: number;
  /**
   * Most bytes one message from a remote target (`mcp` or `sse`) may have: one server-sent event, or one JSON body.
   * A larger one (or an event that never ends) is cut off at this size and the call it answers fails with a JSON-RPC
   * error naming the target (`data.code` `PCL_ERR_MCP_UPSTREAM_INVALID`); the session and the other targets go on.
   * Bounds the gateway's memory per upstream stream.
   * @default 16777216 (16 MiB)
   * @example 67108864
   */
  maxUpstreamMessageBytes?: number;
  /**
   * Most client sessions open at once on this route, all identities together; one more `initialize` is refused
   * (503 `PCL_ERR_MCP_SESSION_LIMIT`). Open sessions are not disturbed.
   * @default 1000
   * @example 200
   */
  maxSessions?: number;
  /**
   * Most client sessions one identity may hold open on this route (429 `PCL_ERR_MCP_SESSION_LIMIT` beyond).
   * Callers without a credential all count as one identity, `anonymous`.
   * @default 100
   * @example 10
   */
  maxSessionsPerIdentity?: number;
  /**
   * Most requests in flight at once in one session: each holds a pending answer or an SSE stream. Past it, 429
   * `PCL_ERR_MCP_STREAM_LIMIT` until an answer comes. Stateless mode counts each POST's own session.
   * @default 100
   * @example 20
   */
  maxRequestsPerSession?: number;
  /**
   * Most requests in flight at once across all the sessions of one identity (callers without a credential are one
   * identity, `anonymous`). Past it, 429 `PCL_ERR_MCP_STREAM_LIMIT`.
   * @default 1000
   * @example 200
   */
  maxRequestsPerIdentity?: number;
  /**
   * Protection of the MCP endpoint against DNS rebinding: which `Origin` and `Host` headers it accepts.
   * @default { enabled: true } (Origins from the route's CORS `allowOrigins` or the endpoint's own; on a loopback bind, loopback Host names only)
   * @example { allowedOrigins: ['https://app.example.com'], allowedHosts: ['mcp.internal'] }
   */
  dnsRebindingProtection?: McpDnsRebindingProtection;
  /**
   * Named sets of tools, each granted by identity or claim. When set, a caller sees (and may call) only the tools
   * of the toolsets granted to it; a caller granted none sees no tools.
   * @default undefined (every caller sees every tool)
   * @example { readers: { tools: ['*_get_*', '*_list_*'], grant: { claims: { role: 'reader' } } }, admins: { tools: ['*'], grant: { roles: ['admin'] } } }
   */
  toolsets?: Record<string, McpToolset>;
  /**
   * Opt-in tool search: adds the gateway tools `search_tools` and `call_tool`; with `list: 'pinned'`, `tools/list`
   * answers only those and the pinned tools.
   * @default undefined (off)
   * @example { list: 'pinned', pinned: ['github_get_me'] }
   */
  toolSearch?: McpToolSearch;
}

/**
 * DNS-rebinding protection of an MCP endpoint, as the MCP transport rules require of servers. A request with an
 * `Origin` header is served only when that origin is allowed: listed here, allowed by the route's CORS
 * `allowOrigins`, or the endpoint's own origin (same host and port as the request's `Host`). Requests without
 * `Origin` (non-browser clients) are not checked for it. On a listener bound to a loopback address, the `Host`
 * header must also name a loopback host (`localhost`, `127.0.0.1`, `[::1]`) or one of `allowedHosts`.
 * @example { allowedOrigins: ['https://app.example.com'], allowedHosts: ['mcp.example.com'] }
 */
export interface McpDnsRebindingProtection {
  /** Turns both checks off. @default true @example false */
  enabled?: boolean;
  /** Origins allowed besides the route's CORS `allowOrigins`; `*` allows any. @default [] @example ['https://app.example.com'] */
  allowedOrigins?: string[];
  /**
   * Host names (without port, or `name:port`) accepted in the `Host` header. When set, only these (plus loopback
   * names on a loopback listener) are accepted, whatever the bind address.
   * @default [] (any host, except on a loopback listener)
   * @example ['mcp.example.com']
   */
  allowedHosts?: string[];
}

/** One MCP server behind an MCP backend: exactly one of `stdio`, `sse` or `mcp`. */
export interface McpTarget {
  /** Unique name, used as the tool-name prefix. @example 'everything' */
  name: string;
  /** A local process speaking MCP over stdin/stdout. */
  stdio?: McpStdioTarget;
  /** A legacy HTTP+SSE MCP server. */
  sse?: McpRemoteTarget;
  /** A streamable-HTTP MCP server. */
  mcp?: McpRemoteTarget;
  /** A REST API described by OpenAPI, one tool per operation. */
  openapi?: McpOpenApiTarget;
  /** This target's time to answer one request, overriding the backend's `requestTimeoutMs`. @default the backend's @example 5000 */
  requestTimeoutMs?: number;
  /**
   * Which of this target's tools clients see and how: include/exclude by name or glob, renames, descriptions,
   * annotations, fixed and default arguments (docs/tool-governance.md).
   * @default every tool as the target lists it
   * @example { exclude: ['*_delete*'], overrides: { search_issues: { fixedArguments: { repo: 'acme/web' } } } }
   */
  tools?: McpTargetTools;
}

/**
 * A local MCP server process. It gets only `env` plus a safe default set (HOME, LOGNAME, PATH, SHELL, TERM, USER).
 * @example { cmd: 'npx', args: ['@modelcontextprotocol/server-everything'] }
 */
export interface McpStdioTarget {
  /** The program; `node` means the Node.js running the gateway. @example 'npx' */
  cmd: string;
  /** Arguments. @default [] @example ['@modelcontextprotocol/server-everything'] */
  args?: string[];
  /** Environment variables added to the safe default set. @default {} @example { LOG_LEVEL: 'debug' } */
  env?: Record<string, string>;
  /**
   * More of the gateway's environment for the child: `true` passes all of it, a list passes those names. Without
   * it the child gets HOME, LOGNAME, PATH, SHELL, TERM, USER, LANG, TMPDIR, and the proxy and CA settings
   * (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`, `ALL_PROXY` and their lower-case forms, `NODE_EXTRA_CA_CERTS`,
   * `SSL_CERT_FILE`, `SSL_CERT_DIR`, `REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`, `PIP_CERT`, and npm's
   * `npm_config_proxy`, `npm_config_https_proxy`, `npm_config_noproxy`, `npm_config_cafile`, `npm_config_registry`).
   * @default false
   * @example ['GITHUB_TOKEN']
   */
  inheritEnv?: boolean | string[];
  /** Working directory, relative to the config file. @default the config file's directory @example './servers' */
  cwd?: string;
  /**
   * For `cmd: 'npx'` without `-y`/`--yes`: the gateway answers npx's "Ok to proceed?" install prompt with yes, as a
   * terminal user would (the child gets `npm_config_yes=true`), so a package not yet installed is fetched from the
   * npm registry instead of npx cancelling ("npx canceled due to missing packages and no YES option"). The fetch is
   * logged once when the backend loads. `false` leaves npx as it is: it then runs only installed packages.
   * Ignored for other commands, and when the target's `args` or `env` already answer.
   * @default true
   * @example false
   */
  autoInstall?: boolean;
  /**
   * Processes started and initialized ahead of time, so a new session takes one instead of waiting for a spawn.
   * Refilled in the background; `0` turns the pool off.
   * @default 1
   * @example 4
   */
  warmPool?: number;
  /**
   * The most processes the warm pool grows to while sessions open faster than processes start (a burst of new
   * sessions); it halves back toward `warmPool` after 30 s without a new session. Never above `maxProcesses` - 1.
   * Set it equal to `warmPool` for a pool of fixed size.
   * @default 24 (or `warmPool` when larger)
   * @example 8
   */
  warmPoolMax?: number;
  /**
   * Most processes of this target running at once, warm-pool processes and those of sessions together. A session
   * that would need one more fails to start (503 `PCL_ERR_MCP_PROCESS_LIMIT`); a running process is never stopped
   * for it, but an idle pooled one may be, to make room for a session.
   * @default 200
   * @example 50
   */
  maxProcesses?: number;
  /**
   * Every session of the route uses one process of this target instead of one each, for servers that keep no
   * per-client state (one process per kind of client: protocol version and capabilities). Session isolation is
   * kept by the gateway (request ids and progress tokens remapped, server requests routed to the session whose
   * call caused them, or refused when that cannot be known); `logging/setLevel` is process-wide. Not with
   * `warmPool`/`warmPoolMax`: the shared process is started at load. See README, "Shared stdio processes".
   * @default false
   * @example true
   */
  shared?: boolean;
}

/** A remote MCP server, by URL or host/port/path. */
export interface McpRemoteTarget {
  /** Full URL. @example 'http://127.0.0.1:3001/mcp' */
  url?: string;
  /** Host, with `port` and `path`, when no `url` is given. */
  host?: string;
  port?: number;
  path?: string;
  /** Extra headers sent to this target. */
  headers?: Record<string, string>;
}

/** Policies attachable to a listener or a route. They run in a fixed phase order (see README). */
export interface Policies {
  /** CORS, with preflight answered by the gateway. */
  cors?: CorsPolicy;
  /** Changes to the request headers sent upstream. */
  requestHeaderModifier?: HeaderModifier;
  /** Changes to the response headers sent to the client. */
  responseHeaderModifier?: HeaderModifier;
  /** Rewrites of the upstream path and authority. */
  urlRewrite?: UrlRewritePolicy;
  /** Answers with a redirect instead of forwarding. */
  requestRedirect?: RequestRedirectPolicy;
  /** Answers with a fixed response instead of forwarding. */
  directResponse?: DirectResponsePolicy;
  /** Fault injection: latency before the backend, fixed or from a CEL expression (agentgateway's `delay`). */
  delay?: DelayPolicy;
  /** Fault injection: an error answer instead of the backend, for a share of requests or those a CEL condition picks. */
  abort?: AbortPolicy;
  /** Time limits for the request. */
  timeout?: TimeoutPolicy;
  /** Retries of idempotent requests whose connection to the backend failed. */
  retry?: RetryPolicy;
  /** TLS to the backend. */
  backendTLS?: BackendTlsPolicy;
  /** User filters (TypeScript, sandboxed), in order. @example [{ file: './filters/tenant.ts', config: { tenant: 'acme' } }] */
  filters?: FilterAttachment[];
  /** Redaction of emails, phone numbers, payment cards and national ids in responses and MCP results. */
  piiRedaction?: PiiRedactionPolicy;
  /** Deny lists and schema checks on MCP tool arguments. */
  toolArgumentRules?: ToolArgumentRulesPolicy;
  /** Headers set from literal values or the caller's identity. */
  headerInjection?: HeaderInjectionPolicy;
  /** Blocks or flags MCP tools whose definition changed since it was pinned. */
  toolPinning?: ToolPinningPolicy;
  /** JWT bearer-token authentication. */
  jwtAuth?: JwtAuthPolicy;
  /** API-key authentication. */
  apiKey?: ApiKeyPolicy;
  /** Browser login with an OpenID provider (agentgateway's `oidc`); the ID token's claims are the identity. */
  oidc?: OidcPolicy;
  /** An external HTTP authorizer decides each request (agentgateway's `extAuthz`, the oauth2-proxy pattern). */
  extAuthz?: ExtAuthzPolicy;
  /** MCP authorization: OAuth 2.1 resource server with Protected Resource Metadata. */
  mcpAuthentication?: McpAuthenticationPolicy;
  /** Authorization rules in Rego (compiled to WebAssembly), for the HTTP request and every MCP message. */
  authorization?: AuthorizationPolicy;
  /** The credential sent to the backend in place of the client's. */
  backendAuth?: BackendAuthPolicy;
  /** The gateway's OAuth callback for `backendAuth.oauth` (a route of its own, no authentication, no backend). @example {} */
  upstreamOAuthCallback?: UpstreamOAuthCallbackPolicy;
  /** Rate limits, calendar quotas and concurrency limits, local or shared in Redis. @example { limits: [{ key: ['subject'], rate: { limit: 100, windowMs: 60000 } }] } */
  rateLimit?: RateLimitPolicy;
  /** A rate limit decided by an external Envoy rate-limit service over gRPC (agentgateway's `remoteRateLimit`). @example { domain: 'gateway', host: '127.0.0.1:8081', descriptors: [{ entries: [{ key: 'path', value: 'request.path' }] }] } */
  remoteRateLimit?: RemoteRateLimitPolicy;
  /** MCP authorization in CEL rules (agentgateway's `mcpAuthorization`): tool, prompt and resource calls and lists. */
  mcpAuthorization?: McpAuthorizationPolicy;
  /** A copy of body-less requests sent to another backend, its answer dropped (agentgateway's `requestMirror`). */
  requestMirror?: RequestMirrorPolicy;
}

/** CORS settings. */
export interface CorsPolicy {
  /** Allowed origins; `*` allows any, `https://*.example.com` a wildcard. @example ['https://app.example.com'] */
  allowOrigins?: string[];
  /** Allowed request methods. @default ['GET','HEAD','POST','PUT','PATCH','DELETE'] @example ['GET', 'POST'] */
  allowMethods?: string[];
  /** Allowed request headers (`*` for any). @example ['content-type', 'mcp-session-id'] */
  allowHeaders?: string[];
  /** Response headers the browser may read. @example ['Mcp-Session-Id'] */
  exposeHeaders?: string[];
  /** Whether credentials are allowed (never with a `*` origin reply: the origin is echoed instead). @default false @example true */
  allowCredentials?: boolean;
  /** Seconds a preflight result may be cached. @example 600 */
  maxAge?: number;
}

/** Header edits: `set` replaces, `add` appends, `remove` deletes. */
export interface HeaderModifier {
  /** @example { 'x-env': 'prod' } or [{ name: 'x-env', value: 'prod' }] */
  add?: HeaderList;
  /** Replaces a header's value. @example { 'x-env': 'prod' } */
  set?: HeaderList;
  /** Header names to remove. @example ['x-internal-debug'] */
  remove?: string[];
}

/** Headers as a map or as a list of `{ name, value }`. */
export type HeaderList = Record<string, string> | Array<{ name: string; value: string }>;

/** A path replacement: the whole path, or the part matched by the route's `pathPrefix`. */
export type PathRewrite = { full: string } | { prefix: string };

/** URL rewrite before forwarding. */
export interface UrlRewritePolicy {
  /** New `Host` sent upstream. @example { full: 'internal.example.com' } */
  authority?: { full: string };
  /** New path. @example { prefix: '/v2' } */
  path?: PathRewrite;
}

/** A redirect response. */
export interface RequestRedirectPolicy {
  /** `http` or `https`. @default the request's scheme */
  scheme?: 'http' | 'https';
  /** New `host[:port]`. @default the request's host */
  authority?: string;
  /** New path. @default the request's path */
  path?: PathRewrite;
  /** 301, 302, 303, 307 or 308. @default 302 */
  status?: 301 | 302 | 303 | 307 | 308;
}

/** A fixed response. */
export interface DirectResponsePolicy {
  /** HTTP status. @example 200 */
  status: number;
  /** Body text. @default '' @example 'not found' */
  body?: string;
  /** Response headers. @example { 'content-type': 'text/plain' } */
  headers?: Record<string, string>;
}

/**
 * Fault injection: latency added before the request goes on to its backend, inside the route's timeout.
 * @example { duration: '2s', percentage: 10 }
 * @example { duration: 'request.headers["x-chaos"] == "1" ? 500 : 0' }
 */
export interface DelayPolicy {
  /**
   * How long: milliseconds, a duration (`2s`, `250ms`), or a CEL expression over the request (`request`, `source`,
   * `jwt`, `apiKey`; agentgateway's functions such as `random()`) giving milliseconds or a CEL `duration(...)`.
   * A result that is not positive, or an expression that fails to evaluate, adds no delay. At most 300 s.
   * @example 'random() < 0.1 ? 2000 : 0'
   */
  duration: number | string;
  /** Share of requests delayed, 0 to 100. @default 100 @example 10 */
  percentage?: number;
}

/**
 * One abort: the answer, and which requests get it. Without `percentage` and `condition`, every request.
 * @example { status: 503, body: 'injected fault', percentage: 10 }
 */
export interface AbortRule {
  /** HTTP status of the answer. @example 503 */
  status: number;
  /** Body text. @default '' @example 'injected fault' */
  body?: string;
  /** Response headers. @default {} @example { 'retry-after': '1' } */
  headers?: Record<string, string>;
  /** Share of requests aborted, 0 to 100. @default 100 @example 10 */
  percentage?: number;
  /** A CEL expression over the request; the rule fires only when it is `true`. @default always @example 'random() < 0.1' */
  condition?: string;
}

/**
 * Fault injection: one abort rule, or several tried in order (the first that fires answers; a request none fires
 * for goes on to the backend). agentgateway's `directResponse: { conditional: [...] }` is read as this.
 * @example { status: 503, percentage: 10 }
 */
export type AbortPolicy = AbortRule | AbortRule[];

/** Time limits. */
export interface TimeoutPolicy {
  /** Time from this policy's phase to the upstream's response headers, retries included; 504 after. @default no limit beyond the 300 s headers timeout */
  requestTimeoutMs?: Milliseconds;
  /** Time one attempt at one backend may take to answer with headers. @default requestTimeoutMs */
  backendRequestTimeoutMs?: Milliseconds;
}

/** Retries on connection failure (nothing was sent, so a retry is safe for idempotent methods). */
export interface RetryPolicy {
  /** Extra attempts after the first. `0` turns retries off. @default 1 @example 2 */
  attempts?: number;
  /** Wait before each retry. @default 25 @example 100 */
  backoffMs?: Milliseconds;
  /**
   * Response statuses retried too (agentgateway's `retry.codes`), for the same body-less idempotent requests: the
   * answer is dropped unread and the request sent again; the last attempt's answer is what the client gets.
   * @default [] @example [503]
   */
  codes?: number[];
}

/** TLS to the upstream. Paths are relative to the config file. */
export interface BackendTlsPolicy {
  /** CA bundle (PEM) that signs the upstream's certificate. @default the system roots @example './certs/ca.crt' */
  root?: string;
  /** Client certificate (PEM) for mutual TLS. @default none @example './certs/client.crt' */
  cert?: string;
  /** Client key (PEM) for mutual TLS. @default none @example './certs/client.key' */
  key?: string;
  /** Server name sent in SNI and checked in the certificate. @default the backend's host @example 'orders.internal' */
  sni?: string;
  /** Skip certificate verification entirely. For tests only. @default false @example false */
  insecure?: boolean;
  /** Verify the chain but not the host name. @default false @example true */
  insecureHost?: boolean;
}

/** Admin server settings. */
export interface AdminConfig {
  /** `host:port`; keep it on loopback unless it is protected. `false` turns it off. @default '127.0.0.1:15000' */
  address?: string | false;
  /**
   * The token the admin API and UI require (`Authorization: Bearer <token>`; the UI asks for it). Required only when
   * `address` is not loopback: then, without one, a random token is generated and printed at start.
   * @default none on loopback; generated elsewhere
   * @example { env: 'PORTCULLIS_ADMIN_TOKEN' }
   */
  token?: SecretSource;
}

/** Readiness server settings. */
export interface ReadinessConfig {
  /** `host:port`; `false` turns it off. @default '127.0.0.1:15021' */
  address?: string | false;
}

/** Logging settings. */
export interface LoggingConfig {
  /** Minimum level. @default 'info' @example 'debug' */
  level?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** `json` (one object a line) or `pretty` (for people). @default 'json' @example 'pretty' */
  format?: 'json' | 'pretty';
  /**
   * One line per request: `true`, `false`, or the line's shape (agentgateway's `frontendPolicies.accessLog`): a CEL
   * `filter` that keeps a line only when it is true, fields to `add` (name → CEL expression) and fields to
   * `remove` (by name).
   * @default true
   * @example accessLog: { filter: 'response.code >= 400', add: { 'user.id': 'jwt.sub' }, remove: ['bytesIn'] }
   */
  accessLog?: boolean | AccessLogConfig;
}

/**
 * The shape of the access log's lines. CEL expressions see `request` (method, path, host, scheme, headers),
 * `response` (code), `source` (address), `jwt` (claims), `apiKey`, `backend` (name) and `mcp` (methodName,
 * sessionId, tool.name, prompt.name, resource.name); a field whose expression fails (a claim that is absent) is
 * left out, and a filter that fails drops the line. See docs/telemetry-switches.md.
 * @example logging: { accessLog: { filter: 'request.path.startsWith("/mcp")', add: { tool: 'mcp.tool.name' }, remove: ['client'] } }
 */
export interface AccessLogConfig {
  /** CEL expression; the line is written only when it is `true`. @default undefined (every request) @example filter: 'request.path.startsWith("/mcp")' */
  filter?: string;
  /** Fields added to each line: name → CEL expression. @default {} @example add: { backend: 'backend.name', 'user.id': 'jwt.sub' } */
  add?: Record<string, string>;
  /**
   * Fields left out of each line, by name (ours: `client`, `bytesIn`, ...; agentgateway's names `http.method`,
   * `http.path`, `http.status`, `src.addr`, `duration`, `trace.id`, `span.id` name the same fields).
   * @default []
   * @example remove: ['client', 'bytesIn', 'bytesOut']
   */
  remove?: string[];
}

/**
 * Request and connection limits: what one client, or all of them, can make the gateway hold. Each is per bind and
 * per worker process; a refused connection gets a 503 `PCL_ERR_CONNECTION_LIMIT` (plain HTTP; an HTTPS one is
 * closed before its handshake) and counts in `portcullis_connections_refused_total`.
 * @example limits: { maxConnections: 20000, maxConnectionsPerClient: 512, headersTimeoutMs: 5000 }
 */
export interface LimitsConfig {
  /** Largest request body; 413 beyond it. @default 10485760 (10 MiB) @example 1048576 */
  maxRequestBodyBytes?: number;
  /** Most open connections on one bind. @default 4096 @example 20000 */
  maxConnections?: number;
  /**
   * Most open connections from one client address on one bind (the peer address: behind a proxy, the proxy's).
   * @default 256
   * @example 1024
   */
  maxConnectionsPerClient?: number;
  /** Time a client has to send a request's headers, from the connection or the previous request; 408 after it. @default 10000 @example 5000 */
  headersTimeoutMs?: number;
  /** How long a keep-alive connection with no request in progress is kept open. @default 65000 @example 30000 */
  idleTimeoutMs?: number;
}

/** Upstream connection settings. */
export interface UpstreamConfig {
  /** Time to open a TCP (and TLS) connection. @default 5000 @example 2000 */
  connectTimeoutMs?: Milliseconds;
  /** Longest silence while a response body streams; the stream is cut after it. @default 300000 @example 60000 */
  bodyIdleTimeoutMs?: Milliseconds;
  /** How long an unused pooled connection is kept. @default 60000 @example 30000 */
  keepAliveTimeoutMs?: Milliseconds;
  /** How long a backend that refused a connection is left out of load balancing; 0 never ejects. @default 5000 @example 10000 */
  ejectionMs?: Milliseconds;
}

/** Shutdown settings. */
export interface ShutdownConfig {
  /** On SIGTERM/SIGINT, how long in-flight requests may finish before the gateway exits (under the 30 s Kubernetes gives a pod by default). @default 25000 @example 10000 */
  drainTimeoutMs?: Milliseconds;
}
