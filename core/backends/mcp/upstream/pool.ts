import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../../../telemetry/index.ts';
import { RpcFailure } from '../../../protocol/jsonrpc.ts';
import { ErrorCodes } from '../../../errors.ts';
import { LATEST_PROTOCOL_VERSION } from '../versions.ts';
import { type ClientInit, type ConnectionHandlers, type RequestHandle, type ServerInit, type TargetConnection, unavailable, type UpstreamConnection } from './connection.ts';
import type { TargetLauncher } from './processes.ts';

/**
 * What pooled processes are initialized with until a client is known: the newest protocol version and no client
 * capability, which is what most clients declare.
 */
export const POOL_CLIENT_INIT: ClientInit = {
  protocolVersion: LATEST_PROTOCOL_VERSION,
  capabilities: {},
  clientInfo: { name: 'portcullis', version: '0.1.0' },
};

const REFILL_DELAY_MS = 250;
/** Processes the pool starts at once while it grows: more would make each start slower on a small host. */
const PARALLEL_STARTS = 4;

/**
 * The most processes a pool grows to when `stdio.warmPoolMax` is not set: enough to keep ahead of clients that open
 * sessions one after another (a process takes a few hundred ms to start; a pooled session opens in a few ms), and it
 * is only reached under such a burst, halving back after each quiet `idleMs`.
 */
export const DEFAULT_WARM_POOL_MAX = 24;

/**
 * The one rule for a stdio target's pool sizing: `warmPool` processes kept ready (default 1), growing under demand up
 * to `warmPoolMax`, which defaults to DEFAULT_WARM_POOL_MAX; never past `maxProcesses - 1` (room for the session
 * that takes one). `warmPoolMax` equal to `warmPool` keeps a fixed size.
 */
export function warmPoolSizing(stdio: { warmPool?: number; warmPoolMax?: number; maxProcesses?: number }, defaults: { warmPool: number; maxProcesses: number }): WarmPoolSizing {
  const min = stdio.warmPool ?? defaults.warmPool;
  const limit = (stdio.maxProcesses ?? defaults.maxProcesses) - 1;
  const max = Math.min(stdio.warmPoolMax ?? Math.max(min, DEFAULT_WARM_POOL_MAX), limit);
  return { min, max: Math.max(min, max) };
}

/** How the pool adapts its size to demand. */
export interface WarmPoolSizing {
  /** Processes kept ready when no session is being opened (`stdio.warmPool`). */
  min: number;
  /** Most processes the pool grows to while sessions open faster than processes start (`stdio.warmPoolMax`). */
  max: number;
  /** Without a session opened for this long, the pool halves its extra size, down to `min`. @default 30000 */
  idleMs?: number;
}

/**
 * Whether a process initialized with `a` serves a client that declared `b` exactly as a fresh one would. Servers
 * decide what they offer from the protocol version and the client's capabilities (server-everything lists its
 * sampling and elicitation tools only to clients that declare them), so both must be equal.
 */
export function sameClient(a: ClientInit, b: ClientInit): boolean {
  return a.protocolVersion === b.protocolVersion && isDeepStrictEqual(a.capabilities ?? {}, b.capabilities ?? {});
}

interface Ready {
  init: ClientInit;
  conn: UpstreamConnection;
}

/** A session's place in the queue for the pool's next process (`WarmPool.claim`). */
export interface Claim {
  started: Promise<UpstreamConnection>;
  /** Gives the place up (the session closed): `started` rejects, and the process goes to the pool. */
  cancel(): void;
}

/** A session that found no process ready and was answered from a snapshot: it gets the next one started for it. */
interface Waiter {
  init: ClientInit;
  resolve(conn: UpstreamConnection): void;
  reject(err: Error): void;
}

/**
 * Started and initialized stdio processes of one target, waiting for sessions. A session takes one only when it
 * was initialized with the same protocol version and client capabilities the session's client declared, so a
 * pooled session is indistinguishable from a fresh one. The pool refills with what the latest client declared,
 * and replaces a waiting process that no client wants any more. Bounded by `size`; refilled one spawn at a time
 * in the background, with backoff when spawning fails, so a broken command cannot spin; it never starts a process
 * beyond the target's `stdio.maxProcesses`.
 */
