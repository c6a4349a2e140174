import { Agent, request, type Dispatcher } from 'undici';
import { ErrorCodes } from '../../../errors.ts';
import { isResponse, type JsonRpcId, type JsonRpcMessage } from '../../../protocol/jsonrpc.ts';
import { createSseDecoder, DEFAULT_MAX_SSE_EVENT_BYTES, SseDecodeError, type SseDecoder, type SseEvent } from '../../../protocol/sse.ts';
import type { UpstreamTransport } from './transport.ts';
import { mirroredHeaders } from '../era.ts';
import { failedAnswer, parseUpstreamMessages, preview, requestIdOf, UpstreamProtocolError } from './upstream-answer.ts';
import { callPushed, readPushed, type PushedBody, type UpstreamDispatchOptions } from '../../../upstream/index.ts';

/**
 * One keep-alive pool for every upstream session of routes without backend TLS: thousands of idle sessions share
 * sockets instead of each holding a fetch stack. No per-origin limit, since every session may hold a GET stream
 * open. Routes compose their upstream policies on top of it (see core/upstream).
 */
export const sharedRemoteAgent = new Agent({ keepAliveTimeout: 30_000, connections: null, pipelining: 1 });

/** An HTTP error from the upstream; `code` is the status, so a 404 (session forgotten) can be told apart. */
export class UpstreamHttpError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = 'UpstreamHttpError';
    this.code = code;
  }
}

export interface RemoteTransportOptions {
  /** The target's name, for the errors a client gets and the log. */
  target: string;
  headers?: Record<string, string>;
  dispatcher?: Dispatcher;
  /** Bytes one SSE event or JSON body may have. @default 16 MiB */
  maxMessageBytes?: number;
}

/** Resuming a broken answer stream, and reconnecting the GET stream: consecutive failures allowed, first delay. */
const MAX_RECONNECTS = 5;
/** Resumptions of one answer in all, progress or not: a server that polls forever without answering is let go. */
const MAX_RESUMES = 100;
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 30_000;

/** The delay before reconnect `attempt` (0-based): the server's `retry` when it gave one, else exponential backoff. */
function reconnectDelay(attempt: number, retryMs: number | undefined): number {
  return retryMs ?? Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** attempt);
}

const isEventStream = (type: string) => /^\s*text\/event-stream\b/i.test(type);
const isJson = (type: string) => /^\s*application\/(?:[\w.+-]+\+)?json\b/i.test(type);

/** What one read of an event stream ended with. */
interface StreamEnd {
  /** The answer the call waited for arrived (or the call was answered with an error). */
  answered: boolean;
  /** The stream delivered at least one event. */
  progressed: boolean;
  /** Why it broke, if it did not end cleanly. */
  error?: Error;
}

/**
 * The streamable HTTP transport, client side, on undici and the gateway's SSE codec, written to the MCP spec
 * (2025-06-18, 2025-11-25) rather than to one SDK: POST each message and take any 2xx with an empty body as an
 * acknowledgement, whatever its content type; read a JSON or SSE answer by content type; resume an answer stream
 * that breaks mid-call with GET + `Last-Event-ID` where the server gave event ids; keep a GET stream for what the
 * server sends on its own, reconnecting with `Last-Event-ID` after the server's `retry`; DELETE the session on close.
 * Whatever the target sends that is not JSON-RPC reaches the waiting call as a JSON-RPC error naming the target.
 */
export class StreamableHttpTransport implements UpstreamTransport {
  onmessage?: (message: JsonRpcMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  private sessionId?: string;
  private protocolVersion?: string;
  private closed = false;
  private getStreamOpen = false;
  private readonly url: URL;
  /** The URL's origin and path, taken apart once: each POST is dispatched with them as they are. */
  private readonly origin: string;
  private readonly path: string;
  /** The host the route's interceptors name in events and errors (what `backendOf` would parse from the origin per call). */
  private readonly host: string;
  private readonly target: string;
  private readonly headers: Record<string, string>;
  private readonly streams = new AbortController();
  private readonly dispatcher: Dispatcher;
  private readonly maxBytes: number;

  constructor(url: URL, options: RemoteTransportOptions) {
    this.url = url;
    this.origin = url.origin;
    this.path = `${url.pathname}${url.search}`;
    this.host = url.host;
    this.target = options.target;
    this.headers = options.headers ?? {};
    this.dispatcher = options.dispatcher ?? sharedRemoteAgent;
    this.maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_SSE_EVENT_BYTES;
  }

  async start(): Promise<void> {}

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
  }

  get upstreamSessionId(): string | undefined {
    return this.sessionId;
  }

