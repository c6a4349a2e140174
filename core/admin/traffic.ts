import type { RequestEvent } from '../telemetry/index.ts';
import type { TrafficLine } from './lines.ts';

/**
 * The newest `capacity` traffic lines, kept as columns: a plain request (no message, no decision: most HTTP
 * traffic) costs a few array stores, no object. Each of its numbers goes to a typed array, its strings stay where
 * they are (the route, backend and method names are the config's and the parser's own strings, shared by every
 * request). Its `TrafficLine` is built when the admin API reads it, then kept in its slot, so that every reader
 * sees the same object and a message or decision that ends after the request reaches it; the live view and a
 * worker's forwarding serialize a line at once, and get one that is not kept (`build`). A request
 * with messages or decisions, and a line a worker forwarded (core/cluster), is kept as its object from the start.
 *
 * Why: a line kept as an object outlives the young generation, and the GC copies every one of them, each with
 * its two arrays, into the old one: that was the largest share of the admin server's cost per request.
 */
export class TrafficRing {
  readonly capacity: number;
  /** Lines stored so far, up to `capacity`. */
  private count = 0;
  /** The slot the next line goes to (the oldest once the ring is full). */
  private next = 0;
  private readonly ids: string[];
  /** A number per id (`fingerprint`): the search by id compares these, and the strings only where they match. */
  private readonly prints: Int32Array;
  /** The line's object, once it has one (read, or recorded as one); else its columns hold it. */
  private readonly objects: Array<TrafficLine | undefined>;
  private readonly times: Float64Array;
  private readonly statuses: Float64Array;
  private readonly durations: Float64Array;
  private readonly bytesIn: Float64Array;
  private readonly bytesOut: Float64Array;
  private readonly methods: string[];
  private readonly paths: string[];
  private readonly hosts: string[];
  private readonly clients: string[];
  private readonly listeners: Array<string | undefined>;
  private readonly routes: Array<string | undefined>;
  private readonly backends: Array<string | undefined>;
  private readonly errorCodes: Array<string | undefined>;
  private readonly identities: Array<string | undefined>;
  private readonly traceIds: Array<string | undefined>;

  constructor(capacity: number) {
    this.capacity = capacity;
    // Filled up front: packed arrays of a fixed length, never grown.
    const strings = () => new Array<string>(capacity).fill('');
    const optional = () => new Array<string | undefined>(capacity).fill(undefined);
    this.ids = strings();
    this.prints = new Int32Array(capacity);
    this.objects = new Array<TrafficLine | undefined>(capacity).fill(undefined);
    this.times = new Float64Array(capacity);
    this.statuses = new Float64Array(capacity);
    this.durations = new Float64Array(capacity);
    this.bytesIn = new Float64Array(capacity);
    this.bytesOut = new Float64Array(capacity);
    this.methods = strings();
    this.paths = strings();
    this.hosts = strings();
    this.clients = strings();
    this.listeners = optional();
    this.routes = optional();
    this.backends = optional();
    this.errorCodes = optional();
    this.identities = optional();
    this.traceIds = optional();
  }

  get size(): number {
    return this.count;
  }

  /** Takes the next slot (dropping the oldest line when full) and returns it. */
  private take(id: string): number {
    const slot = this.next;
    this.next = slot + 1 === this.capacity ? 0 : slot + 1;
    if (this.count < this.capacity) this.count++;
    this.ids[slot] = id;
    this.prints[slot] = fingerprint(id);
    this.objects[slot] = undefined;
    return slot;
  }

  /**
   * Records the line of an ended request as columns; `status` and `durationMs` as the line shows them. Returns
   * its slot (for `build`).
   */
  pushEvent(e: RequestEvent, timeMs: number, status: number, durationMs: number, traceId: string | undefined): number {
    const slot = this.take(e.id);
    this.times[slot] = timeMs;
    this.methods[slot] = e.method;
    this.paths[slot] = e.path;
    this.hosts[slot] = e.host;
    this.listeners[slot] = e.listener;
    this.routes[slot] = e.route;
    this.backends[slot] = e.backend;
    this.statuses[slot] = status;
    this.durations[slot] = durationMs;
    this.bytesIn[slot] = e.bytesIn ?? 0;
    this.bytesOut[slot] = e.bytesOut ?? 0;
    this.clients[slot] = e.clientAddress;
    this.errorCodes[slot] = e.errorCode;
    this.identities[slot] = e.subject;
    this.traceIds[slot] = traceId;
    return slot;
  }

  /** Records a line that is an object already (it has messages or decisions, or a worker forwarded it). */
  pushLine(line: TrafficLine): void {
    this.objects[this.take(line.id)] = line;
  }

  /**
   * A new `TrafficLine` of the slot, with `messages` and `decisions` of its own (empty for a columns line), not
   * kept: what a worker forwards.
   */
  build(slot: number): TrafficLine {
    const kept = this.objects[slot];
    if (kept) return { ...kept, messages: kept.messages.slice(), decisions: kept.decisions.slice() };
    return {
      id: this.ids[slot],
      time: new Date(this.times[slot]).toISOString(),
      method: this.methods[slot],
      path: this.paths[slot],
      host: this.hosts[slot],
      listener: this.listeners[slot],
      route: this.routes[slot],
      backend: this.backends[slot],
      status: this.statuses[slot],
      durationMs: this.durations[slot],
      bytesIn: this.bytesIn[slot],
      bytesOut: this.bytesOut[slot],
      client: this.clients[slot],
      errorCode: this.errorCodes[slot],
      identity: this.identities[slot],
      traceId: this.traceIds[slot],
      messages: [],
      decisions: [],
    };
  }

  /** The slot's line, built and kept on first read. */
  lineAt(slot: number): TrafficLine {
    let line = this.objects[slot];
    if (!line) this.objects[slot] = line = this.build(slot);
    return line;
  }

  /** The line of a request among the kept ones (newest first: the one asked for is usually recent). */
  line(id: string): TrafficLine | undefined {
    // No map from id to slot: it cost a Map insert and delete per request, to serve the few lookups (a message or
    // decision that ends after its request, the admin API). Comparing 1,000 strings costs ~10 µs (ids are not
    // internalized); comparing their fingerprints, a microsecond.
    const print = fingerprint(id);
    const prints = this.prints;
    // Newest first: from the slot before `next` down to 0, then (once the ring is full) from the end down to `next`.
    for (let slot = this.next - 1; slot >= 0; slot--) if (prints[slot] === print && this.ids[slot] === id) return this.lineAt(slot);
    const last = this.count === this.capacity ? this.next : this.capacity;
    for (let slot = this.capacity - 1; slot >= last; slot--) if (prints[slot] === print && this.ids[slot] === id) return this.lineAt(slot);
    return undefined;
  }

  /** Oldest first. */
  all(): TrafficLine[] {
    const out = new Array<TrafficLine>(this.count);
    const first = this.count < this.capacity ? 0 : this.next;
    for (let i = 0; i < this.count; i++) out[i] = this.lineAt((first + i) % this.capacity);
    return out;
  }
}

/**
 * A number of a request id, from its length and last three characters: ids are UUIDs (random at the end) or a
 * client's `x-request-id`s (often counters: different at the end), so that two ids rarely share one.
 */
function fingerprint(id: string): number {
  const n = id.length;
  return (n & 0xff) | ((id.charCodeAt(n - 1) & 0xff) << 8) | ((id.charCodeAt(n - 2) & 0xff) << 16) | ((id.charCodeAt(n - 3) & 0xff) << 24);
}
