import type { MessageContext, MessagePipeline } from '../../pipeline/message.ts';
import type { McpListItem, RequestContext } from '../../pipeline/types.ts';
import { normalizeResourceUri } from '../../protocol/uri.ts';
import { LIST_METHODS, type ListKind, type Owned } from './catalog.ts';
import { RpcErrors, RpcFailure, type JsonRpcRequest } from '../../protocol/jsonrpc.ts';
import { PROTOCOL_VERSIONS } from './versions.ts';
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

/** A caching hint (MCP 2026-07-28): how long a result stays fresh, and who may share a cached copy. */
export interface CacheHint {
  ttlMs: number;
  cacheScope: 'public' | 'private';
}

/**
 * The era of one client request, when it is not its session's: a 2026-07-28 request declares its own version and
 * has no session of its own (it is served on an internal one). `cache` is set by list methods: the most
 * conservative of the targets' hints.
 */
export interface RequestEra {
  protocolVersion: string;
  cache?: CacheHint;
  /** The client's own envelope keys (`_meta`: client info, capabilities, log level), for 2026-07-28 targets. */
  envelope?: Record<string, unknown>;
}

/** The most conservative of two hints: the shorter freshness, and private if either is. */
export function stricterHint(a: CacheHint | undefined, b: CacheHint): CacheHint {
  if (!a) return b;
  return { ttlMs: Math.min(a.ttlMs, b.ttlMs), cacheScope: a.cacheScope === 'public' && b.cacheScope === 'public' ? 'public' : 'private' };
}

/** A target result's own hint; a result without one (a 2025-era target) is fresh for no time and private. */
export function hintOf(result: unknown): CacheHint {
  const r = (result ?? {}) as Record<string, unknown>;
  const ttl = typeof r.ttlMs === 'number' && Number.isFinite(r.ttlMs) && r.ttlMs > 0 ? Math.floor(r.ttlMs) : 0;
  return { ttlMs: ttl, cacheScope: r.cacheScope === 'public' ? 'public' : 'private' };
}

/** Serves one client request within a session: answered here, fanned out, or routed to the owning target. */
export async function dispatch(session: Session, ctx: RequestContext, pipeline: MessagePipeline, req: JsonRpcRequest, emit?: Emit, era?: RequestEra): Promise<unknown> {
  switch (req.method) {
    case 'ping':
      return {};
    case 'initialize':
      return initializeResult(session);
  }
  const m = new McpMessageContext(session, ctx, req, era);
  const kind = LIST_METHODS[req.method];
  if (kind) {
    await pipeline.run(m, async (msg) => {
      msg.items = await list(session, kind, withTraceMeta(msg.params ?? {}, msg.traceMeta), era);
    });
    return { [kind]: m.items!.map((i) => i.item) };
  }
  if (req.method === 'logging/setLevel') {
    await pipeline.run(m, async (msg) => {
      await Promise.all(session.liveTargets().map((t) => session.connection(t).request(req.method, msg.params ?? {}).result.catch(() => undefined)));
      msg.result = {};
    });
    return m.result;
  }
  await m.update(req.params ?? {});
  // An in-process target may refuse the call first (OpenAPI: arguments not matching the tool's inputSchema).
  const early = m.target ? session.targets.get(m.target)?.conn?.precheck(req.method, m.forward) : undefined;
  if (early !== undefined) return early;
  await pipeline.run(m, async (msg) => {
    const target = msg.target!;
    const result = await call(session, target, req, withTraceMeta((msg as McpMessageContext).forward, msg.traceMeta), emit, era);
    msg.result = session.catalog.rewriteContent(target, result);
  });
  return m.result;
}

/**
 * One MCP request as the message pipeline sees it. `update` resolves what the params name (the owning target, the
 * name or URI the target knows) and normalizes resource URIs, so every step decides on the message as forwarded.
 */
class McpMessageContext implements MessageContext {
  readonly protocol = 'mcp' as const;
  readonly http: RequestContext;
  readonly sessionId: string | undefined;
  readonly protocolVersion: string;
  readonly rpcId: JsonRpcRequest['id'];
  readonly method: string;
  params: Record<string, unknown> | undefined;
  target?: string;
  tool?: string;
  arguments?: Record<string, unknown>;
  prompt?: string;
  resourceUri?: string;
  result?: unknown;
  items?: McpListItem[];
  /** The params sent to the owning target: client-visible names and URIs mapped back to the target's own. */
  forward: Record<string, unknown> = {};
  private readonly session: Session;

  constructor(session: Session, http: RequestContext, req: JsonRpcRequest, era?: RequestEra) {
    this.session = session;
    this.http = http;
    // A 2026-07-28 request has no session: the internal one it is served on is not the client's.
    this.sessionId = era ? undefined : session.id;
    this.protocolVersion = era?.protocolVersion ?? session.protocolVersion;
    this.rpcId = req.id;
    this.method = req.method;
    this.params = req.params;
  }

