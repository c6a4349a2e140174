import type { Dispatcher } from 'undici';
import { mapUpstreamError } from '../errors.ts';
import { backendOf, ForwardingHandler } from '../handler.ts';
import type { UpstreamDispatchOptions, UpstreamInterceptor } from '../types.ts';

/**
 * Maps undici's failures to the gateway's catalogue (`PCL_ERR_BACKEND_UNREACHABLE`, `PCL_ERR_UPSTREAM_TIMEOUT`),
 * naming the backend. Innermost, so it sees the headers timeout every other interceptor settled on.
 */
export function createErrorMapInterceptor(): UpstreamInterceptor {
  return (dispatch) =>
    function mapErrors(opts, handler) {
      return dispatch(opts, new MappingHandler(handler, opts));
    };
}

class MappingHandler extends ForwardingHandler {
  private readonly opts: UpstreamDispatchOptions;
  constructor(inner: Dispatcher.DispatchHandler, opts: UpstreamDispatchOptions) {
    super(inner);
    this.opts = opts;
  }
  override onResponseError(controller: Dispatcher.DispatchController, err: Error): void {
    // An abort's reason is the caller's own error: it goes back as it was given.
    if (controller?.aborted && controller.reason === err) return this.inner.onResponseError?.(controller, err);
    this.inner.onResponseError?.(controller, mapUpstreamError(err, backendOf(this.opts), this.opts.headersTimeout ?? undefined));
  }
}