export class WarmPool {
  private readonly ready: Ready[] = [];
  /** The latest start in progress (close() and makeRoom() wait on every one of `starting`). */
  private filling?: Promise<unknown>;
  private fillingFor?: ClientInit;
  private readonly starting = new Set<Promise<unknown>>();
  /** What each start in progress is for (the kind of client it initializes as). */
  private readonly startingFor = new Map<Promise<unknown>, ClientInit>();
  /** Sessions waiting for a process, oldest first (`claim`). */
  private readonly waiters: Waiter[] = [];
  /** Starts under way for waiting sessions (any process a session like it waits for goes to it, whichever ends first). */
  private sessionStarts = 0;
  /** The size the pool fills to now: between `min` and `max`, grown by demand, shrunk when idle. */
  private target: number;
  /** How long a process takes to start and initialize (moving average, ms); demand is judged against it. */
  private startMs = 0;
  private lastTakeAt = 0;
  private takesSinceCheck = 0;
  private idleTimer?: NodeJS.Timeout;
  private readonly sizing: Required<WarmPoolSizing>;
  private closed = false;
  private failures = 0;
  private retryTimer?: NodeJS.Timeout;
  private refillTimer?: NodeJS.Timeout;
  private wanted: ClientInit = POOL_CLIENT_INIT;
  /** Sessions in a row whose clients declared what `wanted` holds. */
  private streak = 0;
  private readonly launcher: TargetLauncher;
  private readonly logger: Logger;

  /** Where each process the pool starts records what it answered before any session used it. */
  private readonly snapshots?: TargetSnapshots;

  /** `size` is a fixed size (`min` = `max`), or how the pool adapts. */
  constructor(launcher: TargetLauncher, size: number | WarmPoolSizing, logger: Logger, snapshots?: TargetSnapshots) {
    this.launcher = launcher;
    this.snapshots = snapshots;
    const sizing = typeof size === 'number' ? { min: size, max: size } : size;
    this.sizing = { min: sizing.min, max: Math.max(sizing.min, sizing.max), idleMs: sizing.idleMs ?? 30_000 };
    this.target = this.sizing.min;
    this.logger = logger;
    if (this.sizing.max > this.sizing.min) {
      this.idleTimer = setInterval(() => this.shrinkIfIdle(), this.sizing.idleMs);
      this.idleTimer.unref();
    }
    this.fill();
  }

  /** The size the pool is filling to now (grows with demand, shrinks when idle). */
  get size(): number {
    return this.target;
  }

  /** A ready connection initialized like `init`, or undefined (the caller then spawns). */
  take(init: ClientInit): UpstreamConnection | undefined {
    this.streak = sameClient(init, this.wanted) ? this.streak + 1 : 1;
    this.wanted = init;
    this.prune();
    const i = this.ready.findIndex((r) => sameClient(r.init, init));
    const conn = i === -1 ? undefined : this.ready.splice(i, 1)[0].conn;
    this.adapt(conn === undefined);
    // Spawning blocks the event loop (fork) and the new process competes for CPU while it loads: refill once the
    // session that just took a process has had time to start, not in the middle of its first requests.
    if (!this.refillTimer && !this.closed) {
      this.refillTimer = setTimeout(() => {
        this.refillTimer = undefined;
        this.fill();
      }, REFILL_DELAY_MS);
      this.refillTimer.unref();
    }
    return conn;
  }

  /**
   * Grows the pool while sessions open faster than processes start: on a miss, or when this session came sooner
   * after the last than a start takes, the size at least doubles, to as many processes as sessions will come while
   * one starts (start time / interval between sessions), up to `max`; the missing processes start at once, several
   * in parallel, instead of one after another.
   */
  private adapt(missed: boolean): void {
    const now = performance.now();
    const interval = this.lastTakeAt === 0 ? Infinity : now - this.lastTakeAt;
    this.lastTakeAt = now;
    this.takesSinceCheck++;
    if (this.target >= this.sizing.max) return;
    if (missed || (this.startMs > 0 && interval < this.startMs)) {
      const demand = this.startMs > 0 && interval < Infinity ? Math.ceil(this.startMs / Math.max(interval, 1)) + 1 : 0;
      this.target = Math.min(this.sizing.max, Math.max(this.target + 1, this.target * 2, demand));
      // Demand outruns the pool: start now rather than after the refill delay.
      clearTimeout(this.refillTimer);
      this.refillTimer = undefined;
      queueMicrotask(() => this.fill());
    }
  }

