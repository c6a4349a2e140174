import { type McpListItem, type MessageContext, type MessagePipeline, type RequestContext, UPSTREAM_LINK_REQUIRED, type UpstreamLinkRequired } from '../../pipeline/index.ts';
import { normalizeResourceUri } from '../../protocol/uri.ts';
import { LIST_METHODS, type ListKind, type Owned } from './catalog.ts';
import { RpcErrors, RpcFailure, type JsonRpcRequest } from '../../protocol/jsonrpc.ts';
import { PROTOCOL_VERSIONS } from './versions.ts';
import { openCursor, sealCursor, type CursorBinding, type OpenedCursor } from './list-cursor.ts';
import { ErrorCodes } from '../../errors.ts';
import { createHash } from 'node:crypto';
import { resolveTaskId, taskIdsOut } from './tasks.ts';
import type { Emit, Scope, Session } from './session.ts';
import { CALL_TOOL, SEARCH_TOOL, ToolSearch } from './tools/index.ts';

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
  // Tasks are served when a target serves them (routed by task id on several targets, tasks.ts).
  const tasks = [...session.targets.values()].map((s) => (s.conn?.init.capabilities as { tasks?: Record<string, unknown> } | undefined)?.tasks).filter((t) => t !== undefined);
  return {
    protocolVersion: session.protocolVersion,
    capabilities: tasks.length > 0 ? { ...GATEWAY_CAPABILITIES, tasks: Object.assign({}, ...tasks) } : GATEWAY_CAPABILITIES,
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

/**
 * The answer to a request whose caller must first link an upstream account: MCP 2025-11-25's
 * URLElicitationRequiredError, one URL-mode elicitation naming the login URL (its id is stable for one pending
 * login, so a client retrying sees the same elicitation). Clients that do not know the code still show the message,
 * which names the URL.
 */
export function linkElicitation(link: UpstreamLinkRequired): RpcFailure {
  const elicitationId = createHash('sha256').update(link.loginUrl).digest('base64url').slice(0, 32);
  return new RpcFailure(RpcErrors.URL_ELICITATION_REQUIRED, link.message, {
    code: ErrorCodes.UPSTREAM_LINK_REQUIRED,
    elicitations: [{ mode: 'url', elicitationId, url: link.loginUrl, message: `Sign in to link your "${link.link}" account to this gateway.` }],
  });
}

/** Serves one client request within a session: answered here, fanned out, or routed to the owning target. */
export async function dispatch(session: Session, ctx: RequestContext, pipeline: MessagePipeline, req: JsonRpcRequest, emit?: Emit, era?: RequestEra): Promise<unknown> {
  switch (req.method) {
    case 'ping':
      return {};
    case 'initialize':
      return initializeResult(session);
  }
  const link = ctx.vars.get(UPSTREAM_LINK_REQUIRED);
  if (link) throw linkElicitation(link);
  await session.connectDeferred();
  const m = new McpMessageContext(session, ctx, req, era);
  const kind = LIST_METHODS[req.method];
  if (kind) {
    let nextCursor: string | undefined;
    const tools = kind === 'tools' ? session.env.tools : undefined;
    // Pinned tool search answers one short page: the whole list is read to pick the pinned tools from it.
    const whole = tools?.search?.list === 'pinned';
    await pipeline.run(m, async (msg) => {
      const params = withTraceMeta(msg.params ?? {}, msg.traceMeta);
      const page = whole ? { items: await list(session, kind, params, era), nextCursor: undefined } : await listPage(session, kind, params, era);
      // Toolsets first: a tool outside the caller's sets is never shown, whatever the policies say.
      msg.items = tools ? tools.visibleItems(ctx.identity, page.items) : page.items;
      nextCursor = page.nextCursor;
    });
    // Policies remove items per caller, so a page may come out short (even empty) with more to follow.
    const items = tools?.search ? tools.search.listed(m.items!) : m.items!.map((i) => i.item);
    return { [kind]: items, ...(nextCursor !== undefined ? { nextCursor } : {}) };
  }
  if (req.method === 'tasks/list' && session.targets.size > 1) {
    await pipeline.run(m, async (msg) => {
      msg.result = await listTasks(session, withTraceMeta(msg.params ?? {}, msg.traceMeta));
    });
    return m.result;
  }
  if (req.method === 'logging/setLevel') {
    await pipeline.run(m, async (msg) => {
      await Promise.all(session.liveTargets().map((t) => session.connection(t).request(req.method, msg.params ?? {}).result.catch(() => undefined)));
      msg.result = {};
    });
    return m.result;
  }
  await m.update(req.params ?? {});
  if (m.gatewayTool) {
    await pipeline.run(m, async (msg) => {
      msg.result = await searchTools(session, ctx, pipeline, msg.arguments, era);
    });
    return m.result;
  }
  // An in-process target may refuse the call first (OpenAPI: arguments not matching the tool's inputSchema).
  const early = m.target ? session.targets.get(m.target)?.conn?.precheck(req.method, m.forward) : undefined;
  if (early !== undefined) return early;
  await pipeline.run(m, async (msg) => {
    const target = msg.target!;
    const result = await call(session, target, req, withTraceMeta((msg as McpMessageContext).forward, msg.traceMeta), emit, era);
    // On several targets, task ids name their target (tasks.ts); on one, they pass as they are.
    msg.result = session.catalog.rewriteContent(target, session.targets.size > 1 ? taskIdsOut(target, req.method, result) : result);
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
  upstreamTool?: string;
  arguments?: Record<string, unknown>;
  prompt?: string;
  resourceUri?: string;
  result?: unknown;
  items?: McpListItem[];
  /** Set for a call of the gateway's own `search_tools`: served by the gateway, not routed to a target. */
  gatewayTool = false;
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
    this.tool = this.upstreamTool = this.arguments = this.prompt = this.resourceUri = undefined;
    this.gatewayTool = false;
    if (LIST_METHODS[this.method] || this.method === 'logging/setLevel' || (this.method === 'tasks/list' && session.targets.size > 1)) return; // fanned out to every target
    let owner: Owned | undefined;
    switch (this.method) {
      case 'tools/call':
      case 'prompts/get': {
        const which = this.method === 'tools/call' ? 'tools' : 'prompts';
        const governance = which === 'tools' ? session.env.tools : undefined;
        if (governance?.search && params.name === CALL_TOOL) {
          // `call_tool` stands for the call it names: every step decides on that call, as for a direct one.
          params = this.params = ToolSearch.unwrapCall(params);
        }
        const name = String(params.name ?? '');
        if (which === 'tools') {
          this.tool = name;
          this.arguments = params.arguments as Record<string, unknown> | undefined;
          if (governance?.search && name === SEARCH_TOOL) {
            this.gatewayTool = true;
            this.target = undefined;
            this.forward = params;
            return;
          }
        } else this.prompt = name;
        // A tool outside the caller's toolsets does not exist for it.
        if (governance && !governance.allows(this.http.identity, name)) throw new RpcFailure(RpcErrors.INVALID_PARAMS, `Unknown tool: ${name}`);
        owner = session.catalog.resolveName(which, name);
        if (!owner) {
          await list(session, which, {});
          owner = session.catalog.resolveName(which, name);
        }
        if (!owner) throw new RpcFailure(RpcErrors.INVALID_PARAMS, which === 'tools' ? `Unknown tool: ${name}` : `Unknown prompt: ${name}`);
        this.forward = { ...params, name: owner.original };
        if (which === 'tools') {
          this.upstreamTool = owner.original;
          // Fixed and default arguments of the route's tool settings: policies see the arguments as forwarded.
          const rules = governance?.rules.get(owner.target);
          if (rules) {
            this.arguments = rules.callArguments(owner.original, this.arguments);
            if (this.arguments !== params.arguments) this.forward.arguments = this.arguments;
          }
        }
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
      case 'tasks/get':
      case 'tasks/result':
      case 'tasks/update':
      case 'tasks/cancel': {
        if (session.targets.size === 1) {
          owner = { target: [...session.targets.keys()][0], original: '' };
          this.forward = params;
          break;
        }
        try {
          owner = resolveTaskId(session.targetNames, params.taskId);
        } catch (err) {
          session.env.logger.warn({ route: session.env.routeName, code: ErrorCodes.MCP_TASK_UNKNOWN, method: this.method }, 'MCP task id refused');
          throw err;
        }
        this.forward = { ...params, taskId: owner.original };
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

/**
 * A `search_tools` call: the best matches among the tools the caller may see (its toolsets, then every policy's
 * list rule, asked best match first), from the session's last whole list (listed now when there is none).
 */
async function searchTools(session: Session, ctx: RequestContext, pipeline: MessagePipeline, args: Record<string, unknown> | undefined, era?: RequestEra): Promise<unknown> {
  const governance = session.env.tools!;
  const items = session.catalog.listedTools ?? (await list(session, 'tools', {}, era ? { protocolVersion: era.protocolVersion } : undefined));
  const inToolsets = governance.toolsets?.visible(ctx.identity);
  return governance.search!.search(args, items, async (item) => {
    if (inToolsets && !inToolsets(String(item.name))) return false;
    return (await pipeline.filterItems(ctx, [item])).length === 1;
  });
}

/** Rounds of input a 2026-07-28 target may ask a 2025 client for within one call. */
const MAX_INPUT_ROUNDS = 8;

function isInputRequired(result: unknown): result is { resultType: 'input_required'; inputRequests?: Record<string, { method: string; params?: Record<string, unknown> }>; requestState?: string } {
  return typeof result === 'object' && result !== null && (result as { resultType?: unknown }).resultType === 'input_required';
}

async function call(session: Session, target: string, req: JsonRpcRequest, params: Record<string, unknown>, emit?: Emit, era?: RequestEra): Promise<unknown> {
  // A process still starting behind a snapshot is waited for: the call needs it, and its upstream id (cancellation).
  const conn = await session.ready(target);
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

/** One page of one target's list: its items and its own next cursor (undefined at the end). */
async function targetPage(session: Session, target: string, kind: ListKind, params: Record<string, unknown>, cursor: unknown, era?: RequestEra) {
  const method = methodOf(kind);
  const conn = session.connection(target);
  // A target that does not offer this kind would answer "method not found"; it simply has none.
  if (!conn.init.capabilities[kind === 'resourceTemplates' ? 'resources' : kind]) return { items: [], next: undefined };
  const ready = cursor === undefined ? conn.prefetched.get(method) : undefined;
  if (ready !== undefined) conn.prefetched.delete(method);
  const r = (ready ?? (await conn.request(method, cursor === undefined ? withoutCursor(params) : { ...withoutCursor(params), cursor }).result)) as Record<string, unknown>;
  if (era) era.cache = stricterHint(era.cache, hintOf(r));
  const next = r?.nextCursor;
  return { items: (r?.[kind] as Array<Record<string, unknown>>) ?? [], next: next === undefined || next === null ? undefined : next };
}

function methodOf(kind: ListKind): string {
  return Object.keys(LIST_METHODS).find((m) => LIST_METHODS[m] === kind)!;
}

/** Lists every live target (all pages) and merges; the message pipeline filters the items. */
export async function list(session: Session, kind: ListKind, params: Record<string, unknown>, era?: RequestEra): Promise<McpListItem[]> {
  const targets = session.env.failOpen ? session.liveTargets() : [...session.targets.keys()];
  const perTarget = await Promise.all(
    targets.map(async (target) => {
      const items: Array<Record<string, unknown>> = [];
      let cursor: unknown;
      for (let page = 0; page < MAX_PAGES; page++) {
        try {
          const p = await targetPage(session, target, kind, params, cursor, era);
          items.push(...p.items);
          cursor = p.next;
        } catch (err) {
          if (session.env.failOpen) return { target, items };
          throw err;
        }
        if (cursor === undefined) break;
      }
      return { target, items };
    }),
  );
  const items = merged(session, kind, perTarget);
  // Kept for search_tools only: a route without tool search does not hold every session's whole list.
  if (kind === 'tools' && session.env.tools?.search) session.catalog.listedTools = items;
  return items;
}

function merged(session: Session, kind: ListKind, perTarget: Array<{ target: string; items: Array<Record<string, unknown>> }>, partial = false): McpListItem[] {
  const out = session.catalog.merge(kind, perTarget, partial);
  for (const c of out.collisions) {
    session.env.logger.warn({ route: session.env.routeName, kind, name: c.name, targets: c.targets }, 'MCP name collision: items left out (use prefixMode "always" or "conditional")');
  }
  return out.items.map(({ target, item, original }) =>
    kind === 'resources' || kind === 'resourceTemplates'
      ? { kind: ITEM_KIND[kind], target, item, uri: String(item.uri ?? item.uriTemplate) }
      : { kind: ITEM_KIND[kind], target, item, name: String(item.name), upstreamName: original },
  );
}

/**
 * The page of a list a client asked for. A 2025 client gets every target's whole list on one page, as it always
 * has (it never had a cursor to follow; one it sends is ignored). A 2026-07-28 client pages with one gateway cursor
 * (list-cursor.ts): a page holds, in target order from where the cursor points, each target's next page up to and
 * including the first target that has more, and `nextCursor` points at that target's own next page. Targets'
 * pages are fetched together; those past a target with more are fetched again on the next page (a warm pool's
 * prefetched first pages make that cheap). Without prefixes on several targets, names can collide across pages,
 * which only the whole list can tell: such a route answers every client with the whole list.
 */
async function listPage(session: Session, kind: ListKind, params: Record<string, unknown>, era?: RequestEra): Promise<{ items: McpListItem[]; nextCursor?: string }> {
  if (!era) return { items: await list(session, kind, params, era) };
  const names = [...session.targets.keys()];
  const binding = { route: session.env.routeName, method: methodOf(kind) };
  const at = params.cursor === undefined ? undefined : openedCursor(session, params.cursor, binding);
  if (!session.catalog.prefix && names.length > 1) return { items: await list(session, kind, params, era) };
  const start = at?.index ?? 0;
  const startCursor = at?.cursor;
  const live = new Set(session.env.failOpen ? session.liveTargets() : names);
  const order = names.map((target, index) => ({ target, index })).filter((t) => t.index >= start && live.has(t.target));
  const pages = await Promise.all(
    order.map(({ target, index }) =>
      targetPage(session, target, kind, params, index === start ? startCursor : undefined, era).catch((err) => {
        if (session.env.failOpen) return { items: [], next: undefined };
        throw err;
      }),
    ),
  );
  const perTarget: Array<{ target: string; items: Array<Record<string, unknown>> }> = [];
  let nextCursor: string | undefined;
  for (let i = 0; i < order.length; i++) {
    perTarget.push({ target: order[i].target, items: pages[i].items });
    if (pages[i].next !== undefined) {
      nextCursor = sealCursor(binding, { index: order[i].index, target: order[i].target, cursor: pages[i].next });
      break;
    }
  }
  const whole = start === 0 && startCursor === undefined && nextCursor === undefined;
  return { items: merged(session, kind, perTarget, !whole), nextCursor };
}

/** Where a client's gateway cursor points on this route, or the `-32602` refusal (logged). */
function openedCursor(session: Session, token: unknown, binding: CursorBinding): OpenedCursor {
  const names = [...session.targets.keys()];
  const opened = openCursor(token, binding);
  const refused = 'refused' in opened ? opened.refused : names[opened.index] !== opened.target ? `it names target "${opened.target.slice(0, 64)}", which this route no longer has at that place` : undefined;
  if (refused !== undefined) {
    session.env.logger.warn({ route: session.env.routeName, code: ErrorCodes.MCP_CURSOR_INVALID, method: binding.method, reason: refused }, 'MCP list cursor refused');
    throw new RpcFailure(RpcErrors.INVALID_PARAMS, `Invalid params: cursor refused: ${refused}`, { code: ErrorCodes.MCP_CURSOR_INVALID });
  }
  return opened as OpenedCursor;
}

/**
 * `tasks/list` (2025-11-25) on several targets: each target that lists tasks, one page at a time, under a gateway
 * cursor as for the other lists (for clients of both eras: the method is new, no client relies on one page).
 */
async function listTasks(session: Session, params: Record<string, unknown>): Promise<Record<string, unknown>> {
  const names = [...session.targets.keys()];
  const binding = { route: session.env.routeName, method: 'tasks/list' };
  const at = params.cursor === undefined ? { index: 0, cursor: undefined } : openedCursor(session, params.cursor, binding);
  const tasks: unknown[] = [];
  for (let index = at.index; index < names.length; index++) {
    const state = session.targets.get(names[index])!;
    const conn = state.conn;
    if (!conn || conn.closed || !(conn.init.capabilities as { tasks?: { list?: unknown } }).tasks?.list) continue;
    const cursor = index === at.index ? at.cursor : undefined;
    let r: Record<string, unknown>;
    try {
      r = (await conn.request('tasks/list', cursor === undefined ? withoutCursor(params) : { ...withoutCursor(params), cursor }).result) as Record<string, unknown>;
    } catch (err) {
      if (session.env.failOpen) continue;
      throw err;
    }
    tasks.push(...((taskIdsOut(names[index], 'tasks/list', r) as { tasks?: unknown[] }).tasks ?? []));
    if (r?.nextCursor !== undefined && r.nextCursor !== null) {
      return { tasks, nextCursor: sealCursor(binding, { index, target: names[index], cursor: r.nextCursor }) };
    }
  }
  return { tasks };
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
