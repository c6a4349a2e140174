import { DataPlaneClient, type Credential, type ExchangeEntry, type RouteTarget } from './dataplane.ts';
import type { AdminObserver, DecisionLine } from './observer.ts';

const PROTOCOL_VERSION = '2025-06-18';

interface RpcReply {
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
  /** Set when no JSON-RPC answer came: the HTTP status and error of the exchange. */
  httpStatus?: number;
  failure?: string;
}

export interface McpListResult {
  ok: boolean;
  initialize?: RpcReply;
  tools?: RpcReply;
  prompts?: RpcReply;
  resources?: RpcReply;
  exchange: ExchangeEntry[];
  decisions: DecisionLine[];
}

export interface McpCallResult {
  ok: boolean;
  /** True when a policy denied the call (a deny decision, or the HTTP request refused with 401/403). */
  denied: boolean;
  reply: RpcReply;
  exchange: ExchangeEntry[];
  decisions: DecisionLine[];
}

/** One MCP session with the gateway, as the chosen caller: initialize, the calls, then DELETE. */
class McpSession {
  private readonly client: DataPlaneClient;
  private sessionId: string | undefined;
  private nextId = 1;

  constructor(client: DataPlaneClient) {
    this.client = client;
  }

  private headers(): Record<string, string> {
    return {
      accept: 'application/json, text/event-stream',
      ...(this.sessionId ? { 'mcp-session-id': this.sessionId, 'mcp-protocol-version': PROTOCOL_VERSION } : {}),
    };
  }

  async rpc(method: string, params: Record<string, unknown> = {}): Promise<RpcReply> {
    const id = this.nextId++;
    const entry = await this.client.send('POST', { headers: this.headers(), body: { jsonrpc: '2.0', id, method, params } });
    const res = entry.response;
    if (!res) return { failure: entry.error ?? 'no response' };
    if (method === 'initialize' && res.headers['mcp-session-id']) this.sessionId = res.headers['mcp-session-id'];
    const messages = res.events ?? (res.body !== undefined ? [res.body] : []);
    const reply = messages.find((m) => m && typeof m === 'object' && (m as { id?: unknown }).id === id) as RpcReply | undefined;
    if (reply) return { ...(reply.result !== undefined ? { result: reply.result } : {}), ...(reply.error ? { error: reply.error } : {}) };
    const error = (res.body as { error?: { message?: string; code?: string } } | undefined)?.error;
    return { httpStatus: res.status, failure: error?.message ?? `HTTP ${res.status} with no JSON-RPC answer` };
  }

  async notify(method: string): Promise<void> {
    await this.client.send('POST', { headers: this.headers(), body: { jsonrpc: '2.0', method } });
  }

  async open(): Promise<RpcReply> {
    const init = await this.rpc('initialize', {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 'portcullis-admin-playground', version: '1' },
    });
    if (init.result) await this.notify('notifications/initialized');
    return init;
  }

  async close(): Promise<void> {
    if (this.sessionId) await this.client.send('DELETE', { headers: this.headers() });
  }
}

function decisionsOf(observer: AdminObserver, client: DataPlaneClient): DecisionLine[] {
  return client.requestIds.flatMap((id) => observer.decisionsOf(id));
}

/** Request ends (and their last decisions) are published right after the response: let them land. */

/** Lists tools, prompts and resources as the caller sees them. */
export async function mcpList(target: RouteTarget, credential: Credential, observer: AdminObserver): Promise<McpListResult> {
  const client = new DataPlaneClient(target, credential);
  const session = new McpSession(client);
  const out: McpListResult = { ok: false, exchange: client.exchange, decisions: [] };
  try {
    out.initialize = await session.open();
    if (out.initialize.result) {
      const caps = ((out.initialize.result as { capabilities?: Record<string, unknown> }).capabilities ?? {}) as Record<string, unknown>;
      if (caps.tools) out.tools = await session.rpc('tools/list');
      if (caps.prompts) out.prompts = await session.rpc('prompts/list');
      if (caps.resources) out.resources = await session.rpc('resources/list');
      out.ok = true;
    }
  } finally {
    await session.close();
  }
  await observer.settle();
  out.decisions = decisionsOf(observer, client);
  return out;
}

/** Calls one tool as the caller, in a session of its own. */
export async function mcpCall(target: RouteTarget, credential: Credential, tool: string, args: Record<string, unknown>, observer: AdminObserver): Promise<McpCallResult> {
  const client = new DataPlaneClient(target, credential);
  const session = new McpSession(client);
  let reply: RpcReply;
  try {
    const init = await session.open();
    reply = init.result ? await session.rpc('tools/call', { name: tool, arguments: args }) : init;
  } finally {
    await session.close();
  }
  await observer.settle();
  const decisions = decisionsOf(observer, client);
  const denied = decisions.some((d) => d.outcome === 'deny') || reply.httpStatus === 401 || reply.httpStatus === 403;
  return { ok: reply.result !== undefined && !(reply.result as { isError?: boolean }).isError, denied, reply, exchange: client.exchange, decisions };
}
