// The gateway as a 2025-era client of a 2026-07-28-only target: the upstream half of the era codec. A connection
// always speaks the 2025 session shape to its session (initialize, then requests); in front of a target that
// refuses `initialize` as a modern server does, this wrapper turns that shape into per-request envelopes.
import { RpcErrors, RpcFailure, type JsonRpcMessage, type JsonRpcRequest, type JsonRpcResponse } from '../../../protocol/jsonrpc.ts';
import { paramHeaders, paramHeadersOf, type ParamHeader, META_CLIENT_CAPABILITIES, META_CLIENT_INFO, META_LOG_LEVEL, META_PROTOCOL_VERSION, META_SERVER_INFO, MODERN_VERSIONS } from '../era.ts';
import type { ClientInit } from './connection.ts';
import type { UpstreamTransport } from './transport.ts';

/**
 * Whether an `initialize` failure is a 2026-07-28-only server's answer: the UnsupportedProtocolVersion error
 * (-32022) naming a modern version among those it supports, as a JSON-RPC error (stdio) or in the body of an
 * HTTP 400 (streamable HTTP). Anything else is a plain failure to start.
 */
export function refusedAsModern(err: unknown): string | undefined {
  if (!(err instanceof RpcFailure)) return undefined;
  let data = err.code === RpcErrors.UNSUPPORTED_PROTOCOL_VERSION ? err.data : undefined;
  if (data === undefined) {
    const body = /\{.*\}/s.exec(err.message)?.[0];
    try {
      const parsed = body ? (JSON.parse(body) as JsonRpcResponse) : undefined;
      if (parsed?.error?.code === RpcErrors.UNSUPPORTED_PROTOCOL_VERSION) data = parsed.error.data;
    } catch {
      return undefined;
    }
  }
  const supported = (data as { supported?: unknown } | undefined)?.supported;
  if (!Array.isArray(supported)) return undefined;
  return (MODERN_VERSIONS as readonly string[]).find((v) => supported.includes(v));
}

/** The DiscoverResult of a target, as kept on its connection (`ServerInit.discover`) for caching hints. */
export type DiscoverResult = Record<string, unknown>;

/**
 * Wraps a target's transport: `initialize` becomes `server/discover` (its answer made an initialize result),
 * every request gains the envelope (`_meta` protocol version, client info and capabilities, log level once set),
 * and what the era removed is answered here (`ping`, `logging/setLevel`) or refused (`resources/subscribe`).
 * Streamable HTTP targets mirror method and name in headers (see `mirroredHeaders`).
 */
