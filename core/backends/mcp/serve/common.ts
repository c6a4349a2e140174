import { ErrorCodes, GatewayError } from '../../../errors.ts';
import { type GatewayResponse, type MessagePipeline, readRequestBody, type RequestContext, UPSTREAM_LINK_REQUIRED } from '../../../pipeline/index.ts';
import { dispatch, negotiateVersion, type RequestEra } from '../dispatch.ts';
import { malformedMcpMessage } from '../../../protocol/message-check.ts';
import { isJsonRpcMessage, rpcError, RpcErrors, RpcFailure, type JsonRpcMessage, type JsonRpcRequest, type JsonRpcResponse } from '../../../protocol/jsonrpc.ts';
import { Session, type Emit, type SessionEnv } from '../session.ts';
import type { SessionStore } from '../store.ts';
import { ownerOf } from './guard.ts';
import type { ModernSessions } from './modern-sessions.ts';

/** What the HTTP side of one MCP route needs. */
export interface ServeEnv {
  session: SessionEnv;
  store: SessionStore;
  pipeline: MessagePipeline;
  stateless: boolean;
  /** Most messages in one JSON-RPC batch. */
  maxBatchSize: number;
  /** DNS-rebinding protection; undefined when turned off. */
  guard?: (ctx: RequestContext) => void;
  /** The internal upstream sessions 2026-07-28 requests are served on. */
  modern?: ModernSessions;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function json(status: number, body: unknown, headers: Record<string, string> = {}): GatewayResponse {
  const text = JSON.stringify(body);
  return { status, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers }, body: text };
}

/**
 * Reads and parses a POST body: a JSON-RPC message or a batch. Malformed input is answered as JSON-RPC errors; a
 * batch over `maxBatchSize` is refused whole, before any of it reaches a session or a target.
 */
export async function readMessages(ctx: RequestContext, env: ServeEnv): Promise<{ messages: JsonRpcMessage[]; batch: boolean } | GatewayResponse> {
  const body = await readRequestBody(ctx);
  let parsed: unknown;
  try {
    // Fatal: a body that is not UTF-8 is a parse error, never forwarded with replacement characters.
    parsed = JSON.parse(strictUtf8.decode(body));
  } catch (err) {
    return json(400, rpcError(null, RpcErrors.PARSE_ERROR, `Parse error: ${(err as Error).message}`));
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  if (list.length > env.maxBatchSize) {
    ctx.log.warn({ route: ctx.routeName, size: list.length, limit: env.maxBatchSize, code: ErrorCodes.MCP_BATCH_TOO_LARGE }, 'MCP batch refused');
    throw new GatewayError(
      ErrorCodes.MCP_BATCH_TOO_LARGE,
      `the JSON-RPC batch holds ${list.length} messages, more than this MCP endpoint's limit of ${env.maxBatchSize} (maxBatchSize): send smaller batches`,
    );
  }
  if (list.length === 0 || !list.every(isJsonRpcMessage)) {
    return json(400, rpcError(null, RpcErrors.INVALID_REQUEST, 'Invalid Request: expected a JSON-RPC 2.0 message or a batch of them'));
  }
  const malformed = malformedMcpMessage(list as JsonRpcMessage[]);
  if (malformed) return json(400, malformed);
  return { messages: list as JsonRpcMessage[], batch: Array.isArray(parsed) };
}

/** A new session, owned by the request's identity. */
export function newSession(env: ServeEnv, ctx: RequestContext): Session {
  const session = new Session(env.session);
  session.owner = ownerOf(ctx.identity);
  session.subject = ctx.identity?.subject;
  session.clientHeaders = ctx.clientHeaders;
  return session;
}

/** Starts a session from the client's `initialize` params (or defaults, for stateless requests without one). */
export async function openSession(env: ServeEnv, ctx: RequestContext, params: Record<string, unknown> | undefined): Promise<Session> {
  const session = newSession(env, ctx);
  session.protocolVersion = negotiateVersion(params?.protocolVersion);
  await session.start({
    protocolVersion: session.protocolVersion,
    capabilities: (params?.capabilities as Record<string, unknown>) ?? {},
    clientInfo: (params?.clientInfo as { name: string; version: string }) ?? { name: 'portcullis', version: '0.1.0' },
  }, deferTargets(ctx));
  return session;
}

/** Whether the caller must first link an upstream account: the session then opens without its targets. */
export function deferTargets(ctx: RequestContext): boolean {
  return ctx.vars.has(UPSTREAM_LINK_REQUIRED);
}

/** Answers one client request, turning failures into JSON-RPC errors. */
export async function answer(session: Session, ctx: RequestContext, env: ServeEnv, req: JsonRpcRequest, emit?: Emit, era?: RequestEra): Promise<JsonRpcResponse> {
  try {
    return { jsonrpc: '2.0', id: req.id, result: await dispatch(session, ctx, env.pipeline, req, emit, era) };
  } catch (err) {
    if (err instanceof RpcFailure) return { jsonrpc: '2.0', id: req.id, error: err.toError() };
    if (err instanceof GatewayError) return rpcError(req.id, RpcErrors.INTERNAL_ERROR, err.message, { code: err.code });
    ctx.log.error({ err, route: ctx.routeName }, 'unexpected error while serving an MCP request');
    return rpcError(req.id, RpcErrors.INTERNAL_ERROR, 'internal gateway error');
  }
}

/** The client's messages that are not requests: replies to server-to-client requests, and notifications. */
export function deliverNonRequests(session: Session, messages: readonly JsonRpcMessage[]): void {
  for (const m of messages) {
    if ('method' in m && !('id' in m && m.id !== undefined && m.id !== null)) session.clientNotification(m);
    else if (!('method' in m)) session.clientResponse(m as JsonRpcResponse);
  }
}

/**
 * The session `id` for the request's identity. A session another identity opened is answered exactly like one
 * that does not exist, and is not touched: its owner never notices the attempt.
 */
export function findSession(env: ServeEnv, ctx: RequestContext, id: string): Session {
  const session = env.store.get(id, ownerOf(ctx.identity));
  if (!session || session.closed) throw notFound(id);
  session.clientHeaders = ctx.clientHeaders;
  return session;
}

export function notFound(id: string): GatewayError {
  return new GatewayError(ErrorCodes.MCP_SESSION_NOT_FOUND, `MCP session "${id.slice(0, 64)}" does not exist: it expired or was closed; initialize a new one`);
}
