import { ErrorCodes } from '../../../errors.ts';
import type { RequestContext } from '../../../pipeline/index.ts';
import { rpcError, RpcErrors, type JsonRpcMessage, type JsonRpcRequest, type JsonRpcResponse } from '../../../protocol/jsonrpc.ts';
import { hintOf, list, stricterHint, type CacheHint, type RequestEra } from '../dispatch.ts';
import { checkParamHeaders, paramHeadersOf, ALL_VERSIONS, META_CLIENT_CAPABILITIES, META_CLIENT_INFO, META_LOG_LEVEL, META_SERVER_INFO, readEnvelope, withoutEnvelope, type EdgeRefusal, type Envelope } from '../era.ts';
import { openState, sealState, type StateBinding } from '../request-state.ts';
import { ownerOf } from './guard.ts';
import type { Session } from '../session.ts';
import { answer, json, type ServeEnv } from './common.ts';
import { BridgedCall, runExchange } from './input-bridge.ts';
import { serveListen } from './listen.ts';

const SERVER_INFO = { name: 'portcullis', version: '0.1.0' };

/** Results that carry caching hints (2026-07-28 "Caching"). */
const CACHEABLE = new Set(['server/discover', 'tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read']);

/** 2025-era methods a 2026-07-28 request may not use: the handshake, and what `_meta` and listen replaced. */
const NOT_IN_ERA = new Set(['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe']);

/** The JSON-RPC error codes answered with an HTTP error status rather than in a 200 (the spec's HTTP binding). */
function statusOf(code: number): number {
  if (code === RpcErrors.METHOD_NOT_FOUND) return 404;
  if (code === RpcErrors.HEADER_MISMATCH || code === RpcErrors.UNSUPPORTED_PROTOCOL_VERSION || code === RpcErrors.MISSING_CLIENT_CAPABILITY) return 400;
  return 200;
}

/** The gateway's own code for a refusal at the edge, as logged. */
function codeOf(refusal: EdgeRefusal): string {
  switch (refusal.rpc.code) {
    case RpcErrors.HEADER_MISMATCH:
      return ErrorCodes.MCP_HEADER_MISMATCH;
    case RpcErrors.UNSUPPORTED_PROTOCOL_VERSION:
      return ErrorCodes.MCP_PROTOCOL_VERSION;
    default:
      return ErrorCodes.MCP_ENVELOPE_INVALID;
  }
}

/**
 * Serves one 2026-07-28 message: checks its envelope and headers, takes the envelope off (policies see the same
 * message as from a 2025 session, plus its `protocolVersion`), and answers it on the caller's internal upstream
 * session. Results gain what the era requires: `resultType`, the server's identity, and caching hints.
 */
export async function serveModern(env: ServeEnv, ctx: RequestContext, message: JsonRpcMessage & { method: string }): Promise<void> {
  const id = 'id' in message && message.id !== undefined && message.id !== null ? message.id : null;
  // This revision defines no client notification over HTTP (closing a response stream cancels its request), and
  // envelopes are for requests: a notification a client still sends (the Go SDK's notifications/cancelled, with no
  // _meta) is acknowledged, not refused, so that the client does not fail the call it is cancelling.
  if (id === null) return ctx.respond({ status: 202, headers: {}, body: null });
  const envelope = readEnvelope(message, ctx.clientHeaders);
  if ('rpc' in envelope) {
    ctx.log.warn(
      { route: ctx.routeName, code: codeOf(envelope), rpcCode: envelope.rpc.code, method: message.method.slice(0, 100), reason: envelope.rpc.message },
      'MCP 2026-07-28 request refused',
    );
    return ctx.respond(json(envelope.status, rpcError(id, envelope.rpc.code, envelope.rpc.message, envelope.rpc.data)));
  }
  const req = { ...(message as JsonRpcRequest), params: withoutEnvelope((message as JsonRpcRequest).params) };
  if (NOT_IN_ERA.has(req.method)) {
    return ctx.respond(json(404, rpcError(id, RpcErrors.METHOD_NOT_FOUND, `Method not found: ${req.method} is not part of protocol version ${envelope.protocolVersion}`)));
  }
  const modern = env.modern!;
  if (req.method === 'subscriptions/listen') return serveListen(modern, ctx, req, envelope.clientCapabilities);
  if (req.method === 'server/discover') {
    const result = await modern.with(ctx, async (session) => discoverResult(session), envelope.clientCapabilities);
    return ctx.respond(json(200, { jsonrpc: '2.0', id, result }));
  }
  await modern.with(ctx, (session) => serveRequest(env, ctx, session, req, envelope), envelope.clientCapabilities);
}

