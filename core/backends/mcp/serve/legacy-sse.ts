import { ErrorCodes, GatewayError } from '../../../errors.ts';
import type { RequestContext } from '../../../pipeline/index.ts';
import { negotiateVersion } from '../dispatch.ts';
import { isRequest, type JsonRpcRequest } from '../../../protocol/jsonrpc.ts';
import type { Session } from '../session.ts';
import { answer, deferTargets, deliverNonRequests, findSession, json, newSession, notFound, readMessages, type ServeEnv } from './common.ts';
import { ownerOf } from './guard.ts';
import { SseStream } from './sse-stream.ts';

/** Whether a request belongs to the legacy HTTP+SSE transport (protocol 2024-11-05). */
export function isLegacySse(ctx: RequestContext): boolean {
  if (ctx.method === 'GET') return ctx.path.endsWith('/sse');
  // Without a query string (every streamable HTTP POST) there is nothing to parse.
  return ctx.method === 'POST' && ctx.search.length > 1 && new URLSearchParams(ctx.search).has('sessionId');
}

/**
 * Legacy HTTP+SSE: `GET .../sse` opens the stream and names, in its `endpoint` event, the URL to POST messages
 * to (the same path with `?sessionId=`, so any route that serves the stream also serves its messages). Every
 * answer travels on the stream; POSTs get 202. The session ends with its stream.
 */
export async function serveLegacySse(env: ServeEnv, ctx: RequestContext): Promise<void> {
  if (ctx.method === 'GET') return open(env, ctx);
  const id = new URLSearchParams(ctx.search).get('sessionId') ?? '';
  const session = findSession(env, ctx, id);
  if (!session.legacy) throw notFound(id);
  const parsed = await readMessages(ctx, env);
  if (!('messages' in parsed)) return ctx.respond(parsed);
  session.touch();
  const stream = session.legacy;
  deliverNonRequests(session, parsed.messages);
  for (const m of parsed.messages.filter(isRequest)) void handle(env, ctx, session, stream, m);
  ctx.respond({ status: 202, headers: { 'content-type': 'text/plain' }, body: 'Accepted' });
}

async function handle(env: ServeEnv, ctx: RequestContext, session: Session, stream: NonNullable<Session['legacy']>, req: JsonRpcRequest): Promise<void> {
  session.active++;
  try {
    if (req.method === 'initialize' && !session.started) {
      session.started = true;
      session.protocolVersion = negotiateVersion(req.params?.protocolVersion);
      // A session that fails to start ends its streams; this one must first carry the answer to initialize, or
      // the client waits for it until its own timeout.
      session.streams.delete(stream);
      try {
        await session.start({
          protocolVersion: session.protocolVersion,
          capabilities: (req.params?.capabilities as Record<string, unknown>) ?? {},
          clientInfo: (req.params?.clientInfo as { name: string; version: string }) ?? { name: 'unknown', version: '0' },
        }, deferTargets(ctx));
      } catch (err) {
        const message = err instanceof GatewayError ? err.message : (err as Error).message;
        const data = err instanceof GatewayError ? { data: { code: err.code } } : {};
        stream.send({ jsonrpc: '2.0', id: req.id, error: { code: -32603, message, ...data } });
        stream.end();
        return;
      }
      session.streams.add(stream);
    }
    stream.send(await answer(session, ctx, env, req, (m) => stream.send(m)));
  } finally {
    session.active--;
    session.touch();
  }
}

function open(env: ServeEnv, ctx: RequestContext): void {
  if (env.stateless) {
    throw new GatewayError(ErrorCodes.MCP_METHOD_NOT_ALLOWED, 'the legacy SSE transport needs a session and is not served in stateless mode', { status: 405 });
  }
  const place = env.store.reserve(ownerOf(ctx.identity), env.session.routeName, ctx.log);
  const session = newSession(env, ctx);
  place.commit(session);
  const stream = new SseStream(ctx.signal);
  stream.drainable = true;
  session.legacy = stream;
  session.streams.add(stream);
  session.active++;
  session.attachGeneral((m) => stream.send(m));
  stream.whenEnded(() => void session.close('stream-closed'));
  stream.event('endpoint', `${ctx.path}?sessionId=${session.id}`);
  ctx.respond(stream.response());
}

export { json };
