import type { Logger } from '../../../telemetry/index.ts';
import { RpcErrors, RpcFailure, type JsonRpcId, type JsonRpcNotification, type JsonRpcRequest } from '../../../protocol/jsonrpc.ts';
import { unavailable, type ClientInit, type ConnectionHandlers, type RequestHandle, type ServerInit, type TargetConnection, type UpstreamConnection } from './connection.ts';
import { POOL_CLIENT_INIT, sameClient } from './pool.ts';
import type { TargetLauncher } from './processes.ts';

/** First-page list results a shared process keeps for new sessions, and the list_changed kind that makes each stale. */
const CACHED_LISTS: Record<string, string> = {
  'tools/list': 'tools',
  'prompts/list': 'prompts',
  'resources/list': 'resources',
  'resources/templates/list': 'resources',
};
const LIST_CHANGED = /^notifications\/(\w+)\/list_changed$/;

/**
 * The shared processes of one stdio target with `shared: true` (one route, one runtime): one process per kind of
 * client (protocol version and declared capabilities, as the warm pool matches them: a server may offer different
 * tools to different clients), each initialized once and leased to every session of that kind. A session's
 * `initialize` is answered from the process's own answer; closing a session never stops the process; a process
 * that exits is started again for the next session that needs it. Processes count in the target's
 * `maxProcesses`; one with no session is stopped to make room for another kind at the limit.
 */
export class SharedStdio {
  private readonly processes: SharedProcess[] = [];
  private readonly starting: Array<{ init: ClientInit; ready: Promise<SharedProcess> }> = [];
  private readonly launcher: TargetLauncher;
  private readonly logger: Logger;
  private draining = false;

  constructor(launcher: TargetLauncher, logger: Logger, options: { prestart?: boolean } = {}) {
    this.launcher = launcher;
    this.logger = logger;
    // Started at load, like the warm pool, for the clients most sessions come from.
    if (options.prestart ?? true) {
      this.process(POOL_CLIENT_INIT).catch((err: Error) => {
        this.logger.warn({ target: launcher.target.name, err: err.message }, 'shared MCP target process could not start; the next session tries again');
      });
    }
  }

  /** Live processes (for tests and the admin view). */
  get running(): number {
    return this.processes.filter((p) => !p.closed).length;
  }

  /** A lease on the process for clients like `init`, started if there is none. */
  async lease(init: ClientInit): Promise<SharedLease> {
    // A process that ended while this session waited for it: the next one is started.
    for (let attempt = 0; attempt < 2; attempt++) {
      const proc = await this.process(init);
      if (!proc.closed) return proc.lease();
    }
    throw unavailable(this.launcher.target.name, 'its shared process ended while the session started');
  }

  private process(init: ClientInit): Promise<SharedProcess> {
    const live = this.processes.find((p) => !p.closed && sameClient(p.clientInit, init));
    if (live) return Promise.resolve(live);
    const pending = this.starting.find((s) => sameClient(s.init, init));
    if (pending) return pending.ready;
    const entry = { init, ready: this.start(init) };
    this.starting.push(entry);
    const done = () => void this.starting.splice(this.starting.indexOf(entry), 1);
    entry.ready.then(done, done);
    return entry.ready;
  }

  private async start(init: ClientInit): Promise<SharedProcess> {
    if (this.launcher.full) {
      // At the process limit, a process no session uses (of another kind of client) gives its place up; one still
      // starting (the one started at load) is waited for first.
      await Promise.allSettled(this.starting.filter((s) => !sameClient(s.init, init)).map((s) => s.ready));
      const idle = this.processes.find((p) => !p.closed && p.leases.size === 0);
      if (idle) await idle.stop();
    }
    const conn = await this.launcher.open(init, false);
    const proc: SharedProcess = new SharedProcess(conn, init, this.logger, () => {
      const i = this.processes.indexOf(proc);
      if (i !== -1) this.processes.splice(i, 1);
    });
    proc.retiring = this.draining;
    if (conn.closed) proc.lost();
    else {
      this.processes.push(proc);
      proc.prefetch();
    }
    return proc;
  }

