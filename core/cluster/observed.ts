import type { ObservedItem } from '../admin/index.ts';
import type { WorkerMessage } from './protocol.ts';

/** Items one batch carries at most; past it, items wait for the next batch, up to `MAX_PENDING`. */
const MAX_BATCH = 500;
/** Items waiting to be sent at most: past it, new ones are dropped (and counted). */
const MAX_PENDING = 5_000;
/** Batches written to the channel and not yet taken by the supervisor: past it, the worker stops sending. */
const MAX_IN_FLIGHT = 4;
/** How long an item waits for others to share its batch. */
const FLUSH_MS = 10;

/** Sends a message to the supervisor; `done` is called exactly once, when it is written or could not be. */
export type SendWithAck = (m: WorkerMessage, done: (err: Error | null) => void) => void;

/**
 * A worker's side of the admin server for the whole gateway: the items its admin observer records go to the
 * supervisor over the cluster channel, in batches (one message per ~10 ms at most), so that the supervisor's admin
 * server shows every worker's traffic. The channel is never waited on: while the supervisor does not take what was
 * sent, items queue up to a bound, then new ones are dropped and the count travels with the next batch.
 */
export class ObservedForwarder {
  private pending: ObservedItem[] = [];
  private dropped = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly send: SendWithAck;

  constructor(send: SendWithAck) {
    this.send = send;
  }

  readonly push = (item: ObservedItem): void => {
    if (this.closed) return;
    if (this.pending.length >= MAX_PENDING) {
      this.dropped++;
      return;
    }
    this.pending.push(item);
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS).unref();
  };

  /** Sends what is waiting, unless the supervisor has not taken the previous batches yet. */
  flush(): void {
    this.timer = undefined;
    while (this.pending.length > 0 && this.inFlight < MAX_IN_FLIGHT && !this.closed) {
      const items = this.pending.length <= MAX_BATCH ? this.pending : this.pending.slice(0, MAX_BATCH);
      this.pending = items === this.pending ? [] : this.pending.slice(MAX_BATCH);
      const dropped = this.dropped;
      this.dropped = 0;
      this.inFlight++;
      // node calls `done` once the message is written to the channel (or could not be): a supervisor that does
      // not read keeps batches in flight, and the worker stops sending until it does.
      this.send({ pcl: 'observed', items, dropped }, (err) => {
        this.inFlight--;
        if (err) this.dropped += dropped + items.length;
        if (this.pending.length > 0 && !this.closed) this.timer ??= setTimeout(() => this.flush(), FLUSH_MS).unref();
      });
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = [];
  }
}

/**
 * The supervisor's side, per worker: the stdio processes and sessions a worker reported open. A worker that dies
 * never reports their end; `closeAll` gives the items that end them in the supervisor's observer, so that its
 * health and session counts do not keep a dead worker's (its processes read as exited abnormally).
 */
export class WorkerLedger {
  private readonly open = new Map<string, { item: ObservedItem; count: number }>();

  record(items: readonly ObservedItem[]): void {
    for (const item of items) {
      if (item.t === 'process') {
        const { route, target, pooled } = item.e;
        this.count(`p\0${route}\0${target}\0${pooled ? 1 : 0}`, item.e.event === 'start' ? 1 : -1, { t: 'process', e: { event: 'exit', route, target, pooled, code: null, signal: 'SIGKILL' } });
      } else if (item.t === 'session') {
        const { protocol, route } = item.e;
        this.count(`s\0${protocol}\0${route}`, item.e.event === 'open' ? 1 : -1, { t: 'session', e: { event: 'close', protocol, route } });
      }
    }
  }

  closeAll(): ObservedItem[] {
    const out: ObservedItem[] = [];
    for (const { item, count } of this.open.values()) for (let i = 0; i < count; i++) out.push(item);
    this.open.clear();
    return out;
  }

  private count(key: string, delta: number, closing: ObservedItem): void {
    const entry = this.open.get(key);
    const count = (entry?.count ?? 0) + delta;
    if (count <= 0) this.open.delete(key);
    else this.open.set(key, { item: closing, count });
  }
}
