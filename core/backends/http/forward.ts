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

/**
 * One request upstream through undici's dispatch API. Resolves when the response headers arrive; the body then
 * streams. An abort of `signal` cancels the request at any point.
 */
export function forward(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, signal: AbortSignal): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    let controller: Controller | undefined;
    let body: UpstreamBody | undefined;
    let settled = false;
    const onAbort = () => {
      const reason = signal.reason as Error;
      if (controller) controller.abort(reason);
      else fail(reason);
    };
    const cleanup = () => signal.removeEventListener('abort', onAbort);
    const fail = (err: Error) => {
      cleanup();
      if (!settled) {
        settled = true;
        reject(err);
      } else body?.destroy(err);
    };
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    dispatcher.dispatch(options, {
      onRequestStart(c) {
        controller = c;
        if (signal.aborted) c.abort(signal.reason);
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
        cleanup();
        body?.push(null);
      },
      onResponseError(_c, err) {
        fail(err);
      },
    });
  });
}