  /**
   * The runtime goes away: processes no session uses stop now; the others once their last session closes (open
   * sessions survive a reload and keep their process).
   */
  async close(): Promise<void> {
    this.draining = true;
    await Promise.allSettled(this.starting.map((s) => s.ready));
    const idle: SharedProcess[] = [];
    for (const p of this.processes) {
      p.retiring = true;
      if (p.leases.size === 0) idle.push(p);
    }
    await Promise.allSettled(idle.map((p) => p.stop()));
  }
}

/**
 * One process shared by sessions. Its connection's request ids are already process-unique (the connection
 * numbers its own requests); what else carries an id is remapped here: progress tokens (a session's token is
 * replaced by a process-unique one and restored on the way back), server-to-client requests (routed to the one
 * session with a request in flight, else refused), resource subscriptions (updates only to subscribers).
 */
class SharedProcess {
  readonly conn: UpstreamConnection;
  readonly clientInit: ClientInit;
  readonly leases = new Set<SharedLease>();
  closed = false;
  /** Set when the runtime went away: the process stops once its last session does. */
  retiring = false;
  /** First pages of list results, served to each new session instead of a round trip; dropped on list_changed. */
  private readonly lists = new Map<string, unknown>();
  /** Bumped on each list_changed, so that an answer fetched across one is not cached. */
  private listGeneration = 0;
  private nextToken = 1;
  private readonly tokens = new Map<number, { lease: SharedLease; token: unknown }>();
  private readonly subscribers = new Map<string, Set<SharedLease>>();
  /** Server-to-client requests forwarded to a session, by the id the server gave them. */
  private readonly asked = new Map<JsonRpcId, SharedLease>();
  private readonly logger: Logger;
  private readonly onEnd: () => void;

  constructor(conn: UpstreamConnection, clientInit: ClientInit, logger: Logger, onEnd: () => void) {
    this.conn = conn;
    this.clientInit = clientInit;
    this.logger = logger;
    this.onEnd = onEnd;
    for (const [method, result] of conn.prefetched) if (method in CACHED_LISTS) this.lists.set(method, result);
    conn.handlers = {
      onNotification: (m) => this.notification(m),
      onRequest: (m) => this.serverRequest(m),
      onClose: () => this.lost(),
    };
  }

  get target(): string {
    return this.conn.target;
  }

  /** Asks for the tool list in the background, so the sessions that come next find it ready. */
  prefetch(): void {
    if (!this.conn.init.capabilities.tools || this.lists.has('tools/list')) return;
    const generation = this.listGeneration;
    this.conn.request('tools/list', undefined).result.then(
      (value) => {
        if (generation === this.listGeneration && !this.closed) this.lists.set('tools/list', value);
      },
      () => {},
    );
  }

  lease(): SharedLease {
    const lease = new SharedLease(this, new CachedLists(this.lists));
    this.leases.add(lease);
    return lease;
  }

