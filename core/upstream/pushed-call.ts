import type { Dispatcher } from 'undici';
import { watchAbort } from './abort.ts';

type Controller = Dispatcher.DispatchController;

/** Where a pushed body goes: each chunk as undici delivers it, then its end or its failure (exactly one of them). */
export interface BodySink {
  data(chunk: Buffer): void;
  end(): void;
  error(err: Error): void;
}

/**
 * A response body pushed chunk by chunk to one sink, straight from undici's dispatch handler: no stream, no async
 * iteration. What arrives before `pipe` is kept and handed over first.
 */
export interface PushedBody {
  /** Sends the body to `sink` (once). */
  pipe(sink: BodySink): void;
  /** Stops the body: the upstream request is aborted, and the sink (if any) gets `err`. */
  destroy(err?: Error): void;
}

export interface PushedResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: PushedBody;
}

/**
 * One call through `dispatcher` (the route's composed interceptors all apply), resolved when the response head
 * arrives, its body then pushed to whoever pipes it. An abort of `signal` fails the call, or the body with the
 * signal's reason once the head arrived.
 */
export function callPushed(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, signal?: AbortSignal): Promise<PushedResponse> {
  return new PushedCall().send(dispatcher, options, signal);
}

class PushedCall implements Dispatcher.DispatchHandler, PushedBody {
  private controller: Controller | undefined;
  private sink: BodySink | undefined;
  private held: Buffer[] | undefined = [];
  /** The body ended (true), failed (an Error), or neither yet (undefined). */
  private outcome: true | Error | undefined;
  private started = false;
  private done = false;
  private abortedBy: Error | undefined;
  private cleanup: (() => void) | undefined;
  private resolve!: (value: PushedResponse) => void;
  private reject!: (err: unknown) => void;

  send(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, signal?: AbortSignal): Promise<PushedResponse> {
    const promise = new Promise<PushedResponse>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.cleanup = watchAbort(signal, (reason) => this.destroy(reason));
    if (this.done) return promise;
    try {
      dispatcher.dispatch(options, this);
    } catch (err) {
      this.finish(err as Error);
    }
    return promise;
  }

  pipe(sink: BodySink): void {
    if (this.sink) throw new Error('the body is already piped');
    this.sink = sink;
    const held = this.held;
    this.held = undefined;
    if (held) for (const chunk of held) sink.data(chunk);
    if (this.outcome === true) sink.end();
    else if (this.outcome) sink.error(this.outcome);
  }

  destroy(err: Error = new Error('response body destroyed')): void {
    if (this.done) return;
    this.abortedBy = err;
    if (this.controller) this.controller.abort(err);
    else this.finish(err);
  }

  /** The call's end: the body's end (`true`) or a failure, before or after the head arrived. */
  private finish(outcome: true | Error): void {
    if (this.done) return;
    this.done = true;
    this.cleanup?.();
    if (!this.started) {
      this.started = true;
      this.reject(outcome === true ? new Error('the response ended before its head') : outcome);
      return;
    }
    this.outcome = outcome;
    // Without a sink yet, `pipe` hands over what was held and then this outcome.
    const sink = this.sink;
    if (!sink) return;
    if (outcome === true) sink.end();
    else sink.error(outcome);
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.abortedBy) controller.abort(this.abortedBy);
  }

  onResponseStart(_controller: Controller, statusCode: number, headers: Record<string, string | string[]>): void {
    if (statusCode < 200 || this.started) return; // 1xx informational responses are not the answer
    this.started = true;
    this.resolve({ status: statusCode, headers, body: this });
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (this.done) return;
    if (this.sink) this.sink.data(chunk);
    else this.held!.push(chunk);
  }

  onResponseEnd(): void {
    this.finish(true);
  }

  onResponseError(_controller: Controller, err: Error): void {
    this.finish(err);
  }
}

/** A pushed body read whole, up to `max` bytes; past it, the body is destroyed and the read fails with `tooLarge()`. */
export function readPushed(body: PushedBody, max: number, tooLarge: () => Error): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    body.pipe({
      data(chunk) {
        if (over) return;
        size += chunk.length;
        if (size > max) {
          over = true;
          const err = tooLarge();
          reject(err);
          body.destroy(err);
          return;
        }
        chunks.push(chunk);
      },
      end() {
        if (!over) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      },
      error(err) {
        if (!over) reject(err);
      },
    });
  });
}
