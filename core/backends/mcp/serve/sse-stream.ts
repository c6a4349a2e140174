import { PassThrough } from 'node:stream';
import type { GatewayResponse } from '../../../pipeline/index.ts';
import type { JsonRpcMessage } from '../../../protocol/jsonrpc.ts';
import { encodeSseComment, encodeSseEvent } from '../../../protocol/sse.ts';

const KEEPALIVE_MS = 15_000;
const KEEPALIVE = encodeSseComment('keepalive');

/**
 * A server-sent-events response body. Comments keep idle proxies from cutting it; it ends when the client
 * leaves (the request's signal) or when the gateway ends it.
 */
export class SseStream {
  readonly body = new PassThrough();
  closed = false;
  /**
   * A stream that carries no answer in progress (a GET notification stream, a legacy SSE session's stream): a
   * drain ends it at once, with a `retry` hint. A POST's answer stream finishes its requests first.
   */
  drainable = false;
  private readonly keepalive: NodeJS.Timeout;
  private readonly onEnd: Array<() => void> = [];

  constructor(signal: AbortSignal) {
    this.keepalive = setInterval(() => this.body.write(KEEPALIVE), KEEPALIVE_MS).unref();
    const end = () => this.end();
    if (signal.aborted) queueMicrotask(end);
    else signal.addEventListener('abort', end, { once: true });
    this.body.once('close', end);
  }

  response(headers: Record<string, string> = {}): GatewayResponse {
    return {
      status: 200,
      headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no', ...headers },
      body: this.body,
    };
  }

  /** Writes one message; false when the stream is already closed. */
  send(message: JsonRpcMessage): boolean {
    return this.event('message', JSON.stringify(message));
  }

  event(name: string, data: string): boolean {
    if (this.closed) return false;
    this.body.write(encodeSseEvent({ event: name, data }));
    return true;
  }

  whenEnded(fn: () => void): void {
    if (this.closed) fn();
    else this.onEnd.push(fn);
  }

  /** Ends the stream; with `retryMs` (a drain), its last event tells the client when to reconnect. */
  end(retryMs?: number): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepalive);
    if (retryMs !== undefined) this.body.write(`retry: ${retryMs}\n\n`);
    this.body.end();
    for (const fn of this.onEnd.splice(0)) fn();
  }
}
