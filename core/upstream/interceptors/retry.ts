import type { Dispatcher } from 'undici';
import { isConnectFailure, UpstreamAttemptError } from '../errors.ts';
import { ForwardingHandler } from '../handler.ts';
import type { UpstreamDispatch, UpstreamDispatchOptions, UpstreamInterceptor } from '../types.ts';

/** Methods that may be sent twice without changing the outcome. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export interface RetryOptions {
  /** Extra attempts after the first, 0 to 10. */
  attempts: number;
  /** Pause before each retry, in ms (0 or more). */
  backoffMs: number;
  /** Response statuses that are retried too (agentgateway's `retry.codes`), e.g. 503: the answer is dropped unread. */
  codes?: readonly number[];
}

/** Ends an attempt whose status is one of `codes`, so that it is retried. */
class RetryableStatus extends Error {}

/** What a route does when no policy says otherwise: one retry, 25 ms after the failure. */
export const DEFAULT_RETRY: RetryOptions = { attempts: 1, backoffMs: 25 };

/**
 * Retries a body-less idempotent request whose connection failed (nothing reached the backend, so a second
 * attempt is safe). Placed around the choice of backend: each retry is dispatched with `attempt` and `avoid` set,
 * so the balancer picks another backend when there is one.
 */
export function createRetryInterceptor(options: RetryOptions): UpstreamInterceptor {
  const { attempts, backoffMs } = options;
  const codes = new Set(options.codes ?? []);
  if (!Number.isInteger(attempts) || attempts < 0 || attempts > 10) throw new RangeError(`retry attempts must be an integer from 0 to 10, got ${attempts}`);
  if (!Number.isInteger(backoffMs) || backoffMs < 0) throw new RangeError(`retry backoffMs must be an integer of 0 or more, got ${backoffMs}`);
  return (dispatch) =>
    function retry(opts, handler) {
      if (attempts === 0 || opts.body != null || !IDEMPOTENT.has(opts.method)) return dispatch(opts, handler);
      new RetryingCall(dispatch, opts, handler, attempts, backoffMs, codes).next();
      return true;
    };
}

/**
 * One call with its retries. The caller sees one controller for the whole call, so an abort reaches whichever
 * attempt is running, or cancels the wait between two.
 */
class RetryingCall implements Dispatcher.DispatchController {
  private attempt = 0;
  private current?: Dispatcher.DispatchController;
  private abortReason: Error | null = null;
  private started = false;
  private announced = false;
  private waiting?: NodeJS.Timeout;
  private readonly dispatch: UpstreamDispatch;
  private readonly opts: UpstreamDispatchOptions;
  private readonly handler: Dispatcher.DispatchHandler;
  private readonly attempts: number;
  private readonly backoffMs: number;
  readonly codes: ReadonlySet<number>;

  constructor(dispatch: UpstreamDispatch, opts: UpstreamDispatchOptions, handler: Dispatcher.DispatchHandler, attempts: number, backoffMs: number, codes: ReadonlySet<number>) {
    this.dispatch = dispatch;
    this.opts = opts;
    this.handler = handler;
    this.attempts = attempts;
    this.backoffMs = backoffMs;
    this.codes = codes;
  }

  /** Whether an attempt that answered `status` is dropped and sent again. */
  retriesStatus(status: number): boolean {
    return this.codes.has(status) && !this.abortReason && this.attempt < this.attempts;
  }

  get aborted(): boolean {
    return this.abortReason !== null;
  }
  get paused(): boolean {
    return this.current?.paused ?? false;
  }
  get reason(): Error | null {
    return this.abortReason;
  }
  get rawHeaders(): Dispatcher.DispatchController['rawHeaders'] {
    return this.current?.rawHeaders;
  }
  get rawTrailers(): Dispatcher.DispatchController['rawTrailers'] {
    return this.current?.rawTrailers;
  }
  abort(reason: Error): void {
    if (this.abortReason) return;
    this.abortReason = reason;
    if (this.waiting) {
      clearTimeout(this.waiting);
      this.waiting = undefined;
      this.handler.onResponseError?.(this, reason);
    } else this.current?.abort(reason);
  }
  pause(): void {
    this.current?.pause();
  }
  resume(): void {
    this.current?.resume();
  }

  next(avoid?: string): void {
    const opts = this.attempt === 0 ? this.opts : { ...this.opts, attempt: this.attempt, avoid };
    this.dispatch(opts, new AttemptHandler(this, this.handler));
  }

  /** Called by the attempt that just started, so an abort reaches it. */
  attach(controller: Dispatcher.DispatchController, context: unknown): void {
    this.current = controller;
    if (this.abortReason) controller.abort(this.abortReason);
    else if (!this.announced) {
      this.announced = true;
      this.handler.onRequestStart?.(this, context);
    }
  }

  responseStarted(): void {
    this.started = true;
  }

  /** An attempt failed: retry when nothing reached the backend and attempts remain; else report the failure. */
  failed(err: Error): void {
    this.current = undefined;
    const retryable = err instanceof RetryableStatus || isConnectFailure(err);
    if (this.started || this.abortReason || this.attempt >= this.attempts || !retryable) {
      this.handler.onResponseError?.(this, this.abortReason ?? err);
      return;
    }
    this.attempt++;
    const avoid = err instanceof UpstreamAttemptError ? err.backend : undefined;
    // An attempt that failed to connect never started, so the caller may hold no controller yet: hand it this one
    // now, or its abort during the wait could not cancel the retry (sent anyway, the timer keeping the process up).
    if (!this.announced) {
      this.announced = true;
      this.handler.onRequestStart?.(this, {});
    }
    this.waiting = setTimeout(() => {
      this.waiting = undefined;
      this.next(avoid);
    }, this.backoffMs);
  }
}

class AttemptHandler extends ForwardingHandler {
  private readonly call: RetryingCall;
  constructor(call: RetryingCall, inner: Dispatcher.DispatchHandler) {
    super(inner);
    this.call = call;
  }
  override onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.call.attach(controller, context);
  }
  private dropped = false;
  override onResponseStart(c: Dispatcher.DispatchController, statusCode: number, headers: Parameters<ForwardingHandler['onResponseStart']>[2], statusMessage?: string): void {
    if (statusCode >= 200 && this.call.retriesStatus(statusCode)) {
      this.dropped = true;
      c.abort(new RetryableStatus(`status ${statusCode}`));
      return;
    }
    if (statusCode >= 200) this.call.responseStarted();
    this.inner.onResponseStart?.(this.call, statusCode, headers, statusMessage);
  }
  override onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.dropped) return;
    this.inner.onResponseData?.(this.call, chunk);
  }
  override onResponseEnd(_c: Dispatcher.DispatchController, trailers: Parameters<ForwardingHandler['onResponseEnd']>[1]): void {
    if (this.dropped) return;
    this.inner.onResponseEnd?.(this.call, trailers);
  }
  override onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.call.failed(err);
  }
}
