import type { ResolvedListener, ResolvedRoute } from '../../config/index.ts';
import { ErrorCodes, GatewayError } from '../../errors.ts';
import type { McpListItem, MessagePipeline, RequestContext } from '../../pipeline/index.ts';
import type { AgentCaller, AgentEndpoint } from './agent-call.ts';
import { BoundedMap } from '../../state/bounded-map.ts';

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);

/** Where the agent card is served, at the root of each agent (the second is v0.3's legacy name). */
export const CARD_PATHS: ReadonlySet<string> = new Set(['/.well-known/agent-card.json', '/.well-known/agent.json']);

/**
 * The `A2A-Version` a client asked for, as `major.minor` (A2A versions are `0.3`, `1.0`; a patch is ignored), or
 * '' when absent or not a version: the card cache is keyed by it, so a client cannot make it hold one card per
 * distinct header value.
 */
export function normalA2aVersion(raw: string | undefined): string {
  const m = raw === undefined ? null : /^\s*v?(\d{1,3})\.(\d{1,3})(?:\.\d{1,6})?\s*$/.exec(raw);
  return m ? `${Number(m[1])}.${Number(m[2])}` : '';
}

/** Most cards kept per backend (agents times versions asked for); the least recently used goes first. */
export const CARD_CACHE_MAX_ENTRIES = 64;

/**
 * Agent cards as the agent serves them, fetched on first use and reused for `ttlMs`. One cache per runtime: a
 * reload builds a new backend, so a reload always fetches anew. The card is cached per normalised `A2A-Version`
 * the client asked for (an agent may answer v0.3 and v1.0 clients with different card shapes), at most
 * `CARD_CACHE_MAX_ENTRIES` of them.
 */
export class CardCache {
  readonly entries = new BoundedMap<string, { card: Promise<Json>; expires: number }>(CARD_CACHE_MAX_ENTRIES);
  private readonly ttlMs: number;
  private readonly caller: AgentCaller;

  constructor(caller: AgentCaller, ttlMs: number) {
    this.caller = caller;
    this.ttlMs = ttlMs;
  }

  get(ctx: RequestContext, agent: AgentEndpoint): Promise<Json> {
    const version = normalA2aVersion(headerOf(ctx, 'a2a-version'));
    const key = `${agent.name}\n${version}`;
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.expires > now) return hit.card;
    const card = this.fetch(ctx, agent, version);
    this.entries.set(key, { card, expires: now + this.ttlMs });
    // A failure is not cached: the next request asks the agent again.
    card.catch(() => {
      if (this.entries.peek(key)?.card === card) this.entries.delete(key);
    });
    return card;
  }

  private async fetch(ctx: RequestContext, agent: AgentEndpoint, version: string): Promise<Json> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (version) headers['a2a-version'] = version;
    let lastStatus = 0;
    for (const path of CARD_PATHS) {
      const res = await this.caller.call(ctx, agent, { method: 'GET', path: agent.basePath + path, headers, signal: AbortSignal.timeout(10_000) });
      lastStatus = res.status;
      if (res.status === 404) {
        res.body.resume();
        continue;
      }
      if (res.status !== 200) {
        res.body.resume();
        break;
      }
      const text = await this.caller.readText(res.body, 1024 * 1024);
      let card: unknown;
      try {
        card = JSON.parse(text);
      } catch (err) {
        throw cardError(agent, `its card at ${path} is not JSON (${(err as Error).message})`);
      }
      if (!obj(card)) throw cardError(agent, `its card at ${path} is not a JSON object`);
      return card as Json;
    }
    throw cardError(agent, `it answered HTTP ${lastStatus} for its agent card`);
  }
}

function cardError(agent: AgentEndpoint, why: string): GatewayError {
  return new GatewayError(ErrorCodes.A2A_CARD_INVALID, `agent "${agent.name}" (${agent.origin}${agent.basePath}) has no usable agent card: ${why}`);
}

