import type { IncomingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { ownedSessionId, type ResumableTarget } from '../../replica/index.ts';
import type { McpTarget } from '../../../sdk-types/config.ts';
import { ErrorCodes, GatewayError } from '../../errors.ts';
import { type Logger, publish, sessionChannel, type SessionEvent } from '../../telemetry/index.ts';
import { Catalog } from './catalog.ts';
import type { ToolGovernance } from './tools/index.ts';
import { taskNotificationOut } from './tasks.ts';
import { RpcErrors, RpcFailure, type JsonRpcMessage, type JsonRpcNotification, type JsonRpcRequest, type JsonRpcResponse } from '../../protocol/jsonrpc.ts';
import type { ClientInit, TargetConnection } from './upstream/connection.ts';
import { StartingConnection, type TargetSnapshot, type TargetSnapshots, type WarmPool } from './upstream/pool.ts';
import type { TargetLauncher } from './upstream/processes.ts';
import type { SharedStdio } from './upstream/shared.ts';

/** What every session of one MCP backend shares. */
export interface SessionEnv {
  routeName: string;
  targets: readonly McpTarget[];
  prefix: boolean;
  failOpen: boolean;
  timeoutMs(target: string): number;
  /** Opens connections to each target (stdio ones within their process limit). */
  launchers: ReadonlyMap<string, TargetLauncher>;
  pools: ReadonlyMap<string, WarmPool>;
  /**
   * What a fresh process of each per-session stdio target answered, per kind of client: a session that finds no
   * pooled process answers from it while its own process starts.
   */
  snapshots?: ReadonlyMap<string, TargetSnapshots>;
  /** Targets with `stdio.shared`: every session leases the target's shared process instead of starting one. */
  shared?: ReadonlyMap<string, SharedStdio>;
  logger: Logger;
  /** The route's tool governance (overrides, toolsets, tool search), compiled at load; undefined when it has none. */
  tools?: ToolGovernance;
}

/** Why a session ended, as its `sessionChannel` close event says. */
export type CloseReason = NonNullable<SessionEvent['reason']>;

/** Sends one message to the client on some stream; returns false when that stream is gone. */
export type Emit = (message: JsonRpcMessage) => boolean;

/** A client request being served: where messages related to it go (its POST's SSE stream). */
export interface Scope {
  clientId: JsonRpcRequest['id'];
  target?: string;
  upstreamId?: number;
  progressToken?: unknown;
  emit?: Emit;
}

interface TargetState {
  config: McpTarget;
  conn?: TargetConnection;
  failures: number;
  restartTimer?: NodeJS.Timeout;
  lastError?: string;
}

const MAX_BUFFERED = 256;

/** The client capability each server-to-client request needs. */
export const CLIENT_CAPABILITY: Record<string, string> = { 'sampling/createMessage': 'sampling', 'elicitation/create': 'elicitation', 'roots/list': 'roots' };

/**
 * One client session: an upstream session per target, the merged catalog, and the routing of messages both ways.
 * Messages a target sends on its own go to the stream of the client request in flight to that target, else to the
 * session's GET stream, else into a bounded buffer until one opens.
 */
const targetNamesOf = new WeakMap<readonly McpTarget[], readonly string[]>();

function namesOf(targets: readonly McpTarget[]): readonly string[] {
  let names = targetNamesOf.get(targets);
  if (!names) {
    names = targets.map((t) => t.name);
    targetNamesOf.set(targets, names);
  }
  return names;
}

export class Session {
  /**
   * Until the session is committed to its store, a CSPRNG UUID (for logs); then the sealed id the store issues
   * (session-id.ts): authenticated encryption of what any replica needs to serve it. With workers it starts with
   * the owning worker (`w1.`), so that another worker hands its requests over (core/cluster/handoff.ts).
   */
  id = ownedSessionId(randomUUID());
  /**
   * Whether closing the session for idleness or shutdown leaves its remote targets' upstream sessions open: set
   * when the session id is portable across replicas (a shared key), since another replica may be serving it.
   */
  keepUpstream = false;
  /** The identity that opened the session (see `ownerOf`): to anyone else the session does not exist. */
  owner = 'anonymous';
  /** The opener's identity subject, for telemetry. */
  subject?: string;
  /**
   * The headers of the latest client request of this session: remote targets' calls carry them, so that
   * `backendAuth.passthrough` sends the client's current credential (a refreshed token takes over at once).
   */
  clientHeaders?: Readonly<IncomingHttpHeaders>;
  readonly env: SessionEnv;
  readonly catalog: Catalog;
  readonly targets = new Map<string, TargetState>();
  lastActivity = Date.now();
  /** Open HTTP exchanges (requests, streams); a session with any is never idle. */
  active = 0;
  closed = false;
  clientInit!: ClientInit;
  protocolVersion = '';
  readonly scopes = new Set<Scope>();
  /** Open SSE responses of this session, ended when it closes or the gateway shuts down. */
  readonly streams = new Set<{ end(retryMs?: number): void; readonly drainable?: boolean }>();
  private general?: Emit;
  private readonly buffered: JsonRpcMessage[] = [];
  private nextClientRequest = 1;
  private readonly toClient = new Map<string, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout; target: string; upstreamId: unknown }>();
  onClose?: (reason: CloseReason) => void;
  /** Legacy HTTP+SSE sessions: the one stream everything is sent on. */
  legacy?: { send(m: JsonRpcMessage): boolean; end(): void; event(name: string, data: string): boolean };
  /** Whether `start` was called (legacy sessions exist before their initialize). */
  started = false;
  private published = false;

  /** The route's target names, one array per route (built once, not per session or per call). */
  readonly targetNames: readonly string[];

  constructor(env: SessionEnv) {
    this.env = env;
    this.targetNames = namesOf(env.targets);
    this.catalog = new Catalog(this.targetNames, env.prefix, env.tools);
    for (const config of env.targets) this.targets.set(config.name, { config, failures: 0 });
  }

  /**
   * Targets not connected yet because the caller had to link an upstream account first (backendAuth `oauth`,
   * core/upstream/credential-links.ts): the first request after the link connects them.
   */
  private deferred?: Promise<void> | 'pending';

  /**
   * Connects every target: from the warm pool where one waits, else by starting it now. With `deferTargets`
   * (the caller cannot reach the targets yet) none is connected until `connectDeferred`.
   */
  async start(clientInit: ClientInit, deferTargets = false): Promise<void> {
    this.clientInit = clientInit;
    if (deferTargets) {
      this.deferred = 'pending';
      return;
    }
    await this.connectAll();
  }

  /** Connects the targets `start` deferred, once (concurrent requests share it); a no-op otherwise. */
  async connectDeferred(): Promise<void> {
    if (this.deferred === undefined) return;
    if (this.deferred === 'pending') {
      this.deferred = this.connectAll().then(
        () => {
          this.deferred = undefined;
        },
        (err) => {
          // connectAll closed the session (its targets could not start): later requests find it gone.
          this.deferred = undefined;
          throw err;
        },
      );
    }
    await this.deferred;
  }

  private async connectAll(): Promise<void> {
    const results = await Promise.allSettled([...this.targets.values()].map((s) => this.connect(s)));
    const failed = [...this.targets.values()].filter((_, i) => results[i].status === 'rejected');
    if (failed.length === 0) return;
    if (!this.env.failOpen) {
      await this.close('error');
      // A cap is not a target failure: say which cap, with its own code.
      const capped = results.find((r) => r.status === 'rejected' && (r.reason as GatewayError).code === ErrorCodes.MCP_PROCESS_LIMIT);
      if (capped) throw (capped as PromiseRejectedResult).reason;
      const why = failed.map((s) => `target "${s.config.name}": ${s.lastError}`).join('; ');
      throw new GatewayError(ErrorCodes.MCP_UPSTREAM_FAILED, `route "${this.env.routeName}": the MCP session could not start: ${why}`);
    }
    for (const s of failed) this.scheduleRestart(s);
  }

  private async connect(state: TargetState): Promise<void> {
    const name = state.config.name;
    try {
      const pool = this.env.pools.get(name);
      const launcher = this.env.launchers.get(name)!;
      const shared = this.env.shared?.get(name);
      let conn: TargetConnection | undefined = shared ? await shared.lease(this.clientInit) : pool?.take(this.clientInit);
      const snapshots = shared ? undefined : this.env.snapshots?.get(name);
      // No pooled process, but one like it answered before: answer from that while this session's own starts.
      const snapshot = conn || launcher.full ? undefined : snapshots?.find(this.clientInit);
      // The process comes from the pool's next start for such a client (the pool grows on this miss), or without
      // a pool from a start of its own.
      const claim = snapshot && pool ? pool.claim(this.clientInit) : undefined;
      if (snapshot && (claim || !pool)) return this.startBehind(state, claim ?? { started: launcher.open(this.clientInit, false, () => this.clientHeaders) }, snapshots!, snapshot);
      if (!conn) {
        // At the process limit, the pool hands over the process it is starting for such a client, or an idle
        // pooled process (initialized for other clients) gives its place up.
        if (launcher.full && pool) conn = await pool.makeRoom(this.clientInit);
        conn ??= await launcher.open(this.clientInit, false, () => this.clientHeaders);
      }
      if (this.closed) return void (await conn.close());
      this.adopt(state, conn);
      if (snapshots && !snapshots.find(this.clientInit)) void this.snapshotOf(conn, snapshots);
    } catch (err) {
      state.lastError = (err as Error).message;
      this.env.logger.warn({ route: this.env.routeName, session: this.id, target: name, err: state.lastError }, 'MCP target failed to start');
      throw err;
    }
  }

  /**
   * The session's process comes up in the background (`opening`: the pool's next start claimed for it, or its own
   * start without a pool); until then the target answers from `snapshot` (initialize, the first tools/list) and
   * every other request waits for it. Once up, its tools list is compared with the one the client was given: a
   * different one is announced with `notifications/tools/list_changed`. A failed start drops the target's
   * snapshots (the next session connects visibly) and is handled like a lost process: requests to the target fail
   * naming why, and the session retries with backoff.
   */
  private startBehind(state: TargetState, opening: { started: Promise<TargetConnection>; cancel?: () => void }, snapshots: TargetSnapshots, snapshot: TargetSnapshot): void {
    const name = state.config.name;
    let pending: StartingConnection | undefined;
    const starting = opening.started.then((conn) => {
      // Closed meanwhile: the placeholder's close() stops the process.
      if (!this.closed && state.conn === pending) {
        this.adopt(state, conn);
        void this.compareTools(name, conn, snapshots, snapshot);
      }
      return conn as TargetConnection;
    });
    pending = new StartingConnection(name, snapshot, starting, opening.cancel);
    state.conn = pending;
    this.env.logger.debug({ route: this.env.routeName, session: this.id, target: name }, 'MCP session answered from the target snapshot while its process starts');
    pending.started.catch((err: Error) => {
      // Given up because the session closed: nothing failed.
      if (this.closed || state.conn !== pending) return;
      // At the process limit the target is not broken: what it answered before still holds.
      if (((err as RpcFailure).data as { code?: string } | undefined)?.code !== ErrorCodes.MCP_PROCESS_LIMIT) snapshots.drop();
      state.conn = undefined;
      state.lastError = err.message.replace(/^target "[^"]*" is unavailable: /, '');
      this.env.logger.warn({ route: this.env.routeName, session: this.id, target: name, err: state.lastError }, 'MCP target failed to start');
      this.listsChanged();
      this.scheduleRestart(state);
    });
  }

  /** The target's first tools list, recorded as its snapshot for clients like this session's (nothing else was sent). */
  private async snapshotOf(conn: TargetConnection, snapshots: TargetSnapshots): Promise<void> {
    let tools: unknown;
    if (conn.init.capabilities.tools) {
      tools = conn.prefetched.get('tools/list') ?? (await conn.request('tools/list', undefined).result.catch(() => undefined));
      if (tools === undefined) return;
    }
    if (!conn.closed) snapshots.record(this.clientInit, conn.init, tools);
  }

  /** The session's own process is up: if its tools differ from the snapshot the client was given, say so. */
  private async compareTools(target: string, conn: TargetConnection, snapshots: TargetSnapshots, snapshot: TargetSnapshot): Promise<void> {
    if (!conn.init.capabilities.tools) {
      if (snapshot.tools !== undefined) this.fromTarget(target, { jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
      return;
    }
    // A pooled process fetched its list when it started, before any session used it.
    const tools = conn.prefetched.get('tools/list') ?? (await conn.request('tools/list', undefined).result.catch(() => undefined));
    if (tools === undefined || conn.closed || this.closed) return;
    snapshots.record(this.clientInit, conn.init, tools);
    if (isDeepStrictEqual(tools, snapshot.tools)) return;
    this.env.logger.info({ route: this.env.routeName, session: this.id, target }, 'MCP target process lists other tools than its snapshot: the client is told its list changed');
    // The client lists again: served from what was just fetched.
    conn.prefetched.set('tools/list', tools);
    this.fromTarget(target, { jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
  }

  /** The connection of a target once it can take a request that needs its process (a call, a read). */
  async ready(target: string): Promise<TargetConnection> {
    const conn = this.connection(target);
    if (!(conn instanceof StartingConnection)) return conn;
    await conn.started;
    return this.connection(target);
  }

  private adopt(state: TargetState, conn: TargetConnection): void {
    conn.handlers = {
      onNotification: (m) => this.fromTarget(state.config.name, m),
      onRequest: (m) => this.serverRequest(state.config.name, m),
      onClose: () => this.lost(state, conn),
    };
    state.conn = conn;
    if (conn.closed) this.lost(state, conn);
  }

  /**
   * Rebuilds a session another replica opened, from its sealed id: each remote target's upstream session is
   * resumed as it is (no new `initialize` upstream); a target the id does not name (added to the config since) is
   * connected anew in the background.
   */
  resume(clientInit: ClientInit, protocolVersion: string, upstream: Readonly<Record<string, ResumableTarget>>): void {
    this.clientInit = clientInit;
    this.protocolVersion = protocolVersion;
    for (const state of this.targets.values()) {
      const known = Object.hasOwn(upstream, state.config.name) ? upstream[state.config.name] : undefined;
      const launcher = this.env.launchers.get(state.config.name)!;
      if (known) this.adopt(state, launcher.resume(clientInit, known, () => this.clientHeaders));
      else this.connect(state).catch(() => this.scheduleRestart(state));
    }
  }

  /**
   * Each target's resumable upstream session, or undefined when a target can only be served by this process
   * (stdio, legacy SSE, a shared process) or is not connected.
   */
  portableTargets(): Record<string, ResumableTarget> | undefined {
    const out: Record<string, ResumableTarget> = {};
    for (const [name, state] of this.targets) {
      const p = state.conn && !state.conn.closed ? state.conn.portable?.() : undefined;
      if (!p) return undefined;
      out[name] = p;
    }
    return out;
  }

  private lost(state: TargetState, conn: TargetConnection): void {
    if (state.conn !== conn || this.closed) return;
    state.conn = undefined;
    state.lastError = 'the target process or connection ended';
    this.env.logger.warn({ route: this.env.routeName, session: this.id, target: state.config.name }, 'MCP target connection lost');
    this.listsChanged();
    this.scheduleRestart(state);
  }

  private scheduleRestart(state: TargetState): void {
    if (this.closed || state.restartTimer) return;
    const delay = Math.min(30_000, 200 * 2 ** Math.min(state.failures, 8));
    state.failures++;
    state.restartTimer = setTimeout(() => {
      state.restartTimer = undefined;
      this.connect(state).then(
        () => {
          if (this.closed) return;
          state.failures = 0;
          this.env.logger.info({ route: this.env.routeName, session: this.id, target: state.config.name }, 'MCP target restarted');
          this.listsChanged();
        },
        () => this.scheduleRestart(state),
      );
    }, delay);
    state.restartTimer.unref();
  }

  private listsChanged(): void {
    for (const kind of ['tools', 'prompts', 'resources']) this.sendGeneral({ jsonrpc: '2.0', method: `notifications/${kind}/list_changed` });
  }

  /** The connection of a target, or the JSON-RPC error a call to it gets. */
  connection(target: string): TargetConnection {
    const state = this.targets.get(target);
    if (!state) throw new RpcFailure(RpcErrors.INVALID_PARAMS, `unknown target "${target}"`);
    if (!state.conn || state.conn.closed) {
      throw new RpcFailure(RpcErrors.TARGET_UNAVAILABLE, `target "${target}" is unavailable: ${state.lastError ?? 'it is not connected'}`, { target });
    }
    return state.conn;
  }

  /** Targets that can take requests now. */
  liveTargets(): string[] {
    return [...this.targets.values()].filter((s) => s.conn && !s.conn.closed).map((s) => s.config.name);
  }

  attachGeneral(emit: Emit): void {
    this.general = emit;
    while (this.buffered.length > 0) {
      if (!emit(this.buffered[0])) return;
      this.buffered.shift();
    }
  }

  detachGeneral(emit: Emit): void {
    if (this.general === emit) this.general = undefined;
  }

  private sendGeneral(message: JsonRpcMessage): void {
    if (this.general?.(message)) return;
    if (this.buffered.length >= MAX_BUFFERED) this.buffered.shift();
    this.buffered.push(message);
  }

  /** Sends a message from a target to the client, on the most fitting stream. */
  private route(target: string, message: JsonRpcMessage, progressToken?: unknown): void {
    const scopes = [...this.scopes].reverse();
    const scope =
      progressToken !== undefined ? scopes.find((s) => s.progressToken === progressToken && s.emit) : scopes.find((s) => s.target === target && s.emit);
    if (scope?.emit?.(message)) return;
    this.sendGeneral(message);
  }

  private fromTarget(target: string, m: JsonRpcNotification): void {
    const params = m.params ?? {};
    switch (m.method) {
      case 'notifications/tools/list_changed':
        this.catalog.listedTools = undefined;
        this.catalog.toolsCurrent = false;
        return this.sendGeneral(m);
      case 'notifications/prompts/list_changed':
      case 'notifications/resources/list_changed':
        return this.sendGeneral(m);
      case 'notifications/progress':
        return this.route(target, m, params.progressToken);
      case 'notifications/resources/updated':
        return this.route(target, { ...m, params: { ...params, uri: this.catalog.uri(target, String(params.uri)) } });
      case 'notifications/tasks/status':
      case 'notifications/tasks':
        return this.route(target, this.targets.size > 1 ? { ...m, params: taskNotificationOut(target, params) } : m);
      case 'notifications/cancelled': {
        const entry = [...this.toClient.entries()].find(([, p]) => p.target === target && p.upstreamId === params.requestId);
        if (!entry) return;
        return this.route(target, { ...m, params: { ...params, requestId: entry[0] } });
      }
      default:
        return this.route(target, m);
    }
  }

  /** A target asks the client something: forward it under a session-unique id and wait for the reply. */
  private serverRequest(target: string, m: JsonRpcRequest): Promise<unknown> {
    // A target that asks for a capability the client never declared is answered here, not passed on.
    // An internal session of 2026-07-28 clients declares these upstream for all its callers: whether this caller
    // declared the capability is decided per request, by the call's own stream (serve/input-bridge.ts).
    const modern = this.clientInit?.era === 'modern';
    const needs = CLIENT_CAPABILITY[m.method];
    if (!modern && needs && this.clientInit && !(needs in (this.clientInit.capabilities ?? {}))) {
      return Promise.reject(new RpcFailure(RpcErrors.METHOD_NOT_FOUND, `the client does not support ${m.method}`));
    }
    const id = `${target}-${this.nextClientRequest++}`;
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new RpcFailure(RpcErrors.TARGET_UNAVAILABLE, 'the session closed'));
      const timer = setTimeout(() => {
        this.toClient.delete(id);
        reject(new RpcFailure(RpcErrors.REQUEST_TIMEOUT, `the client did not answer ${m.method} in time`));
      }, this.env.timeoutMs(target));
      this.toClient.set(id, { resolve, reject, timer, target, upstreamId: m.id });
      if (!modern) return this.route(target, { ...m, id });
      // A 2026-07-28 client is asked only within the result of one of its calls: the call in flight to the target
      // takes the request, or it is refused (never put on a listen stream).
      const scope = [...this.scopes].reverse().find((s) => s.target === target && s.emit);
      if (scope?.emit?.({ ...m, id })) return;
      clearTimeout(timer);
      this.toClient.delete(id);
      reject(new RpcFailure(RpcErrors.METHOD_NOT_FOUND, `the client does not support ${m.method}`));
    });
  }

  /**
   * Asks the client what a 2026-07-28 target's input-required result asks (elicitation, sampling, roots) as the
   * 2025 server-to-client request it was, on the stream of the call in flight to `target`.
   */
  askClient(target: string, method: string, params: Record<string, unknown> | undefined): Promise<unknown> {
    return this.serverRequest(target, { jsonrpc: '2.0', id: 0, method, ...(params === undefined ? {} : { params }) });
  }

  /** The target a pending server-to-client request (by the id it was forwarded under) came from. */
  pendingTarget(id: string): string | undefined {
    return this.toClient.get(id)?.target;
  }

  /** The client's reply to a server-to-client request. */
  clientResponse(m: JsonRpcResponse): void {
    const pending = typeof m.id === 'string' ? this.toClient.get(m.id) : undefined;
    if (!pending) return;
    this.toClient.delete(m.id as string);
    clearTimeout(pending.timer);
    if (m.error) pending.reject(new RpcFailure(m.error.code, m.error.message, m.error.data));
    else pending.resolve(m.result);
  }

  /** A notification from the client: cancellations go to the one target concerned, the rest to every target. */
  clientNotification(m: JsonRpcNotification): void {
    if (m.method === 'notifications/initialized') return;
    if (m.method === 'notifications/cancelled') {
      const scope = [...this.scopes].find((s) => s.clientId === m.params?.requestId);
      if (scope?.target && scope.upstreamId !== undefined) {
        this.targets.get(scope.target)?.conn?.notify('notifications/cancelled', { ...m.params, requestId: scope.upstreamId });
      }
      return;
    }
    for (const s of this.targets.values()) s.conn?.notify(m.method, m.params);
  }

  touch(): void {
    this.lastActivity = Date.now();
  }

  /** Publishes the `open` event: the session is in its store and usable. */
  opened(): void {
    this.published = true;
    publish(sessionChannel, () => ({ event: 'open' as const, protocol: 'mcp' as const, route: this.env.routeName, sessionId: this.id, subject: this.subject }));
  }

  async close(reason: CloseReason = 'shutdown'): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.published) {
      publish(sessionChannel, () => ({ event: 'close' as const, protocol: 'mcp' as const, route: this.env.routeName, sessionId: this.id, subject: this.subject, reason }));
    }
    for (const p of this.toClient.values()) {
      clearTimeout(p.timer);
      p.reject(new RpcFailure(RpcErrors.TARGET_UNAVAILABLE, 'the session closed'));
    }
    this.toClient.clear();
    for (const s of [...this.streams]) s.end();
    const conns: TargetConnection[] = [];
    for (const s of this.targets.values()) {
      clearTimeout(s.restartTimer);
      if (s.conn) conns.push(s.conn);
      s.conn = undefined;
    }
    const keep = this.keepUpstream && (reason === 'idle' || reason === 'shutdown');
    await Promise.allSettled(conns.map((c) => c.close(keep)));
    this.onClose?.(reason);
  }
}
