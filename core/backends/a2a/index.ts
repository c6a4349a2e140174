import type { A2aBackendConfig } from '../../../sdk-types/a2a.ts';
import type { ResolvedListener, ResolvedRoute } from '../../config/index.ts';
import { ErrorCodes, GatewayError } from '../../errors.ts';
import type { MessagePipeline, RequestContext, Step } from '../../pipeline/index.ts';
import type { Dispatcher } from 'undici';
import type { RouteUpstream } from '../../upstream/index.ts';
import { AgentCaller, type AgentEndpoint } from './agent-call.ts';
import { CARD_PATHS, CardCache, gatewayBaseOf, rewriteCard, routeSecurity, type CardView } from './card.ts';
import { restCallOf } from './methods.ts';
import { createOutboundGuard } from '../../upstream/index.ts';
import { json, serveJsonRpc, serveRest, type ServeEnv } from './serve.ts';
// The kind's definition, listed by the composition root (core/gateway/backends.ts).
export { a2aBackendDefinition } from './backend.ts';
export { a2aTelemetry } from './telemetry.ts';

export const A2A_DEFAULTS = { cardTtlMs: 60_000, maxResponseBytes: 16 * 1024 * 1024 } as const;

export interface A2aBackendOptions {
  route: ResolvedRoute;
  listener: ResolvedListener;
  config: A2aBackendConfig;
  messages: MessagePipeline;
  upstream: RouteUpstream;
  dispatcher: Dispatcher;
}

function endpointOf(name: string, url: string, mount: string): AgentEndpoint {
  const u = new URL(url);
  return { name, origin: u.origin, basePath: u.pathname.replace(/\/+$/, ''), mount };
}

/**
 * Serves a route's A2A agents: each agent's card (rewritten, skills filtered per caller), its JSON-RPC and
 * HTTP+JSON bindings (every message through the route's message pipeline, streams passed through as they come),
 * and, for a route with several agents, a listing of the cards the caller may see at the route's path.
 */
