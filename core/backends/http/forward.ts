import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { HeaderMap, WholeBody } from '../../pipeline/index.ts';
import { watchAbort, type AbortSource } from '../../upstream/index.ts';

export interface UpstreamResponse {
  status: number;
  headers: HeaderMap;
  body: UpstreamBody;
}

type Controller = Parameters<NonNullable<Dispatcher.DispatchHandler['onRequestStart']>>[0];

/** Bytes held before the upstream socket is paused while nothing reads the body yet. */
const HIGH_WATER_MARK = 64 * 1024;

/**
 * The response body as undici delivers it, with backpressure passed back to the upstream socket. Lighter than
 * `dispatcher.request()`'s body (no consume helpers, no per-request promise plumbing): this is the hot path.
 *
 * Until something reads it, what arrives is only kept (not pushed through the stream machinery), so that a body
 * that has fully arrived by the time the response is written is handed over whole (`takeWhole`): one write to the
 * client instead of a stream's ticks, which is the common case for small responses.
 */
export class UpstreamBody extends Readable implements WholeBody {
  private controller: Controller;
  /** Chunks received before the first read; undefined once reading started. */
  private held: Buffer[] | undefined = [];
  private heldBytes = 0;
  /** The upstream's end arrived while the body was held. */
  private complete = false;
  /** The upstream's end arrived. */
  private upstreamDone = false;

  constructor(controller: Controller) {
    super({ highWaterMark: HIGH_WATER_MARK });
    this.controller = controller;
  }

  /** A chunk from the upstream. */
  upstreamData(chunk: Buffer): void {
    const held = this.held;
    if (held === undefined) {
      if (!this.push(chunk)) this.controller.pause();
      return;
    }
    held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes >= HIGH_WATER_MARK) this.controller.pause();
  }

  /** The upstream's end of the body. */
  upstreamEnd(): void {
    this.upstreamDone = true;
    if (this.held === undefined) this.push(null);
    else this.complete = true;
  }

  takeWhole(): Buffer | undefined {
    const held = this.held;
    if (held === undefined || !this.complete || this.destroyed) return undefined;
    // The stream is left as it is, never read: nothing of it is left to release upstream.
    this.held = undefined;
    return held.length === 1 ? held[0] : Buffer.concat(held, this.heldBytes);
  }

  override _read(): void {
    const held = this.held;
    if (held !== undefined) {
      this.held = undefined;
      for (const chunk of held) this.push(chunk);
      if (this.complete) {
        this.push(null);
        return;
      }
    }
    this.controller.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.held = undefined;
    if (!this.upstreamDone) this.controller.abort(err ?? new Error('response body destroyed'));
    cb(err);
  }
}


/**
 * One request upstream through undici's dispatch API. Resolves when the response headers arrive; the body then
 * streams. An abort of `signal` cancels the request at any point.
 */
export function forward(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, signal: AbortSource): Promise<UpstreamResponse> {
  return new ResponseCall().send(dispatcher, options, signal);
}

/**
 * One call upstream, and its handler: it settles the one promise of the call itself, when the response headers
 * arrive (or the call fails). No `dispatcher.request()` layers, no closure per call but the abort listener.
 */
export abstract class UpstreamCall<T> implements Dispatcher.DispatchHandler {
  private controller: Controller | undefined;
  private body: UpstreamBody | undefined;
  private settled = false;
  private done = false;
  private abortedBy: Error | undefined;
  private cleanup: (() => void) | undefined;
  private resolve!: (value: T) => void;
  private reject!: (err: unknown) => void;

  /** What the caller gets once the response head arrived. */
  protected abstract started(status: number, headers: Record<string, string | string[]>, body: UpstreamBody): T;

  /** The error the caller gets when the call failed with `err`. */
  protected failure(err: Error): unknown {
    return err;
  }

  send(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, signal: AbortSource): Promise<T> {
    const promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.cleanup = watchAbort(signal, this.onAbort);
    if (this.done) return promise;
    dispatcher.dispatch(options, this);
    return promise;
  }

  /** The abort listener, as a function of its own (a context calls it without `this`). */
  private readonly onAbort = (reason: Error): void => this.abort(reason);

  private abort(reason: Error): void {
    if (this.done) return;
    this.abortedBy = reason;
    if (this.controller) this.controller.abort(reason);
    else this.fail(reason);
  }

  private fail(err: Error): void {
    this.done = true;
    this.cleanup?.();
    if (!this.settled) {
      this.settled = true;
      this.reject(this.failure(err));
    } else this.body?.destroy(err);
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.abortedBy) controller.abort(this.abortedBy);
  }

  onResponseStart(controller: Controller, statusCode: number, headers: Record<string, string | string[]>): void {
    if (statusCode < 200) return; // 1xx informational responses are not forwarded
    const body = (this.body = new UpstreamBody(controller));
    this.settled = true;
    let value: T;
    try {
      value = this.started(statusCode, headers, body);
    } catch (err) {
      body.destroy();
      this.reject(err);
      return;
    }
    this.resolve(value);
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    this.body?.upstreamData(chunk);
  }

  onResponseEnd(): void {
    this.done = true;
    this.cleanup?.();
    this.body?.upstreamEnd();
  }

  onResponseError(_controller: Controller, err: Error): void {
    this.fail(err);
  }
}

class ResponseCall extends UpstreamCall<UpstreamResponse> {
  protected started(status: number, headers: Record<string, string | string[]>, body: UpstreamBody): UpstreamResponse {
    return { status, headers, body };
  }
}
