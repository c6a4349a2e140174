import type { McpBackendConfig, McpTarget } from '../../../sdk-types/config.ts';
import type { ResolvedRoute } from '../../config/index.ts';
import type { MessagePipeline, Step } from '../../pipeline/index.ts';
import type { Logger } from '../../telemetry/index.ts';
import type { ServeEnv } from './serve/common.ts';
import { isLegacySse, serveLegacySse } from './serve/legacy-sse.ts';
import { serveStreamable } from './serve/streamable.ts';
import type { SessionEnv } from './session.ts';
import { SessionStore } from './store.ts';
import { SessionIds } from './session-id.ts';
import { createRebindingGuard } from './serve/guard.ts';
import { ModernSessions } from './serve/modern-sessions.ts';
import { TargetSnapshots, WarmPool, warmPoolSizing } from './upstream/pool.ts';
import { SharedStdio } from './upstream/shared.ts';
import { attachRemoteUpstream } from './upstream/transport.ts';
import type { RouteUpstream } from '../../upstream/index.ts';
import { TargetLauncher } from './upstream/processes.ts';
import { builtinMcpTargetKinds } from './upstream/builtin-targets.ts';
import { targetKindOf, targetOptions, type McpTargetKind } from './upstream/target-kind.ts';
import { stateKey, type StateStore } from '../../state/index.ts';
import type { ToolGovernance } from './tools/index.ts';
// The kind's definition, listed by the composition root (core/gateway/backends.ts), and its target kinds.
export { createMcpBackendDefinition, mcpBackendDefinition } from './backend.ts';
export { builtinMcpTargetKinds } from './upstream/builtin-targets.ts';
export { mcpTargetKinds, type McpProcessSettings, type McpTargetContext, type McpTargetKind, type McpTargetLoadContext, type McpTargetsLoaded } from './upstream/target-kind.ts';
export type { UpstreamTransport } from './upstream/transport.ts';
export { mcpTelemetry } from './telemetry.ts';

const SESSION_STORE = stateKey<SessionStore>('mcp.sessionStore');
/** The SSE `retry:` hint streams end with on drain: reconnect after this long (to a replica still serving). */
const DRAIN_RETRY_MS = 1000;

export const MCP_DEFAULTS = {
  prefixMode: 'conditional',
  failureMode: 'failClosed',
  statefulMode: 'stateful',
  // Short: a client that never sends DELETE (the Inspector CLI, scripts) would hold its stdio processes for this long;
  // a live client keeps its GET stream open, and a session with an open stream is never idle.
  sessionIdleTimeoutMs: 60_000,
  requestTimeoutMs: 60_000,
  warmPool: 1,
  maxBatchSize: 100,
  maxUpstreamMessageBytes: 16 * 1024 * 1024,
  maxSessions: 1000,
  maxSessionsPerIdentity: 100,
  maxRequestsPerSession: 100,
  maxRequestsPerIdentity: 1000,
  maxProcesses: 100,
} as const;

export interface McpBackendOptions {
  route: ResolvedRoute;
  /** The route's one MCP backend. */
  config: McpBackendConfig;
  /** The route's message pipeline: every client request runs through it. */
  messages: MessagePipeline;
  logger: Logger;
  /** State that outlives a reload (open sessions), shared by every runtime of one gateway. */
  state: StateStore;
  /** The route's scope id: its session store belongs to it, not to its display name. */
  scope: string;
  /** Directory of the config file: stdio targets run there unless they name a `cwd`. */
  baseDir?: string;
  /**
   * The route's upstream, composed from its policies (backend TLS, backendAuth, timeouts, retries): remote
   * targets (streamable HTTP, legacy SSE) are called through it.
   */
  upstream?: RouteUpstream;
  /**
   * The address the route's bind listens on (`ResolvedBind.address`). On a loopback address the endpoint answers
   * loopback `Host` names only (DNS-rebinding protection); when absent, each request's client address stands for it.
   */
  bindAddress?: string;
  /** The target kinds the route's targets are of. @default builtinMcpTargetKinds */
  targetKinds?: readonly McpTargetKind[];
  /** What the targets' kinds loaded for them (`McpTargetKind.load`: an OpenAPI target's API), by target name. */
  loaded?: ReadonlyMap<string, unknown>;
  /** The route's tool governance, compiled at load (`createToolGovernance`). */
  tools?: ToolGovernance;
}

export interface McpBackend {
  step: Step;
  /** Ends open streams so a shutdown need not wait for clients to hang up. */
  drain(): void;
  close(): Promise<void>;
}

/**
 * Serves an MCP route: every target of the route's MCP backend multiplexed into one MCP server, over streamable
 * HTTP and legacy SSE. A route has one MCP backend; its targets are the servers.
 */
