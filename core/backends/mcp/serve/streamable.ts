import { ErrorCodes, GatewayError } from '../../../errors.ts';
import type { RequestContext } from '../../../pipeline/index.ts';
import { isRequest, rpcError, RpcErrors, type JsonRpcMessage, type JsonRpcRequest, type JsonRpcResponse } from '../../../protocol/jsonrpc.ts';
import { PROTOCOL_VERSIONS } from '../versions.ts';
import { ALL_VERSIONS, isModernMessage, isModernVersion } from '../era.ts';
import { serveModern } from './modern.ts';
import type { Session } from '../session.ts';
import { answer, deliverNonRequests, findSession, json, openSession, readMessages, type ServeEnv } from './common.ts';
import { ownerOf } from './guard.ts';
import { SseStream } from './sse-stream.ts';

const SESSION_HEADER = 'mcp-session-id';

/** The streamable HTTP transport, server side: POST messages, GET a notification stream, DELETE the session. */
export async function serveStreamable(env: ServeEnv, ctx: RequestContext): Promise<void> {
  const version = ctx.clientHeaders['mcp-protocol-version'];
  // A 2026-07-28-era version (known or not) is the modern codec's to judge, from the body, on POST.
  const modernHeader = typeof version === 'string' && isModernVersion(version.trim());
  if (typeof version === 'string' && !modernHeader && !(PROTOCOL_VERSIONS as readonly string[]).includes(version)) {
    throw new GatewayError(
      ErrorCodes.MCP_PROTOCOL_VERSION,
      `unsupported MCP-Protocol-Version "${version.slice(0, 40)}": this gateway speaks ${ALL_VERSIONS.join(', ')}`,
    );
  }
  if (modernHeader && ctx.method !== 'POST') {
    // 2026-07-28 has no GET stream and no session to DELETE (subscriptions/listen replaced the one).
    throw new GatewayError(ErrorCodes.MCP_METHOD_NOT_ALLOWED, `method ${ctx.method} is not served for protocol version ${version.slice(0, 40)}: POST every request`, { status: 405 });
  }
  switch (ctx.method) {
    case 'POST':
      return post(env, ctx);
    case 'GET':
      return get(env, ctx);
    case 'DELETE':
      return del(env, ctx);
    default:
      throw new GatewayError(ErrorCodes.MCP_METHOD_NOT_ALLOWED, `method ${ctx.method} is not allowed on an MCP endpoint: use POST, GET or DELETE`, {
        status: 405,
      });
  }
}

function sessionOf(env: ServeEnv, ctx: RequestContext): Session {
  const id = ctx.clientHeaders[SESSION_HEADER];
  if (typeof id !== 'string' || id === '') {
    throw new GatewayError(ErrorCodes.MCP_SESSION_REQUIRED, 'missing Mcp-Session-Id header: send initialize first and echo the session id it returns');
  }
  return findSession(env, ctx, id);
}

