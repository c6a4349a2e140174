import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import { Agent } from 'undici';
import { backendDefinition } from '../backends/registry.ts';
import type { BackendDefinition } from '../backends/types.ts';
import { DIRECT_KIND, type ResolvedBind, type ResolvedConfig, type ResolvedListener, type ResolvedRoute } from '../config/index.ts';
import type { BackendBuildContext, BackendInstance } from '../backends/types.ts';
import { ErrorCodes, GatewayError } from '../errors.ts';
import {
  compose,
  composeMessagePipeline,
  messageProtocol,
  PHASES,
  takeDecisionInput,
  type MessageStep,
  type Phase,
  type PolicyBuildContext,
  type PolicyDefinition,
  type PolicyInstance,
  type RequestContext,
  type Step,
} from '../pipeline/index.ts';
import { createHostSelector, createRouter, type MatchInput, type RouteHit } from '../routing/router.ts';
import { listenerScopeId, routeScopeId, StateStore } from '../state/index.ts';
import { policyChannel, type Logger } from '../telemetry/index.ts';
import { createRouteUpstream, type UpstreamContribution } from '../upstream/index.ts';
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
  backends: readonly BackendDefinition<any>[],
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
  const policies = new PolicyBuilder(config, logger, state, closers, files);
  try {
    const binds = new Map<string, BindRuntime>();
    for (const bind of config.binds) {
      const listeners: ListenerRuntime[] = [];
      for (const listener of bind.listeners) {
        const routes: RouteRuntime[] = [];
        const listenerScope = listenerScopeId(bind.key, listener.name);
        // A listener's policy is built once, on first use, and shared by every route that does not set its own.
        const shared = new Map<string, Promise<PolicyInstance>>();
        for (const route of listener.routes) {
          const scope = routeScopeId(bind.key, listener.name, route.name);
          const protocol = backendDefinition(backends, route.backends[0]?.kind ?? DIRECT_KIND)?.protocol;
          if (protocol !== undefined && !messageProtocol(protocol)) {
            throw new GatewayError(ErrorCodes.BACKEND_UNSUPPORTED, `${route.path}.backends: the backend speaks message protocol "${protocol}", which is not registered (registerMessageProtocol)`);
          }
          const steps: Step[] = [];
          /**
           * The same chain for what the backend serves publicly: authentication identifies the caller when it can
           * (the card then lists what that caller may use) but refuses no one, and authorization does not run.
           */
          const publicSteps: Step[] = [];
          const messageSteps: MessageStep[] = [];
          const contributions: UpstreamContribution[] = [];
          for (const def of ordered) {
            const own = (route.policies as Record<string, unknown>)[def.name];
            const inherited = (listener.policies as Record<string, unknown>)[def.name];
            let instance: PolicyInstance;
            if (own !== undefined) instance = await policies.build(def, own, `${route.path}.policies.${def.name}`, scope, route.backends.map((b) => b.kind));
            else if (inherited !== undefined) {
              let pending = shared.get(def.name);
              if (!pending) shared.set(def.name, (pending = policies.build(def, inherited, `${listener.path}.policies.${def.name}`, listenerScope)));
              instance = await pending;
            } else continue;
            steps.push(observed(def, instance.step));
            if (def.phase === 'authentication') publicSteps.push(identifyOnly(steps[steps.length - 1]));
            else if (def.phase !== 'authorization') publicSteps.push(steps[steps.length - 1]);
            const messageStep = protocol && messageStepOf(def, instance, protocol);
            if (messageStep) messageSteps.push(messageStep);
            if (instance.upstream) contributions.push(instance.upstream);
          }
          // How this route calls its backends (retries, timeouts, TLS, credentials): composed once, here.
          const upstream = createRouteUpstream({ contributions, ...config.upstream, path: route.path, routeName: route.name });
          closers.push(() => upstream.close());
          const backend = await buildBackend(backends, {
            config,
            bind,
            listener,
            route,
            scope,
            state,
            logger,
            dispatcher,
            upstream,
            messages: composeMessagePipeline(messageSteps),
          });
          if (backend.close) closers.push(() => backend.close!());
          if (backend.drain) drainers.push(() => backend.drain!());
          if (backend.files) files.push(...backend.files);
          steps.push(backend.step);
          publicSteps.push(backend.step);
          const run = compose(steps);
          const isPublic = backend.publicRequest;
          if (!isPublic) routes.push({ route, run });
          else {
            const runPublic = compose(publicSteps);
            routes.push({ route, run: (ctx) => (isPublic(ctx) ? runPublic(ctx) : run(ctx)) });
          }
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

/** Builds policy instances, recording what each needs freed and watched. */
class PolicyBuilder {
  private readonly config: ResolvedConfig;
  private readonly logger: Logger;
  private readonly state: StateStore;
  private readonly closers: Array<() => Promise<void>>;
  private readonly files: string[];

  constructor(config: ResolvedConfig, logger: Logger, state: StateStore, closers: Array<() => Promise<void>>, files: string[]) {
    this.config = config;
    this.logger = logger;
    this.state = state;
    this.closers = closers;
    this.files = files;
  }

  async build(def: PolicyDefinition, value: unknown, path: string, scope: string, backendKinds?: readonly string[]): Promise<PolicyInstance> {
    const build: PolicyBuildContext = { baseDir: this.config.baseDir, path, scope, upstream: this.config.upstream, logger: this.logger, state: this.state, ...(backendKinds ? { backendKinds } : {}) };
    let instance: PolicyInstance;
    try {
      instance = await def.create(value, build);
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      throw new GatewayError(ErrorCodes.CONFIG_INVALID, `${path}: ${(err as Error).message}`, { cause: err });
    }
    if (instance.close) this.closers.push(() => instance.close!());
    if (instance.files) this.files.push(...instance.files);
    return instance;
  }
}

/** Phases whose steps decide (allow or deny): their outcome is published as a policy decision event. */
const DECIDING: ReadonlySet<Phase> = new Set(['authentication', 'rateLimit', 'requestFilter', 'authorization']);

/** Wraps a deciding step so that its decision is published, at no cost while nobody subscribes. */
/** An authentication step that identifies a caller it can and lets every other one through as anonymous. */
function identifyOnly(step: Step): Step {
  return async function identifyOnlyStep(ctx, next) {
    let passed = false;
    await step(ctx, () => {
      passed = true;
      return next();
    });
    if (passed || ctx.response?.status !== 401) return;
    ctx.response = undefined;
    ctx.identity = undefined;
    return next();
  };
}

function observed(def: PolicyDefinition, step: Step): Step {
  if (!DECIDING.has(def.phase)) return step;
  return function observedStep(ctx, next) {
    if (!policyChannel.hasSubscribers) return step(ctx, next);
    let passed = false;
    const publish = (outcome: 'allow' | 'deny' | 'error', err?: unknown, errorCode?: string) => {
      const input = takeDecisionInput(ctx);
      policyChannel.publish({
        requestId: ctx.id,
        route: ctx.routeName,
        policy: def.name,
        level: 'http',
        outcome,
        subject: ctx.identity?.subject,
        ...(input !== undefined ? { input } : {}),
        ...(err instanceof GatewayError ? { errorCode: err.code, reason: err.message } : err ? { reason: (err as Error).message } : errorCode ? { errorCode } : {}),
      });
    };
    return Promise.resolve(
      step(ctx, () => {
        passed = true;
        publish('allow');
        return next();
      }),
    ).then(
      () => {
        // A step that answered itself (401, 429) names its error code on the response.
        if (!passed) publish('deny', undefined, ctx.response?.errorCode);
      },
      (err) => {
        if (!passed) publish(err instanceof GatewayError && err.status < 500 ? 'deny' : 'error', err);
        throw err;
      },
    );
  };
}

/** What a policy does with the messages of a route speaking `protocol`: its own step, or one from its hooks. */
function messageStepOf(def: PolicyDefinition, instance: PolicyInstance, protocol: string): MessageStep | undefined {
  if (instance.message) return instance.message;
  return messageProtocol(protocol)?.stepOf(def.name, def.phase, instance);
}

/** The route's backend, from the gateway's kinds: the kind its entries name, or `direct` when it has none. */
function buildBackend(backends: readonly BackendDefinition<any>[], build: BackendBuildContext): BackendInstance | Promise<BackendInstance> {
  const { route } = build;
  const kind = route.backends[0]?.kind ?? DIRECT_KIND;
  const def = backendDefinition(backends, kind);
  if (!def) throw new GatewayError(ErrorCodes.BACKEND_UNSUPPORTED, `${route.path}.backends: backend kind "${kind}" is not served by this build`);
  return def.create(route.backends, build);
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
