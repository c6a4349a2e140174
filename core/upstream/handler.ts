import type { Dispatcher } from 'undici';
import type { UpstreamDispatchOptions } from './types.ts';

type Controller = Dispatcher.DispatchController;
type Handler = Dispatcher.DispatchHandler;

/** Reports a failure that happened before anything was dispatched (nothing to abort). */
export function failBeforeDispatch(handler: Handler, err: Error): boolean {
  const controller: Controller = { aborted: true, paused: false, reason: err, abort() {}, pause() {}, resume() {} };
  handler.onResponseError?.(controller, err);
  return true;
}

/**
 * A handler that passes everything to `inner`, with hooks on the response's start and on a failure. The base of
 * the interceptors here: each overrides what it watches.
 */
export class ForwardingHandler implements Handler {
  protected readonly inner: Handler;
  constructor(inner: Handler) {
    this.inner = inner;
  }
  onRequestStart(controller: Controller, context: unknown): void {
    this.inner.onRequestStart?.(controller, context);
  }
  onRequestUpgrade(controller: Controller, statusCode: number, headers: Parameters<NonNullable<Handler['onRequestUpgrade']>>[2], socket: Parameters<NonNullable<Handler['onRequestUpgrade']>>[3]): void {
    this.inner.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }
  onResponseStarted(): void {
    this.inner.onResponseStarted?.();
  }
  onResponseStart(controller: Controller, statusCode: number, headers: Parameters<NonNullable<Handler['onResponseStart']>>[2], statusMessage?: string): void {
    this.inner.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }
  onResponseData(controller: Controller, chunk: Buffer): void {
    this.inner.onResponseData?.(controller, chunk);
  }
  onResponseEnd(controller: Controller, trailers: Parameters<NonNullable<Handler['onResponseEnd']>>[1]): void {
    this.inner.onResponseEnd?.(controller, trailers);
  }
  onResponseError(controller: Controller, err: Error): void {
    this.inner.onResponseError?.(controller, err);
  }
  onBodySent(chunk: Buffer): void {
    this.inner.onBodySent?.(chunk);
  }
  onRequestSent(): void {
    this.inner.onRequestSent?.();
  }
}

/** The backend a dispatch goes to, for messages: the balancer's name for it, else the origin's host. */
export function backendOf(options: UpstreamDispatchOptions): string {
  if (options.backend !== undefined) return options.backend;
  const origin = options.origin;
  if (origin === undefined) return 'unknown';
  try {
    return typeof origin === 'string' ? new URL(origin).host : origin.host;
  } catch {
    return String(origin);
  }
}

type Headers = UpstreamDispatchOptions['headers'];

/**
 * The dispatch's headers with `name` (lower case) set to `value`, or removed when `value` is undefined, whatever
 * form they came in (an object, a flat array, pairs, an iterable). Never changes the caller's object.
 */
export function withHeader(headers: Headers, name: string, value: string | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const add = (k: string, v: unknown) => {
    if (v === undefined || v === null || k.toLowerCase() === name) return;
    out[k] = Array.isArray(v) ? v.map(String) : String(v);
  };
  if (headers == null) {
    // nothing to copy
  } else if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) for (const [k, v] of headers as unknown as Array<[string, string]>) add(k, v);
    else for (let i = 0; i + 1 < headers.length; i += 2) add(String(headers[i]), headers[i + 1]);
  } else if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [k, v] of headers as Iterable<[string, string]>) add(k, v);
  } else {
    for (const [k, v] of Object.entries(headers)) add(k, v);
  }
  if (value !== undefined) out[name] = value;
  return out;
}