  /** Takes over an upstream session another replica initialized (see core/cluster/sealed-id.ts), and opens its GET stream. */
  resume(sessionId: string | undefined, version: string): void {
    this.sessionId = sessionId;
    this.protocolVersion = version;
    if (!this.getStreamOpen) {
      this.getStreamOpen = true;
      void this.standaloneStream();
    }
  }

  private requestHeaders(accept: string, lastEventId?: string): Record<string, string> {
    const h: Record<string, string> = { ...this.headers, accept };
    if (this.sessionId) h['mcp-session-id'] = this.sessionId;
    if (this.protocolVersion) h['mcp-protocol-version'] = this.protocolVersion;
    if (lastEventId !== undefined) h['last-event-id'] = lastEventId;
    return h;
  }

  async send(message: JsonRpcMessage, extraHeaders?: Record<string, string>): Promise<void> {
    if (this.closed) throw new Error('the transport is closed');
    // The answer's body is pushed by the dispatch handler into the SSE decoder or one buffer: no body stream.
    const res = await callPushed(
      this.dispatcher,
      {
        origin: this.origin,
        path: this.path,
        method: 'POST',
        headers: { ...this.requestHeaders('application/json, text/event-stream'), ...traceHeaders(message), ...mirroredHeaders(message, this.protocolVersion), ...extraHeaders, 'content-type': 'application/json' },
        body: JSON.stringify(message),
        backend: this.host,
      } as UpstreamDispatchOptions,
      this.streams.signal,
    );
    const sid = res.headers['mcp-session-id'];
    if (typeof sid === 'string') this.sessionId = sid;
    if (res.status < 200 || res.status >= 300) {
      const text = await readPushed(res.body, 4096, tooLarge(4096)).then((b) => new TextDecoder().decode(b), () => '');
      throw new UpstreamHttpError(res.status, `upstream answered HTTP ${res.status}: ${text.slice(0, 500)}`);
    }
    const type = String(res.headers['content-type'] ?? '');
    const id = requestIdOf(message);
    if (isEventStream(type)) {
      // Read in the background: a long call streams progress before its result.
      void this.answerStream(res.body, id, message);
    } else {
      const body = await readPushed(res.body, this.maxBytes, tooLarge(this.maxBytes)).catch((err: Error) => {
        throw err instanceof UpstreamProtocolError ? err : new UpstreamProtocolError(`broke off its answer: ${err.message}`, ErrorCodes.MCP_UPSTREAM_STREAM_ENDED);
      });
      // An empty 2xx is an acknowledgement, whatever it says its type is (the Python SDK: 202 application/json);
      // so is any 2xx to a notification or a response (some servers say "Accepted" in text): only a request's
      // answer is read, and a garbled one fails that request.
      if (body.length > 0 && id === undefined) {
        if (isJson(type)) {
          try {
            for (const m of parseUpstreamMessages(body)) this.onmessage?.(m);
          } catch (err) {
            this.report(new UpstreamProtocolError(`target "${this.target}" ${(err as Error).message}`, (err as UpstreamProtocolError).code));
          }
        }
      } else if (body.length > 0) {
        if (!isJson(type)) {
          throw new UpstreamProtocolError(
            `answered HTTP ${res.status} with content-type ${JSON.stringify(type || 'none')}, not JSON or an event stream: ${preview(new TextDecoder().decode(body.subarray(0, 512)))}`,
          );
        }
        for (const m of parseUpstreamMessages(body)) this.onmessage?.(m);
      }
    }
    if ('method' in message && message.method === 'notifications/initialized' && !this.getStreamOpen) {
      this.getStreamOpen = true;
      void this.standaloneStream();
    }
  }

