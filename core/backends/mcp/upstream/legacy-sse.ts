import { request, type Dispatcher } from 'undici';
import type { JsonRpcMessage } from '../../../protocol/jsonrpc.ts';
import { createSseDecoder, DEFAULT_MAX_SSE_EVENT_BYTES, type SseEvent } from '../../../protocol/sse.ts';
import { readBounded, sharedRemoteAgent, sseWhy, UpstreamHttpError, type RemoteTransportOptions } from './streamable-http.ts';
import type { UpstreamTransport } from './transport.ts';
import { parseUpstreamMessages, preview, UpstreamProtocolError } from './upstream-answer.ts';

/**
 * The legacy HTTP+SSE transport (MCP 2024-11-05), client side, on undici and the gateway's SSE codec: one GET event
 * stream whose first `endpoint` event names the URL (relative to the stream's, same origin only) that every message
 * is POSTed to; answers come back on the stream. When the stream ends or cannot be decoded, the transport closes,
 * and the connection fails what waits on it.
 */
export class LegacySseTransport implements UpstreamTransport {
  onmessage?: (message: JsonRpcMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  /** Why the stream ended, for the errors of the calls still waiting. */
  closeReason?: string;
  /** The stable code of that reason, when the target sent what is not MCP. */
  closeCode?: string;
  private endpoint?: URL;
  private protocolVersion?: string;
  private closed = false;
  private readonly url: URL;
  private readonly target: string;
  private readonly headers: Record<string, string>;
  private readonly dispatcher: Dispatcher;
  private readonly maxBytes: number;
  private readonly streams = new AbortController();

  constructor(url: URL, options: RemoteTransportOptions) {
    this.url = url;
    this.target = options.target;
    this.headers = options.headers ?? {};
    this.dispatcher = options.dispatcher ?? sharedRemoteAgent;
    this.maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_SSE_EVENT_BYTES;
  }

  /** Opens the event stream; resolves once the server named its endpoint. */
  async start(): Promise<void> {
    const res = await request(this.url, { method: 'GET', dispatcher: this.dispatcher, headers: { ...this.headers, accept: 'text/event-stream' }, signal: this.streams.signal });
    const type = String(res.headers['content-type'] ?? '');
    if (res.statusCode !== 200 || !/^\s*text\/event-stream\b/i.test(type)) {
      const text = await readBounded(res.body, 4096).then((b) => new TextDecoder().decode(b), () => '');
      throw new UpstreamHttpError(res.statusCode, `the SSE stream answered HTTP ${res.statusCode} ${type}: ${preview(text)}`.trim());
    }
    let named!: () => void;
    let refused!: (err: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      named = resolve;
      refused = reject;
    });
    void this.read(res.body, named, refused);
    await ready;
  }

  private async read(body: AsyncIterable<Uint8Array>, named: () => void, refused: (err: Error) => void): Promise<void> {
    let failure: Error | undefined;
    const decoder = createSseDecoder({
      maxEventBytes: this.maxBytes,
      onEvent: (e) => {
        try {
          this.event(e, named);
        } catch (err) {
          failure ??= err as Error;
        }
      },
      onError: (err) => (failure ??= new UpstreamProtocolError(sseWhy(err))),
    });
    try {
      for await (const chunk of body) {
        decoder.push(chunk);
        if (failure) break;
      }
      if (!failure) decoder.end();
    } catch (err) {
      failure ??= err as Error;
    }
    const reason = failure ? `${failure instanceof UpstreamProtocolError ? '' : 'its event stream broke: '}${failure.message}` : 'it ended its event stream';
    if (!this.endpoint) {
      refused(
        failure instanceof UpstreamProtocolError
          ? new UpstreamProtocolError(`the target ${failure.message}`, failure.code)
          : new Error(`the SSE stream ${this.closed ? 'was closed' : 'ended'} before it named its endpoint${failure ? `: ${failure.message}` : ''}`),
      );
    }
    if (this.closed) return;
    if (failure instanceof UpstreamProtocolError) this.onerror?.(new UpstreamProtocolError(`target "${this.target}" ${failure.message}`, failure.code));
    this.closeReason = reason;
    if (failure instanceof UpstreamProtocolError) this.closeCode = failure.code;
    await this.close();
  }

  private event(e: SseEvent, named: () => void): void {
    if (e.event === 'endpoint') {
      if (this.endpoint) return;
      let endpoint: URL;
      try {
        endpoint = new URL(e.data.trim(), this.url);
      } catch {
        throw new UpstreamProtocolError(`named an endpoint that is not a URL: ${preview(e.data)}`);
      }
      // The endpoint is where client messages go, credentials included: never to another origin than the stream's.
      if (endpoint.origin !== this.url.origin) throw new UpstreamProtocolError(`named an endpoint on another origin (${endpoint.origin}, the stream is on ${this.url.origin})`);
      this.endpoint = endpoint;
      named();
      return;
    }
    if (e.event !== 'message' || e.data === '') return;
    let messages: JsonRpcMessage[];
    try {
      messages = parseUpstreamMessages(e.data);
    } catch (err) {
      // Answers share one stream: a garbled event cannot be tied to its call, which then times out.
      this.onerror?.(new UpstreamProtocolError(`target "${this.target}" ${(err as Error).message}`));
      return;
    }
    for (const m of messages) this.onmessage?.(m);
  }

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
  }

  async send(message: JsonRpcMessage): Promise<void> {
    if (this.closed || !this.endpoint) throw new Error(this.closed ? 'the transport is closed' : 'the SSE stream named no endpoint yet');
    const headers: Record<string, string> = { ...this.headers, 'content-type': 'application/json' };
    if (this.protocolVersion) headers['mcp-protocol-version'] = this.protocolVersion;
    const res = await request(this.endpoint, { method: 'POST', dispatcher: this.dispatcher, headers, body: JSON.stringify(message), signal: this.streams.signal });
    // The answer comes on the event stream; the POST's own body is an acknowledgement ("Accepted") or an error.
    const text = await readBounded(res.body, 4096).then((b) => new TextDecoder().decode(b), () => '');
    if (res.statusCode < 200 || res.statusCode >= 300) throw new UpstreamHttpError(res.statusCode, `upstream answered HTTP ${res.statusCode}: ${text.slice(0, 500)}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.streams.abort();
    this.onclose?.();
  }
}