function headerOf(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.clientHeaders[name];
  return Array.isArray(v) ? v[0] : v;
}

/** What the gateway enforces on a route, as agent-card security schemes (both card versions' spellings). */
export interface CardSecurity {
  v03: { schemes: Json; security: Json[] };
  v10: { schemes: Json; requirements: Json[] };
}

/**
 * The security schemes the gateway enforces on the route (its own or its listener's authentication policy): the
 * card shows these, not the agent's own (which the gateway answers for, e.g. through `backendAuth`).
 */
export function routeSecurity(route: ResolvedRoute, listener: ResolvedListener): CardSecurity {
  const own = route.policies as Json;
  const inherited = listener.policies as Json;
  const policy = (name: string) => obj(own[name]) ?? (own[name] === undefined ? obj(inherited[name]) : undefined);
  const v03: Json = {};
  const v10: Json = {};
  let optional = false;
  const jwt = policy('jwtAuth') ?? policy('mcpAuthentication');
  if (jwt) {
    const token = obj(jwt.token);
    const header = typeof token?.header === 'string' ? token.header.toLowerCase() : token?.cookie ? undefined : 'authorization';
    if (header === 'authorization') {
      v03.gatewayJwt = { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'a JWT the gateway validates' };
      v10.gatewayJwt = { httpAuthSecurityScheme: { scheme: 'Bearer', bearerFormat: 'JWT', description: 'a JWT the gateway validates' } };
    } else {
      const where = header ? 'header' : 'cookie';
      const name = header ?? String(token?.cookie);
      v03.gatewayJwt = { type: 'apiKey', in: where, name, description: 'a JWT the gateway validates' };
      v10.gatewayJwt = { apiKeySecurityScheme: { location: where, name, description: 'a JWT the gateway validates' } };
    }
    if (jwt.mode === 'optional' || jwt.mode === 'permissive') optional = true;
  }
  const key = policy('apiKey');
  if (key) {
    const header = typeof key.header === 'string' ? key.header.toLowerCase() : 'authorization';
    if (header === 'authorization') {
      v03.gatewayApiKey = { type: 'http', scheme: 'bearer', description: 'an API key the gateway validates' };
      v10.gatewayApiKey = { httpAuthSecurityScheme: { scheme: 'Bearer', description: 'an API key the gateway validates' } };
    } else {
      v03.gatewayApiKey = { type: 'apiKey', in: 'header', name: header, description: 'an API key the gateway validates' };
      v10.gatewayApiKey = { apiKeySecurityScheme: { location: 'header', name: header, description: 'an API key the gateway validates' } };
    }
    if (key.mode === 'optional' || key.mode === 'permissive') optional = true;
  }
  const names = Object.keys(v03);
  const security: Json[] = names.map((n) => ({ [n]: [] }));
  const requirements: Json[] = names.map((n) => ({ schemes: { [n]: { list: [] } } }));
  if (optional && names.length > 0) {
    security.push({});
    requirements.push({ schemes: {} });
  }
  return { v03: { schemes: v03, security }, v10: { schemes: v10, requirements } };
}

/** How the card is rewritten for one request: where the agent is reached through the gateway. */
export interface CardView {
  /** `scheme://host/route-prefix[/agent]`, no trailing slash. */
  gatewayBase: string;
  agent: AgentEndpoint;
  security: CardSecurity;
  messages: MessagePipeline;
  /** Whether the route lets clients register push-notification URLs at all. */
  pushNotifications: boolean;
}

/** The gateway's own base URL for an agent mounted at `mount`, as the client reached it. */
export function gatewayBaseOf(ctx: RequestContext, mount: string): string {
  const host = headerOf(ctx, 'host') ?? ctx.authority;
  return `${ctx.scheme}://${host}${mount}`;
}

