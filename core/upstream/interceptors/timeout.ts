import type { UpstreamInterceptor } from '../types.ts';

/**
 * Bounds the time each attempt may take to receive the response headers; an attempt over it fails with
 * `PCL_ERR_UPSTREAM_TIMEOUT` naming the backend and the limit. A body that has started streaming is bounded by
 * the body idle timeout instead.
 */
export function createAttemptTimeoutInterceptor(timeoutMs: number): UpstreamInterceptor {
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new RangeError(`the attempt timeout must be an integer of 1 ms or more, got ${timeoutMs}`);
  return (dispatch) =>
    function attemptTimeout(opts, handler) {
      return dispatch({ ...opts, headersTimeout: timeoutMs }, handler);
    };
}

export interface DispatchDefaults {
  /** Headers timeout when no policy sets one. */
  headersTimeoutMs: number;
  /** Silence allowed while a response body streams. */
  bodyIdleTimeoutMs: number;
}

/** The route's defaults for what no policy set; innermost but for the error mapping. */
export function createDefaultsInterceptor(defaults: DispatchDefaults): UpstreamInterceptor {
  for (const [k, v] of Object.entries(defaults)) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`${k} must be an integer of 0 or more, got ${v}`);
  }
  return (dispatch) =>
    function upstreamDefaults(opts, handler) {
      if (opts.headersTimeout != null && opts.bodyTimeout != null) return dispatch(opts, handler);
      return dispatch({ ...opts, headersTimeout: opts.headersTimeout ?? defaults.headersTimeoutMs, bodyTimeout: opts.bodyTimeout ?? defaults.bodyIdleTimeoutMs }, handler);
    };
}
