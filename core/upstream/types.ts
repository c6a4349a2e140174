import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';

/**
 * The dispatch options the gateway's interceptors read. Whatever differs from one request to the next travels
 * here, in the options of that one dispatch, never in state shared by the route.
 */
export interface UpstreamDispatchOptions extends Dispatcher.DispatchOptions {
  /** The headers as the client sent them, for interceptors that pass a client credential through. */
  clientHeaders?: Readonly<IncomingHttpHeaders>;
  /** The gateway request this call serves, for telemetry. */
  requestId?: string;
  /** The route this call serves, for telemetry. */
  route?: string;
  /** The backend chosen for this attempt (set by the balancer), named in errors and events. */
  backend?: string;
  /** 0 for the first attempt; set by the retry interceptor on each retry. */
  attempt?: number;
  /** The backend whose connection just failed: the next choice prefers another (set by the retry interceptor). */
  avoid?: string;
  /** Told which backend each attempt goes to, so the request's log names the one that served it. */
  onBackend?: (backend: string) => void;
}

export type UpstreamDispatch = (options: UpstreamDispatchOptions, handler: Dispatcher.DispatchHandler) => boolean;

/**
 * An undici interceptor: it wraps a dispatch function in another. Factories that make one validate their options
 * when called, at config load, and throw there rather than on a request.
 */
export type UpstreamInterceptor = (dispatch: UpstreamDispatch) => UpstreamDispatch;

/** TLS to the backend: the connection pool of a route that has these settings is its own. */
export interface UpstreamTls {
  /** CA certificates (PEM) trusted for the backend's certificate; the system's when absent. */
  ca?: Buffer;
  /** Client certificate and key (PEM), for backends that require mutual TLS. */
  cert?: Buffer;
  key?: Buffer;
  /** Server name sent in SNI and checked against the certificate. */
  servername?: string;
  /** False accepts any certificate. */
  rejectUnauthorized: boolean;
  /** True accepts a trusted certificate issued for another name. */
  skipHostnameCheck?: boolean;
}

/**
 * What a policy of the `upstream` kind adds to how its route calls backends, built once when the config loads.
 * The route composes every policy's contribution into one dispatcher (see `createRouteUpstream`).
 */
export interface UpstreamContribution {
  /**
   * Wraps each attempt, after the backend is chosen (`options.origin` and `options.backend` are set): time
   * limits, credentials.
   */
  attempt?: UpstreamInterceptor;
  /**
   * Wraps the whole call, around the choice of backend, so that a dispatch again from here picks a backend
   * again: retries. When no policy gives one, the route retries once after 25 ms (see `DEFAULT_RETRY`).
   */
  call?: UpstreamInterceptor;
  /** TLS to the backend. One policy of a route at most sets it. */
  tls?: UpstreamTls;
  /**
   * True when an interceptor reads the client's headers from the dispatch options: a backend that calls upstream
   * outside any client request (an MCP session's connection) refuses such a route.
   */
  readsClientHeaders?: boolean;
}