  /** Halves the extra size after a quiet period, stopping the processes no one came for. */
  private shrinkIfIdle(): void {
    if (this.closed) return;
    const quiet = this.takesSinceCheck === 0;
    this.takesSinceCheck = 0;
    if (!quiet || this.target <= this.sizing.min) return;
    this.target = Math.max(this.sizing.min, Math.floor(this.target / 2));
    this.prune();
    while (this.ready.length > this.target) void this.ready.shift()!.conn.close();
  }

  /**
   * For a session whose `take` found nothing and that answers its client from a snapshot meanwhile: the next
   * process the pool finishes starting for a client like `init`, oldest claim first. The pool starts one per claim
   * (a few at a time, as it grows), so a burst of sessions shares the starts the pool makes anyway instead of each
   * starting its own beside them. Undefined when the process limit leaves no room for one more: the caller then
   * connects as without a snapshot (and meets the limit's error or `makeRoom`).
   */
  claim(init: ClientInit): Claim | undefined {
    if (this.closed || this.launcher.room <= this.waiters.length) return undefined;
    let waiter!: Waiter;
    const started = new Promise<UpstreamConnection>((resolve, reject) => this.waiters.push((waiter = { init, resolve, reject })));
    queueMicrotask(() => this.fill());
    return {
      started,
      cancel: () => {
        // The session closed first: the process started for it joins the pool instead.
        const i = this.waiters.indexOf(waiter);
        if (i !== -1) this.waiters.splice(i, 1)[0].reject(new Error('the session closed'));
      },
    };
  }

  /** The oldest waiter for a client like `init`, removed from the queue. */
  private waiterFor(init: ClientInit): Waiter | undefined {
    const i = this.waiters.findIndex((w) => sameClient(w.init, init));
    return i === -1 ? undefined : this.waiters.splice(i, 1)[0];
  }

  /** The kind of client the next start is for: a waiter's that no start in progress covers, else the latest client's. */
  private nextKind(): ClientInit {
    const covered = [...this.startingFor.values()];
    for (const w of this.waiters) {
      const i = covered.findIndex((c) => sameClient(c, w.init));
      if (i === -1) return w.init;
      covered.splice(i, 1);
    }
    return this.wanted;
  }

  get available(): number {
    this.prune();
    return this.ready.length;
  }

  /**
   * At the process limit: a process being started for a client like `init` is waited for and handed over;
   * otherwise one waiting process (initialized for other clients), oldest first, is stopped to make room.
   */
  async makeRoom(init: ClientInit): Promise<UpstreamConnection | undefined> {
    if (this.filling && sameClient(this.fillingFor!, init)) {
      await Promise.allSettled([...this.starting]);
      const i = this.ready.findIndex((r) => !r.conn.closed && sameClient(r.init, init));
      if (i !== -1) return this.ready.splice(i, 1)[0].conn;
    }
    this.prune();
    const victim = this.ready.shift();
    if (victim) {
      await victim.conn.close();
      await victim.conn.ended;
    }
    return undefined;
  }

  private prune(): void {
    for (let i = this.ready.length - 1; i >= 0; i--) if (this.ready[i].conn.closed) this.ready.splice(i, 1);
  }

  private fill(): void {
    if (this.closed || this.retryTimer) return;
    this.prune();
    const wanted = this.wanted;
    // Below the size (waiting sessions included): start what is missing, a few at a time.
    while (this.ready.length + this.starting.size < this.target + this.waiters.length && this.starting.size < PARALLEL_STARTS) {
      if (this.launcher.full) return; // at the process limit sessions come first: refilled when one next takes
      // A start beyond those already under way for waiting sessions is theirs: it says so (`pooled: false`).
      const forSession = this.sessionStarts < this.waiters.length;
      this.begin(forSession ? this.nextKind() : wanted, undefined, forSession);
    }
    if (this.starting.size > 0 || this.ready.length < this.target || this.target === 0) return;
    // Full, but of processes initialized for other clients: replace the oldest of those, one when the clients
    // just changed, all once the same kind of client came twice in a row (clients that alternate do not make
    // the pool restart every process each time).
    const matching = this.ready.filter((r) => sameClient(r.init, wanted)).length;
    if (matching === this.ready.length || (matching > 0 && this.streak < 2)) return;
    const stale = this.ready.splice(this.ready.findIndex((r) => !sameClient(r.init, wanted)), 1)[0];
    this.begin(wanted, stale);
  }

