import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { HeaderMap } from '../../pipeline/types.ts';

export interface UpstreamResponse {
  status: number;
  headers: HeaderMap;
  body: Readable;
}

type Controller = Parameters<NonNullable<Dispatcher.DispatchHandler['onRequestStart']>>[0];

/**
 * The response body as undici delivers it, with backpressure passed back to the upstream socket. Lighter than
 * `dispatcher.request()`'s body (no consume helpers, no per-request promise plumbing): this is the hot path.
 */
class UpstreamBody extends Readable {
  controller: Controller | undefined;
  override _read(): void {
    this.controller?.resume();
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.readableEnded) this.controller?.abort(err ?? new Error('response body destroyed'));
    cb(err);
  }
}

/** Who can abort a forwarded request: an AbortSignal, or a request context's plain abort callback (cheaper). */
export type AbortSource = AbortSignal | { readonly aborted?: boolean; onAbort(listener: (reason: Error) => void): void };

/**
 * One request upstream through undici's dispatch API. Resolves when the response headers arrive; the body then
 * streams. An abort of `signal` cancels the request at any point. One promise, one handler object: no
 * `dispatcher.request()` layers.
 */
export function forward(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, signal: AbortSource): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    let controller: Controller | undefined;
    let body: UpstreamBody | undefined;
    let settled = false;
    let done = false;
    const fail = (err: Error) => {
      done = true;
      cleanup?.();
      if (!settled) {
        settled = true;
        reject(err);
      } else body?.destroy(err);
    };
    let abortedBy: Error | undefined;
    const onAbort = (reason: Error) => {
      if (done) return;
      abortedBy = reason;
      if (controller) controller.abort(reason);
      else fail(reason);
    };
    let cleanup: (() => void) | undefined;
    if (signal instanceof AbortSignal) {
      if (signal.aborted) return reject(signal.reason);
      const listener = () => onAbort(signal.reason as Error);
      signal.addEventListener('abort', listener, { once: true });
      cleanup = () => signal.removeEventListener('abort', listener);
    } else {
      signal.onAbort(onAbort);
      if (done) return;
    }
    dispatcher.dispatch(options, {
      onRequestStart(c) {
        controller = c;
        if (abortedBy) c.abort(abortedBy);
      },
      onResponseStart(c, statusCode, headers) {
        if (statusCode < 200) return; // 1xx informational responses are not forwarded
        body = new UpstreamBody({ highWaterMark: 64 * 1024 });
        body.controller = c;
        settled = true;
        resolve({ status: statusCode, headers: headers as HeaderMap, body });
      },
      onResponseData(c, chunk) {
        if (body && !body.push(chunk)) c.pause();
      },
      onResponseEnd() {
        done = true;
        cleanup?.();
        body?.push(null);
      },
      onResponseError(_c, err) {
        fail(err);
      },
    });
  });
}
