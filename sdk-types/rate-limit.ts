/**
 * Traffic protection: rate limits, calendar quotas and concurrency limits, counted in the gateway or shared by
 * every replica through Redis. See README "Rate limits".
 */

/**
 * One part of a limit's key: what makes two requests count against the same bucket. Parts are joined, so
 * `['subject', 'tool']` is one bucket per agent and tool. A part whose value is missing (no identity, no such
 * header) counts as the value `-`: every such request shares that bucket.
 * - `subject`: the authenticated identity's subject (needs an authentication policy on the route).
 * - `apiKey`: the name of the API key the caller presented (`-` for callers identified otherwise).
 * - `clientAddress`: the client's IP address; `X-Forwarded-For` is read only through `trustedProxies`.
 * - `route`: the route's name (useful on a listener policy, whose counters every route shares otherwise).
 * - `method`, `tool`, `skill`: the JSON-RPC method (MCP or A2A), the MCP tool and the A2A skill of a message
 *   (limits with `scope: 'message'` only).
 * - `{ claim }`: a claim of the identity (a JWT claim, an API key's metadata entry).
 * - `{ header }`: a request header, as the client sent it.
 * - `{ constant }`: a fixed value, for one bucket shared by every caller.
 * @example ['subject']
 * @example ['clientAddress', { header: 'x-tenant' }]
 */
export type RateLimitKeyPart =
  | 'subject'
  | 'apiKey'
  | 'clientAddress'
  | 'route'
  | 'method'
  | 'tool'
  | 'skill'
  | { claim: string }
  | { header: string }
  | { constant: string };

/**
 * A token bucket (GCRA): `limit` per `windowMs`, refilled continuously, at most `burst` at once.
 * @example { limit: 100, windowMs: 60000 }
 */
export interface RateLimitRate {
  /** Requests (or messages) per window. @example 100 */
  limit: number;
  /** The window, in milliseconds. @example 60000 */
  windowMs: number;
  /** How many may come at once after a quiet period. @default limit @example 20 */
  burst?: number;
}

/**
 * A fixed quota per calendar period, reset at the period's start in `timeZone` (midnight, the first of the month).
 * @example { limit: 1000, period: 'day', timeZone: 'Europe/Paris' }
 */
export interface RateLimitQuota {
  /** Requests (or messages) per period. @example 1000 */
  limit: number;
  /** The calendar period. @example 'month' */
  period: 'hour' | 'day' | 'month';
  /** An IANA time zone whose calendar sets the boundaries. @default 'UTC' @example 'America/New_York' */
  timeZone?: string;
}

/**
 * One limit: a key, what it counts, and exactly one of `rate`, `quota` or `concurrency`.
 * @example { name: 'per-agent', key: ['subject'], rate: { limit: 100, windowMs: 60000 } }
 * @example { name: 'search', scope: 'message', methods: ['tools/call'], tools: ['search'], key: ['subject'], rate: { limit: 10, windowMs: 60000 } }
 * @example { name: 'in-flight', key: ['subject'], concurrency: { limit: 4 } }
 */
export interface RateLimitRule {
  /**
   * Name shown in the `RateLimit` headers, logs and events; letters, digits, `.`, `_`, `-`.
   * @default 'limit<index>'
   * @example 'per-agent'
   */
  name?: string;
  /** What makes a bucket. @default [] (one bucket for every caller) @example ['subject', 'tool'] */
  key?: RateLimitKeyPart[];
  /**
   * What is counted: HTTP requests, or protocol messages (each MCP or A2A JSON-RPC request inside a session).
   * @default 'request'
   * @example 'message'
   */
  scope?: 'request' | 'message';
  /** Messages only: count only these JSON-RPC methods (MCP or A2A). @default every method @example ['tools/call'] */
  methods?: string[];
  /** Messages only: count only calls of these MCP tools (names as the client sees them). @default every tool @example ['search'] */
  tools?: string[];
  /** Messages only: count only A2A messages naming these skills. @default every skill @example ['translate'] */
  skills?: string[];
  /** A token bucket. @example { limit: 100, windowMs: 60000 } */
  rate?: RateLimitRate;
  /** A calendar quota. @example { limit: 10000, period: 'month' } */
  quota?: RateLimitQuota;
  /**
   * Requests (or messages) in flight per key; a slot is freed when the response ends or the client leaves.
   * Counted in each gateway process, never in Redis.
   * @example { limit: 4 }
   */
  concurrency?: { limit: number };
  /** Accepted from agentgateway's `localRateLimit`: only `requests` is served (LLM token limits are not). @default 'requests' @example 'requests' */
  type?: 'requests';
}