  async update(params: Record<string, unknown>): Promise<void> {
    const session = this.session;
    this.params = params;
    this.tool = this.arguments = this.prompt = this.resourceUri = undefined;
    if (LIST_METHODS[this.method] || this.method === 'logging/setLevel') return; // fanned out to every target
    let owner: Owned | undefined;
    switch (this.method) {
      case 'tools/call':
      case 'prompts/get': {
        const which = this.method === 'tools/call' ? 'tools' : 'prompts';
        const name = String(params.name ?? '');
        if (which === 'tools') {
          this.tool = name;
          this.arguments = params.arguments as Record<string, unknown> | undefined;
        } else this.prompt = name;
        owner = session.catalog.resolveName(which, name);
        if (!owner) {
          await list(session, which, {});
          owner = session.catalog.resolveName(which, name);
        }
        if (!owner) throw new RpcFailure(RpcErrors.INVALID_PARAMS, which === 'tools' ? `Unknown tool: ${name}` : `Unknown prompt: ${name}`);
        this.forward = { ...params, name: owner.original };
        break;
      }
      case 'resources/read':
      case 'resources/subscribe':
      case 'resources/unsubscribe': {
        const raw = String(params.uri ?? '');
        const uri = normalizeResourceUri(raw);
        if (uri === undefined) throw new RpcFailure(RpcErrors.INVALID_PARAMS, `Invalid resource URI: ${raw.slice(0, 200)} cannot be normalized safely`);
        this.resourceUri = uri;
        owner = session.catalog.resolveUri(uri);
        if (!owner && !session.catalog.prefix) {
          await list(session, 'resources', {});
          await list(session, 'resourceTemplates', {});
          owner = session.catalog.resolveUri(uri);
        }
        if (!owner) throw new RpcFailure(RpcErrors.INVALID_PARAMS, `Unknown resource: ${uri}`);
        this.forward = { ...params, uri: owner.original };
        break;
      }
      case 'completion/complete': {
        const ref = (params.ref ?? {}) as Record<string, unknown>;
        if (ref.type === 'ref/prompt') owner = session.catalog.resolveName('prompts', String(ref.name ?? ''));
        else {
          const uri = normalizeResourceUri(String(ref.uri ?? ''));
          if (uri === undefined) throw new RpcFailure(RpcErrors.INVALID_PARAMS, `Invalid resource URI: ${String(ref.uri).slice(0, 200)} cannot be normalized safely`);
          owner = session.catalog.resolveUri(uri);
        }
        if (!owner) throw new RpcFailure(RpcErrors.INVALID_PARAMS, `Unknown reference: ${String(ref.name ?? ref.uri ?? '')}`);
        this.forward = { ...params, ref: { ...ref, ...(ref.type === 'ref/prompt' ? { name: owner.original } : { uri: owner.original }) } };
        break;
      }
      default: {
        // A method the gateway does not know is passed through when there is one target to pass it to.
        if (session.targets.size !== 1) throw new RpcFailure(RpcErrors.METHOD_NOT_FOUND, `Method not found: ${this.method}`);
        owner = { target: [...session.targets.keys()][0], original: '' };
        this.forward = params;
      }
    }
    this.target = owner.target;
  }
}

/** Rounds of input a 2026-07-28 target may ask a 2025 client for within one call. */
const MAX_INPUT_ROUNDS = 8;

function isInputRequired(result: unknown): result is { resultType: 'input_required'; inputRequests?: Record<string, { method: string; params?: Record<string, unknown> }>; requestState?: string } {
  return typeof result === 'object' && result !== null && (result as { resultType?: unknown }).resultType === 'input_required';
}

async function call(session: Session, target: string, req: JsonRpcRequest, params: Record<string, unknown>, emit?: Emit, era?: RequestEra): Promise<unknown> {
  const conn = session.connection(target);
  const meta = params._meta as Record<string, unknown> | undefined;
  // A 2026-07-28 target decides on the capabilities the client declared for this request; 2025 targets never
  // see envelope keys.
  if (era?.envelope && conn.init.discover) params = { ...params, _meta: { ...meta, ...era.envelope } };
  const handle = conn.request(req.method, params);
  const scope: Scope = { clientId: req.id, target, upstreamId: handle.upstreamId, progressToken: meta?.progressToken, emit };
  session.scopes.add(scope);
  try {
    let result = await handle.result;
    // A 2026-07-28 client gets an input-required result as is (its edge seals the state); a 2025 client is
    // asked each input as the server-to-client request it was, and the call retried with the answers.
    for (let round = 0; !era && isInputRequired(result); round++) {
      if (round >= MAX_INPUT_ROUNDS) throw new RpcFailure(RpcErrors.INTERNAL_ERROR, `target "${target}" still asked for input after ${MAX_INPUT_ROUNDS} rounds`, { target });
      const asked = Object.entries(result.inputRequests ?? {});
      const answers = await Promise.all(asked.map(([, r]) => session.askClient(target, String(r?.method), r?.params)));
      const retry = { ...params, inputResponses: Object.fromEntries(asked.map(([key], i) => [key, answers[i]])) } as Record<string, unknown>;
      if (result.requestState !== undefined) retry.requestState = result.requestState;
      const again = conn.request(req.method, retry);
      scope.upstreamId = again.upstreamId;
      result = await again.result;
    }
    return result;
  } finally {
    session.scopes.delete(scope);
  }
}

/** Lists every live target (all pages) and merges; the message pipeline filters the items. */
export async function list(session: Session, kind: ListKind, params: Record<string, unknown>, era?: RequestEra): Promise<McpListItem[]> {
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
          if (era) era.cache = stricterHint(era.cache, hintOf(r));
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
  return merged.items.map(({ target, item }) =>
    kind === 'resources' || kind === 'resourceTemplates'
      ? { kind: ITEM_KIND[kind], target, item, uri: String(item.uri ?? item.uriTemplate) }
      : { kind: ITEM_KIND[kind], target, item, name: String(item.name) },
  );
}

/** The params with the trace context of the message added to `_meta` (W3C keys, as MCP servers read them). */
function withTraceMeta(params: Record<string, unknown>, meta: Readonly<Record<string, string>> | undefined): Record<string, unknown> {
  if (!meta) return params;
  return { ...params, _meta: { ...(params._meta as Record<string, unknown> | undefined), ...meta } };
}

function withoutCursor(params: Record<string, unknown>): Record<string, unknown> {
  const { cursor: _ignored, ...rest } = params;
  return rest;
}
