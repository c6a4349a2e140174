import type { Readable } from 'node:stream';
import { ErrorCodes, GatewayError } from '../../errors.ts';
import { readRequestBody, type GatewayResponse, type HeaderMap, type MessageContext, type MessagePipeline, type RequestContext } from '../../pipeline/index.ts';
import { isJsonRpcMessage, rpcError, RpcErrors, RpcFailure, type JsonRpcId } from '../../protocol/jsonrpc.ts';
import type { AgentAnswer, AgentCaller, AgentEndpoint, AgentRequest, AgentResponse } from './agent-call.ts';
import { rewriteCard, type CardView } from './card.ts';
import { CARD_METHODS, describeMessage, KNOWN_METHODS, STREAMING_METHODS, type RestCall } from './methods.ts';
import { pushUrlsOf } from './push.ts';
import { MAX_MESSAGE_DEPTH, nestsDeeperThan } from '../../protocol/message-check.ts';
import type { OutboundGuard } from '../../upstream/index.ts';

/** What serving one agent's traffic needs, built once per route. */
export interface ServeEnv {
  caller: AgentCaller;
  messages: MessagePipeline;
  /** The route's push-URL rule (`a2a.pushNotifications`), through the gateway's one outbound-URL guard. */
  pushGuard: OutboundGuard;
  /** Largest non-streaming answer read from an agent. */
  maxResponseBytes: number;
  view(ctx: RequestContext, agent: AgentEndpoint): CardView;
  /** Agent streams being passed through, so a shutdown can end them. */
  streams: Set<Readable>;
}

type Json = Record<string, unknown>;

export function json(status: number, body: unknown, headers: Record<string, string> = {}): GatewayResponse {
  const text = JSON.stringify(body);
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: text };
}

/**
 * Sends one message to the agent: a streaming method through `call` (its answer may be an event stream, passed on
 * as it comes), any other read whole by `callWhole`.
 */
function sendTo(env: ServeEnv, ctx: RequestContext, agent: AgentEndpoint, m: MessageContext, req: AgentRequest): Promise<AgentResponse | AgentAnswer> {
  return m.streaming ? env.caller.call(ctx, agent, { ...req, signal: ctx.signal }) : env.caller.callWhole(ctx, agent, req, env.maxResponseBytes);
}

const isSse = (res: AgentResponse) => String(res.headers['content-type'] ?? '').includes('text/event-stream');

/** A protocol message on its way through the route's message pipeline. */
function messageContext(ctx: RequestContext, agent: AgentEndpoint, method: string, params: Json | undefined, rpcId: JsonRpcId | null | undefined): MessageContext {
  const m: MessageContext = {
    protocol: 'a2a',
    http: ctx,
    rpcId,
    method,
    params,
    target: agent.name,
    a2a: describeMessage(method, params, agent.name),
    streaming: STREAMING_METHODS.has(method),
    async update(next) {
      m.params = next;
      m.a2a = describeMessage(method, next, agent.name);
    },
  };
  return m;
}

/** Refuses a message that would have the agent call a URL outside the allowlist. */
async function checkPush(env: ServeEnv, m: MessageContext, urls: unknown[]): Promise<void> {
  for (const url of urls) {
    const verdict = await env.pushGuard.check(url);
    if (!verdict.ok) {
      const shown = typeof url === 'string' ? url : JSON.stringify(url) ?? String(url);
      throw new RpcFailure(RpcErrors.DENIED, `push notification URL ${JSON.stringify(shown.slice(0, 200))} is not allowed on this route (a2a.pushNotifications.allowedUrls): it ${verdict.reason}`, {
        code: ErrorCodes.A2A_PUSH_URL_DENIED,
      });
    }
  }
}

/**
 * Runs one message through the pipeline, `send` calling the agent. A streamed answer is returned as soon as its
 * headers arrive, while the pipeline (with its telemetry event) goes on until the stream ends; any other answer is
 * read by `readResult` into `m.result`, and undefined is returned once the pipeline is done.
 */
