import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { loadConfig, type LoadedConfig, type ResolvedBind } from '../config/index.ts';
import { GLOBAL_SCOPE, StateStore } from '../state/index.ts';
import { CREDENTIAL_LINK_SOURCE, type CredentialLinkSource, type PolicyDefinition } from '../pipeline/index.ts';
import { ErrorCodes, GatewayError } from '../errors.ts';
import { type Logger, publish, reloadChannel, subscribeAccessLog } from '../telemetry/index.ts';
import type { HandoffChannel, PeerForwarder, ServeEnv } from './exchange.ts';
import { handleRequest } from './handler.ts';
import type { BackendDefinition } from '../backends/types.ts';
import { buildRuntime, type Runtime } from './runtime.ts';
import type { HandleOptions } from './web.ts';
import { applyTimeouts, checkingIntervalMs, limitConnections, wasRefused } from './connection-limits.ts';

export interface GatewayOptions {
  /** The config file: loaded at start and on every reload (unless `load` is given). */
  configFile: string;
  /** Where the config comes from instead of `configFile` (a config object given to `createGateway`). */
  load?: () => Promise<LoadedConfig>;
  policies: readonly PolicyDefinition[];
  /** The backend kinds this gateway serves (core/backends/registry.ts `backendKinds`), handed in like the policies. */
  backends: readonly BackendDefinition<any>[];
  logger: Logger;
  /** Changes applied to the loaded config before it is served (tests move ports to 0). */
  transform?: (loaded: LoadedConfig) => LoadedConfig;
  /**
   * Worker processes (core/cluster): how binds listen (`reusePort` so that every worker has its own socket on the
   * port), and reload failures left to the supervisor to report, once for all workers.
   */
  worker?: { listen: { reusePort?: boolean; exclusive?: boolean }; quietReloadFailures: boolean; handoff?: HandoffChannel };
  /** Replicas: the channel that forwards requests for sessions bound to another replica (core/cluster/peer.ts). */
  peers?: PeerForwarder;
}

/**
 * Called by a reload once the next runtime is built and its binds are open, just before it swaps in: a rejection
 * abandons the reload as if the build had failed (the supervisor's all-or-none reload of every worker).
 */
export type ReloadGate = () => Promise<void>;

export interface ReloadResult {
  ok: boolean;
  error?: Error;
}

/** Names each gateway of the process in its request events (see RequestEvent.gateway). */
let nextGatewayId = 0;

/** Open sockets per server, so a drain can close those that carry no request (see closeServers). */
const sockets = new WeakMap<Server, Set<Socket>>();

interface OpenBind {
  bind: ResolvedBind;
  server: Server;
  port: number;
}

/**
 * The data plane: one node server per bind, all serving whatever runtime is current. Reload builds the next
 * runtime and opens new binds beside the old ones; only when everything succeeded does it swap, close removed
 * binds (their in-flight requests finish) and retire the old runtime once its last request is done.
 */
export class Gateway {
  readonly options: GatewayOptions;
  private runtime!: Runtime;
  private loaded!: LoadedConfig;
  private readonly open = new Map<string, OpenBind>();
  private draining = false;
  private reloading: Promise<ReloadResult> | undefined;
  private ready = false;
  /** Whether the binds are open (a gateway made by `createGateway` answers in process until `listen`). */
  private listening = false;
  private readonly env: ServeEnv;
  /** Unsubscribes the access log; set while `logging.accessLog` is on. */
  private accessLog: (() => void) | undefined;
  /** The line shape the access log was subscribed with (a reload that changes it subscribes anew). */
  private accessLogShape: string | undefined;
  /** Outlives every runtime: caches and sessions that a reload must not drop. */
  private readonly state = new StateStore();

  constructor(options: GatewayOptions) {
    this.options = options;
    this.env = {
      logger: options.logger,
      current: () => this.runtime,
      draining: () => this.draining,
      gateway: `gateway-${++nextGatewayId}`,
      handoff: options.worker?.handoff,
      peers: options.peers,
    };
    options.worker?.handoff?.attach(this.env);
    options.peers?.attach(this.env);
  }

  get config() {
    return this.runtime.config;
  }