  request(lease: SharedLease, method: string, params: Record<string, unknown> | undefined, timeoutMs?: number): RequestHandle {
    if (lease.closed || this.closed) return { upstreamId: -1, result: Promise.reject(unavailable(this.target, 'it is not connected')) };
    let forward = params;
    let token: number | undefined;
    const meta = params?._meta as Record<string, unknown> | undefined;
    if (meta?.progressToken !== undefined) {
      // Two sessions may well use the same token: the server sees one of ours, unique on the process.
      token = this.nextToken++;
      this.tokens.set(token, { lease, token: meta.progressToken });
      forward = { ...params, _meta: { ...meta, progressToken: token } };
    }
    const uri = method === 'resources/subscribe' || method === 'resources/unsubscribe' ? String(params?.uri ?? '') : undefined;
    if (method === 'resources/subscribe') this.subscribe(lease, uri!);
    if (method === 'resources/unsubscribe') {
      // Other sessions still want this resource's updates: the server keeps sending them, this session stops getting them.
      if (this.unsubscribe(lease, uri!)) return { upstreamId: -1, result: Promise.resolve({}) };
    }
    const cacheable = method in CACHED_LISTS && params?.cursor === undefined;
    const generation = this.listGeneration;
    const handle = this.conn.request(method, forward, timeoutMs);
    const id = handle.upstreamId;
    lease.inflight.add(id);
    const result = new Promise<unknown>((resolve, reject) => {
      lease.pending.set(id, reject);
      const settle = () => {
        lease.inflight.delete(id);
        lease.pending.delete(id);
        if (token !== undefined) this.tokens.delete(token);
      };
      handle.result.then(
        (value) => {
          settle();
          // A copy: the session's pipeline may change what it is given.
          if (cacheable && generation === this.listGeneration) this.lists.set(method, structuredClone(value));
          resolve(value);
        },
        (err: Error) => {
          settle();
          if (method === 'resources/subscribe') this.unsubscribe(lease, uri!);
          reject(err);
        },
      );
    });
    return { upstreamId: id, result };
  }

  private subscribe(lease: SharedLease, uri: string): void {
    let set = this.subscribers.get(uri);
    if (!set) this.subscribers.set(uri, (set = new Set()));
    set.add(lease);
    lease.subscriptions.add(uri);
  }

  /** Drops the lease's subscription; true when other sessions still subscribe to `uri`. */
  private unsubscribe(lease: SharedLease, uri: string): boolean {
    lease.subscriptions.delete(uri);
    const set = this.subscribers.get(uri);
    set?.delete(lease);
    if (set && set.size > 0) return true;
    this.subscribers.delete(uri);
    return false;
  }

  /** The one session with a request in flight: only then can the gateway tell whom the server means. */
  private soleCaller(): SharedLease | undefined {
    let found: SharedLease | undefined;
    for (const lease of this.leases) {
      if (lease.inflight.size === 0) continue;
      if (found) return undefined;
      found = lease;
    }
    return found;
  }

  private serverRequest(m: JsonRpcRequest): Promise<unknown> {
    const lease = this.soleCaller();
    if (!lease?.handlers) {
      this.logger.warn({ target: this.target, method: m.method, sessions: this.leases.size }, 'shared MCP process: a server request with no session to route it to was refused');
      return Promise.reject(
        new RpcFailure(
          RpcErrors.METHOD_NOT_FOUND,
          `${m.method} refused: this process is shared by several client sessions (stdio.shared) and the gateway cannot tell which one the request is for`,
        ),
      );
    }
    this.asked.set(m.id, lease);
    return lease.handlers.onRequest(m).finally(() => this.asked.delete(m.id));
  }

  private notification(m: JsonRpcNotification): void {
    const params = m.params ?? {};
    const changed = LIST_CHANGED.exec(m.method);
    if (changed) {
      this.listGeneration++;
      for (const [method, kind] of Object.entries(CACHED_LISTS)) {
        if (kind !== changed[1]) continue;
        this.lists.delete(method);
        for (const lease of this.leases) lease.prefetched.delete(method);
      }
      for (const lease of this.leases) lease.deliver(m);
      return;
    }
    switch (m.method) {
      case 'notifications/progress': {
        const owner = typeof params.progressToken === 'number' ? this.tokens.get(params.progressToken) : undefined;
        owner?.lease.deliver({ ...m, params: { ...params, progressToken: owner.token } });
        return;
      }
      case 'notifications/resources/updated':
        for (const lease of this.subscribers.get(String(params.uri)) ?? []) lease.deliver(m);
        return;
      case 'notifications/cancelled':
        // The server withdraws a request it sent a session: only that session hears of it.
        this.asked.get(params.requestId as JsonRpcId)?.deliver(m);
        return;
      default:
        // Log messages and the like: to the session known to have caused them, never to all of them.
        this.soleCaller()?.deliver(m);
    }
  }