/**
 * Where counters live: in this gateway process (`'local'`), or in Redis, shared by every replica.
 * @default 'local'
 * @example { redis: { url: 'redis://127.0.0.1:6379', prefix: 'pcl:' } }
 */
export type RateLimitStore = 'local' | { redis: RateLimitRedisStore };

/** A Redis store: one Lua script per decision, the clock from Redis, keys that expire. */
export interface RateLimitRedisStore {
  /** `redis://[user:password@]host:port[/db]` or `rediss://` for TLS. @example 'redis://127.0.0.1:6379' */
  url: string;
  /** Prefix of every key the gateway writes. @default 'portcullis:rl:' @example 'gw-prod:' */
  prefix?: string;
  /** How long one decision may wait for Redis before the failure mode applies. @default 500 @example 200 */
  timeoutMs?: number;
}

/**
 * The `rateLimit` policy: limits on a listener or a route, checked in the `rateLimit` phase of the HTTP request and
 * of every protocol message. A limited request gets 429 with `Retry-After` and the IETF `RateLimit` /
 * `RateLimit-Policy` headers; a limited message gets a JSON-RPC error (code -32083) with `data.retryAfterMs`,
 * and its session goes on.
 * @example
 * rateLimit: {
 *   limits: [
 *     { name: 'per-agent', key: ['subject'], rate: { limit: 100, windowMs: 60_000 } },
 *     { name: 'search', scope: 'message', methods: ['tools/call'], tools: ['search'], key: ['subject'], rate: { limit: 10, windowMs: 60_000 } },
 *   ],
 *   store: { redis: { url: 'redis://127.0.0.1:6379' } },
 * }
 */
export interface RateLimitPolicy {
  /** The limits; a request (or message) must pass every one that applies. @example [{ key: ['subject'], rate: { limit: 100, windowMs: 60000 } }] */
  limits: RateLimitRule[];
  /** Where counters live. @default 'local' @example { redis: { url: 'redis://127.0.0.1:6379' } } */
  store?: RateLimitStore;
  /**
   * What happens when Redis cannot be reached: `failOpen` decides with the same limits counted in this process,
   * `failClosed` refuses (503, or a JSON-RPC error for messages). Either way a log line and a `storeDown` event.
   * @default 'failOpen'
   * @example 'failClosed'
   */
  failureMode?: 'failOpen' | 'failClosed';
  /**
   * Proxies (IP addresses or CIDR ranges) whose `X-Forwarded-For` is believed, for the `clientAddress` key part:
   * the client is the rightmost address not in this list. Absent: the connection's peer address.
   * @default []
   * @example ['10.0.0.0/8', '127.0.0.1']
   */
  trustedProxies?: string[];
  /** Whether responses carry `RateLimit` and `RateLimit-Policy` headers (`Retry-After` is always sent on 429). @default true @example false */
  headers?: boolean;
  /**
   * Most distinct keys each limit counts apart in this process (keys made of a header or claim the caller
   * chooses could otherwise grow the gateway without bound). Past it, keys whose rate bucket is full again are
   * dropped; if none is, every new key shares one bucket, so a flood of distinct keys is limited as one caller.
   * Keys counted in Redis are bounded by their expiry instead.
   * @default 10000
   * @example 100000
   */
  maxKeys?: number;
}