  /**
   * One start in the background. Tracked in `starting` for the whole start, prefetch included: close() waits on
   * it, and a process that finished starting after close() began is closed here rather than pushed into a closed
   * pool (where it would leak).
   */
  private begin(wanted: ClientInit, stale?: Ready, forSession = false): void {
    this.fillingFor = wanted;
    const startedAt = performance.now();
    if (forSession) this.sessionStarts++;
    const run = (async () => {
      if (stale) await stale.conn.close();
      return this.startOne(wanted, !forSession);
    })().then(
      (conn) => {
        this.starting.delete(run);
        this.startingFor.delete(run);
        if (forSession) this.sessionStarts--;
        if (this.filling === run) this.filling = undefined;
        this.failures = 0;
        const took = performance.now() - startedAt;
        this.startMs = this.startMs === 0 ? took : 0.7 * this.startMs + 0.3 * took;
        if (this.closed) return conn.close();
        const waiter = conn.closed ? undefined : this.waiterFor(wanted);
        if (waiter) waiter.resolve(conn);
        else this.ready.push({ init: wanted, conn });
        this.fill();
      },
      (err: Error) => {
        this.starting.delete(run);
        this.startingFor.delete(run);
        if (forSession) this.sessionStarts--;
        if (this.filling === run) this.filling = undefined;
        // The sessions waiting for such a process fail now, naming why (they retry on their own, with backoff);
        // the snapshot they were answered from is dropped, so the next session connects visibly.
        if (!this.closed) {
          // At the process limit the target is not broken: what it answered before still holds.
          if ((err as { code?: string }).code !== ErrorCodes.MCP_PROCESS_LIMIT) this.snapshots?.drop();
          for (let w = this.waiterFor(wanted); w; w = this.waiterFor(wanted)) w.reject(err);
        }
        if (this.launcher.full || this.closed) return;
        this.failures++;
        const delay = Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7));
        this.logger.warn({ target: this.launcher.target.name, err: err.message, retryInMs: delay }, 'warm pool could not start a target process');
        if (this.retryTimer) return;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.fill();
        }, delay);
        this.retryTimer.unref();
      },
    );
    this.starting.add(run);
    this.startingFor.set(run, wanted);
    this.filling = run;
  }

  /** Starts, initializes and warms one process; `pooled` is false for a start made for a waiting session (its process event says so). */
  private async startOne(init: ClientInit, pooled: boolean): Promise<UpstreamConnection> {
    const conn = await this.launcher.open(init, pooled);
    // A pooled process that dies before use is simply dropped; take() skips closed ones.
    conn.handlers = {
      onNotification() {},
      onRequest: () => Promise.reject(new Error('not attached')),
      onClose: () => this.drop(conn),
    };
    // The first thing a session does is list tools: ask now, so that answer is ready (and the server warm).
    if (conn.init.capabilities.tools && !this.closed) {
      try {
        conn.prefetched.set('tools/list', await conn.request('tools/list', undefined).result);
      } catch {
        // Not fatal: the session asks again itself (and no snapshot is taken of a process that could not list).
        return conn;
      }
    }
    if (!conn.closed) this.snapshots?.record(init, conn.init, conn.prefetched.get('tools/list'));
    return conn;
  }

  private drop(conn: UpstreamConnection): void {
    const i = this.ready.findIndex((r) => r.conn === conn);
    if (i !== -1) this.ready.splice(i, 1);
    this.fill();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.refillTimer);
    clearInterval(this.idleTimer);
    // Sessions still waiting (a reload closed the pool under them) start their own process.
    for (const w of this.waiters.splice(0)) this.launcher.open(w.init, false).then(w.resolve, w.reject);
    // A spawn in progress is closed by its own callback; wait for it so no process outlives the pool.
    await Promise.allSettled([...this.starting]);
    const all = this.ready.splice(0);
    await Promise.allSettled(all.map((r) => r.conn.close()));
  }
}

/**
 * What a fresh process of one target answered a kind of client (`sameClient`) before any session used it: its
 * `initialize` result and its first `tools/list`. A session that finds no pooled process answers its client from
 * this while its own process starts (`StartingConnection`). One per target per loaded config: a reload, or a
 * changed target, starts with none; a failed start drops it, so the next session connects (and fails) visibly.
 */