  /** The runtime serving now (a reload swaps it): tests read its in-flight count and bind keys. */
  get current(): Runtime {
    return this.runtime;
  }

  /** This gateway's name in its request events (`RequestEvent.gateway`), for subscribers tied to it. */
  get id(): string | undefined {
    return this.env.gateway;
  }

  /** Every file the current config depends on. */
  get files(): readonly string[] {
    return [...new Set([...this.loaded.files, ...this.runtime.files])];
  }

  /** The store of per-user upstream credential links (backendAuth `oauth`), once a route has one: for the admin server. */
  credentialLinks(): CredentialLinkSource | undefined {
    return this.state.get(CREDENTIAL_LINK_SOURCE, GLOBAL_SCOPE);
  }

  get isReady(): boolean {
    return this.ready && !this.draining;
  }

  /** The port each bind actually listens on, in config order (useful with port 0). */
  ports(): number[] {
    if (!this.listening) return [];
    return this.runtime.config.binds.map((b) => this.open.get(b.key)!.port);
  }

  /**
   * Builds the runtime and, unless `listen` is false, opens every bind. `initial` is a config the caller already
   * loaded (to set up logging from it). Without binds the gateway answers in process only (`handle`) until
   * `openBinds` is called.
   */
  async start(initial?: LoadedConfig, options: { listen?: boolean } = {}): Promise<void> {
    this.loaded = initial ?? (await this.load());
    for (const notice of this.loaded.notices ?? []) this.options.logger.warn(notice);
    this.runtime = await buildRuntime(this.loaded.config, this.options.policies, this.options.backends, this.options.logger, this.state);
    this.syncAccessLog();
    if (options.listen ?? true) {
      try {
        await this.openBinds();
      } catch (err) {
        await this.runtime.close();
        this.stopAccessLog();
        throw err;
      }
    }
    this.ready = true;
  }

  /** Opens every bind of the current config (once); on failure none stays open. */
  async openBinds(): Promise<void> {
    if (this.listening) return;
    try {
      for (const bind of this.runtime.config.binds) this.open.set(bind.key, await this.listen(bind, this.runtime));
    } catch (err) {
      await this.closeServers([...this.open.values()]);
      this.open.clear();
      throw err;
    }
    this.listening = true;
  }

  /** Answers a request in process, through the current runtime, as if it had arrived on a bind (see HandleOptions). */
  handle(request: Request, options?: HandleOptions): Promise<Response> {
    if (this.draining) return Promise.resolve(Response.json(new GatewayError(ErrorCodes.SHUTTING_DOWN, 'shutting down').toJSON(), { status: 503 }));
    return this.runtime.handle(request, options);
  }

  /**
   * Loads the config file again and swaps it in if all of it is valid; otherwise keeps serving the old one.
   * `changed` names the files whose change triggered it, for the reload event.
   */
  reload(changed?: readonly string[], gate?: ReloadGate): Promise<ReloadResult> {
    // Reloads are serialized: a burst of file events yields one reload after the one in progress.
    const run = async (): Promise<ReloadResult> => {
      const startedAt = performance.now();
      try {
        await this.swap(gate);
        publish(reloadChannel, () => ({ ok: true, durationMs: performance.now() - startedAt, files: changed }));
        return { ok: true };
      } catch (err) {
        const code = (err as GatewayError).code as string | undefined;
        if (!this.options.worker?.quietReloadFailures) this.options.logger.error({ err: (err as Error).message, code }, 'reload failed: still serving the previous config');
        publish(reloadChannel, () => ({
          ok: false,
          durationMs: performance.now() - startedAt,
          errorCode: code ?? ErrorCodes.INTERNAL,
          message: (err as Error).message,
          files: changed,
        }));
        return { ok: false, error: err as Error };
      }
    };
    this.reloading = (this.reloading ?? Promise.resolve({ ok: true })).then(run, run);
    return this.reloading;
  }

