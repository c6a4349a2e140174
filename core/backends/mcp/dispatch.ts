import type { McpListItem, McpMessage, McpPolicyHooks, RequestContext } from '../../pipeline/types.ts';
import { LIST_METHODS, type ListKind, type Owned } from './catalog.ts';
import { PROTOCOL_VERSIONS, RpcErrors, RpcFailure, type JsonRpcRequest } from './jsonrpc.ts';
import type { Emit, Scope, Session } from './session.ts';

const ITEM_KIND: Record<ListKind, McpListItem['kind']> = { tools: 'tool', prompts: 'prompt', resources: 'resource', resourceTemplates: 'resourceTemplate' };
const MAX_PAGES = 50;

export const GATEWAY_CAPABILITIES = {
  tools: { listChanged: true },
  prompts: { listChanged: true },
  resources: { subscribe: true, listChanged: true },
  logging: {},
  completions: {},
};

export function negotiateVersion(requested: unknown): string {
  return PROTOCOL_VERSIONS.includes(requested as (typeof PROTOCOL_VERSIONS)[number]) ? (requested as string) : PROTOCOL_VERSIONS[0];
}

/** The answer to `initialize` for the whole set of targets. */
export function initializeResult(session: Session): Record<string, unknown> {
  const instructions = [...session.targets.values()]
    .map((s) => s.conn?.init.instructions && (session.catalog.prefix ? `[${s.config.name}] ${s.conn.init.instructions}` : s.conn.init.instructions))
    .filter(Boolean)
    .join('\n\n');
  return {
    protocolVersion: session.protocolVersion,
    capabilities: GATEWAY_CAPABILITIES,
    serverInfo: { name: 'portcullis', version: '0.1.0' },
    ...(instructions ? { instructions } : {}),
  };
}

/** Serves one client request within a session: answered here, fanned out, or routed to the owning target. */
export async function dispatch(session: Session, ctx: RequestContext, hooks: readonly McpPolicyHooks[], req: JsonRpcRequest, emit?: Emit): Promise<unknown> {
  const params = req.params ?? {};
  const msg: McpMessage = { method: req.method, params: req.params };
  switch (req.method) {
    case 'ping':
      return {};
    case 'initialize':
      return initializeResult(session);
    case 'logging/setLevel':
      await policy(ctx, hooks, msg);
      await Promise.all(session.liveTargets().map((t) => session.connection(t).request(req.method, params).result.catch(() => undefined)));
      return {};
  }
  const kind = LIST_METHODS[req.method];
  if (kind) {
    const decided = await policy(ctx, hooks, msg);
    return list(session, ctx, hooks, kind, decided ?? params);
  }
  let owner: Owned | undefined;
  let forward = params;
  switch (req.method) {
    case 'tools/call':
    case 'prompts/get': {
      const which = req.method === 'tools/call' ? 'tools' : 'prompts';
      const name = String(params.name ?? '');
      owner = session.catalog.resolveName(which, name);
      if (!owner) {
        await list(session, ctx, [], which, {});
        owner = session.catalog.resolveName(which, name);
      }
      if (which === 'tools') Object.assign(msg, { tool: name, arguments: params.arguments as Record<string, unknown> | undefined });
      else msg.prompt = name;
      if (!owner) throw new RpcFailure(RpcErrors.INVALID_PARAMS, which === 'tools' ? `Unknown tool: ${name}` : `Unknown prompt: ${name}`);
      forward = { ...params, name: owner.original };
      break;
    }
    case 'resources/read':
    case 'resources/subscribe':
    case 'resources/unsubscribe': {
      const uri = String(params.uri ?? '');
      msg.resourceUri = uri;
      owner = session.catalog.resolveUri(uri);
      if (!owner && !session.catalog.prefix) {
        await list(session, ctx, [], 'resources', {});
        await list(session, ctx, [], 'resourceTemplates', {});
        owner = session.catalog.resolveUri(uri);
      }
      if (!owner) throw new RpcFailure(RpcErrors.INVALID_PARAMS, `Unknown resource: ${uri}`);
      forward = { ...params, uri: owner.original };
      break;
    }
    case 'completion/complete': {
      const ref = (params.ref ?? {}) as Record<string, unknown>;
      if (ref.type === 'ref/prompt') owner = session.catalog.resolveName('prompts', String(ref.name ?? ''));
      else owner = session.catalog.resolveUri(String(ref.uri ?? ''));
      if (!owner) throw new RpcFailure(RpcErrors.INVALID_PARAMS, `Unknown reference: ${String(ref.name ?? ref.uri ?? '')}`);
      forward = { ...params, ref: { ...ref, ...(ref.type === 'ref/prompt' ? { name: owner.original } : { uri: owner.original }) } };
      break;
    }
    default: {
      // A method the gateway does not know is passed through when there is one target to pass it to.
      if (session.targets.size !== 1) throw new RpcFailure(RpcErrors.METHOD_NOT_FOUND, `Method not found: ${req.method}`);
      owner = { target: [...session.targets.keys()][0], original: '' };
    }
  }
  msg.target = owner.target;
  const changed = await policy(ctx, hooks, msg);
  if (changed) forward = changed;
  const result = await call(session, owner.target, req, forward, emit);
  const rewritten = session.catalog.rewriteContent(owner.target, result);
  return onResult(ctx, hooks, msg, rewritten);
}