async function serveRequest(env: ServeEnv, ctx: RequestContext, session: Session, req: JsonRpcRequest, envelope: Envelope): Promise<void> {
  const era: RequestEra = {
    protocolVersion: envelope.protocolVersion,
    envelope: {
      [META_CLIENT_CAPABILITIES]: envelope.clientCapabilities,
      ...(envelope.clientInfo ? { [META_CLIENT_INFO]: envelope.clientInfo } : {}),
      ...(envelope.logLevel !== undefined ? { [META_LOG_LEVEL]: envelope.logLevel } : {}),
    },
  };
  const params = req.params ?? {};
  const binding: StateBinding = { owner: ownerOf(ctx.identity), method: req.method, name: String(params.name ?? params.uri ?? '') };
  let handle: string | undefined;
  if (params.requestState !== undefined) {
    // The retry of an input-required result: the state must be the one this gateway issued to this caller for
    // this request; the target gets its own state back.
    const opened = openState(params.requestState, binding);
    if ('refused' in opened) {
      ctx.log.warn({ route: ctx.routeName, code: ErrorCodes.MCP_REQUEST_STATE_INVALID, method: req.method, reason: opened.refused }, 'MCP request state refused');
      return ctx.respond(json(400, rpcError(req.id, RpcErrors.INVALID_PARAMS, `Invalid params: requestState refused: ${opened.refused}`)));
    }
    handle = opened.handle;
    const { requestState: _sealed, ...rest } = params;
    req = { ...req, params: opened.inner === undefined ? rest : { ...rest, requestState: opened.inner } };
  }
  if (req.method === 'tools/call' && typeof params.name === 'string') {
    // The tool's `x-mcp-header` arguments must match their Mcp-Param-* headers (SEP-2243): the gateway reads
    // the body, so it checks them, against the tool as the client listed it.
    // Listed once (again after a target's tools/list_changed): a tool still unknown is refused by the call
    // itself, without every call naming it fanning a tools/list out to every target.
    if (!session.catalog.toolSchemas.has(params.name) && !session.catalog.toolsCurrent) await list(session, 'tools', {}).catch(() => undefined);
    const refusal = checkParamHeaders(paramHeadersOf(session.catalog.toolSchemas.get(params.name)), params.arguments, ctx.clientHeaders);
    if (refusal) {
      ctx.log.warn({ route: ctx.routeName, code: ErrorCodes.MCP_HEADER_MISMATCH, rpcCode: refusal.rpc.code, method: req.method, reason: refusal.rpc.message }, 'MCP 2026-07-28 request refused');
      return ctx.respond(json(refusal.status, rpcError(req.id, refusal.rpc.code, refusal.rpc.message, refusal.rpc.data)));
    }
  }
  const modern = env.modern!;
  const exchange = (call: BridgedCall): Promise<void> =>
    runExchange(call, {
      ctx,
      wantsStream: String(ctx.clientHeaders.accept ?? '').includes('text/event-stream'),
      logs: envelope.logLevel !== undefined,
      // The call's result answers the exchange that receives it (a retry has its own id).
      complete: (r) => ({ ...modernResponse(req.method, r, era.cache, binding), id: req.id }),
      inputRequired: (inputRequests, handle) => ({
        jsonrpc: '2.0',
        id: req.id,
        result: { resultType: 'input_required', inputRequests, requestState: sealState(binding, undefined, Date.now(), handle), _meta: { [META_SERVER_INFO]: SERVER_INFO } },
      }),
      statusOf,
      bridge: modern.bridge,
      timeoutMs: () => Math.max(0, ...[...call.asked.keys()].map((k) => session.env.timeoutMs(session.pendingTarget(k) ?? ''))),
    });
  if (handle !== undefined) {
    // The retry of an input-required result the gateway made of a 2025-era target's request: the call is still
    // open in this process, its target waiting for the answers.
    const call = modern.bridge.take(handle, binding.owner);
    if (!call || call.session !== session) {
      ctx.log.warn({ route: ctx.routeName, code: ErrorCodes.MCP_REQUEST_STATE_EXPIRED, method: req.method }, 'MCP request state refused: its call is gone');
      return ctx.respond(
        json(400, rpcError(req.id, RpcErrors.INVALID_PARAMS, 'Invalid params: requestState refused: the call it continues is gone (it timed out, or was served by another gateway process): send the request again', { code: ErrorCodes.MCP_REQUEST_STATE_EXPIRED })),
      );
    }
    call.answer(params.inputResponses);
    return exchange(call);
  }
  const call = new BridgedCall(session, binding.owner, envelope.clientCapabilities, modern.pin(session));
  call.follow(answer(session, ctx, env, req, call.emit, era));
  return exchange(call);
}

