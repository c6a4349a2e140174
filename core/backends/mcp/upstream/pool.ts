import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../../../telemetry/logger.ts';
import { LATEST_PROTOCOL_VERSION } from '../versions.ts';
import type { ClientInit, UpstreamConnection } from './connection.ts';
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
  private filling?: Promise<unknown>;
  private fillingFor?: ClientInit;
  private closed = false;
  private failures = 0;
  private retryTimer?: NodeJS.Timeout;
  private refillTimer?: NodeJS.Timeout;
  private wanted: ClientInit = POOL_CLIENT_INIT;
  /** Sessions in a row whose clients declared what `wanted` holds. */
  private streak = 0;
  private readonly launcher: TargetLauncher;
  private readonly size: number;
  private readonly logger: Logger;

  constructor(launcher: TargetLauncher, size: number, logger: Logger) {
    this.launcher = launcher;
    this.size = size;
    this.logger = logger;
    this.fill();
  }

  /** A ready connection initialized like `init`, or undefined (the caller then spawns). */
  take(init: ClientInit): UpstreamConnection | undefined {
    this.streak = sameClient(init, this.wanted) ? this.streak + 1 : 1;
    this.wanted = init;
    this.prune();
    const i = this.ready.findIndex((r) => sameClient(r.init, init));
    const conn = i === -1 ? undefined : this.ready.splice(i, 1)[0].conn;
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
      await this.filling.catch(() => {});
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
    if (this.filling || this.closed || this.retryTimer) return;
    this.prune();
    const wanted = this.wanted;
    let stale: Ready | undefined;
    if (this.ready.length >= this.size) {
      // Full, but of processes initialized for other clients: replace the oldest of those, one when the clients
      // just changed, all once the same kind of client came twice in a row (clients that alternate do not make
      // the pool restart every process each time).
      const matching = this.ready.filter((r) => sameClient(r.init, wanted)).length;
      if (matching === this.ready.length || (matching > 0 && this.streak < 2)) return;
      stale = this.ready.splice(this.ready.findIndex((r) => !sameClient(r.init, wanted)), 1)[0];
    } else if (this.launcher.full) {
      // At the process limit sessions come first: the pool refills when a session next takes from it.
      return;
    }
    // `filling` covers the whole start, prefetch included: close() waits on it, and a process that finished
    // starting after close() began is closed here rather than pushed into a closed pool (where it would leak).
    this.fillingFor = wanted;
    this.filling = (async () => {
      if (stale) await stale.conn.close();
      return this.startOne(wanted);
    })().then(
      (conn) => {
        this.filling = undefined;
        this.failures = 0;
        if (this.closed) return conn.close();
        this.ready.push({ init: wanted, conn });
        this.fill();
      },
      (err: Error) => {
        this.filling = undefined;
        if (this.launcher.full) return;
        this.failures++;
        const delay = Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7));
        this.logger.warn({ target: this.launcher.target.name, err: err.message, retryInMs: delay }, 'warm pool could not start a target process');
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.fill();
        }, delay);
        this.retryTimer.unref();
      },
    );
  }

  /** Starts, initializes and warms one process. */
  private async startOne(init: ClientInit): Promise<UpstreamConnection> {
    const conn = await this.launcher.open(init, true);
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
        // Not fatal: the session asks again itself.
      }
    }
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
    // A spawn in progress is closed by its own callback; wait for it so no process outlives the pool.
    await this.filling?.catch(() => {});
    const all = this.ready.splice(0);
    await Promise.allSettled(all.map((r) => r.conn.close()));
  }
}