async function call(session: Session, target: string, req: JsonRpcRequest, params: Record<string, unknown>, emit?: Emit): Promise<unknown> {
  const conn = session.connection(target);
  const meta = params._meta as Record<string, unknown> | undefined;
  const handle = conn.request(req.method, params);
  const scope: Scope = { clientId: req.id, target, upstreamId: handle.upstreamId, progressToken: meta?.progressToken, emit };
  session.scopes.add(scope);
  try {
    return await handle.result;
  } finally {
    session.scopes.delete(scope);
  }
}

/** Runs the policies' request hooks; returns replacement params if one changed them. */
async function policy(ctx: RequestContext, hooks: readonly McpPolicyHooks[], msg: McpMessage): Promise<Record<string, unknown> | undefined> {
  let params: Record<string, unknown> | undefined;
  for (const h of hooks) {
    if (!h.onRequest) continue;
    const d = await h.onRequest(ctx, params ? { ...msg, params } : msg);
    if (d.action === 'deny') {
      if (d.asUnknown && msg.tool !== undefined) throw new RpcFailure(RpcErrors.INVALID_PARAMS, `Unknown tool: ${msg.tool}`);
      if (d.asUnknown && msg.prompt !== undefined) throw new RpcFailure(RpcErrors.INVALID_PARAMS, `Unknown prompt: ${msg.prompt}`);
      if (d.asUnknown && msg.resourceUri !== undefined) throw new RpcFailure(RpcErrors.INVALID_PARAMS, `Unknown resource: ${msg.resourceUri}`);
      throw new RpcFailure(d.code ?? RpcErrors.DENIED, d.message);
    }
    if (d.params) params = d.params;
  }
  return params;
}

async function onResult(ctx: RequestContext, hooks: readonly McpPolicyHooks[], msg: McpMessage, result: unknown): Promise<unknown> {
  for (const h of hooks) {
    if (!h.onResult) continue;
    const d = await h.onResult(ctx, msg, result);
    if (d.action === 'deny') throw new RpcFailure(d.code ?? RpcErrors.DENIED, d.message);
    if (d.result !== undefined) result = d.result;
  }
  return result;
}

/** Lists every live target (all pages), merges, filters through the policies. */
async function list(session: Session, ctx: RequestContext, hooks: readonly McpPolicyHooks[], kind: ListKind, params: Record<string, unknown>): Promise<unknown> {
  const method = Object.keys(LIST_METHODS).find((m) => LIST_METHODS[m] === kind)!;
  const capability = kind === 'resourceTemplates' ? 'resources' : kind;
  const targets = session.env.failOpen ? session.liveTargets() : [...session.targets.keys()];
  const perTarget = await Promise.all(
    targets.map(async (target) => {
      const conn = session.connection(target);
      // A target that does not offer this kind would answer "method not found"; it simply has none.
      if (!conn.init.capabilities[capability]) return { target, items: [] };
      const items: Array<Record<string, unknown>> = [];
      let cursor: unknown;
      for (let page = 0; page < MAX_PAGES; page++) {
        try {
          const ready = page === 0 ? conn.prefetched.get(method) : undefined;
          if (ready !== undefined) conn.prefetched.delete(method);
          const r = (ready ??
            (await conn.request(method, cursor === undefined ? { ...withoutCursor(params) } : { ...withoutCursor(params), cursor }).result)) as Record<string, unknown>;
          items.push(...((r?.[kind] as Array<Record<string, unknown>>) ?? []));
          cursor = r?.nextCursor;
        } catch (err) {
          if (session.env.failOpen) return { target, items };
          throw err;
        }
        if (cursor === undefined || cursor === null) break;
      }
      return { target, items };
    }),
  );
  const merged = session.catalog.merge(kind, perTarget);
  for (const c of merged.collisions) {
    session.env.logger.warn({ route: session.env.routeName, kind, name: c.name, targets: c.targets }, 'MCP name collision: items left out (use prefixMode "always" or "conditional")');
  }
  const allowed: Array<Record<string, unknown>> = [];
  for (const { target, item } of merged.items) {
    let ok = true;
    for (const h of hooks) {
      if (!h.allowListItem) continue;
      const listItem: McpListItem = { kind: ITEM_KIND[kind], target, item, ...(kind === 'resources' || kind === 'resourceTemplates' ? { uri: String(item.uri ?? item.uriTemplate) } : { name: String(item.name) }) };
      if (!(await h.allowListItem(ctx, listItem))) {
        ok = false;
        break;
      }
    }
    if (ok) allowed.push(item);
  }
  return { [kind]: allowed };
}

function withoutCursor(params: Record<string, unknown>): Record<string, unknown> {
  const { cursor: _ignored, ...rest } = params;
  return rest;
}
