import { Agent, type Dispatcher } from 'undici';
import { ErrorCodes, GatewayError } from '../errors.ts';
import { createErrorMapInterceptor } from './interceptors/error-map.ts';
import { createRetryInterceptor, DEFAULT_RETRY } from './interceptors/retry.ts';
import { createDefaultsInterceptor } from './interceptors/timeout.ts';
import { createTraceInterceptor } from './interceptors/trace.ts';
import type { UpstreamContribution, UpstreamInterceptor, UpstreamTls } from './types.ts';

/** When no policy bounds an attempt, it may wait this long for response headers. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 300_000;

export interface RouteUpstreamOptions {
  /** The route's `upstream` policy contributions, in phase order (the first wraps the later ones). */
  contributions: readonly UpstreamContribution[];
  /** The gateway's `upstream` connection settings. */
  connectTimeoutMs: number;
  keepAliveTimeoutMs: number;
  bodyIdleTimeoutMs: number;
  /** Where the route sits, for messages: `binds[0].listeners[0].routes[1]`. */
  path: string;
  /** The route's name, for telemetry of calls that do not name it (remote MCP targets). */
  routeName?: string;
}

export interface ComposeOptions {
  /** The connection pool to use when the route has no backend TLS of its own (then it has its own pool). */
  shared: Dispatcher;
  /** The backend's choice of origin for each attempt (a balancer); single-origin callers give none. */
  choose?: UpstreamInterceptor;
}

/**
 * How one route calls its backends, built once at config load from its policies. Every backend of the route
 * (HTTP hosts, remote MCP targets) composes its dispatcher from it, so time limits, retries, backend TLS and
 * credentials apply to all of them alike.
 */
export interface RouteUpstream {
  /** True when the route has backend TLS: host backends are then called over `https`. */
  readonly tls: boolean;
  /** True when a policy passes the client's credential through: every dispatch must carry `clientHeaders`. */
  readonly readsClientHeaders: boolean;
  /**
   * The route's dispatcher, outermost first: retries (each re-dispatch chooses again), the backend's choice,
   * telemetry, per-attempt policies (time limits, credentials), defaults, error mapping, the connection pool.
   */
  compose(options: ComposeOptions): Dispatcher;
  /** Closes the route's own connection pool, if it has one. */
  close(): Promise<void>;
}

export function createRouteUpstream(options: RouteUpstreamOptions): RouteUpstream {
  const tlsSettings = options.contributions.filter((c) => c.tls !== undefined);
  if (tlsSettings.length > 1) throw new GatewayError(ErrorCodes.CONFIG_INVALID, `${options.path}.policies: backend TLS is set by ${tlsSettings.length} policies; set it once`);
  const tls = tlsSettings[0]?.tls;
  const own = tls === undefined ? undefined : createTlsAgent(tls, options);
  const calls = options.contributions.flatMap((c) => (c.call ? [c.call] : []));
  const attempts = options.contributions.flatMap((c) => (c.attempt ? [c.attempt] : []));
  const inner = [
    createErrorMapInterceptor(),
    createDefaultsInterceptor({ headersTimeoutMs: DEFAULT_HEADERS_TIMEOUT_MS, bodyIdleTimeoutMs: options.bodyIdleTimeoutMs }),
    ...attempts.reverse(),
    createTraceInterceptor(options.routeName),
  ];
  const outer = calls.length > 0 ? calls.reverse() : [createRetryInterceptor(DEFAULT_RETRY)];
  return {
    tls: own !== undefined,
    readsClientHeaders: options.contributions.some((c) => c.readsClientHeaders === true),
    compose({ shared, choose }) {
      // undici's compose applies the first interceptor innermost.
      const chain = [...inner, ...(choose ? [choose] : []), ...outer] as unknown as Dispatcher.DispatcherComposeInterceptor[];
      return (own ?? shared).compose(chain);
    },
    close: async () => {
      await own?.close();
    },
  };
}

function createTlsAgent(tls: UpstreamTls, options: RouteUpstreamOptions): Agent {
  return new Agent({
    connect: {
      timeout: options.connectTimeoutMs,
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      servername: tls.servername,
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(tls.skipHostnameCheck ? { checkServerIdentity: () => undefined } : {}),
    },
    keepAliveTimeout: options.keepAliveTimeoutMs,
  });
}