async function post(env: ServeEnv, ctx: RequestContext): Promise<void> {
  const parsed = await readMessages(ctx, env);
  if (!('messages' in parsed)) return ctx.respond(parsed);
  const { messages, batch } = parsed;
  // The era is decided per request, by the body: a 2026-07-28 request has no session, whatever headers say.
  if (!batch && isModernMessage(messages[0], ctx.clientHeaders)) return serveModern(env, ctx, messages[0] as JsonRpcMessage & { method: string });
  if (batch && messages.some((m) => isModernMessage(m, {}))) {
    return ctx.respond(json(400, rpcError(null, RpcErrors.INVALID_REQUEST, 'Invalid Request: JSON-RPC batches may not contain requests of protocol version 2026-07-28 or later')));
  }
  const requests = messages.filter(isRequest);
  const init = requests.find((r) => r.method === 'initialize');
  if (init && messages.length > 1) {
    return ctx.respond(json(400, rpcError(null, RpcErrors.INVALID_REQUEST, 'Invalid Request: initialize must be sent alone, not in a batch')));
  }

  let session: Session;
  let temporary = false;
  const headers: Record<string, string> = {};
  if (env.stateless) {
    // Stateless: upstream sessions live for this one POST.
    session = await openSession(env, ctx, init?.params);
    temporary = true;
  } else if (init) {
    const place = env.store.reserve(ownerOf(ctx.identity), env.session.routeName, ctx.log);
    try {
      session = await openSession(env, ctx, init.params);
    } catch (err) {
      place.cancel();
      throw err;
    }
    place.commit(session);
    headers[SESSION_HEADER] = session.id;
  } else {
    session = sessionOf(env, ctx);
  }
  session.touch();
  deliverNonRequests(session, messages);
  if (requests.length === 0) {
    if (temporary) await session.close('delete');
    return ctx.respond({ status: 202, headers, body: null });
  }

  let release: () => void;
  try {
    release = env.store.admitRequest(session, env.session.routeName);
  } catch (err) {
    if (temporary) await session.close('delete');
    throw err;
  }
  session.active++;
  const wantsStream = String(ctx.clientHeaders.accept ?? '').includes('text/event-stream');
  let stream: SseStream | undefined;
  let upgraded!: () => void;
  const upgrade = new Promise<void>((r) => (upgraded = r));
  // Related messages (progress, server-to-client requests) switch the answer to an SSE stream; a plain call
  // that produces none is answered with one JSON body, which is cheaper for both sides.
  const emit = (m: JsonRpcMessage): boolean => {
    if (!wantsStream) return false;
    if (!stream) {
      const s = (stream = new SseStream(ctx.signal));
      session.streams.add(s);
      s.whenEnded(() => session.streams.delete(s));
      upgraded();
    }
    return stream.send(m);
  };
  const done = Promise.all(requests.map((r) => answer(session, ctx, env, r as JsonRpcRequest, emit)));
  const finish = () => {
    release();
    session.active--;
    session.touch();
    if (temporary) void session.close('delete');
  };
  const first = await Promise.race([done.then(() => 'done' as const), upgrade.then(() => 'stream' as const)]);
  if (first === 'done' && !stream) {
    const responses = await done;
    finish();
    const body: JsonRpcResponse | JsonRpcResponse[] = batch ? responses : responses[0];
    return ctx.respond(json(200, body, headers));
  }
  const s = stream!;
  ctx.respond(s.response(headers));
  done.then(
    (responses) => {
      for (const r of responses) s.send(r);
      s.end();
      finish();
    },
    () => {
      s.end();
      finish();
    },
  );
}

function get(env: ServeEnv, ctx: RequestContext): void {
  if (env.stateless) {
    throw new GatewayError(ErrorCodes.MCP_METHOD_NOT_ALLOWED, 'GET is not served in stateless mode: there is no session to stream', { status: 405 });
  }
  const session = sessionOf(env, ctx);
  const stream = new SseStream(ctx.signal);
  stream.drainable = true;
  session.active++;
  session.touch();
  const emit = (m: JsonRpcMessage) => stream.send(m);
  // A newer GET stream replaces an older one (a client reconnecting after a network change).
  session.attachGeneral(emit);
  stream.whenEnded(() => {
    session.active--;
    session.touch();
    session.detachGeneral(emit);
  });
  session.streams.add(stream);
  stream.whenEnded(() => session.streams.delete(stream));
  ctx.respond(stream.response());
}

async function del(env: ServeEnv, ctx: RequestContext): Promise<void> {
  if (env.stateless) {
    throw new GatewayError(ErrorCodes.MCP_METHOD_NOT_ALLOWED, 'DELETE is not served in stateless mode: there is no session to end', { status: 405 });
  }
  const session = sessionOf(env, ctx);
  for (const s of [...session.streams]) s.end();
  await session.close('delete');
  ctx.respond({ status: 200, headers: {}, body: null });
}