  private async swap(gate?: ReloadGate): Promise<void> {
    if (this.draining) throw new GatewayError(ErrorCodes.SHUTTING_DOWN, 'shutting down');
    const loaded = await this.load();
    const next = await buildRuntime(loaded.config, this.options.policies, this.options.backends, this.options.logger, this.state);
    const previousRuntime = this.runtime;
    const opened: OpenBind[] = [];
    const replaced: OpenBind[] = [];
    const tlsUpdates: Array<() => void> = [];
    try {
      for (const bind of this.listening ? next.config.binds : []) {
        const current = this.open.get(bind.key);
        if (current && current.bind.protocol === bind.protocol) {
          const tls = next.binds.get(bind.key)?.defaultTls;
          if (tls) tlsUpdates.push(() => (current.server as HttpsServer).setSecureContext(tls));
          continue;
        }
        if (current) {
          // A protocol change needs a new server on the same port: the old one must let go first.
          await this.closeServers([current]);
          this.open.delete(bind.key);
          replaced.push(current);
        }
        opened.push(await this.listen(bind, next));
      }
      await gate?.();
    } catch (err) {
      await this.closeServers(opened);
      for (const r of replaced) {
        try {
          this.open.set(r.bind.key, await this.listen(r.bind, previousRuntime));
        } catch (reopenErr) {
          this.options.logger.error({ err: (reopenErr as Error).message, bind: r.bind.key }, 'could not reopen bind after a failed reload');
        }
      }
      await next.close();
      throw err;
    }
    const previous = previousRuntime;
    this.runtime = next;
    this.loaded = loaded;
    this.syncAccessLog();
    for (const o of opened) this.open.set(o.bind.key, o);
    for (const update of tlsUpdates) update();
    for (const o of this.open.values()) applyTimeouts(o.server as Server, next.config.limits);
    const removed = [...this.open.values()].filter((o) => !next.binds.has(o.bind.key));
    for (const o of removed) this.open.delete(o.bind.key);
    void this.closeServers(removed);
    void this.retire(previous);
    this.options.logger.info(
      { binds: next.config.binds.map((b) => b.key), opened: opened.map((o) => o.port), closed: removed.map((o) => o.port) },
      'reloaded',
    );
  }

  /** Stops accepting, lets in-flight requests finish up to the drain deadline, then closes everything. */
  async close(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.runtime.drain();
    const deadline = this.runtime.config.shutdown.drainTimeoutMs;
    const servers = [...this.open.values()];
    const closing = this.closeServers(servers);
    const drained = await Promise.race([
      closing.then(() => true),
      new Promise<boolean>((r) => setTimeout(r, deadline, false).unref()),
    ]);
    if (!drained) {
      this.options.logger.warn({ inflight: this.runtime.inflight, drainTimeoutMs: deadline }, 'drain deadline passed: closing remaining connections');
      for (const s of servers) s.server.closeAllConnections();
    }
    await this.reloading?.catch(() => {});
    await this.runtime.close();
    this.stopAccessLog();
  }

  /**
   * The access log is a request-event subscriber, on while the served config has `logging.accessLog` and the
   * logger writes info lines: at `warn` and above nothing subscribes, so requests build no event at all.
   */
  private syncAccessLog(): void {
    const logging = this.runtime.config.logging;
    if (logging.accessLog && this.options.logger.isLevelEnabled('info')) {
      const shape = JSON.stringify(logging.accessLogShape ?? null);
      if (this.accessLog && shape !== this.accessLogShape) this.stopAccessLog();
      this.accessLogShape = shape;
      this.accessLog ??= subscribeAccessLog(this.options.logger, this.env.gateway, logging.accessLogShape);
    } else this.stopAccessLog();
  }

  private stopAccessLog(): void {
    this.accessLog?.();
    this.accessLog = undefined;
  }

  private async load(): Promise<LoadedConfig> {
    const loaded = this.options.load ? await this.options.load() : await loadConfig(this.options.configFile, this.options.policies, this.options.backends);
    return this.options.transform ? this.options.transform(loaded) : loaded;
  }