async function runMessage(
  env: ServeEnv,
  m: MessageContext,
  send: (m: MessageContext) => Promise<AgentResponse | AgentAnswer>,
  readResult: (m: MessageContext, res: AgentAnswer) => Promise<void>,
): Promise<AgentResponse | undefined> {
  // Most messages name no push-notification URL: no lookup and no await for them.
  const pushCheck = (msg: MessageContext): Promise<void> | undefined => {
    const urls = pushUrlsOf(msg.method, msg.params);
    return urls.length > 0 ? checkPush(env, msg, urls) : undefined;
  };
  if (!m.streaming) {
    // A non-streaming method's answer is read whole: the pipeline's end is the answer's.
    await env.messages.run(m, async (msg) => {
      const check = pushCheck(msg);
      if (check) await check;
      const res = await send(msg);
      return readResult(msg, 'body' in res ? { status: res.status, headers: res.headers, text: await env.caller.readText(res.body, env.maxResponseBytes) } : res);
    });
    return undefined;
  }
  let streamReady!: (res: AgentResponse) => void;
  const stream = new Promise<AgentResponse>((resolve) => (streamReady = resolve));
  const done = env.messages.run(m, async (msg) => {
    const check = pushCheck(msg);
    if (check) await check;
    const res = await send(msg);
    if (!('body' in res)) return readResult(msg, res);
    if (!msg.streaming || !isSse(res)) return readResult(msg, { status: res.status, headers: res.headers, text: await env.caller.readText(res.body, env.maxResponseBytes) });
    streamReady(res);
    env.streams.add(res.body);
    res.body.once('close', () => env.streams.delete(res.body));
    await new Promise<void>((resolve, reject) => {
      res.body.once('end', resolve);
      res.body.once('close', () => (res.body.readableEnded ? resolve() : reject(new RpcFailure(RpcErrors.TARGET_UNAVAILABLE, 'the stream ended before the agent finished it'))));
      res.body.once('error', (err) => reject(err));
    });
  });
  const first = await Promise.race([stream, done.then(() => undefined)]);
  // Once streaming, the pipeline's end (stream end or break) is only telemetry: the response is already under way.
  if (first) done.catch(() => {});
  return first;
}

function failureOf(ctx: RequestContext, err: unknown): RpcFailure {
  if (err instanceof RpcFailure) return err;
  if (err instanceof GatewayError) return new RpcFailure(RpcErrors.TARGET_UNAVAILABLE, err.message, { code: err.code });
  ctx.log.error({ err, route: ctx.routeName }, 'unexpected error while serving an A2A request');
  return new RpcFailure(RpcErrors.INTERNAL_ERROR, 'internal gateway error');
}

/** Response headers of the agent that are A2A's, not HTTP's: the extensions it activated. */
const A2A_HEADERS = ['a2a-extensions', 'x-a2a-extensions'];

