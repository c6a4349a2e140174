import type { Dispatcher } from 'undici';
import type { BackendKind, ResolvedBackend, ResolvedBind, ResolvedConfig, ResolvedListener, ResolvedRoute } from '../config/index.ts';
import type { MessagePipeline, RequestContext, Step } from '../pipeline/index.ts';
import type { StateStore } from '../state/index.ts';
import type { Logger } from '../telemetry/index.ts';
import type { RouteUpstream } from '../upstream/index.ts';

/**
 * One backend kind: the key it takes in a route's `backends` entry, its schema and capabilities (`BackendKind`,
 * what the config reads), and how a route's backends of this kind become the last step of the route's chain.
 * Listed once: in `builtinBackends` (core/gateway/backends.ts) for a built-in kind, in
 * `createGateway(config, { backends })` for a plugged-in one; the router, the pipeline and other backends know
 * nothing of it.
 *
 * @example
 * export const echoBackend: BackendDefinition<string> = {
 *   kind: 'echo',
 *   capabilities: [],
 *   schema: s.string(),
 *   create: (backends) => ({ step: (ctx) => ctx.respond({ status: 200, headers: {}, body: backends[0].config }) }),
 * };
 */
export interface BackendDefinition<C = unknown> extends BackendKind<C> {
  /**
   * The message protocol the backend speaks, if any (a name registered in core/pipeline/protocols.ts): its route's
   * message pipeline is composed from the policies' hooks for that protocol (`PolicyInstance.mcp`, `.a2a`,
   * `.hooks[name]`) plus their protocol-independent `message` steps.
   */
  readonly protocol?: string;
  create(backends: ReadonlyArray<ResolvedBackend<C>>, build: BackendBuildContext): BackendInstance | Promise<BackendInstance>;
}

/** What a backend needs from the gateway when its route is built. */
export interface BackendBuildContext {
  readonly config: ResolvedConfig;
  readonly bind: ResolvedBind;
  readonly listener: ResolvedListener;
  readonly route: ResolvedRoute;
  /** The route's scope id: state the backend keeps across reloads (sessions) belongs to it. */
  readonly scope: string;
  readonly state: StateStore;
  readonly logger: Logger;
  /** The runtime's shared connection pool for HTTP upstreams. */
  readonly dispatcher: Dispatcher;
  /** How the route calls its backends, composed once from its policies: retries, timeouts, TLS, credentials. */
  readonly upstream: RouteUpstream;
  /** The route's message pipeline, for protocol backends (MCP, A2A): run every client message through it. */
  readonly messages: MessagePipeline;
}

export interface BackendInstance {
  /** The terminal step of the route's chain. */
  step: Step;
  /**
   * Requests the backend serves to anyone: the route's authentication and authorization policies do not run for
   * them (every other policy does). An A2A agent's public card is one (`a2a.cardVisibility: 'public'`), so that a
   * client can read the security schemes it must use.
   */
  publicRequest?(ctx: RequestContext): boolean;
  /** Ends long-lived responses (streams) so a shutdown need not wait for clients to hang up. */
  drain?(): void;
  /** Files the backend was built from (an OpenAPI spec): hot reload watches them. */
  files?: readonly string[];
  close?(): Promise<void>;
}
