import type { Channel } from 'node:diagnostics_channel';
import {
  activeTraceId,
  REDACTED,
  redactString,
  SECRET_KEY,
  messageChannel,
  policyChannel,
  processChannel,
  rateLimitChannel,
  reloadChannel,
  requestChannel,
  sessionChannel,
  upstreamChannel,
  type MessageEvent,
  type PolicyDecisionEvent,
  type ProcessEvent,
  type RateLimitEvent,
  type ReloadEvent,
  type RequestEvent,
  type SessionEvent,
  type UpstreamAttemptEvent,
} from '../telemetry/index.ts';
import { MetricsWindow } from './metrics.ts';
import { HealthBook } from './health.ts';
import { Ring } from './ring.ts';
import { TrafficRing } from './traffic.ts';

import type { DecisionLine, ErrorLocation, MessageLine, ReloadLine, TrafficLine } from './lines.ts';

export type { DecisionLine, ErrorLocation, MessageLine, ReloadLine, TrafficLine } from './lines.ts';

export type Topic = 'access' | 'reload' | 'decision';
type Listener = (topic: Topic, data: unknown) => void;

/**
 * What a worker's observer passes to the supervisor's (core/cluster) so that the admin server shows the whole
 * gateway: the finished lines, plus the few event fields its health and metric windows count. Reloads are not
 * among them: the supervisor runs the reloads and records each once itself.
 */
export type ObservedItem =
  | { t: 'access'; line: TrafficLine }
  | { t: 'decision'; line: DecisionLine }
  /** A message that ended after its request's line was written. */
  | { t: 'message'; requestId: string; route: string; line: MessageLine }
  | { t: 'upstream'; e: Pick<UpstreamAttemptEvent, 'route' | 'backend' | 'errorCode' | 'error'> }
  | { t: 'process'; e: ProcessEvent }
  | { t: 'session'; e: Pick<SessionEvent, 'event' | 'protocol' | 'route'> }
  | { t: 'rateLimit'; e: Pick<RateLimitEvent, 'kind' | 'outcome'> };

export interface ObserverOptions {
  /** Receives every item this observer records (a worker forwards them to its supervisor). */
  forward?: (item: ObservedItem) => void;
  /**
   * How long a playground waits after its call for the decisions to arrive: longer in the supervisor, which
   * receives them from the workers in batches. @default 20
   */
  settleMs?: number;
}

/** A message's start time rides on its event (no WeakMap entry per message). */
const MESSAGE_STARTED = Symbol('portcullis.admin.messageStarted');
type StartedMessage = MessageEvent & { [MESSAGE_STARTED]?: number };

const TRAFFIC_KEPT = 1000;
const DECISIONS_KEPT = 2000;
const RELOADS_KEPT = 200;
/** Requests started but not ended yet; a bound so that a flood of hung requests cannot grow the map forever. */
const PENDING_MAX = 10_000;

const FILE_LINE = /([\w./@-]+\.(?:ts|mts|cts|js|mjs|cjs|ya?ml|json|rego)):(\d+)(?::(\d+))?/;
const IN_FILE = / in (\/[^\s:]+):/;
const FIELD_PATH = /\n([\w$]+(?:\[\d+\]|\.[\w$]+)*): /;

/** Reads the file, line and config path out of a reload error message. */
export function errorLocation(message: string | undefined): ErrorLocation | undefined {
  if (!message) return undefined;
  const loc: ErrorLocation = {};
  const fl = FILE_LINE.exec(message);
  if (fl) {
    loc.file = fl[1];
    loc.line = Number(fl[2]);
    if (fl[3]) loc.column = Number(fl[3]);
  } else {
    const inFile = IN_FILE.exec(message);
    if (inFile) loc.file = inFile[1];
  }
  const field = FIELD_PATH.exec(message);
  if (field) loc.path = field[1];
  return Object.keys(loc).length ? loc : undefined;
}

let isoSecond = -1;
let isoPrefix = '';
/** `Date#toISOString` costs microseconds, paid on every request: the part up to the second is built once a second. */
export function isoNow(ms = Date.now()): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  return `${isoPrefix}${String(ms % 1000).padStart(3, '0')}Z`;
}

/**
 * The trace id of an event: one a tracing subscriber put on it, else that of the OpenTelemetry span active where
 * the event was published (policy decisions run inside the request's span when tracing is on; with no tracer
 * registered this is a no-op lookup).
 */
function traceIdOf(e: object): string | undefined {
  const v = (e as { traceId?: unknown; trace_id?: unknown }).traceId ?? (e as { trace_id?: unknown }).trace_id;
  if (typeof v === 'string') return v;
  return activeTraceId();
}