function a2aHeaders(res: { headers: HeaderMap } | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!res) return out;
  for (const name of A2A_HEADERS) {
    const v = res.headers[name];
    if (v !== undefined) out[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

const sseHeaders = (res: AgentResponse) => ({ 'content-type': String(res.headers['content-type']), 'cache-control': 'no-cache', 'x-accel-buffering': 'no', ...a2aHeaders(res) });

function readableId(req: unknown): JsonRpcId | null {
  const id = req && typeof req === 'object' && !Array.isArray(req) ? (req as Json).id : undefined;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/** JSON-RPC binding: one request (A2A has no batches) per POST, answered with a JSON-RPC response or an SSE stream. */
export async function serveJsonRpc(env: ServeEnv, ctx: RequestContext, agent: AgentEndpoint, path: string): Promise<void> {
  const raw = await readRequestBody(ctx);
  let req: unknown;
  try {
    req = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    return ctx.respond(json(200, rpcError(null, RpcErrors.PARSE_ERROR, `Parse error: ${(err as Error).message}`)));
  }
  if (!isJsonRpcMessage(req) || !('method' in req) || !('id' in req) || req.id === undefined) {
    // The id is answered whenever it can be read, even from an invalid request (JSON-RPC 2.0, section 5).
    return ctx.respond(json(200, rpcError(readableId(req), RpcErrors.INVALID_REQUEST, 'Invalid Request: expected one JSON-RPC 2.0 request with an id (A2A has no batches or notifications)')));
  }
  const id = req.id as JsonRpcId | null;
  if (nestsDeeperThan(req, MAX_MESSAGE_DEPTH)) return ctx.respond(json(200, rpcError(id, RpcErrors.INVALID_PARAMS, `Invalid params: the message nests deeper than ${MAX_MESSAGE_DEPTH} levels`)));
  if (!KNOWN_METHODS.has(req.method)) return ctx.respond(json(200, rpcError(id, RpcErrors.METHOD_NOT_FOUND, `Method not found: ${req.method.slice(0, 100)}`)));
  const m = messageContext(ctx, agent, req.method, req.params, id);
  const view = env.view(ctx, agent);
  let answered: AgentAnswer | undefined;
  try {
    const stream = await runMessage(
      env,
      m,
      (msg) =>
        sendTo(env, ctx, agent, msg, {
          method: 'POST',
          path,
          headers: env.caller.forwardHeaders(ctx, 'application/json'),
          body: JSON.stringify({ jsonrpc: '2.0', id, method: msg.method, params: msg.params }),
        }),
      async (msg, res) => {
        answered = res;
        const text = res.text;
        let answer: Json | undefined;
        try {
          answer = JSON.parse(text);
        } catch {
          answer = undefined;
        }
        if (!answer || typeof answer !== 'object' || !('result' in answer || 'error' in answer)) {
          throw new RpcFailure(RpcErrors.TARGET_UNAVAILABLE, `agent "${agent.name}" answered HTTP ${res.status} without a JSON-RPC response`);
        }
        const error = answer.error as { code?: unknown; message?: unknown; data?: unknown } | undefined;
        // The agent's own errors pass through untouched.
        if (error) throw new RpcFailure(Number(error.code), String(error.message ?? ''), error.data);
        msg.result = CARD_METHODS.has(msg.method) && answer.result && typeof answer.result === 'object' ? await rewriteCard(ctx, answer.result as Json, view) : answer.result;
      },
    );
    if (stream) return ctx.respond({ status: stream.status, headers: sseHeaders(stream), body: stream.body });
    ctx.respond(json(200, { jsonrpc: '2.0', id, result: m.result }, a2aHeaders(answered)));
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    ctx.respond(json(200, { jsonrpc: '2.0', id, error: failureOf(ctx, err).toError() }));
  }
}

/**
 * HTTP+JSON (REST) binding: the call is decided as the JSON-RPC method it stands for, then forwarded as is (or
 * with the params a policy changed). Errors are answered as the gateway's JSON errors with an HTTP status.
 */
export async function serveRest(env: ServeEnv, ctx: RequestContext, agent: AgentEndpoint, path: string, call: (body: Json | undefined) => RestCall | undefined): Promise<void> {
  const raw = ctx.method === 'GET' || ctx.method === 'DELETE' ? Buffer.alloc(0) : await readRequestBody(ctx);
  let body: Json | undefined;
  if (raw.length > 0) {
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw new GatewayError(ErrorCodes.BAD_REQUEST, `the request body is not JSON: ${(err as Error).message}`);
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new GatewayError(ErrorCodes.BAD_REQUEST, 'the request body must be a JSON object');
    if (nestsDeeperThan(body, MAX_MESSAGE_DEPTH)) throw new GatewayError(ErrorCodes.BAD_REQUEST, `the request body nests deeper than ${MAX_MESSAGE_DEPTH} levels`);
  }
  const rest = call(body);
  if (!rest) throw new GatewayError(ErrorCodes.A2A_UNKNOWN_ENDPOINT, `no A2A endpoint ${ctx.method} ${ctx.path}`);
  const m = messageContext(ctx, agent, rest.method, rest.params, undefined);
  const original = m.params;
  const view = env.view(ctx, agent);
  let result: { status: number; body: unknown; headers: Record<string, string> } | undefined;
  try {
    const stream = await runMessage(
      env,
      m,
      (msg) =>
        sendTo(env, ctx, agent, msg, {
          method: ctx.method as 'GET' | 'POST' | 'DELETE',
          path,
          headers: env.caller.forwardHeaders(ctx, raw.length > 0 ? String(ctx.clientHeaders['content-type'] ?? 'application/json') : undefined),
          body: raw.length === 0 ? undefined : msg.params === original ? raw : JSON.stringify(msg.params),
        }),
      async (msg, res) => {
        const text = res.text;
        let parsed: unknown = text;
        try {
          parsed = text === '' ? undefined : JSON.parse(text);
        } catch {
          // not JSON: passed on as text
        }
        const type = res.headers['content-type'];
        // v1.0 REST answers `application/a2a+json`: the client gets the agent's media type back.
        result = { status: res.status, body: parsed, headers: { ...a2aHeaders(res), ...(typeof type === 'string' && /json/.test(type) ? { 'content-type': type } : {}) } };
        if (res.status >= 400) return; // the agent's own error: passed on untouched, not a result for policies
        msg.result = CARD_METHODS.has(msg.method) && parsed && typeof parsed === 'object' ? await rewriteCard(ctx, parsed as Json, view) : parsed;
      },
    );
    if (stream) return ctx.respond({ status: stream.status, headers: sseHeaders(stream), body: stream.body });
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (err instanceof GatewayError) throw err;
    const f = failureOf(ctx, err);
    const data = f.data as { code?: string } | undefined;
    const status = data?.code === ErrorCodes.A2A_PUSH_URL_DENIED ? 403 : f.code === RpcErrors.DENIED ? 403 : f.code === RpcErrors.TARGET_UNAVAILABLE ? 502 : 400;
    return ctx.respond(json(status, { error: { code: data?.code ?? (status === 403 ? ErrorCodes.FORBIDDEN : ErrorCodes.BAD_REQUEST), message: f.message, rpcCode: f.code } }));
  }
  const r = result ?? { status: 200, body: undefined, headers: {} };
  const out = r.status < 400 ? m.result : r.body;
  if (typeof out === 'string') return ctx.respond({ status: r.status, headers: { 'content-type': 'text/plain', ...r.headers }, body: out });
  ctx.respond(out === undefined ? { status: r.status, headers: r.headers } : json(r.status, out, r.headers));
}