  /**
   * The SSE answer to one POST. When it breaks before the answer to `id`, it is resumed with GET + `Last-Event-ID`
   * if the server gave event ids; else, or when resuming fails, the call gets a JSON-RPC error naming the target.
   */
  private async answerStream(body: PushedBody, id: JsonRpcId | undefined, message: JsonRpcMessage): Promise<void> {
    const cursor: { lastEventId?: string; retryMs?: number } = {};
    let end = await this.readStream(body, id, cursor);
    let failures = 0;
    let resumes = 0;
    while (id !== undefined && !end.answered && !this.closed) {
      const garbled = end.error instanceof UpstreamProtocolError;
      if (garbled || cursor.lastEventId === undefined || failures >= MAX_RECONNECTS || resumes++ >= MAX_RESUMES) {
        const method = (message as { method?: string }).method ?? 'the call';
        const why = garbled
          ? end.error!.message
          : `ended its event stream before the answer to ${method}${end.error ? ` (${end.error.message})` : ''}${
              cursor.lastEventId === undefined
                ? ' and gave no event id to resume from'
                : failures >= MAX_RECONNECTS
                  ? `; resuming after event ${JSON.stringify(cursor.lastEventId)} failed ${failures} times in a row`
                  : `; gave up after ${MAX_RESUMES} resumptions without the answer`
            }`;
        this.report(new UpstreamProtocolError(`target "${this.target}" ${why}`, garbled ? (end.error as UpstreamProtocolError).code : ErrorCodes.MCP_UPSTREAM_STREAM_ENDED));
        this.onmessage?.(failedAnswer(id, this.target, why, garbled ? (end.error as UpstreamProtocolError).code : ErrorCodes.MCP_UPSTREAM_STREAM_ENDED));
        return;
      }
      if (end.progressed) failures = 0;
      await this.pause(reconnectDelay(failures, cursor.retryMs));
      failures++;
      if (this.closed) return;
      const res = await this.get(cursor.lastEventId).catch((err: Error) => err);
      if (res instanceof UpstreamHttpError && (res.code === 404 || res.code === 405)) {
        // The server keeps no events to replay (or forgot them): trying again cannot help.
        const why = `ended its event stream before the answer to ${(message as { method?: string }).method ?? 'the call'} and refused to resume after event ${JSON.stringify(cursor.lastEventId)} (HTTP ${res.code})`;
        this.report(new UpstreamProtocolError(`target "${this.target}" ${why}`, ErrorCodes.MCP_UPSTREAM_STREAM_ENDED));
        this.onmessage?.(failedAnswer(id, this.target, why, ErrorCodes.MCP_UPSTREAM_STREAM_ENDED));
        return;
      }
      if (res instanceof Error) {
        end = { answered: false, progressed: false, error: res };
        continue;
      }
      end = await this.readStream(res, id, cursor);
    }
  }

  /**
   * The server's own messages (notifications, requests) outside any POST; absent (405) on some servers. Reconnects
   * with `Last-Event-ID` after the server's `retry` (else with backoff), up to MAX_RECONNECTS failures in a row.
   */
  private async standaloneStream(): Promise<void> {
    const cursor: { lastEventId?: string; retryMs?: number } = {};
    let failures = 0;
    while (!this.closed && failures < MAX_RECONNECTS) {
      const res = await this.get(cursor.lastEventId).catch((err: Error) => err);
      if (this.closed) return;
      if (res instanceof UpstreamHttpError && (res.code === 405 || res.code === 404)) return;
      const end: StreamEnd = res instanceof Error ? { answered: false, progressed: false, error: res } : await this.readStream(res, undefined, cursor);
      if (this.closed) return;
      // A broken connection is why one reconnects; garbage is worth a line in the log.
      if (end.error instanceof UpstreamProtocolError) this.report(new UpstreamProtocolError(`target "${this.target}" ${end.error.message}`, end.error.code));
      failures = end.progressed ? 0 : failures + 1;
      await this.pause(reconnectDelay(failures, cursor.retryMs));
    }
  }

  /** A GET of the event stream; an error when the server answers anything but 200 with an event stream. */
  private async get(lastEventId: string | undefined): Promise<AsyncIterable<Uint8Array>> {
    const res = await request(this.url, { method: 'GET', dispatcher: this.dispatcher, headers: this.requestHeaders('text/event-stream', lastEventId), signal: this.streams.signal });
    if (res.statusCode !== 200 || !isEventStream(String(res.headers['content-type'] ?? ''))) {
      await res.body.dump().catch(() => {});
      throw new UpstreamHttpError(res.statusCode, `GET answered HTTP ${res.statusCode} ${String(res.headers['content-type'] ?? '')}`.trim());
    }
    return res.body;
  }

  /**
   * Reads one event stream to its end, delivering each JSON-RPC message. With `id`, a message that is not JSON-RPC
   * ends it as garbled (the answer cannot be trusted); without, it is reported and skipped.
   */
  private async readStream(body: AsyncIterable<Uint8Array> | PushedBody, id: JsonRpcId | undefined, cursor: { lastEventId?: string; retryMs?: number }): Promise<StreamEnd> {
    const end: StreamEnd = { answered: false, progressed: false };
    const decoder = createSseDecoder({
      maxEventBytes: this.maxBytes,
      onRetry: (ms) => (cursor.retryMs = ms),
      onEvent: (e) => this.event(e, id, end),
      onError: (err) => (end.error ??= new UpstreamProtocolError(sseWhy(err))),
    });
    // A Readable has a `pipe` of its own: the iterable is told apart by its iterator.
    if (!(Symbol.asyncIterator in body)) return readPushedStream(body, decoder, end, cursor);
    try {
      for await (const chunk of body) {
        decoder.push(chunk);
        if (decoder.lastEventId !== undefined) cursor.lastEventId = decoder.lastEventId;
        if (end.error) break;
      }
      if (!end.error) decoder.end();
    } catch (err) {
      end.error ??= err as Error;
    }
    if (decoder.lastEventId !== undefined) cursor.lastEventId = decoder.lastEventId;
    if (end.error instanceof UpstreamProtocolError) (body as { destroy?: () => void }).destroy?.();
    return end;
  }

