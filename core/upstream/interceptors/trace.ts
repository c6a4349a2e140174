import type { Dispatcher } from 'undici';
import { upstreamChannel, type UpstreamAttemptEvent } from '../../telemetry/index.ts';
import { backendOf, ForwardingHandler } from '../handler.ts';
import type { UpstreamInterceptor } from '../types.ts';

/**
 * Publishes each attempt on the `portcullis:upstream` TracingChannel: `start` when dispatched, `end` when the
 * dispatch returns, then `asyncStart`/`asyncEnd` when the headers arrive (with `status`), after `error` (with
 * `errorCode`) when it failed. Costs one check per attempt when nobody subscribes.
 */
export function createTraceInterceptor(routeName = ''): UpstreamInterceptor {
  return (dispatch) =>
    function traceAttempt(opts, handler) {
      if (!upstreamChannel.hasSubscribers) return dispatch(opts, handler);
      const event: UpstreamAttemptEvent = {
        requestId: opts.requestId ?? '',
        route: opts.route ?? routeName,
        backend: backendOf(opts),
        attempt: opts.attempt ?? 0,
        method: opts.method,
        origin: String(opts.origin ?? ''),
        path: opts.path,
      };
      upstreamChannel.start.publish(event);
      if (event.propagation) opts = { ...opts, headers: withHeaders(opts.headers, event.propagation) };
      try {
        return dispatch(opts, new TracingHandler(handler, event));
      } finally {
        upstreamChannel.end.publish(event);
      }
    };
}

class TracingHandler extends ForwardingHandler {
  private readonly event: UpstreamAttemptEvent;
  private settled = false;
  constructor(inner: Dispatcher.DispatchHandler, event: UpstreamAttemptEvent) {
    super(inner);
    this.event = event;
  }
  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    upstreamChannel.asyncStart.publish(this.event);
    upstreamChannel.asyncEnd.publish(this.event);
  }
  override onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Parameters<ForwardingHandler['onResponseStart']>[2], statusMessage?: string): void {
    if (statusCode >= 200 && !this.settled) {
      this.event.status = statusCode;
      this.settle();
    }
    super.onResponseStart(controller, statusCode, headers, statusMessage);
  }
  override onResponseError(controller: Dispatcher.DispatchController, err: Error): void {
    if (!this.settled) {
      this.event.errorCode = (err as { code?: string }).code;
      this.event.error = err;
      upstreamChannel.error.publish(this.event);
      this.settle();
    }
    super.onResponseError(controller, err);
  }
}

/** The dispatch headers with `extra` set (replacing same-named ones), whatever form undici was given them in. */
function withHeaders(headers: Dispatcher.DispatchOptions['headers'], extra: Record<string, string>): Dispatcher.DispatchOptions['headers'] {
  const out: Record<string, string | string[]> = {};
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) out[String(headers[i]).toLowerCase()] = headers[i + 1] as string;
  } else if (headers && typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [k, v] of headers as Iterable<[string, string | string[]]>) out[k.toLowerCase()] = v;
  } else if (headers) {
    for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k.toLowerCase()] = v as string | string[];
  }
  for (const [k, v] of Object.entries(extra)) out[k] = v;
  return out;
}
