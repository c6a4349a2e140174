import type { McpTarget } from '../../../../sdk-types/config.ts';
import type { Logger } from '../../../telemetry/logger.ts';
import { LATEST_PROTOCOL_VERSION } from '../jsonrpc.ts';
import { connectTarget, type ClientInit, type UpstreamConnection } from './connection.ts';
import type { TransportEnv } from './transport.ts';

/**
 * Pooled processes are initialized before any client is known, so they announce every client capability the
 * gateway can forward; a request the real client cannot serve is answered with a JSON-RPC error.
 */
export const POOL_CLIENT_INIT: ClientInit = {
  protocolVersion: LATEST_PROTOCOL_VERSION,
  capabilities: { roots: { listChanged: true }, sampling: {}, elicitation: {} },
  clientInfo: { name: 'portcullis', version: '0.1.0' },
};

const REFILL_DELAY_MS = 250;

/**
 * Started and initialized stdio processes of one target, waiting for sessions. Bounded by `size`; refilled one
 * spawn at a time in the background, with backoff when spawning fails, so a broken command cannot spin.
 */
export class WarmPool {
  private readonly ready: UpstreamConnection[] = [];
  private filling?: Promise<unknown>;
  private closed = false;
  private failures = 0;
  private retryTimer?: NodeJS.Timeout;
  private refillTimer?: NodeJS.Timeout;
  private readonly target: McpTarget;
  private readonly size: number;
  private readonly env: TransportEnv;
  private readonly timeoutMs: number;
  private readonly logger: Logger;

  constructor(target: McpTarget, size: number, env: TransportEnv, timeoutMs: number, logger: Logger) {
    this.target = target;
    this.size = size;
    this.env = env;
    this.timeoutMs = timeoutMs;
    this.logger = logger;
    this.fill();
  }

  /** A ready connection, or undefined when the pool is empty (the caller then spawns). */
  take(): UpstreamConnection | undefined {
    let conn: UpstreamConnection | undefined;
    while ((conn = this.ready.shift()) && conn.closed);
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
    return this.ready.filter((c) => !c.closed).length;
  }

  private fill(): void {
    if (this.filling || this.closed || this.retryTimer) return;
    if (this.ready.length >= this.size) return;
    // `filling` covers the whole start, prefetch included: close() waits on it, and a process that finished
    // starting after close() began is closed here rather than pushed into a closed pool (where it would leak).
    this.filling = this.startOne().then(
      (conn) => {
        this.filling = undefined;
        this.failures = 0;
        if (this.closed) return conn.close();
        this.ready.push(conn);
        this.fill();
      },
      (err: Error) => {
        this.filling = undefined;
        this.failures++;
        const delay = Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7));
        this.logger.warn({ target: this.target.name, err: err.message, retryInMs: delay }, 'warm pool could not start a target process');
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.fill();
        }, delay);
        this.retryTimer.unref();
      },
    );
  }

  /** Starts, initializes and warms one process. */
  private async startOne(): Promise<UpstreamConnection> {
    const conn = await connectTarget(this.target, this.env, POOL_CLIENT_INIT, this.timeoutMs);
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
    const i = this.ready.indexOf(conn);
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
    await Promise.allSettled(all.map((c) => c.close()));
  }
}