export function createA2aBackend(options: A2aBackendOptions): { step: Step; drain(): void; publicRequest?(ctx: RequestContext): boolean } {
  const { route, config } = options;
  const single = config.url !== undefined;
  const agents: AgentEndpoint[] = single ? [endpointOf(route.name, config.url!, '')] : config.agents!.map((a) => endpointOf(a.name, a.url, `/${a.name}`));
  const byName = new Map(agents.map((a) => [a.name, a]));
  const caller = new AgentCaller(options.upstream.compose({ shared: options.dispatcher }));
  const cards = new CardCache(caller, config.cardTtlMs ?? A2A_DEFAULTS.cardTtlMs);
  const security = routeSecurity(route, options.listener);
  // The card says what the route really offers: no push notifications when every push URL is refused.
  const pushNotifications = (config.pushNotifications?.allowedUrls.length ?? 0) > 0;
  const env: ServeEnv = {
    caller,
    messages: options.messages,
    pushGuard: createOutboundGuard({ allowedUrls: config.pushNotifications?.allowedUrls ?? [], allowPrivateAddresses: config.pushNotifications?.allowPrivateAddresses }),
    maxResponseBytes: A2A_DEFAULTS.maxResponseBytes,
    view: (ctx, agent) => ({ gatewayBase: gatewayBaseOf(ctx, prefixOf(ctx) + agent.mount), agent, security, messages: options.messages, pushNotifications }),
    streams: new Set(),
  };

  async function card(ctx: RequestContext, agent: AgentEndpoint): Promise<Record<string, unknown>> {
    const view: CardView = env.view(ctx, agent);
    return rewriteCard(ctx, await cards.get(ctx, agent), view);
  }

  /** The sub-path of an agent a request is for, or undefined when it names no agent. */
  function subPathOf(ctx: RequestContext): string | undefined {
    const rel = ctx.path.slice(prefixOf(ctx).length);
    if (single) return rel;
    const m = /^\/([^/]+)(\/.*)?$/.exec(rel);
    return m && byName.has(m[1]) ? (m[2] ?? '') : undefined;
  }

  return {
    step: a2aBackend,
    publicRequest:
      (config.cardVisibility ?? 'public') === 'public'
        ? (ctx) => (ctx.method === 'GET' || ctx.method === 'HEAD') && CARD_PATHS.has(subPathOf(ctx) ?? '')
        : undefined,
    // A shutdown ends the streams being passed through rather than waiting for agents and clients to finish them.
    drain() {
      for (const stream of [...env.streams]) stream.destroy();
    },
  };

  async function a2aBackend(ctx: RequestContext): Promise<void> {
    ctx.backendName = `${route.name}/a2a`;
    const rel = ctx.path.slice(prefixOf(ctx).length);
    let agent: AgentEndpoint | undefined;
    let sub: string;
    if (single) {
      agent = agents[0];
      sub = rel;
    } else {
      const m = /^\/([^/]+)(\/.*)?$/.exec(rel);
      if (!m) {
        if (ctx.method !== 'GET') throw new GatewayError(ErrorCodes.A2A_UNKNOWN_ENDPOINT, `no A2A endpoint ${ctx.method} ${ctx.path}: GET it for the list of agents`);
        return ctx.respond(json(200, { agents: await listing(ctx) }));
      }
      agent = byName.get(m[1]);
      if (!agent) throw new GatewayError(ErrorCodes.A2A_UNKNOWN_ENDPOINT, `no A2A agent "${m[1].slice(0, 100)}" on this route`);
      sub = m[2] ?? '';
    }
    ctx.backendName = agent.name;
    if (CARD_PATHS.has(sub)) {
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') throw new GatewayError(ErrorCodes.A2A_UNKNOWN_ENDPOINT, `the agent card is read with GET, not ${ctx.method}`);
      return ctx.respond(json(200, await card(ctx, agent), { 'cache-control': 'no-store', vary: 'A2A-Version, Authorization' }));
    }
    const contentType = String(ctx.clientHeaders['content-type'] ?? '');
    if (contentType.startsWith('application/grpc')) {
      throw new GatewayError(ErrorCodes.A2A_GRPC_UNSUPPORTED, 'gRPC is not served by this gateway: use the JSON-RPC or HTTP+JSON interface of the agent card');
    }
    const upstreamPath = agent.basePath + (sub || '/') + ctx.search;
    if (restCallOf(ctx.method, sub, undefined)) return serveRest(env, ctx, agent, upstreamPath, (body) => restCallOf(ctx.method, sub, body));
    if (ctx.method === 'POST') return serveJsonRpc(env, ctx, agent, upstreamPath);
    throw new GatewayError(ErrorCodes.A2A_UNKNOWN_ENDPOINT, `no A2A endpoint ${ctx.method} ${ctx.path}: the agent card lists the endpoints`);
  }

  /** Every agent's card as this caller may see it; an agent whose card cannot be had is listed with the error. */
  async function listing(ctx: RequestContext): Promise<unknown[]> {
    return Promise.all(
      agents.map(async (agent) => {
        const url = `${gatewayBaseOf(ctx, prefixOf(ctx) + agent.mount)}/.well-known/agent-card.json`;
        try {
          return { name: agent.name, url, card: await card(ctx, agent) };
        } catch (err) {
          const e = err instanceof GatewayError ? err : new GatewayError(ErrorCodes.A2A_CARD_INVALID, (err as Error).message);
          return { name: agent.name, url, error: { code: e.code, message: e.message } };
        }
      }),
    );
  }
}

/** The part of the path the route's prefix matched, without a trailing slash. */
function prefixOf(ctx: RequestContext): string {
  const p = ctx.matchedPrefix ?? '';
  return p.endsWith('/') ? p.slice(0, -1) : p;
}