  /** A session lets go of the process: its calls in flight are cancelled upstream, its subscriptions dropped. */
  release(lease: SharedLease): void {
    this.leases.delete(lease);
    for (const [id, reject] of lease.pending) {
      reject(unavailable(this.target, 'the session closed'));
      this.conn.notify('notifications/cancelled', { requestId: id, reason: 'the client session closed' });
    }
    lease.pending.clear();
    lease.inflight.clear();
    for (const [token, owner] of this.tokens) if (owner.lease === lease) this.tokens.delete(token);
    for (const uri of [...lease.subscriptions]) {
      if (!this.unsubscribe(lease, uri) && !this.closed) this.conn.request('resources/unsubscribe', { uri }).result.catch(() => {});
    }
    if (this.retiring && this.leases.size === 0) void this.stop();
  }

  /** The process exited: every session on it fails what it has in flight, and is told the target was lost. */
  lost(): void {
    if (this.closed) return;
    this.closed = true;
    this.onEnd();
    this.logger.warn({ target: this.target, sessions: this.leases.size }, 'shared MCP target process ended');
    const error = unavailable(this.target, 'its shared process ended (it is started again for the next request)');
    for (const lease of [...this.leases]) lease.lost(error);
    this.leases.clear();
  }

  async stop(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.onEnd();
    }
    await this.conn.close();
  }
}

/**
 * A session's view of its process's cached lists: each read is the session's own copy (the message pipeline may
 * change a result it is given), taken only when the session asks.
 */
class CachedLists extends Map<string, unknown> {
  override get(key: string): unknown {
    const value = super.get(key);
    return value === undefined ? undefined : structuredClone(value);
  }
}

/** One session's hold on a shared process: what the session sees as its connection to the target. */
export class SharedLease implements TargetConnection {
  readonly target: string;
  readonly init: ServerInit;
  handlers?: ConnectionHandlers;
  closed = false;
  readonly prefetched: Map<string, unknown>;
  readonly ended: Promise<void>;
  /** The upstream ids of this session's requests in flight. */
  readonly inflight = new Set<number>();
  /** Rejects each in-flight request's answer (when the session closes or the process ends). */
  readonly pending = new Map<number, (err: Error) => void>();
  readonly subscriptions = new Set<string>();
  private readonly process: SharedProcess;
  private markEnded!: () => void;

  constructor(process: SharedProcess, prefetched: Map<string, unknown>) {
    this.process = process;
    this.target = process.target;
    this.init = process.conn.init;
    this.prefetched = prefetched;
    this.ended = new Promise((r) => (this.markEnded = r));
  }

  get pid(): number | undefined {
    return this.process.conn.pid;
  }

  request(method: string, params: Record<string, unknown> | undefined, timeoutMs?: number): RequestHandle {
    return this.process.request(this, method, params, timeoutMs);
  }

  /**
   * Only cancellations of this session's own requests reach the process: other client notifications (roots
   * changed, ...) concern one client, and a shared server cannot ask that client anything back.
   */
  notify(method: string, params?: Record<string, unknown>): void {
    if (this.closed || method !== 'notifications/cancelled') return;
    const id = params?.requestId;
    if (typeof id === 'number' && this.inflight.has(id)) this.process.conn.notify(method, params);
  }

  precheck(): unknown {
    return undefined;
  }

  deliver(m: JsonRpcNotification): void {
    if (!this.closed) this.handlers?.onNotification(m);
  }

  lost(error: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const reject of this.pending.values()) reject(error);
    this.pending.clear();
    this.inflight.clear();
    this.markEnded();
    this.handlers?.onClose();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.process.release(this);
    this.handlers = undefined;
    this.markEnded();
  }
}