  private event(e: SseEvent, id: JsonRpcId | undefined, end: StreamEnd): void {
    end.progressed = true;
    // Only `message` events carry JSON-RPC; an empty one primes the client with an event id (2025-11-25).
    if (e.event !== 'message' || e.data === '' || end.error) return;
    let messages: JsonRpcMessage[];
    try {
      messages = parseUpstreamMessages(e.data);
    } catch (err) {
      if (id !== undefined) end.error = err as Error;
      else this.report(new UpstreamProtocolError(`target "${this.target}" ${(err as Error).message}`));
      return;
    }
    for (const m of messages) {
      if (id !== undefined && isResponse(m) && m.id === id) end.answered = true;
      this.onmessage?.(m);
    }
  }

  private report(err: Error): void {
    if (!this.closed) this.onerror?.(err);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      const signal = this.streams.signal;
      const timer = setTimeout(done, ms);
      timer.unref();
      signal.addEventListener('abort', done, { once: true });
      // A long session reconnects its GET stream many times: never leave a listener behind.
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
    });
  }

  async close(keep = false): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.streams.abort();
    if (this.sessionId && !keep) {
      // Tells the server to free the session; bounded, so a dead server cannot stall a close.
      await request(this.url, { method: 'DELETE', dispatcher: this.dispatcher, headers: this.requestHeaders('application/json'), signal: AbortSignal.timeout(1000) })
        .then((r) => r.body.dump())
        .catch(() => {});
    }
    this.onclose?.();
  }
}

/**
 * An event stream pushed by the dispatch handler into `decoder` chunk by chunk, read to its end as `readStream`
 * reads an iterated one: the same cursor, the same end, the body destroyed when what it sent is garbled.
 */
function readPushedStream(body: PushedBody, decoder: SseDecoder, end: StreamEnd, cursor: { lastEventId?: string }): Promise<StreamEnd> {
  return new Promise<StreamEnd>((resolve) => {
    let over = false;
    // `stop`: the read ends before the body does, which then is destroyed (as breaking out of `for await` does).
    const finish = (stop: boolean) => {
      if (over) return;
      over = true;
      if (decoder.lastEventId !== undefined) cursor.lastEventId = decoder.lastEventId;
      if (stop) body.destroy();
      resolve(end);
    };
    body.pipe({
      data(chunk) {
        if (over) return;
        try {
          decoder.push(chunk);
        } catch (err) {
          end.error ??= err as Error;
        }
        if (decoder.lastEventId !== undefined) cursor.lastEventId = decoder.lastEventId;
        if (end.error) finish(true);
      },
      end() {
        if (over) return;
        try {
          if (!end.error) decoder.end();
        } catch (err) {
          end.error ??= err as Error;
        }
        finish(false);
      },
      error(err) {
        end.error ??= err;
        finish(false);
      },
    });
  });
}

const tooLarge = (max: number) => () => new UpstreamProtocolError(`answered with a body over ${max} bytes`);

/** The SSE decoder's refusal as the client reads it. */
export function sseWhy(err: SseDecodeError): string {
  return err.code === 'SSE_EVENT_TOO_LARGE' ? `sent ${err.message}` : 'sent an event stream that is not valid UTF-8';
}

/** A response body up to `max` bytes; past it, the body is destroyed and an UpstreamProtocolError thrown. */
export async function readBounded(body: AsyncIterable<Uint8Array> & { destroy?: () => void }, max: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy?.();
      throw new UpstreamProtocolError(`answered with a body over ${max} bytes`);
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** The W3C trace context a traced message carries in `params._meta`, sent as headers too (for HTTP-level tracing). */
function traceHeaders(message: JsonRpcMessage): Record<string, string> | undefined {
  const meta = (message as { params?: { _meta?: Record<string, unknown> } }).params?._meta;
  if (typeof meta?.traceparent !== 'string') return undefined;
  const out: Record<string, string> = { traceparent: meta.traceparent };
  if (typeof meta.tracestate === 'string') out.tracestate = meta.tracestate;
  if (typeof meta.baggage === 'string') out.baggage = meta.baggage;
  return out;
}