  private listen(bind: ResolvedBind, runtime: Runtime): Promise<OpenBind> {
    // handleRequest never rejects (it answers its own failures with 500).
    const handler = (scheme: 'http' | 'https', expectContinue = false) => (req: Parameters<typeof handleRequest>[3], res: Parameters<typeof handleRequest>[4]) => {
      if (wasRefused(req.socket)) return void req.socket.destroy();
      void handleRequest(this.env, bind.key, scheme, req, res, expectContinue);
    };
    const limits = runtime.config.limits;
    const server =
      bind.protocol === 'HTTPS'
        ? createHttpsServer(
            {
              connectionsCheckingInterval: checkingIntervalMs(limits),
              SNICallback: (servername, cb) => {
                const ctx = this.runtime.binds.get(bind.key)?.secureContextFor(servername);
                cb(ctx ? null : new Error(`no certificate for ${servername}`), ctx);
              },
              // Used when the client sends no SNI (an IP address): the catch-all listener's certificate.
              ...runtime.binds.get(bind.key)?.defaultTls,
            },
            handler('https'),
          )
        : createHttpServer({ connectionsCheckingInterval: checkingIntervalMs(limits) }, handler('http'));
    limitConnections(server as Server, bind.key, bind.protocol === 'HTTPS', () => this.runtime.config.limits);
    // `Expect: 100-continue`: node emits 'checkContinue' instead of 'request'; the handler sends 100 only once
    // something reads the body, so a refused request is answered before the client uploads it.
    server.on('checkContinue', handler(bind.protocol === 'HTTPS' ? 'https' : 'http', true));
    applyTimeouts(server as Server, limits);
    const open = new Set<Socket>();
    sockets.set(server, open);
    // For HTTPS the HTTP state lives on the TLS socket, not on the TCP one under it.
    server.on(bind.protocol === 'HTTPS' ? 'secureConnection' : 'connection', (socket: Socket) => {
      open.add(socket);
      socket.once('close', () => open.delete(socket));
    });
    server.on('clientError', (err, socket) => {
      if (!socket.writable) return socket.destroy();
      const code = (err as Error & { code?: string }).code;
      // A client too slow to send its headers (slowloris) is told so, and its connection freed.
      const timeout = code === 'ERR_HTTP_REQUEST_TIMEOUT';
      const message = timeout ? `the request headers did not arrive within limits.headersTimeoutMs (${this.runtime.config.limits.headersTimeoutMs} ms)` : `malformed request: ${code ?? err.message}`;
      const body = JSON.stringify({ error: { code: ErrorCodes.BAD_REQUEST, message } });
      const status = timeout ? '408 Request Timeout' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    });
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(new GatewayError(ErrorCodes.BIND_FAILED, `${bind.path}: cannot listen on ${bind.address}:${bind.port}: ${err.code ?? err.message}`, { cause: err }));
      };
      server.once('error', onError);
      server.listen({ port: bind.port, host: bind.address, ...(bind.port === 0 ? undefined : this.options.worker?.listen) }, () => {
        server.off('error', onError);
        server.on('error', (err) => this.options.logger.error({ err, bind: bind.key }, 'server error'));
        const port = (server.address() as AddressInfo).port;
        this.options.logger.info({ bind: bind.key, address: bind.address, port, protocol: bind.protocol, listeners: bind.listeners.map((l) => l.name) }, 'listening');
        resolve({ bind, server, port });
      });
    });
  }

  private async closeServers(list: OpenBind[]): Promise<void> {
    await Promise.all(
      list.map(
        (o) =>
          new Promise<void>((resolve) => {
            // Keep-alive connections whose last request just finished are idle: close them as they become so,
            // rather than waiting for the client's keep-alive timeout.
            // Node counts a socket that connected but never sent a request (a client that aborted right after
            // connecting) as busy until its headers timeout; with no response in progress it is safe to close.
            const sweep = setInterval(() => {
              o.server.closeIdleConnections();
              for (const socket of sockets.get(o.server) ?? []) if (!(socket as Socket & { _httpMessage?: unknown })._httpMessage) socket.destroy();
            }, 50);
            o.server.close(() => {
              clearInterval(sweep);
              resolve();
            });
            o.server.closeIdleConnections();
          }),
      ),
    );
  }

  private async retire(runtime: Runtime): Promise<void> {
    const deadline = Date.now() + runtime.config.shutdown.drainTimeoutMs;
    while (runtime.inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50).unref());
    await runtime.close();
  }
}