/** A 2025-shaped response made a 2026-07-28 one. */
function modernResponse(method: string, response: JsonRpcResponse, listHint: CacheHint | undefined, binding: StateBinding): JsonRpcResponse {
  if (response.error || typeof response.result !== 'object' || response.result === null) return response;
  const result = { ...(response.result as Record<string, unknown>) };
  result.resultType ??= 'complete';
  if (result.resultType === 'input_required') result.requestState = sealState(binding, typeof result.requestState === 'string' ? result.requestState : undefined);
  result._meta = { ...(result._meta as Record<string, unknown> | undefined), [META_SERVER_INFO]: SERVER_INFO };
  if (CACHEABLE.has(method) && result.resultType === 'complete') {
    const hint = method === 'resources/read' ? hintOf(result) : (listHint ?? hintOf(undefined));
    result.ttlMs = hint.ttlMs;
    result.cacheScope = hint.cacheScope;
  }
  return { ...response, result };
}

/** The capability keys the route serves in the 2026-07-28 era: those of its targets. */
const SERVED = ['tools', 'prompts', 'resources', 'completions', 'logging'] as const;

/** `server/discover` for the whole set of targets: their capabilities merged, the gateway's identity. */
function discoverResult(session: Session): Record<string, unknown> {
  const capabilities: Record<string, unknown> = {};
  let hint: CacheHint | undefined;
  const extensions: Record<string, unknown> = {};
  const instructions: string[] = [];
  for (const [name, state] of session.targets) {
    const init = state.conn?.init;
    if (!init) continue;
    for (const key of SERVED) if (init.capabilities[key]) capabilities[key] = {};
    const ext = (init.capabilities as { extensions?: Record<string, unknown> }).extensions;
    if (ext && typeof ext === 'object') Object.assign(extensions, ext);
    if (init.instructions) instructions.push(session.catalog.prefix ? `[${name}] ${init.instructions}` : init.instructions);
    hint = stricterHint(hint, hintOf((init as { discover?: unknown }).discover));
  }
  if (Object.keys(extensions).length > 0) capabilities.extensions = extensions;
  const final = hint ?? hintOf(undefined);
  return {
    resultType: 'complete',
    supportedVersions: [...ALL_VERSIONS],
    capabilities,
    ...(instructions.length > 0 ? { instructions: instructions.join('\n\n') } : {}),
    _meta: { [META_SERVER_INFO]: SERVER_INFO },
    ttlMs: final.ttlMs,
    cacheScope: final.cacheScope,
  };
}