/**
 * What the admin server knows about traffic: a subscriber to the telemetry events of one gateway, keeping the
 * recent access lines (with their messages and decisions), reloads, target health and metric windows, and
 * passing each new one to the live streams. Created before the gateway starts, so the warm pool's first
 * processes are seen.
 */
/**
 * A decision's input for display and for the policy playground: parsed, with values under secret-looking keys
 * redacted, and secrets found by value (tokens, URL credentials) redacted wherever they are: the gateway's one
 * redaction's rules (core/telemetry/redact.ts). Request headers are not blanked as a whole map, as logs do: the
 * gateway already leaves credential headers out of the input, and a policy may read the others.
 */
export function decisionInput(json: string): unknown {
  const redact = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(redact);
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) && v !== null && typeof v !== 'object' ? REDACTED : redact(v)]));
    }
    return typeof value === 'string' ? redactString(value) : value;
  };
  try {
    return redact(JSON.parse(json));
  } catch {
    return undefined;
  }
}

/**
 * Sets `d.input` to the decision's input parsed and redacted when first read (the UI, the API, the playground, the
 * batch a worker sends its supervisor), not on the request path: most decisions are never looked at.
 */
function lazyInput(d: DecisionLine, json: string): void {
  let parsed: { value: unknown } | undefined;
  Object.defineProperty(d, 'input', {
    enumerable: true,
    configurable: true,
    get() {
      parsed ??= { value: decisionInput(json) };
      return parsed.value;
    },
    set(value: unknown) {
      parsed = { value };
    },
  });
}

interface PendingExtra {
  messages: MessageLine[];
  decisions: DecisionLine[];
}

export class AdminObserver {
  readonly traffic = new TrafficRing(TRAFFIC_KEPT);
  readonly decisions = new Ring<DecisionLine>(DECISIONS_KEPT);
  readonly reloads = new Ring<ReloadLine>(RELOADS_KEPT);
  readonly metrics = new MetricsWindow();
  readonly health = new HealthBook();
  private readonly gateway: string | undefined;
  /**
   * Requests started and not ended yet, with the messages and decisions recorded for them so far: null until the
   * first one (most plain HTTP requests have none, and pay no objects for them).
   */
  private readonly pending = new Map<string, PendingExtra | null>();
  private readonly listeners = new Set<Listener>();
  private reloadCount = 0;
  private readonly unsubscribers: Array<() => void> = [];
  private readonly forward: ((item: ObservedItem) => void) | undefined;
  private readonly settleMs: number;

  /** `gateway` limits the request events to those of one gateway (several may share a process in tests). */
  constructor(gateway?: string, options: ObserverOptions = {}) {
    this.gateway = gateway;
    this.forward = options.forward;
    this.settleMs = options.settleMs ?? 20;
    const request = {
      start: (m: unknown) => this.onRequestStart(m as RequestEvent),
      end: (m: unknown) => this.onRequestEnd(m as RequestEvent),
    };
    requestChannel.subscribe(request as never);
    this.unsubscribers.push(() => requestChannel.unsubscribe(request as never));
    const message = {
      start: (m: unknown) => void ((m as StartedMessage)[MESSAGE_STARTED] = performance.now()),
      asyncEnd: (m: unknown) => this.onMessageEnd(m as MessageEvent),
    };
    messageChannel.subscribe(message as never);
    this.unsubscribers.push(() => messageChannel.unsubscribe(message as never));
    const upstream = {
      asyncEnd: (m: unknown) => this.onUpstream(m as UpstreamAttemptEvent),
      error: (m: unknown) => this.onUpstream(m as UpstreamAttemptEvent),
    };
    upstreamChannel.subscribe(upstream as never);
    this.unsubscribers.push(() => upstreamChannel.unsubscribe(upstream as never));
    this.on(policyChannel, (e: PolicyDecisionEvent) => this.onDecision(e));
    this.on(reloadChannel, (e: ReloadEvent) => this.onReload(e));
    this.on(sessionChannel, (e: SessionEvent) => {
      this.metrics.session(e);
      this.forward?.({ t: 'session', e: { event: e.event, protocol: e.protocol, route: e.route } });
    });
    this.on(processChannel, (e: ProcessEvent) => {
      this.health.process(e);
      this.forward?.({ t: 'process', e: { event: e.event, route: e.route, target: e.target, pooled: e.pooled, code: e.code, signal: e.signal } });
    });
    this.on(rateLimitChannel, (e: RateLimitEvent) => {
      this.metrics.rateLimit(e);
      // Only what the metric window counts crosses to the supervisor.
      if (this.forward && e.kind === 'decision' && e.outcome === 'limited') this.forward({ t: 'rateLimit', e: { kind: e.kind, outcome: e.outcome } });
    });
  }

