import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import type { Policies } from '../../sdk-types/config.ts';
import { createHttpBackend } from '../backends/http/index.ts';
import { createMcpBackend } from '../backends/mcp/index.ts';
import type { ResolvedBind, ResolvedConfig, ResolvedListener, ResolvedRoute } from '../config/resolve.ts';
import { ErrorCodes, GatewayError } from '../errors.ts';
import { compose } from '../pipeline/compose.ts';
import { PHASES, type McpPolicyHooks, type PolicyBuildContext, type PolicyDefinition, type PolicyInstance, type RequestContext, type Step } from '../pipeline/types.ts';
import { createHostSelector, createRouter, type MatchInput, type RouteHit } from '../routing/router.ts';
import { listenerScopeId, routeScopeId, StateStore } from '../state/index.ts';
import type { Logger } from '../telemetry/logger.ts';
import { handleWebRequest, type HandleOptions } from './web.ts';

export interface RouteRuntime {
  readonly route: ResolvedRoute;
  readonly run: (ctx: RequestContext) => Promise<void>;
}

export interface ListenerRuntime {
  readonly listener: ResolvedListener;
  readonly match: (input: MatchInput) => RouteHit<RouteRuntime> | undefined;
  readonly secureContext?: SecureContext;
  readonly tls?: { cert: Buffer; key: Buffer };
}

export interface BindRuntime {
  readonly bind: ResolvedBind;
  readonly selectListener: (host: string) => ListenerRuntime | undefined;
  /** For HTTPS binds: the certificate for an SNI name, falling back to the catch-all listener's. */
  readonly secureContextFor: (servername: string) => SecureContext | undefined;
  /** For HTTPS binds: the certificate served to clients that send no SNI (the catch-all listener's, else the first). */
  readonly defaultTls?: { cert: Buffer; key: Buffer };
}

/**
 * Everything one config version needs to serve traffic, built once at load: routers, policy instances, TLS
 * contexts, the upstream connection pool. A reload builds a new one beside the old; requests hold the runtime
 * they started with, and the old one is closed once its last request is done.
 */
export interface Runtime {
  readonly config: ResolvedConfig;
  readonly binds: ReadonlyMap<string, BindRuntime>;
  /** Files the policies were built from, beyond those the config names: hot reload watches them too. */
  readonly files: readonly string[];
  /** Requests currently being served by this runtime. */
  inflight: number;
  /** Ends long-lived responses (MCP streams) so that a shutdown does not wait for clients to hang up. */
  drain(): void;
  /**
   * Serves a web-standard Request without sockets, as if it arrived on a bind (the first unless `options.bind`
   * names one): the same routing, policies and backends as the node:http adapter.
   */
  handle(request: Request, options?: HandleOptions): Promise<Response>;
  close(): Promise<void>;
}

export async function buildRuntime(
  config: ResolvedConfig,
  definitions: readonly PolicyDefinition[],
  logger: Logger,
  state: StateStore = new StateStore(),
): Promise<Runtime> {
  const closers: Array<() => Promise<void>> = [];
  const drainers: Array<() => void> = [];
  const files: string[] = [];
  const dispatcher = new Agent({
    connect: { timeout: config.upstream.connectTimeoutMs },
    keepAliveTimeout: config.upstream.keepAliveTimeoutMs,
    connections: 1024,
  });
  closers.push(() => dispatcher.close());
  const ordered = [...definitions].sort((a, b) => PHASES.indexOf(a.phase) - PHASES.indexOf(b.phase));
  const buildContext = (path: string, scope: string): PolicyBuildContext => ({
    baseDir: config.baseDir,
    path,
    scope,
    upstream: config.upstream,
    logger,
    state,
  });
  try {
    const binds = new Map<string, BindRuntime>();
    for (const bind of config.binds) {
      const listeners: ListenerRuntime[] = [];
      for (const listener of bind.listeners) {
        const routes: RouteRuntime[] = [];
        for (const route of listener.routes) {
          const scopes = { listener: listenerScopeId(bind.key, listener.name), route: routeScopeId(bind.key, listener.name, route.name) };
          const { steps, mcpHooks } = await buildSteps(ordered, listener.policies, route, scopes, buildContext, closers, files);
          steps.push(backendStep(route, scopes.route, dispatcher, config, { hooks: mcpHooks, logger, state, closers, drainers }));
          routes.push({ route, run: compose(steps) });
        }
        const tls = listener.tls && loadTls(listener);
        listeners.push({
          listener,
          match: createRouter(routes.map((r) => ({ ...r, hostnames: r.route.hostnames, matches: r.route.matches }))),
          secureContext: tls?.context,
          tls: tls && { cert: tls.cert, key: tls.key },
        });
      }
      const selectListener = createHostSelector(listeners.map((l) => ({ ...l, hostname: l.listener.hostname })));
      binds.set(bind.key, {
        bind,
        selectListener,
        secureContextFor: (servername) => selectListener(servername.toLowerCase())?.secureContext,
        defaultTls: (listeners.find((l) => l.listener.hostname === '*') ?? listeners[0]).tls,
      });
    }
    return {
      config,
      binds,
      files: [...new Set(files)],
      inflight: 0,
      drain() {
        for (const d of drainers) d();
      },
      handle(this: Runtime, request: Request, options?: HandleOptions) {
        return handleWebRequest(this, logger, request, options);
      },
      async close() {
        await Promise.allSettled(closers.map((c) => c()));
      },
    };
  } catch (err) {
    await Promise.allSettled(closers.map((c) => c()));
    throw err;
  }
}

