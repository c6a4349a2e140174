/**
 * A rate limit decided by an external Envoy rate-limit service (agentgateway's `remoteRateLimit`): for each request
 * the gateway sends the service `ShouldRateLimit` (gRPC, `envoy.service.ratelimit.v3`) with the `domain` and one
 * descriptor per entry of `descriptors`, whose values are CEL expressions over the request. When the service answers
 * `OVER_LIMIT` the client gets 429 with the headers the service asks for and `x-ratelimit-limit`/`-remaining`/
 * `-reset` from its tightest limit; an allowed answer adds those headers to the response too. A service that does not
 * answer within `timeoutMs` (or answers an error) is handled by `failureMode`.
 * @example { domain: 'agentgateway', host: '127.0.0.1:8081', failureMode: 'failOpen', descriptors: [{ entries: [{ key: 'method', value: 'request.method' }, { key: 'path', value: 'request.path' }] }] }
 */
export interface RemoteRateLimitPolicy {
  /** The rate-limit domain sent to the service (its config's `domain`). @default undefined (required) @example 'agentgateway' */
  domain: string;
  /** The service, `host:port` (plaintext gRPC, HTTP/2). @default undefined (required) @example '127.0.0.1:8081' */
  host: string;
  /**
   * The descriptors sent with each request. A descriptor whose expression fails, or gives no string, number or
   * boolean, is left out of the request; when every descriptor is left out the service is not asked and the
   * request passes. @default undefined (required) @example [{ entries: [{ key: 'user', value: 'jwt.sub' }] }]
   */
  descriptors: RemoteRateLimitDescriptor[];
  /**
   * When the service cannot be reached, errs, or does not answer in time: `failClosed` answers 500
   * `PCL_ERR_REMOTE_RATE_LIMIT_FAILED` (agentgateway's default), `failOpen` lets the request through. Both are logged.
   * @default 'failClosed' @example 'failOpen'
   */
  failureMode?: 'failOpen' | 'failClosed';
  /** How long a check may take, connection included, in milliseconds (1 to 30000). @default 2000 @example 500 */
  timeoutMs?: number;
}

/** One descriptor: its entries, in order. @example { entries: [{ key: 'method', value: 'request.method' }] } */
export interface RemoteRateLimitDescriptor {
  /** Key/value entries; each value is a CEL expression over the request (`request`, `source`, `jwt`, `apiKey`, ...). @default undefined (required) @example [{ key: 'path', value: 'request.path' }] */
  entries: RemoteRateLimitEntry[];
  /** What the descriptor counts. Only `requests` is served (agentgateway's `tokens` counts LLM tokens). @default 'requests' @example 'requests' */
  type?: 'requests';
}

/** One descriptor entry. @example { key: 'client', value: 'source.address' } */
export interface RemoteRateLimitEntry {
  /** The entry's key, as the service's config names it. @default undefined (required) @example 'method' */
  key: string;
  /** A CEL expression over the request giving the entry's value. @default undefined (required) @example 'request.headers["x-tenant"]' */
  value: string;
}
