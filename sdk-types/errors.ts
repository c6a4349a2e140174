/**
 * Stable error codes a client or an operator can see. A code is never reused for another meaning.
 * HTTP errors are sent as JSON: `{ "error": { "code": "PCL_ERR_NO_ROUTE", "message": "..." } }`.
 */
export const ErrorCodes = {
  /** 400: the request could not be parsed or is not allowed by HTTP. */
  BAD_REQUEST: 'PCL_ERR_BAD_REQUEST',
  /** 404: no route matches the request. */
  NO_ROUTE: 'PCL_ERR_NO_ROUTE',
  /** 413: the request body is larger than `limits.maxRequestBodyBytes`. */
  BODY_TOO_LARGE: 'PCL_ERR_BODY_TOO_LARGE',
  /** 500: a bug in the gateway; the log line has the cause. */
  INTERNAL: 'PCL_ERR_INTERNAL',
  /** 501: the route's backend kind is not served by this build. */
  BACKEND_UNSUPPORTED: 'PCL_ERR_BACKEND_UNSUPPORTED',
  /** 502: the backend could not be reached (refused, reset, DNS, TLS). */
  BACKEND_UNREACHABLE: 'PCL_ERR_BACKEND_UNREACHABLE',
  /** 503: every backend of the route is ejected after recent failures. */
  NO_HEALTHY_BACKEND: 'PCL_ERR_NO_HEALTHY_BACKEND',
  /** 503: the gateway is shutting down and takes no new requests. */
  SHUTTING_DOWN: 'PCL_ERR_SHUTTING_DOWN',
  /** 504: the backend did not answer within the route's timeout. */
  UPSTREAM_TIMEOUT: 'PCL_ERR_UPSTREAM_TIMEOUT',
  /** Access log only: the backend's response body broke off after the status was sent; the connection was cut. */
  STREAM_ABORTED: 'PCL_ERR_STREAM_ABORTED',
  /** Access log only: the client closed the connection before the response was complete. */
  CLIENT_CLOSED: 'PCL_ERR_CLIENT_CLOSED',
  /** The configuration does not validate; every error names its path. */
  CONFIG_INVALID: 'PCL_ERR_CONFIG_INVALID',
  /** The configuration file could not be read, bundled or imported. */
  CONFIG_LOAD: 'PCL_ERR_CONFIG_LOAD',
  /** An extension (a backend kind, a telemetry sink, a message protocol) was registered under a name another one already has. The gateway does not start. */
  EXTENSION_CONFLICT: 'PCL_ERR_EXTENSION_CONFLICT',
  /** A bind could not be opened (port in use, permission, bad address). */
  BIND_FAILED: 'PCL_ERR_BIND_FAILED',
  /** A filter file could not be bundled (syntax error, missing import, Node built-in import); the message has file and line. */
  FILTER_BUILD: 'PCL_ERR_FILTER_BUILD',
  /** 500: a filter threw, returned an invalid decision, or could not run; the request failed closed. */
  FILTER_FAILED: 'PCL_ERR_FILTER_FAILED',
  /** 500: a filter ran longer than its `timeoutMs`; its sandbox was replaced and the request failed closed. */
  FILTER_TIMEOUT: 'PCL_ERR_FILTER_TIMEOUT',
  /** 500: a filter went over its `memoryLimitMb`; its sandbox was replaced and the request failed closed. */
  FILTER_MEMORY_LIMIT: 'PCL_ERR_FILTER_MEMORY_LIMIT',
  /** 500: the data a filter returned is larger than its `maxResultBytes`; the request failed closed. */
  FILTER_RESULT_TOO_LARGE: 'PCL_ERR_FILTER_RESULT_TOO_LARGE',
  /** 403: a built-in filter (tool-argument rules, tool pinning) denied the request; the message says which rule. */
  FILTER_DENIED: 'PCL_ERR_FILTER_DENIED',
  /** 401: the request carries no valid credential (missing, malformed, expired, wrong issuer or audience, unknown key). */
  UNAUTHENTICATED: 'PCL_ERR_UNAUTHENTICATED',
  /** 403: the authorization policy denied the request; the message carries the policy's reason when it gave one. */
  FORBIDDEN: 'PCL_ERR_FORBIDDEN',
  /** 403: the authorization policy could not be evaluated (runtime error, undefined decision); denied, fail-closed. */
  POLICY_EVAL: 'PCL_ERR_POLICY_EVAL',
  /** A Rego policy or its data does not compile or load; the message has OPA's error with file and line. */
  POLICY_COMPILE: 'PCL_ERR_POLICY_COMPILE',
  /** The `opa` binary needed to compile Rego was not found; the message says how to install it. */
  OPA_MISSING: 'PCL_ERR_OPA_MISSING',
  /** 404: the `Mcp-Session-Id` (or legacy SSE `sessionId`) names no open session: it expired or was closed. Start a new session. */
  MCP_SESSION_NOT_FOUND: 'PCL_ERR_MCP_SESSION_NOT_FOUND',
  /** 400: an MCP request other than `initialize` came without the `Mcp-Session-Id` header. */
  MCP_SESSION_REQUIRED: 'PCL_ERR_MCP_SESSION_REQUIRED',
  /**
   * 400: the `MCP-Protocol-Version` header names a protocol version the gateway does not speak; for a 2026-07-28
   * request (version in `_meta`), the JSON-RPC error -32022 lists the supported versions.
   */
  MCP_PROTOCOL_VERSION: 'PCL_ERR_MCP_PROTOCOL_VERSION',
  /**
   * 400 with JSON-RPC error -32020 (HeaderMismatch): a 2026-07-28 MCP request's `MCP-Protocol-Version`, `Mcp-Method`
   * or `Mcp-Name` header is missing, malformed, or names something other than its body does.
   */
  MCP_HEADER_MISMATCH: 'PCL_ERR_MCP_HEADER_MISMATCH',
  /**
   * 400 with JSON-RPC error -32602: a 2026-07-28 MCP request's `_meta` lacks a required envelope key
   * (`io.modelcontextprotocol/protocolVersion`, `io.modelcontextprotocol/clientCapabilities`) or holds a malformed one.
   */
  MCP_ENVELOPE_INVALID: 'PCL_ERR_MCP_ENVELOPE_INVALID',
  /**
   * 400 with JSON-RPC error -32602: a 2026-07-28 retry carried a `requestState` this gateway did not issue, that was
   * changed, issued to another caller or for another request, or that expired. Retry the original request afresh.
   */
  MCP_REQUEST_STATE_INVALID: 'PCL_ERR_MCP_REQUEST_STATE_INVALID',
  /**
   * 400 with JSON-RPC error -32602: a 2026-07-28 retry carried a valid `requestState` for a call the gateway kept
   * open while its 2025-era target waited for the client's input (sampling, elicitation, roots), but that call is
   * gone: the client answered later than the route's request timeout, or the retry reached another gateway
   * process. Send the original request again.
   */
  MCP_REQUEST_STATE_EXPIRED: 'PCL_ERR_MCP_REQUEST_STATE_EXPIRED',
  /**
   * JSON-RPC error -32602 (in-band): a 2026-07-28 list request carried a `cursor` this gateway did not issue, that
   * was changed, issued for another route or list, or names a target the route no longer has. List from the start.
   */
  MCP_CURSOR_INVALID: 'PCL_ERR_MCP_CURSOR_INVALID',
  /**
   * JSON-RPC error -32602 (in-band): a `tasks/*` request on a route of several targets named a task id without the
   * `<target>_` prefix of one of the route's targets. Use the task id exactly as the gateway returned it.
   */
  MCP_TASK_UNKNOWN: 'PCL_ERR_MCP_TASK_UNKNOWN',
  /**
   * JSON-RPC error -32603 (in-band, HTTP 200, as the SDK answers it): a caller already holds the most
   * `subscriptions/listen` streams allowed on the route (16); close one before opening another.
   */
  MCP_LISTEN_LIMIT: 'PCL_ERR_MCP_LISTEN_LIMIT',
  /** 405: the HTTP method is not one an MCP endpoint serves (POST, GET, DELETE). */
  MCP_METHOD_NOT_ALLOWED: 'PCL_ERR_MCP_METHOD_NOT_ALLOWED',
  /** 502: an MCP session could not start because a target failed to start or initialize (`failureMode: failClosed`). */
  MCP_UPSTREAM_FAILED: 'PCL_ERR_MCP_UPSTREAM_FAILED',
  /** 413: a JSON-RPC batch holds more messages than the MCP backend's `maxBatchSize`. Send smaller batches. */
  MCP_BATCH_TOO_LARGE: 'PCL_ERR_MCP_BATCH_TOO_LARGE',
  /** 429 (this identity's sessions) or 503 (the route's sessions): the MCP backend's `maxSessionsPerIdentity` or `maxSessions` is reached. Close (DELETE) sessions no longer used, or raise the limit. */
  MCP_SESSION_LIMIT: 'PCL_ERR_MCP_SESSION_LIMIT',
  /** 503: a bind already holds `limits.maxConnections` connections, or the client's address `limits.maxConnectionsPerClient`: the connection is answered and closed. */
  CONNECTION_LIMIT: 'PCL_ERR_CONNECTION_LIMIT',
  /** 429: an MCP session already has `maxRequestsPerSession` requests (pending answers, SSE streams) in flight, or its identity `maxRequestsPerIdentity`: wait for an answer before sending more. */
  MCP_STREAM_LIMIT: 'PCL_ERR_MCP_STREAM_LIMIT',
  /** 503: a stdio target already runs `stdio.maxProcesses` processes (pooled and in sessions), so a new session cannot start one. */
  MCP_PROCESS_LIMIT: 'PCL_ERR_MCP_PROCESS_LIMIT',
  /** 403: the request's `Origin` is not allowed to use this MCP endpoint (DNS-rebinding protection): add it to the route's CORS `allowOrigins` or the MCP backend's `dnsRebindingProtection.allowedOrigins`. */
  MCP_ORIGIN_FORBIDDEN: 'PCL_ERR_MCP_ORIGIN_FORBIDDEN',
  /** 403: the request's `Host` is not allowed on this MCP endpoint (DNS-rebinding protection: a loopback listener answers loopback names only): add it to `dnsRebindingProtection.allowedHosts`. */
  MCP_HOST_FORBIDDEN: 'PCL_ERR_MCP_HOST_FORBIDDEN',
  /**
   * A JSON-RPC error (`-32080`, `data.code`) for the call whose answer a remote MCP target garbled: its body or event
   * is not UTF-8, not JSON or not JSON-RPC, an event is larger than the bound (16 MiB), or a 2xx answer is neither
   * JSON nor an event stream (an HTML page). The message names the target; the session and other targets go on.
   */
  MCP_UPSTREAM_INVALID: 'PCL_ERR_MCP_UPSTREAM_INVALID',
  /**
   * A JSON-RPC error (`-32080`, `data.code`) for a call whose event-stream answer from a remote MCP target broke
   * before the result, and could not be resumed with `Last-Event-ID` (the target gave no event ids, or resuming
   * failed). The message names the target; the session and other targets go on.
   */
  MCP_UPSTREAM_STREAM_ENDED: 'PCL_ERR_MCP_UPSTREAM_STREAM_ENDED',
  /**
   * A target's `tools` settings do not fit the tools it lists: an override names a tool it does not list, a fixed or
   * default argument the tool's schema lacks, two tools shown under one name, include/exclude leaving nothing. For an
   * OpenAPI target (whose tools are known at load) the load fails with the setting's path; for other targets the
   * gateway logs a warning with this code and the path, once per load, and leaves the tools concerned out.
   */
  MCP_TOOLS_CONFIG_INVALID: 'PCL_ERR_MCP_TOOLS_CONFIG_INVALID',
  /**
   * A `search_tools` or `call_tool` call the gateway cannot serve: the query is not a string, is empty or longer
   * than 1000 characters, `limit` is out of range, or `call_tool` names no tool. `search_tools` answers with a tool
   * error (`isError: true`) carrying this code; `call_tool` with JSON-RPC error -32602.
   */
  MCP_TOOL_SEARCH_INVALID: 'PCL_ERR_MCP_TOOL_SEARCH_INVALID',
  /**
   * 502 (or a JSON-RPC error for MCP): a ready-made filter could not inspect the content (a response or MCP result
   * for `piiRedaction`, tool-call arguments for `toolArgumentRules`) because it is larger than the policy's
   * `maxScanBytes`, compressed, or nested too deep; refused rather than passed unchecked (fail closed).
   */
  FILTER_CONTENT_TOO_LARGE: 'PCL_ERR_FILTER_CONTENT_TOO_LARGE',
  /** 500: a filter's sandbox process died while running it (V8 aborted, or it was killed); the process was restarted and the request failed closed. */
  FILTER_CRASHED: 'PCL_ERR_FILTER_CRASHED',
  // OpenAPI targets (MCP tools from a REST API description)
  /** An MCP `openapi` target's description cannot be used: it does not load, parse or validate (the message names the spec path of the problem), is Swagger 2.0, or names no server URL. */
  OPENAPI_SPEC_INVALID: 'PCL_ERR_OPENAPI_SPEC_INVALID',
  // Rate limits (the rateLimit policy)
  /**
   * 429 (or JSON-RPC error -32083 for an MCP or A2A message, with `data.retryAfterMs`): a rate limit, quota or
   * concurrency limit of the route is reached for this caller. Wait for `Retry-After` seconds; the message names
   * the limit.
   */
  RATE_LIMITED: 'PCL_ERR_RATE_LIMITED',
  /** 503 (or JSON-RPC error -32083): the shared rate-limit store (Redis) cannot be reached and the policy's `failureMode` is `failClosed`. */
  RATE_LIMIT_UNAVAILABLE: 'PCL_ERR_RATE_LIMIT_UNAVAILABLE',
  // A2A backend
  /** 502: the agent's card could not be fetched, is not JSON, or names no interface on the agent's own origin the gateway could serve. */
  A2A_CARD_INVALID: 'PCL_ERR_A2A_CARD_INVALID',
  /** 403 (or a JSON-RPC error): a push-notification URL given by the client is not in the A2A backend's `pushNotifications.allowedUrls`. */
  A2A_PUSH_URL_DENIED: 'PCL_ERR_A2A_PUSH_URL_DENIED',
  /** 415: gRPC is not served by the A2A backend; use the JSON-RPC or HTTP+JSON binding. */
  A2A_GRPC_UNSUPPORTED: 'PCL_ERR_A2A_GRPC_UNSUPPORTED',
  /** 404: the path names no agent of the route, nor a card, JSON-RPC or HTTP+JSON endpoint. */
  A2A_UNKNOWN_ENDPOINT: 'PCL_ERR_A2A_UNKNOWN_ENDPOINT',
  // Admin UI and API
  /** 401: an admin endpoint was called without the admin token, or with a wrong one (`Authorization: Bearer <admin token>`; the token is `admin.token`, or the one printed at start). */
  ADMIN_UNAUTHORIZED: 'PCL_ERR_ADMIN_UNAUTHORIZED',
  /** 403: a state-changing admin call (POST) came without the CSRF token of `GET /api/session`, or from another origin. */
  ADMIN_CSRF: 'PCL_ERR_ADMIN_CSRF',
  // MCP authorization (mcpAuthentication)
  /** 403: the token is valid but lacks a scope of `mcpAuthentication.requiredScopes` (the challenge says `error="insufficient_scope"` and which scopes). */
  INSUFFICIENT_SCOPE: 'PCL_ERR_INSUFFICIENT_SCOPE',
  /** 502: the identity provider behind `mcpAuthentication` (its metadata, registration or token endpoint) did not answer, answered an error, or took longer than `idpTimeoutMs`. */
  IDP_UNREACHABLE: 'PCL_ERR_IDP_UNREACHABLE',
  /** 502: the identity provider's metadata is not a JSON object, or lacks what the `provider` adapter rewrites (`authorization_endpoint`, `token_endpoint`, `registration_endpoint`). */
  IDP_METADATA_INVALID: 'PCL_ERR_IDP_METADATA_INVALID',
  /** 501: a client registration (RFC 7591) reached the gateway for a provider that has none (`entra`, `authentik`) and no `mcpAuthentication.clientId` is set. */
  IDP_REGISTRATION_UNSUPPORTED: 'PCL_ERR_IDP_REGISTRATION_UNSUPPORTED',
  // Replicas (deploy): sessions any replica can serve
  /**
   * The session key is unusable: `PORTCULLIS_SESSION_KEY` (or `_PREVIOUS`) is not base64 of exactly 32 bytes, or a
   * `PORTCULLIS_SESSION_KEY_FILE` (or `_PREVIOUS_FILE`) cannot be read or holds no such key. The gateway does not start.
   */
  SESSION_KEY_INVALID: 'PCL_ERR_SESSION_KEY_INVALID',
  /** `PORTCULLIS_PEER_ADDRESS` (or `PORTCULLIS_PEER_LISTEN`) is not `host:port`, or the peer port cannot be opened. The gateway does not start. */
  PEER_ADDRESS_INVALID: 'PCL_ERR_PEER_ADDRESS_INVALID',
  /** 502: the replica that owns an MCP session (it holds a stdio target) accepted the forwarded request but did not answer in time, or broke off. */
  PEER_FORWARD_FAILED: 'PCL_ERR_PEER_FORWARD_FAILED',
  /** 502: browser login (`oidc`): the OpenID provider could not be reached or refused the code exchange (its discovery document, token endpoint or ID token). */
  OIDC_PROVIDER_FAILED: 'PCL_ERR_OIDC_PROVIDER_FAILED',
  /** 400: browser login (`oidc`): a callback that does not belong to a login this browser started (no or another transaction cookie, a wrong state), or the provider's error answer. */
  OIDC_CALLBACK_INVALID: 'PCL_ERR_OIDC_CALLBACK_INVALID',
  /** 403: `extAuthz`: the external authorizer could not be reached within 2 s, or an expression for its request failed (`failureMode: allow` lets the request through instead). */
  EXT_AUTHZ_FAILED: 'PCL_ERR_EXT_AUTHZ_FAILED',
  /** 500: `remoteRateLimit`: the rate-limit service could not be reached, answered a gRPC error, or did not answer within `timeoutMs`, and the policy fails closed (`failureMode: failOpen` lets the request through instead). */
  REMOTE_RATE_LIMIT_FAILED: 'PCL_ERR_REMOTE_RATE_LIMIT_FAILED',
  // Per-user upstream credentials (backendAuth identityMap, tokenExchange, oauth)
  /** 403: `backendAuth` has no upstream credential for this caller (no identity-map entry, no token to exchange) and its `fallback` is `deny`. */
  UPSTREAM_CREDENTIAL_MISSING: 'PCL_ERR_UPSTREAM_CREDENTIAL_MISSING',
  /** 502: the token-exchange endpoint (RFC 8693) refused the caller's token, answered something unusable, or did not answer within `timeoutMs`; nothing was sent upstream. */
  TOKEN_EXCHANGE_FAILED: 'PCL_ERR_TOKEN_EXCHANGE_FAILED',
  /** 403: the caller has not yet linked its account at the upstream's authorization server (backendAuth `oauth`); the error body carries the login URL as `error.loginUrl`. */
  UPSTREAM_LINK_REQUIRED: 'PCL_ERR_UPSTREAM_LINK_REQUIRED',
  /** 400: an OAuth callback with an unknown, used or expired `state`, a state of another caller, or a code the authorization server refused. */
  OAUTH_CALLBACK_INVALID: 'PCL_ERR_OAUTH_CALLBACK_INVALID',
} as const;

/** One of the {@link ErrorCodes} values. @example 'PCL_ERR_NO_ROUTE' */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** The JSON body of every error response the gateway itself produces. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}
