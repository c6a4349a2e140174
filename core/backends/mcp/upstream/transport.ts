import type { IncomingHttpHeaders } from 'node:http';
import { Dispatcher } from 'undici';
import type { McpTarget } from '../../../../sdk-types/config.ts';
import { stateKey, type StateStore } from '../../../state/index.ts';
import type { RouteUpstream } from '../../../upstream/index.ts';
import type { JsonRpcMessage } from '../../../protocol/jsonrpc.ts';
import { sharedRemoteAgent } from './streamable-http.ts';
import { targetKindOf, targetOptions, type McpTargetKind } from './target-kind.ts';

/** What a target's transport does for its connection: each target kind's `create` makes one (target-kind.ts). */
export interface UpstreamTransport {
  start(): Promise<void>;
  /** `headers`: HTTP headers a remote transport sends with this message (2026-07-28 `Mcp-Param-*`). */
  send(message: JsonRpcMessage, headers?: Record<string, string>): Promise<void>;
  onmessage?: (message: JsonRpcMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  /** Streamable HTTP: the negotiated version goes into every later request's header. */
  setProtocolVersion?(version: string): void;
  /** In-process targets (OpenAPI): a result that answers a request before it enters the message pipeline. */
  precheck?(method: string, params: Record<string, unknown>): unknown;
  /** Streamable HTTP: the upstream session id the server gave (another replica resumes it; see core/cluster/sealed-id.ts). */
  readonly upstreamSessionId?: string;
  /** Streamable HTTP: takes over an upstream session another replica initialized, and opens its GET stream. */
  resume?(sessionId: string | undefined, version: string): void;
  /** Closes without ending the upstream session (`keep`): another replica may still be serving it. */
  close(keep?: boolean): Promise<void>;
}

export interface TransportEnv {
  /** The target's kind (target-kind.ts). */
  kind: McpTargetKind;
  baseDir: string;
  onStderr?: (line: string) => void;
  /** What a transport reports without failing a call by it: a target that sent something that is not MCP. */
  onTransportError?: (error: Error) => void;
  /**
   * Remote targets: the route's composed upstream dispatcher (backend TLS, credentials, time limits, retries,
   * error mapping). Without one, a plain shared pool.
   */
  upstream?: UpstreamDispatcher;
  /** Remote targets: most bytes of one SSE event or JSON body (the backend's `maxUpstreamMessageBytes`). */
  maxMessageBytes?: number;
  /** What the target's kind loaded for it (`McpTargetKind.load`), e.g. an OpenAPI target's API. */
  loaded?: unknown;
}

/**
 * A dispatcher for remote targets that also says whether it speaks TLS (targets given by host and port), and can
 * bind itself to one client session's headers (see `RemoteUpstream.forClient`).
 */
export type UpstreamDispatcher = Dispatcher & {
  readonly tls: boolean;
  forClient?(clientHeaders: () => Readonly<IncomingHttpHeaders> | undefined): UpstreamDispatcher;
};

/**
 * A dispatcher that sends through connection pools it does not own (their runtimes close them): closing it
 * closes nothing.
 */
abstract class BorrowedDispatcher extends Dispatcher {
  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    if (callback) return void queueMicrotask(callback);
    return Promise.resolve();
  }
  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: unknown, b?: unknown): Promise<void> | void {
    const callback = (typeof a === 'function' ? a : b) as (() => void) | undefined;
    if (callback) return void queueMicrotask(callback);
    return Promise.resolve();
  }
}

/**
 * The dispatcher the remote targets of one MCP route call through: one object for the route across reloads,
 * since its sessions outlive a runtime. Each runtime's MCP backend puts its composition of the route's upstream
 * (TLS pool, credentials, time limits) on top while it lives; calls go through the newest, so a reload applies new
 * settings to open sessions and no session is left with a runtime's closed connection pool.
 */
export class RemoteUpstream extends BorrowedDispatcher {
  private readonly layers: Array<{ dispatcher: Dispatcher; tls: boolean }> = [];

  /** Whether the current layer has backend TLS: targets given by host and port are then called over https. */
  get tls(): boolean {
    return this.layers.at(-1)?.tls ?? false;
  }

  /** Makes `layer` current; the returned function removes it again and says whether none is left. */
  use(layer: { dispatcher: Dispatcher; tls: boolean }): () => boolean {
    this.layers.push(layer);
    return () => {
      const i = this.layers.indexOf(layer);
      if (i !== -1) this.layers.splice(i, 1);
      return this.layers.length === 0;
    };
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return (this.layers.at(-1)?.dispatcher ?? sharedRemoteAgent).dispatch(options, handler);
  }

  /**
   * This dispatcher for the upstream connections of one client session: every call carries the headers of the
   * session's latest client request, so `backendAuth.passthrough` sends the client's current credential.
   */
  forClient(clientHeaders: () => Readonly<IncomingHttpHeaders> | undefined): UpstreamDispatcher {
    return new ClientBoundUpstream(this, clientHeaders);
  }

}

/** See `RemoteUpstream.forClient`. */
class ClientBoundUpstream extends BorrowedDispatcher {
  private readonly route: RemoteUpstream;
  private readonly clientHeaders: () => Readonly<IncomingHttpHeaders> | undefined;

  constructor(route: RemoteUpstream, clientHeaders: () => Readonly<IncomingHttpHeaders> | undefined) {
    super();
    this.route = route;
    this.clientHeaders = clientHeaders;
  }

  get tls(): boolean {
    return this.route.tls;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.route.dispatch({ ...options, clientHeaders: this.clientHeaders() } as Dispatcher.DispatchOptions, handler);
  }

}

const REMOTE_UPSTREAM = stateKey<RemoteUpstream>('mcp.remoteUpstream');

/**
 * Puts this runtime's composition of the route's upstream on top of the route's RemoteUpstream (kept in state
 * across reloads) for as long as the MCP backend lives; `release` takes it off. Undefined when the route has no
 * remote target.
 */
export function attachRemoteUpstream(
  kinds: readonly McpTargetKind[],
  targets: readonly McpTarget[],
  upstream: RouteUpstream | undefined,
  state: StateStore,
  scope: string,
): { dispatcher: RemoteUpstream; release(): void } | undefined {
  if (!upstream || targets.every((t) => !targetKindOf(kinds, t).remote)) return undefined;
  const dispatcher = state.getOrCreate(REMOTE_UPSTREAM, scope, () => new RemoteUpstream());
  const remove = dispatcher.use({ dispatcher: upstream.compose({ shared: sharedRemoteAgent }), tls: upstream.tls });
  return {
    dispatcher,
    release() {
      if (remove()) state.delete(REMOTE_UPSTREAM, scope);
    },
  };
}

/** A new transport for one connection to `target`, made by its kind. */
export function createTransport(target: McpTarget, env: TransportEnv): UpstreamTransport {
  const { kind, ...ctx } = env;
  return kind.create(targetOptions(kind, target), { ...ctx, target: target.name });
}