export class TargetSnapshots {
  private entries: TargetSnapshot[] = [];
  private readonly log?: { logger: Logger; route: string; target: string };

  constructor(log?: { logger: Logger; route: string; target: string }) {
    this.log = log;
  }

  /** The latest snapshot for a client like `init`, if one was taken. */
  find(init: ClientInit): TargetSnapshot | undefined {
    return this.entries.find((e) => sameClient(e.client, init));
  }

  /** Keeps the freshest answer per kind of client. `tools`: the first `tools/list` result, when the target lists tools. */
  record(client: ClientInit, server: ServerInit, tools: unknown): void {
    if (server.capabilities.tools && tools === undefined) return;
    const entry: TargetSnapshot = { client, server, tools };
    const i = this.entries.findIndex((e) => sameClient(e.client, client));
    if (i !== -1) {
      this.entries[i] = entry;
      return;
    }
    this.entries.push(entry);
    this.log?.logger.debug({ route: this.log.route, target: this.log.target, protocolVersion: client.protocolVersion }, 'MCP target snapshot taken: new sessions are answered while their process starts');
  }

  /** Forgets every snapshot: the target failed to start, so what it answered before says nothing now. */
  drop(): void {
    if (this.entries.length === 0) return;
    this.entries = [];
    this.log?.logger.debug({ route: this.log.route, target: this.log.target }, 'MCP target snapshot dropped: a process failed to start');
  }
}

export interface TargetSnapshot {
  client: ClientInit;
  server: ServerInit;
  /** The first `tools/list` result (undefined when the target offers no tools). */
  tools: unknown;
}

/**
 * A session's connection to a target whose process is still starting: it answers what the snapshot holds (the
 * target's `initialize` result, its first `tools/list`, once, as a pooled process's prefetched list) and every
 * other request once the process is up, or with the target's start error if it could not start.
 */
export class StartingConnection implements TargetConnection {
  readonly target: string;
  readonly init: ServerInit;
  handlers?: ConnectionHandlers;
  closed = false;
  readonly prefetched = new Map<string, unknown>();
  readonly ended: Promise<void>;
  readonly pid = undefined;
  /** The started connection; rejects with a TARGET_UNAVAILABLE failure naming why it could not start. */
  readonly started: Promise<TargetConnection>;
  private markEnded!: () => void;
  private readonly notifications: Array<[string, Record<string, unknown> | undefined]> = [];

  private readonly cancel?: () => void;

  /**
   * `starting`: the process being started for this session (the session adopts it before it resolves); `cancel`
   * gives it up when the session closes first.
   */
  constructor(target: string, snapshot: TargetSnapshot, starting: Promise<TargetConnection>, cancel?: () => void) {
    this.target = target;
    this.cancel = cancel;
    this.init = snapshot.server;
    if (snapshot.tools !== undefined) this.prefetched.set('tools/list', snapshot.tools);
    this.ended = new Promise((r) => (this.markEnded = r));
    this.started = starting.then(
      (conn) => {
        // Notifications the client sent meanwhile (roots changed, cancellations of nothing yet) go on, in order.
        for (const [method, params] of this.notifications.splice(0)) conn.notify(method, params);
        return conn;
      },
      (err: Error) => {
        this.closed = true;
        this.markEnded();
        const code = (err as { code?: unknown }).code;
        throw err instanceof RpcFailure ? err : unavailable(target, err.message, typeof code === 'string' ? code : undefined);
      },
    );
    // Nobody may be waiting: a failed start is the session's to report, not an unhandled rejection.
    this.started.catch(() => {});
  }

  request(method: string, params: Record<string, unknown> | undefined, timeoutMs?: number): RequestHandle {
    // No upstream id yet: a call that may be cancelled waits for the process first (Session.ready), lists need none.
    return { upstreamId: 0, result: this.started.then((conn) => conn.request(method, params, timeoutMs).result) };
  }

  notify(method: string, params?: Record<string, unknown>): void {
    if (!this.closed) this.notifications.push([method, params]);
  }

  precheck(): unknown {
    return undefined;
  }

  /** Stops the process once it is up: a session closed while its process starts leaves none behind. */
  async close(keep = false): Promise<void> {
    this.closed = true;
    this.markEnded();
    this.cancel?.();
    await this.started.then((conn) => conn.close(keep), () => {});
  }
}
