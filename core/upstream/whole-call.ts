import type { Dispatcher } from 'undici';
import { watchAbort, type AbortSource } from './abort.ts';

type Controller = Dispatcher.DispatchController;

/** An answer read whole: its status, its headers (lower-case names, as undici parses them) and its body. */
export interface WholeAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export interface WholeCallOptions {
  /** Largest body read; a larger one aborts the call, which fails with `tooLarge()`. */
  limit: number;
  tooLarge(): Error;
  /** Cancels the call at any point; the call then fails with the abort's reason. */
  abort?: AbortSource;
}

/**
 * One call through `dispatcher` (the route's composed interceptors all apply) whose answer is read whole, pushed
 * chunk by chunk into one list by undici's dispatch handler: no `dispatcher.request()` body stream, no async
 * iteration, one promise per call. For answers a caller parses whole (JSON-RPC results, small JSON); a stream that
 * is passed on as it comes (SSE) needs `dispatcher.request()` or a streaming handler instead.
 */
export function callWhole(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, o: WholeCallOptions): Promise<WholeAnswer> {
  return new WholeCall(o).send(dispatcher, options);
}

class WholeCall implements Dispatcher.DispatchHandler {
  private readonly o: WholeCallOptions;
  private controller: Controller | undefined;
  private status = 0;
  private headers: Record<string, string | string[]> = {};
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private done = false;
  private abortedBy: Error | undefined;
  private cleanup: (() => void) | undefined;
  private resolve!: (value: WholeAnswer) => void;
  private reject!: (err: unknown) => void;

  constructor(o: WholeCallOptions) {
    this.o = o;
  }

  send(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions): Promise<WholeAnswer> {
    const promise = new Promise<WholeAnswer>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.cleanup = watchAbort(this.o.abort, this.onAbort);
    if (this.done) return promise;
    try {
      dispatcher.dispatch(options, this);
    } catch (err) {
      this.fail(err as Error);
    }
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
    if (this.done) return;
    this.done = true;
    this.cleanup?.();
    this.reject(err);
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.abortedBy) controller.abort(this.abortedBy);
  }

  onResponseStart(_controller: Controller, statusCode: number, headers: Record<string, string | string[]>): void {
    if (statusCode < 200) return; // 1xx informational responses are not the answer
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.done) return;
    this.size += chunk.length;
    if (this.size > this.o.limit) {
      const err = this.o.tooLarge();
      this.fail(err);
      controller.abort(err);
      return;
    }
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.done) return;
    this.done = true;
    this.cleanup?.();
    const chunks = this.chunks;
    this.resolve({ status: this.status, headers: this.headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.size) });
  }

  onResponseError(_controller: Controller, err: Error): void {
    this.fail(err);
  }
}