export function createMcpBackend(options: McpBackendOptions): McpBackend {
  const { route, logger } = options;
  const config = options.config;
  const targets: readonly McpTarget[] = config.targets;
  const prefixMode = config.prefixMode ?? MCP_DEFAULTS.prefixMode;
  const timeoutMs = config.requestTimeoutMs ?? MCP_DEFAULTS.requestTimeoutMs;
  const idleMs = config.sessionIdleTimeoutMs ?? MCP_DEFAULTS.sessionIdleTimeoutMs;
  const byName = new Map(targets.map((t) => [t.name, t]));
  const kinds = options.targetKinds ?? builtinMcpTargetKinds;
  const remote = attachRemoteUpstream(kinds, targets, options.upstream, options.state, options.scope);
  const transportEnv = (target: string, kind: McpTargetKind) => ({
    kind,
    baseDir: options.baseDir ?? process.cwd(),
    onStderr: (line: string) => logger.debug({ route: route.name, target, stderr: line }, 'MCP target stderr'),
    onTransportError: (err: Error) => {
      const code = (err as { code?: unknown }).code;
      // Garbage from a remote target carries a stable code; anything else is the transport's own trouble.
      if (typeof code === 'string' && code.startsWith('PCL_ERR_')) logger.warn({ route: route.name, target, code, err: err.message }, 'MCP target sent what is not MCP');
      else logger.warn({ route: route.name, target, err: err.message }, 'MCP target transport error');
    },
    upstream: kind.remote ? remote?.dispatcher : undefined,
    loaded: options.loaded?.get(target),
    maxMessageBytes: config.maxUpstreamMessageBytes ?? MCP_DEFAULTS.maxUpstreamMessageBytes,
  });
  const stateless = config.statefulMode === 'stateless';
  const limits = {
    maxSessions: config.maxSessions ?? MCP_DEFAULTS.maxSessions,
    maxSessionsPerIdentity: config.maxSessionsPerIdentity ?? MCP_DEFAULTS.maxSessionsPerIdentity,
    maxRequestsPerSession: config.maxRequestsPerSession ?? MCP_DEFAULTS.maxRequestsPerSession,
    maxRequestsPerIdentity: config.maxRequestsPerIdentity ?? MCP_DEFAULTS.maxRequestsPerIdentity,
  };
  const store = options.state.getOrCreate(SESSION_STORE, options.scope, () => new SessionStore(idleMs, limits));
  const launchers = new Map<string, TargetLauncher>();
  const pools = new Map<string, WarmPool>();
  const shared = new Map<string, SharedStdio>();
  // Per loaded config: a reload (or a changed target) starts without snapshots, so its first session connects visibly.
  const snapshots = new Map<string, TargetSnapshots>();
  for (const t of targets) {
    const kind = targetKindOf(kinds, t);
    const settings = targetOptions(kind, t);
    kind.announce?.(settings, { route: route.name, target: t.name, logger });
    // A kind whose connections are processes: counted against maxProcesses, pooled warm, or one shared process.
    const processes = kind.processes?.(settings);
    const budget = processes ? store.processBudget(t.name, processes.maxProcesses ?? MCP_DEFAULTS.maxProcesses) : undefined;
    const launcher = new TargetLauncher({ route: route.name, target: t, env: transportEnv(t.name, kind), timeoutMs: t.requestTimeoutMs ?? timeoutMs, budget, logger });
    launchers.set(t.name, launcher);
    if (processes?.shared) {
      shared.set(t.name, new SharedStdio(launcher, logger));
      continue;
    }
    // The pool grows under a burst of new sessions (by default up to DEFAULT_WARM_POOL_MAX, never past the process
    // limit) and shrinks back when sessions stop coming: a client opening sessions in a row is served from it.
    if (!processes) continue;
    const snapshot = new TargetSnapshots({ logger, route: route.name, target: t.name });
    snapshots.set(t.name, snapshot);
    const sizing = warmPoolSizing(processes, MCP_DEFAULTS);
    if (sizing.min > 0) pools.set(t.name, new WarmPool(launcher, sizing, logger, snapshot));
  }
  const sessionEnv: SessionEnv = {
    routeName: route.name,
    targets,
    prefix: prefixMode === 'always' || (prefixMode === 'conditional' && targets.length > 1),
    failOpen: config.failureMode === 'failOpen',
    timeoutMs: (name) => byName.get(name)?.requestTimeoutMs ?? timeoutMs,
    launchers,
    pools,
    snapshots,
    shared,
    logger,
    tools: options.tools,
  };
  // Sealed session ids (any replica can serve a session) are for stateful routes only: stateless ones pay nothing.
  store.acquire(idleMs, limits, stateless ? undefined : new SessionIds(sessionEnv, `${route.path} ${route.name}`));
  const guard = createRebindingGuard({ config: config.dnsRebindingProtection, corsOrigins: route.policies.cors?.allowOrigins, bindAddress: options.bindAddress });
  const modern = new ModernSessions(sessionEnv, idleMs, limits.maxSessions);
  const env: ServeEnv = { session: sessionEnv, store, pipeline: options.messages, stateless, maxBatchSize: config.maxBatchSize ?? MCP_DEFAULTS.maxBatchSize, guard, modern };
  const sessions = store;

  return {
    async step(ctx) {
      ctx.backendName = `${route.name}/mcp`;
      env.guard?.(ctx);
      if (isLegacySse(ctx)) return serveLegacySse(env, ctx);
      return serveStreamable(env, ctx);
    },
    drain() {
      // New sessions go to another replica; open notification streams end with a hint to reconnect soon (another
      // replica resumes the session), so clients resume rather than give up. Answers in progress finish.
      sessions.refusing = true;
      for (const s of sessions.all()) for (const stream of [...s.streams]) if (stream.drainable) stream.end(DRAIN_RETRY_MS);
      modern.drain();
    },
    async close() {
      await Promise.allSettled([...pools.values()].map((p) => p.close()));
      await modern.close();
      if (await sessions.release()) options.state.delete(SESSION_STORE, options.scope);
      // After the sessions: a shared process still used by sessions that survive a reload stops with its last one.
      await Promise.allSettled([...shared.values()].map((s) => s.close()));
      remote?.release();
    },
  };
}