export class ModernEraTransport implements UpstreamTransport {
  onmessage?: (message: JsonRpcMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  private readonly inner: UpstreamTransport;
  private readonly clientInit: ClientInit;
  private readonly version: string;
  private logLevel?: string;
  private discoverId?: JsonRpcRequest['id'];
  private listenId?: string;
  /** The target's tools' `x-mcp-header` declarations, from its tools/list answers. */
  private readonly paramDecls = new Map<string, ParamHeader[]>();
  private readonly toolLists = new Set<JsonRpcRequest['id']>();
  /** The target's last `server/discover` result. */
  discover?: DiscoverResult;

  constructor(inner: UpstreamTransport, clientInit: ClientInit, version: string) {
    this.inner = inner;
    this.clientInit = clientInit;
    this.version = version;
    inner.onmessage = (m) => this.receive(m);
    inner.onclose = () => this.onclose?.();
    inner.onerror = (e) => this.onerror?.(e);
    inner.setProtocolVersion?.(version);
  }

  get pid(): number | undefined {
    return (this.inner as { pid?: number }).pid;
  }

  describeStderr(): string {
    return (this.inner as { describeStderr?: () => string }).describeStderr?.() ?? '';
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  /** The 2025 version a session negotiates is not what goes upstream: every request names the modern one. */
  setProtocolVersion(): void {}

  precheck(method: string, params: Record<string, unknown>): unknown {
    return this.inner.precheck?.(method, params);
  }

  private envelope(): Record<string, unknown> {
    return {
      [META_PROTOCOL_VERSION]: this.version,
      [META_CLIENT_INFO]: this.clientInit.clientInfo,
      [META_CLIENT_CAPABILITIES]: this.clientInit.capabilities,
      ...(this.logLevel !== undefined ? { [META_LOG_LEVEL]: this.logLevel } : {}),
    };
  }

  private answerHere(id: JsonRpcRequest['id'], result?: unknown, error?: { code: number; message: string }): void {
    queueMicrotask(() => this.onmessage?.(error ? { jsonrpc: '2.0', id, error } : { jsonrpc: '2.0', id, result }));
  }

  async send(message: JsonRpcMessage): Promise<void> {
    if (!('method' in message)) return; // no server-to-client requests in this era: nothing to answer
    const isRequest = 'id' in message && message.id !== undefined && message.id !== null;
    if (!isRequest) {
      // Client notifications: only cancellation exists in this era (stdio); HTTP cancels by closing the stream.
      if (message.method === 'notifications/cancelled') await this.inner.send(message).catch(() => {});
      return;
    }
    const req = message as JsonRpcRequest;
    switch (req.method) {
      case 'initialize':
        this.discoverId = req.id;
        return this.sendRequest({ jsonrpc: '2.0', id: req.id, method: 'server/discover', params: { _meta: this.envelope() } });
      case 'ping':
        return this.answerHere(req.id, {});
      case 'logging/setLevel':
        this.logLevel = typeof req.params?.level === 'string' ? req.params.level : undefined;
        return this.answerHere(req.id, {});
      case 'resources/subscribe':
      case 'resources/unsubscribe':
        return this.answerHere(req.id, undefined, { code: RpcErrors.METHOD_NOT_FOUND, message: `Method not found: target speaks ${this.version}, which has no ${req.method}` });
    }
    const params = req.params ?? {};
    // The envelope of a 2026-07-28 client's own request (its capabilities) wins over the session's.
    await this.sendRequest({ ...req, params: { ...params, _meta: { ...this.envelope(), ...(params._meta as Record<string, unknown> | undefined), [META_PROTOCOL_VERSION]: this.version } } });
  }

  /**
   * Opens the target's `subscriptions/listen` stream for the list changes it announces, so that they reach the
   * session as a 2025 target's would (on its GET stream, or a 2026-07-28 client's listen streams).
   */
  private listenUpstream(capabilities: Record<string, { listChanged?: boolean } | undefined>): void {
    const notifications: Record<string, boolean> = {};
    if (capabilities.tools?.listChanged) notifications.toolsListChanged = true;
    if (capabilities.prompts?.listChanged) notifications.promptsListChanged = true;
    if (capabilities.resources?.listChanged) notifications.resourcesListChanged = true;
    if (Object.keys(notifications).length === 0) return;
    this.listenId = `portcullis-listen-${Date.now().toString(36)}`;
    this.inner.send({ jsonrpc: '2.0', id: this.listenId, method: 'subscriptions/listen', params: { notifications, _meta: this.envelope() } }).catch(() => {});
  }

  /**
   * Sends a request; an HTTP error whose body is a JSON-RPC error (a modern server's 400 or 404: bad params,
   * unknown method) is that request's answer, not a broken connection.
   */
  private async sendRequest(req: JsonRpcRequest): Promise<void> {
    if (req.method === 'tools/list') this.toolLists.add(req.id);
    const decls = req.method === 'tools/call' ? this.paramDecls.get(String(req.params?.name)) : undefined;
    try {
      await this.inner.send(req, decls ? paramHeaders(decls, req.params?.arguments) : undefined);
    } catch (err) {
      const body = /\{.*\}/s.exec((err as Error).message)?.[0];
      let error: JsonRpcResponse['error'];
      try {
        error = body ? (JSON.parse(body) as JsonRpcResponse).error : undefined;
      } catch {
        error = undefined;
      }
      if (typeof error?.code !== 'number' || typeof error.message !== 'string') throw err;
      this.onmessage?.({ jsonrpc: '2.0', id: req.id, error });
    }
  }

  private receive(m: JsonRpcMessage): void {
    if ('id' in m && !('method' in m) && this.toolLists.delete(m.id as JsonRpcRequest['id'])) {
      for (const tool of ((m as JsonRpcResponse).result as { tools?: Array<{ name?: unknown; inputSchema?: unknown }> } | undefined)?.tools ?? []) {
        const decls = paramHeadersOf(tool.inputSchema);
        if (decls.length > 0) this.paramDecls.set(String(tool.name), decls);
      }
    }
    // The upstream listen stream's own messages (its acknowledgement, its end) are the gateway's business.
    if ('id' in m && m.id === this.listenId && !('method' in m)) return;
    if ('method' in m && m.method === 'notifications/subscriptions/acknowledged') return;
    if ('id' in m && m.id === this.discoverId && !('method' in m) && this.discoverId !== undefined) {
      this.discoverId = undefined;
      const r = m as JsonRpcResponse;
      if (r.error) return this.onmessage?.(r);
      void this.discovered(r);
      return;
    }
    this.onmessage?.(m);
  }

  /** The target's DiscoverResult, checked against the SDK core's schema, answered as an initialize result. */
  private async discovered(r: JsonRpcResponse): Promise<void> {
    // Loaded only when a route has a 2026-07-28-only target: the schemas (and zod) cost nothing otherwise.
    const { DiscoverResultSchema } = await import('@modelcontextprotocol/core');
    const parsed = DiscoverResultSchema.safeParse(r.result);
    if (parsed.success && !parsed.data.supportedVersions.includes(this.version)) {
      return this.onmessage?.({ jsonrpc: '2.0', id: r.id, error: { code: RpcErrors.UNSUPPORTED_PROTOCOL_VERSION, message: `the target does not speak ${this.version}` } });
    }
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'result'}: ${i.message}`).join('; ');
      return this.onmessage?.({ jsonrpc: '2.0', id: r.id, error: { code: RpcErrors.INTERNAL_ERROR, message: `the target answered server/discover with an invalid result: ${why.slice(0, 300)}` } });
    }
    const d = r.result as Record<string, unknown>;
    this.discover = d;
    const serverInfo = (d._meta as Record<string, unknown> | undefined)?.[META_SERVER_INFO];
    // What the session reads of an initialize result; `discover` keeps the rest (caching hints, versions).
    const init = {
      protocolVersion: this.clientInit.protocolVersion,
      capabilities: d.capabilities ?? {},
      ...(serverInfo ? { serverInfo } : {}),
      ...(typeof d.instructions === 'string' ? { instructions: d.instructions } : {}),
      discover: d,
    };
    this.onmessage?.({ jsonrpc: '2.0', id: r.id, result: init });
    this.listenUpstream((d.capabilities ?? {}) as Record<string, { listChanged?: boolean }>);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