async function buildSteps(
  ordered: readonly PolicyDefinition[],
  listenerPolicies: Policies,
  route: ResolvedRoute,
  scopes: { listener: string; route: string },
  buildContext: (path: string, scope: string) => PolicyBuildContext,
  closers: Array<() => Promise<void>>,
  files: string[],
): Promise<{ steps: Step[]; mcpHooks: McpPolicyHooks[] }> {
  const steps: Step[] = [];
  const mcpHooks: McpPolicyHooks[] = [];
  for (const def of ordered) {
    const own = (route.policies as Record<string, unknown>)[def.name];
    const inherited = (listenerPolicies as Record<string, unknown>)[def.name];
    const value = own ?? inherited;
    if (value === undefined) continue;
    const path = own !== undefined ? `${route.path}.policies.${def.name}` : `${route.path.replace(/\.routes\[\d+\]$/, '')}.policies.${def.name}`;
    let instance: PolicyInstance;
    try {
      instance = await def.create(value, buildContext(path, own !== undefined ? scopes.route : scopes.listener));
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      throw new GatewayError(ErrorCodes.CONFIG_INVALID, `${path}: ${(err as Error).message}`, { cause: err });
    }
    if (instance.close) closers.push(() => instance.close!());
    steps.push(instance.step);
    if (instance.mcp) mcpHooks.push(instance.mcp);
    if (instance.files) files.push(...instance.files);
  }
  return { steps, mcpHooks };
}

interface McpWiring {
  hooks: McpPolicyHooks[];
  logger: Logger;
  state: StateStore;
  closers: Array<() => Promise<void>>;
  drainers: Array<() => void>;
}

function backendStep(route: ResolvedRoute, scope: string, dispatcher: Dispatcher, config: ResolvedConfig, mcp: McpWiring): Step {
  const hosts = route.backends.filter((b) => b.kind === 'host');
  if (route.backends.length === 0) {
    return () => {
      throw new GatewayError(ErrorCodes.INTERNAL, `route "${route.name}" has no backend and its policies did not answer`);
    };
  }
  if (hosts.length !== route.backends.length) {
    if (hosts.length > 0) {
      throw new GatewayError(ErrorCodes.CONFIG_INVALID, `${route.path}.backends: a route cannot mix host and mcp backends`);
    }
    const backend = createMcpBackend({ route, scope, hooks: mcp.hooks, logger: mcp.logger, state: mcp.state, baseDir: config.baseDir });
    mcp.closers.push(() => backend.close());
    mcp.drainers.push(() => backend.drain());
    return backend.step;
  }
  return createHttpBackend({
    targets: hosts.map((h) => ({ name: h.name, host: h.host, weight: h.weight })),
    dispatcher,
    bodyIdleTimeoutMs: config.upstream.bodyIdleTimeoutMs,
    ejectionMs: config.upstream.ejectionMs,
  });
}

function loadTls(listener: ResolvedListener): { context: SecureContext; cert: Buffer; key: Buffer } {
  const tls = listener.tls!;
  const read = (file: string, field: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new GatewayError(ErrorCodes.CONFIG_INVALID, `${listener.path}.tls.${field}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
  };
  const cert = read(tls.cert, 'cert');
  const key = read(tls.key, 'key');
  try {
    return { context: createSecureContext({ cert, key }), cert, key };
  } catch (err) {
    throw new GatewayError(ErrorCodes.CONFIG_INVALID, `${listener.path}.tls: invalid certificate or key: ${(err as Error).message}`, { cause: err });
  }
}
