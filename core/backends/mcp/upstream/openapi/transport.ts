import type { Dispatcher } from 'undici';
import { isNotification, isRequest, RpcErrors, type JsonRpcId, type JsonRpcMessage, type JsonRpcRequest } from '../../../../protocol/jsonrpc.ts';
import { LATEST_PROTOCOL_VERSION, PROTOCOL_VERSIONS } from '../../versions.ts';
import type { UpstreamTransport } from '../transport.ts';
import { callOperation, errorResult, type ToolResult } from './call.ts';
import type { OpenApiService } from './service.ts';

/**
 * An OpenAPI target as an MCP server in the gateway's own process: `initialize`, `tools/list` and `tools/call`
 * are answered here, and each call becomes one HTTP request to the REST API through the route's dispatcher. It
 * plugs in where a stdio or HTTP transport would, so sessions, prefixing, lists and policies treat it like any
 * other target.
 */
export class OpenApiTransport implements UpstreamTransport {
  onmessage?: (message: JsonRpcMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  private readonly service: OpenApiService;
  private readonly dispatcher: Dispatcher & { readonly tls?: boolean };
  private readonly target: string;
  private readonly inflight = new Map<JsonRpcId, AbortController>();
  private unsubscribe?: () => void;
  private closed = false;

  constructor(service: OpenApiService, dispatcher: Dispatcher & { readonly tls?: boolean }, target: string) {
    this.service = service;
    this.dispatcher = dispatcher;
    this.target = target;
  }

  async start(): Promise<void> {
    this.unsubscribe = this.service.onChange(() => this.emit({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }));
  }

  async send(message: JsonRpcMessage): Promise<void> {
    if (this.closed) throw new Error('the transport is closed');
    if (isRequest(message)) {
      // Answered asynchronously, as a remote server would: the caller registers the request before we reply.
      void this.answer(message);
      return;
    }
    if (isNotification(message) && message.method === 'notifications/cancelled') {
      this.inflight.get(message.params?.requestId as JsonRpcId)?.abort();
    }
  }

  /**
   * Checks a `tools/call` before it reaches the message pipeline: an unknown tool passes (the call reports it),
   * invalid arguments give the error result naming the field, so policies and the API see only well-formed calls.
   */
  precheck(method: string, params: Record<string, unknown>): ToolResult | undefined {
    if (method !== 'tools/call') return undefined;
    const api = this.service.current;
    const tool = api?.tools.get(String(params.name));
    if (!api || !tool) return undefined;
    const why = api.invalid(tool, params.arguments ?? {});
    return why ? errorResult(why) : undefined;
  }

  private async answer(req: JsonRpcRequest): Promise<void> {
    try {
      const result = await this.handle(req);
      this.emit({ jsonrpc: '2.0', id: req.id, result });
    } catch (err) {
      const e = err as { code?: number; message: string };
      this.emit({ jsonrpc: '2.0', id: req.id, error: { code: typeof e.code === 'number' ? e.code : RpcErrors.INTERNAL_ERROR, message: e.message } });
    }
  }

  private async handle(req: JsonRpcRequest): Promise<unknown> {
    const api = this.service.current;
    if (!api) throw Object.assign(new Error(`target "${this.target}" has no API loaded`), { code: RpcErrors.INTERNAL_ERROR });
    const params = req.params ?? {};
    switch (req.method) {
      case 'initialize': {
        const asked = String(params.protocolVersion ?? '');
        return {
          protocolVersion: (PROTOCOL_VERSIONS as readonly string[]).includes(asked) ? asked : LATEST_PROTOCOL_VERSION,
          capabilities: { tools: { listChanged: true } },
          serverInfo: { name: api.title, version: api.version },
        };
      }
      case 'ping':
        return {};
      case 'tools/list':
        return { tools: api.list };
      case 'tools/call': {
        const name = String(params.name ?? '');
        const tool = api.tools.get(name);
        if (!tool) throw Object.assign(new Error(`Unknown tool: ${name}`), { code: RpcErrors.INVALID_PARAMS });
        const args = (params.arguments ?? {}) as Record<string, unknown>;
        // Checked again here: a filter may have rewritten the arguments after the first check.
        const why = api.invalid(tool, args);
        if (why) return errorResult(why);
        const abort = new AbortController();
        this.inflight.set(req.id, abort);
        try {
          return await callOperation(api, tool, args, { dispatcher: this.dispatcher, tls: this.dispatcher.tls ?? false, signal: abort.signal, target: this.target });
        } finally {
          this.inflight.delete(req.id);
        }
      }
      default:
        throw Object.assign(new Error(`Method not found: ${req.method}`), { code: RpcErrors.METHOD_NOT_FOUND });
    }
  }

  private emit(message: JsonRpcMessage): void {
    if (!this.closed) this.onmessage?.(message);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    for (const a of this.inflight.values()) a.abort();
    this.inflight.clear();
    this.onclose?.();
  }
}
