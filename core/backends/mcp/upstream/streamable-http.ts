import { Agent, request, type Dispatcher } from 'undici';
import type { JsonRpcMessage } from '../../../protocol/jsonrpc.ts';
import type { UpstreamTransport } from './transport.ts';

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

/**
 * The streamable HTTP transport, client side, on undici: POST each message, read a JSON or SSE answer, keep a GET
 * stream for what the server sends on its own, DELETE the session on close. It replaces the SDK's fetch-based
 * transport on the hot path: a tools/call costs one pooled request and no web-stream machinery.
 */
export class StreamableHttpTransport implements UpstreamTransport {
  onmessage?: (message: JsonRpcMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  private sessionId?: string;
  private protocolVersion?: string;
  private closed = false;
  private readonly url: URL;
  private readonly headers: Record<string, string>;
  private readonly streams = new AbortController();
  private readonly dispatcher: Dispatcher;

  constructor(url: URL, headers: Record<string, string> = {}, dispatcher: Dispatcher = sharedRemoteAgent) {
    this.url = url;
    this.headers = headers;
    this.dispatcher = dispatcher;
  }

  async start(): Promise<void> {}

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
  }

  get upstreamSessionId(): string | undefined {
    return this.sessionId;
  }

  resume(sessionId: string | undefined, version: string): void {
    this.sessionId = sessionId;
    this.protocolVersion = version;
    void this.openGetStream(0);
  }

  private requestHeaders(accept: string): Record<string, string> {
    const h: Record<string, string> = { ...this.headers, accept };
    if (this.sessionId) h['mcp-session-id'] = this.sessionId;
    if (this.protocolVersion) h['mcp-protocol-version'] = this.protocolVersion;
    return h;
  }

  async send(message: JsonRpcMessage): Promise<void> {
    if (this.closed) throw new Error('the transport is closed');
    const res = await request(this.url, {
      method: 'POST',
      dispatcher: this.dispatcher,
      headers: { ...this.requestHeaders('application/json, text/event-stream'), ...traceHeaders(message), 'content-type': 'application/json' },
      body: JSON.stringify(message),
      signal: this.streams.signal,
    });
    const sid = res.headers['mcp-session-id'];
    if (typeof sid === 'string') this.sessionId = sid;
    if (res.statusCode >= 400) {
      const text = (await res.body.text()).slice(0, 500);
      throw new UpstreamHttpError(res.statusCode, `upstream answered HTTP ${res.statusCode}: ${text}`);
    }
    const type = String(res.headers['content-type'] ?? '');
    if (type.includes('text/event-stream')) {
      // Read in the background: a long call streams progress before its result.
      void this.readSse(res.body);
    } else if (type.includes('application/json')) {
      const parsed = (await res.body.json()) as JsonRpcMessage | JsonRpcMessage[];
      for (const m of Array.isArray(parsed) ? parsed : [parsed]) this.onmessage?.(m);
    } else {
      await res.body.dump();
    }
    if ('method' in message && message.method === 'notifications/initialized') void this.openGetStream(0);
  }

  /** The server's own messages (notifications, requests) outside any POST; absent (405) on some servers. */
  private async openGetStream(attempt: number): Promise<void> {
    if (this.closed || attempt > 3) return;
    try {
      const res = await request(this.url, { method: 'GET', dispatcher: this.dispatcher, headers: this.requestHeaders('text/event-stream'), signal: this.streams.signal });
      if (res.statusCode !== 200) return void (await res.body.dump());
      await this.readSse(res.body);
    } catch {
      // aborted on close, or the connection broke
    }
    if (!this.closed) setTimeout(() => void this.openGetStream(attempt + 1), 500 * (attempt + 1)).unref();
  }

  private async readSse(body: AsyncIterable<Buffer | string>): Promise<void> {
    let buf = '';
    try {
      for await (const chunk of body) {
        buf += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
        let end: number;
        while ((end = buf.search(/\r?\n\r?\n/)) !== -1) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + (buf[end] === '\r' ? 4 : 2));
          this.event(block);
        }
      }
    } catch (err) {
      if (!this.closed) this.onerror?.(err as Error);
    }
  }

  private event(block: string): void {
    let name = 'message';
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5));
      else if (line.startsWith('event:')) name = line.slice(6).trim();
    }
    if (name !== 'message' || data.length === 0) return;
    const text = data.join('\n');
    if (!text.trim()) return;
    try {
      this.onmessage?.(JSON.parse(text));
    } catch (err) {
      this.onerror?.(err as Error);
    }
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

/** The W3C trace context a traced message carries in `params._meta`, sent as headers too (for HTTP-level tracing). */
function traceHeaders(message: JsonRpcMessage): Record<string, string> | undefined {
  const meta = (message as { params?: { _meta?: Record<string, unknown> } }).params?._meta;
  if (typeof meta?.traceparent !== 'string') return undefined;
  const out: Record<string, string> = { traceparent: meta.traceparent };
  if (typeof meta.tracestate === 'string') out.tracestate = meta.tracestate;
  if (typeof meta.baggage === 'string') out.baggage = meta.baggage;
  return out;
}