  /** Waits long enough for the decisions of a request just answered to be recorded (the playgrounds). */
  settle(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.settleMs));
  }

  /**
   * Records what a worker's observer saw (core/cluster): the supervisor's admin server then shows the traffic,
   * decisions, health and metric windows of every worker. Items come in the order the worker recorded them.
   */
  ingest(items: readonly ObservedItem[]): void {
    for (const item of items) {
      switch (item.t) {
        case 'access':
          for (const m of item.line.messages) {
            this.metrics.message(m);
            if (item.line.route !== undefined) this.health.message(item.line.route, m);
          }
          this.traffic.pushLine(item.line);
          this.counted(item.line);
          this.emit('access', item.line);
          break;
        case 'decision': {
          // A decision taken after its request's line came attaches to it; earlier ones are in the line already.
          this.traffic.line(item.line.requestId)?.decisions.push(item.line);
          this.addDecision(item.line);
          break;
        }
        case 'message':
          this.traffic.line(item.requestId)?.messages.push(item.line);
          this.metrics.message(item.line);
          this.health.message(item.route, item.line);
          break;
        case 'upstream':
          this.health.upstream(item.e);
          break;
        case 'process':
          this.health.process(item.e);
          break;
        case 'session':
          this.metrics.session(item.e);
          break;
        case 'rateLimit':
          this.metrics.rateLimit(item.e);
          break;
      }
    }
  }

  private onUpstream(e: UpstreamAttemptEvent): void {
    this.health.upstream(e);
    if (this.forward) {
      const error = e.error === undefined ? undefined : { message: String((e.error as Error)?.message ?? e.error) };
      this.forward({ t: 'upstream', e: { route: e.route, backend: e.backend, errorCode: e.errorCode, error } });
    }
  }

  private on<T>(ch: Channel<T, T>, fn: (m: T) => void): void {
    const listener = (m: unknown) => fn(m as T);
    ch.subscribe(listener);
    this.unsubscribers.push(() => ch.unsubscribe(listener));
  }

  /** Calls `fn` with every new line of the topics; returns the unsubscribe function. */
  listen(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  line(id: string): TrafficLine | undefined {
    return this.traffic.line(id);
  }

  /** Decisions taken for a request so far (also while it is still running: the playground asks right after). */
  decisionsOf(requestId: string): DecisionLine[] {
    return this.traffic.line(requestId)?.decisions ?? this.pending.get(requestId)?.decisions ?? [];
  }

  messagesOf(requestId: string): MessageLine[] {
    return this.traffic.line(requestId)?.messages ?? this.pending.get(requestId)?.messages ?? [];
  }

  close(): void {
    for (const u of this.unsubscribers.splice(0)) u();
    this.listeners.clear();
  }

  private emit(topic: Topic, data: unknown): void {
    // Nobody watches the live view most of the time: no iterator per request then.
    if (this.listeners.size === 0) return;
    for (const fn of this.listeners) {
      try {
        fn(topic, data);
      } catch {
        // a broken stream must not break the others
      }
    }
  }

  /** A request of the observed gateway (of any gateway's node servers when none was named). */
  private mine(e: RequestEvent): boolean {
    return this.gateway === undefined ? e.gateway !== undefined : e.gateway === this.gateway;
  }

  private onRequestStart(e: RequestEvent): void {
    if (!this.mine(e)) return;
    if (this.pending.size >= PENDING_MAX) return;
    this.pending.set(e.id, null);
  }

  private onRequestEnd(e: RequestEvent): void {
    if (!this.mine(e)) return;
    const extra = this.pending.get(e.id);
    if (extra !== undefined) this.pending.delete(e.id);
    const status = e.status ?? 0;
    const durationMs = Math.round((e.durationMs ?? 0) * 100) / 100;
    this.metrics.request(status, durationMs, e.route);
    this.health.request(e.route, e.backend, status, e.errorCode);
    if (extra == null) {
      // Most requests (plain HTTP) carry no message and no decision: columns, no object (traffic.ts).
      const slot = this.traffic.pushEvent(e, Date.now(), status, durationMs, traceIdOf(e));
      // The live view serializes the line at once: a new object, not kept (a kept one would outlive the young
      // generation, what the columns avoid).
      if (this.listeners.size > 0) this.emit('access', this.traffic.build(slot));
      this.forward?.({ t: 'access', line: this.traffic.build(slot) });
      return;
    }
    const decisions = extra.decisions;
    // The end may be published outside the request's span (the socket closed): its decisions carry it then.
    const traceId = traceIdOf(e) ?? (decisions.length > 0 ? decisions.find((d) => d.traceId)?.traceId : undefined);
    const line: TrafficLine = {
      id: e.id,
      time: isoNow(),
      method: e.method,
      path: e.path,
      host: e.host,
      listener: e.listener,
      route: e.route,
      backend: e.backend,
      status,
      durationMs,
      bytesIn: e.bytesIn ?? 0,
      bytesOut: e.bytesOut ?? 0,
      client: e.clientAddress,
      errorCode: e.errorCode,
      identity: e.subject,
      traceId,
      messages: extra.messages,
      decisions,
    };
    if (traceId) for (const d of line.decisions) d.traceId ??= traceId;
    this.traffic.pushLine(line);
    this.emit('access', line);
    // The line as it is now: a message or decision that comes later travels as its own item, and must not also
    // reach the batch (sent a few ms later) through these arrays.
    this.forward?.({ t: 'access', line: { ...line, messages: line.messages.slice(), decisions: line.decisions.slice() } });
  }

  /** What the metric and health windows count of a line (a worker's, in the supervisor). */
  private counted(line: TrafficLine): void {
    this.metrics.request(line.status, line.durationMs, line.route);
    this.health.request(line.route, line.backend, line.status, line.errorCode);
  }

  private onMessageEnd(e: MessageEvent): void {
    const started = (e as StartedMessage)[MESSAGE_STARTED];
    const line: MessageLine = { protocol: e.protocol, method: e.method, outcome: e.outcome };
    if (started !== undefined) line.durationMs = Math.round((performance.now() - started) * 100) / 100;
    for (const k of ['target', 'tool', 'prompt', 'resourceUri', 'skill', 'taskId', 'rpcErrorCode', 'errorMessage'] as const) {
      if (e[k] !== undefined) (line as unknown as Record<string, unknown>)[k] = e[k];
    }
    const pending = this.extraOf(e.requestId);
    const owner = pending ?? this.traffic.line(e.requestId);
    if (!owner) return;
    owner.messages.push(line);
    this.metrics.message(line);
    this.health.message(e.route, line);
    // A message in a pending request travels with its line.
    if (!pending) this.forward?.({ t: 'message', requestId: e.requestId, route: e.route, line });
  }

  private onDecision(e: PolicyDecisionEvent): void {
    const owner = this.extraOf(e.requestId) ?? this.traffic.line(e.requestId);
    if (!owner) return;
    const d: DecisionLine = {
      time: isoNow(),
      requestId: e.requestId,
      route: e.route,
      policy: e.policy,
      level: e.level,
      outcome: e.outcome,
      ...(e.reason !== undefined ? { reason: e.reason } : {}),
      ...(e.method !== undefined ? { method: e.method } : {}),
      ...(e.errorCode !== undefined ? { errorCode: e.errorCode } : {}),
    };
    if (e.input !== undefined) lazyInput(d, e.input);
    const traceId = traceIdOf(e);
    if (traceId) d.traceId = traceId;
    owner.decisions.push(d);
    this.addDecision(d);
    this.forward?.({ t: 'decision', line: d });
  }

  /** The messages and decisions of a request still running (made on the first), or undefined when it is not. */
  private extraOf(requestId: string): PendingExtra | undefined {
    const extra = this.pending.get(requestId);
    if (extra !== null) return extra;
    const made: PendingExtra = { messages: [], decisions: [] };
    this.pending.set(requestId, made);
    return made;
  }

  private addDecision(d: DecisionLine): void {
    this.decisions.push(d);
    this.metrics.decision(d);
    this.emit('decision', d);
  }

  private onReload(e: ReloadEvent): void {
    const line: ReloadLine = {
      id: ++this.reloadCount,
      time: isoNow(),
      ok: e.ok,
      durationMs: Math.round(e.durationMs * 100) / 100,
      ...(e.errorCode !== undefined ? { errorCode: e.errorCode } : {}),
      ...(e.message !== undefined ? { message: redactString(e.message) } : {}),
      ...(e.files !== undefined ? { files: e.files } : {}),
    };
    const location = e.ok ? undefined : errorLocation(e.message);
    if (location) line.location = location;
    this.reloads.push(line);
    this.metrics.reload(line);
    this.emit('reload', line);
  }
}