/**
 * The card as the caller may see it: every interface URL on the agent's own origin and path moved to the gateway's
 * listener, scheme and path (v0.3 `url` and `additionalInterfaces[].url`; v1.0 `supportedInterfaces[].url`);
 * interfaces elsewhere or over gRPC left out (the gateway could not serve them); the security schemes replaced by
 * the route's; the signatures dropped (they no longer match); `capabilities.pushNotifications` false when the route
 * refuses every push URL; and only the skills the route's policies allow.
 */
export async function rewriteCard(ctx: RequestContext, source: Json, view: CardView): Promise<Json> {
  const card: Json = { ...source };
  const move = (url: unknown): string | undefined => (typeof url === 'string' ? mapUrl(url, view) : undefined);
  const isGrpc = (i: Json) => String(i.protocolBinding ?? i.transport ?? '').toUpperCase() === 'GRPC';
  const interfaces = (list: unknown): Json[] | undefined => {
    if (!Array.isArray(list)) return undefined;
    const out: Json[] = [];
    for (const raw of list) {
      const i = obj(raw);
      if (!i || isGrpc(i)) continue;
      const url = move(i.url);
      if (url !== undefined) out.push({ ...i, url });
    }
    return out;
  };
  if ('url' in card) {
    const url = move(card.url);
    if (url === undefined) throw cardError(view.agent, `its card's url ${JSON.stringify(String(card.url).slice(0, 200))} is not on the agent's own origin and path, so the gateway cannot serve it`);
    card.url = url;
    if (String(card.preferredTransport ?? '').toUpperCase() === 'GRPC') card.preferredTransport = 'JSONRPC';
  }
  const additional = interfaces(card.additionalInterfaces);
  if (additional) card.additionalInterfaces = additional;
  const supported = interfaces(card.supportedInterfaces);
  if (supported) {
    card.supportedInterfaces = supported;
    if (!('url' in card) && supported.length === 0) throw cardError(view.agent, 'none of its supportedInterfaces is a JSON-RPC or HTTP+JSON interface on its own origin and path');
  }
  if (!('url' in card) && !supported) throw cardError(view.agent, 'its card has neither url nor supportedInterfaces');
  const v10 = !('url' in card);
  delete card.signatures;
  delete card.security;
  delete card.securityRequirements;
  delete card.securitySchemes;
  const sec = v10 ? view.security.v10 : view.security.v03;
  if (Object.keys(sec.schemes).length > 0) {
    card.securitySchemes = sec.schemes;
    if (v10) card.securityRequirements = view.security.v10.requirements;
    else card.security = view.security.v03.security;
    if ('supportedInterfaces' in card && !v10) card.securityRequirements = view.security.v10.requirements;
  }
  const capabilities = obj(card.capabilities);
  if (capabilities && capabilities.pushNotifications === true && !view.pushNotifications) card.capabilities = { ...capabilities, pushNotifications: false };
  if (Array.isArray(card.skills)) card.skills = await allowedSkills(ctx, card.skills, view);
  return card;
}

/** The skills every policy of the route lets the caller see (and so use): the same rule decides both. */
export async function allowedSkills(ctx: RequestContext, skills: unknown[], view: CardView): Promise<Json[]> {
  const items: McpListItem[] = [];
  for (const raw of skills) {
    const s = obj(raw);
    if (!s) continue;
    const { security: _s, securityRequirements: _r, ...skill } = s;
    items.push({ kind: 'skill', name: typeof s.id === 'string' ? s.id : String(s.name ?? ''), target: view.agent.name, item: skill });
  }
  const allowed = await view.messages.filterItems(ctx, items);
  return allowed.map((i) => i.item);
}

function mapUrl(url: string, view: CardView): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const { origin, basePath } = view.agent;
  if (u.origin !== origin) return undefined;
  if (basePath && u.pathname !== basePath && !u.pathname.startsWith(`${basePath}/`)) return undefined;
  const rest = u.pathname.slice(basePath.length);
  return `${view.gatewayBase}${rest === '/' && view.gatewayBase.endsWith('/') ? '' : rest}${u.search}`;
}
