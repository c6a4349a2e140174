import { ErrorCodes } from '../../../errors.ts';
import type { RequestContext } from '../../../pipeline/index.ts';
import { rpcError, RpcErrors, type JsonRpcMessage, type JsonRpcRequest } from '../../../protocol/jsonrpc.ts';
import { META_SERVER_INFO, META_SUBSCRIPTION_ID } from '../era.ts';
import { json } from './common.ts';
import { ownerOf } from './guard.ts';
import type { ModernSessions } from './modern-sessions.ts';
import { SseStream } from './sse-stream.ts';

/** Open `subscriptions/listen` streams one caller identity may hold on one route; more are refused. */
export const MAX_LISTENS_PER_IDENTITY = 16;

/** The change notifications a listen filter can ask for, by the filter field that asks. */
const KINDS: Record<string, string> = {
  resourceSubscriptions: 'notifications/resources/updated',
  toolsListChanged: 'notifications/tools/list_changed',
  promptsListChanged: 'notifications/prompts/list_changed',
  resourcesListChanged: 'notifications/resources/list_changed',
};

/**
 * `subscriptions/listen` (2026-07-28): one long-lived SSE response carrying the list changes the client asked for,
 * from every target of the route (what its targets send on their sessions, merged as for a 2025 GET stream),
 * and the updates of the resources it names (the gateway subscribes to them upstream, at most 100 per stream),
 * each tagged with the listen request's id. A caller holds at most MAX_LISTENS_PER_IDENTITY streams on a route.
 */
export async function serveListen(modern: ModernSessions, ctx: RequestContext, req: JsonRpcRequest, declared?: Readonly<Record<string, unknown>>): Promise<void> {
  const owner = ownerOf(ctx.identity);
  const open = modern.listenCount(owner);
  if (open >= MAX_LISTENS_PER_IDENTITY) {
    ctx.log.warn({ route: ctx.routeName, code: ErrorCodes.MCP_LISTEN_LIMIT, open, limit: MAX_LISTENS_PER_IDENTITY }, 'MCP subscriptions/listen refused: too many open streams');
    return ctx.respond(
      json(200, rpcError(req.id, RpcErrors.INTERNAL_ERROR, `Subscription limit reached: this caller already holds ${open} subscriptions/listen streams on this route (at most ${MAX_LISTENS_PER_IDENTITY})`, { code: ErrorCodes.MCP_LISTEN_LIMIT })),
    );
  }
  const asked = (req.params?.notifications ?? {}) as Record<string, unknown>;
  const uris = Array.isArray(asked.resourceSubscriptions) ? [...new Set(asked.resourceSubscriptions.filter((u): u is string => typeof u === 'string'))].slice(0, 100) : [];
  const flags = Object.keys(KINDS).filter((k) => k !== 'resourceSubscriptions' && asked[k] === true);
  const wanted = new Set(flags.map((k) => KINDS[k]));
  if (uris.length > 0) wanted.add(KINDS.resourceSubscriptions);
  const honored: Record<string, unknown> = Object.fromEntries(flags.map((k) => [k, true]));
  if (uris.length > 0) honored.resourceSubscriptions = uris;
  const tag = { [META_SUBSCRIPTION_ID]: req.id };
  const stream = new SseStream(ctx.signal);
  // The acknowledgement comes first, before anything a target sends.
  stream.send({ jsonrpc: '2.0', method: 'notifications/subscriptions/acknowledged', params: { _meta: tag, notifications: honored } });
  const deliver = (m: JsonRpcMessage): void => {
    if (!('method' in m) || !wanted.has(m.method)) return;
    if (m.method === KINDS.resourceSubscriptions && !uris.includes(String(m.params?.uri))) return;
    stream.send({ ...m, params: { ...m.params, _meta: { ...(m.params?._meta as Record<string, unknown> | undefined), ...tag } } });
  };
  const close = (): void => {
    // A graceful end (the gateway drains): the listen request's own answer, then the end of the stream.
    stream.send({ jsonrpc: '2.0', id: req.id, result: { resultType: 'complete', _meta: { ...tag, [META_SERVER_INFO]: { name: 'portcullis', version: '0.1.0' } } } });
    stream.end();
  };
  const stop = await modern.listen(ctx, { deliver, close, uris }, declared).catch((err: unknown) => {
    stream.end();
    throw err;
  });
  ctx.respond(stream.response());
  stream.whenEnded(stop);
}
