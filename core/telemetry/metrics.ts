import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  messageChannel,
  policyChannel,
  processChannel,
  rateLimitChannel,
  connectionChannel,
  type ConnectionEvent,
  reloadChannel,
  requestChannel,
  sandboxChannel,
  sessionChannel,
  upstreamChannel,
  type MessageEvent,
  type PolicyDecisionEvent,
  type ProcessEvent,
  type RateLimitEvent,
  type ReloadEvent,
  type RequestEvent,
  type SandboxEvent,
  type SessionEvent,
  type UpstreamAttemptEvent,
} from './events.ts';
import { CellCounter, CellHistogram, type CounterCell, type HistogramCell } from './cells.ts';
import type { Logger } from './logger.ts';
import { HTTP_METHODS, LabelFold, statusClass } from './labels.ts';
import { protocolTelemetries, protocolTelemetry, type MessageLabelValues, type ProtocolMetrics } from './protocols.ts';
import type { PhaseName, TelemetryConfigView } from './view.ts';

/**
 * Prometheus metrics: a subscriber to every telemetry channel that counts into its own prom-client registry.
 * Labels take values from the config (bind, listener, route, backend, target, policy names) or the upstream
 * catalog (tools, prompts); each label goes through a `LabelFold`, so no client input can add series without
 * bound. Served by the stats server (`stats.ts`).
 */

const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Requests whose events this subscriber follows at most at once (a bound on memory if ends never come). */
const MAX_TRACKED = 100_000;
const DENIED = Symbol('portcullis.metrics.denied');
const ATTEMPT_STARTED = Symbol('portcullis.metrics.attemptStarted');
const MESSAGE_STARTED = Symbol('portcullis.metrics.messageStarted');

export interface MetricsOptions {
  /** Only the requests of this gateway are counted (`RequestEvent.gateway`). */
  gateway?: string;
  version: string;
  /** Ports the gateway's binds listen on, for the open-connections gauge. */
  ports?: () => readonly number[];
  /** Says when a message protocol registered after the start could not get its own series. */
  logger?: Logger;
}

export interface GatewayMetrics {
  readonly registry: Registry;
  /** Refreshes what the labels are drawn from (route backend kinds, policy phases) after a reload. */
  configure(config: TelemetryConfigView, phases: ReadonlyMap<string, PhaseName>): void;
  /** Counts spans an exporter dropped (queue full, export failed) or exported. */
  spans(exporter: string, outcome: 'exported' | 'queue_full' | 'export_failed', count: number): void;
  close(): void;
}

/**
 * The metrics of the gateway as a whole rather than of one process: with `workers: n` the supervisor keeps them
 * (it runs the reloads) and the workers' own copies are left out of the sum (see core/cluster/metrics.ts).
 */
export const GATEWAY_WIDE_METRICS: ReadonlySet<string> = new Set(['portcullis_reloads_total', 'portcullis_config_generation', 'portcullis_build_info']);

/** Registers the gateway-wide metrics in `registry`; returns the reload subscriber that counts into them. */
export function gatewayMetrics(registry: Registry, version: string): (m: unknown) => void {
  const registers = [registry];
  const reloads = new Counter({ name: 'portcullis_reloads_total', help: 'Config reloads, by outcome.', labelNames: ['outcome'] as const, registers });
  const generation = new Gauge({ name: 'portcullis_config_generation', help: 'Configs served since start: 1, plus one per successful reload.', registers });
  const buildInfo = new Gauge({ name: 'portcullis_build_info', help: 'Build of this gateway (always 1).', labelNames: ['version', 'nodejs_version'] as const, registers });
  for (const outcome of ['ok', 'failed']) reloads.inc({ outcome }, 0);
  generation.set(1);
  buildInfo.set({ version, nodejs_version: process.version }, 1);
  return (m: unknown) => {
    const e = m as ReloadEvent;
    reloads.inc({ outcome: e.ok ? 'ok' : 'failed' });
    if (e.ok) generation.inc();
  };
}

export function createMetrics(options: MetricsOptions): GatewayMetrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  // prom-client names three gauges with a counter's `_total` suffix (promtool flags them); their per-type
  // siblings (`nodejs_active_handles` …) carry the same counts.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);

  const fold = {
    bind: new LabelFold(64),
    listener: new LabelFold(256),
    route: new LabelFold(1024),
    backend: new LabelFold(1024),
    kind: new LabelFold(32),
    method: new LabelFold(0, HTTP_METHODS),
    messageMethod: new LabelFold(256),
    protocol: new LabelFold(32),
    target: new LabelFold(1024),
    tool: new LabelFold(2000),
    policy: new LabelFold(256),
    reason: new LabelFold(64),
    errorKind: new LabelFold(64),
    filter: new LabelFold(256),
    limit: new LabelFold(256),
    origin: new LabelFold(1024),
  };

  const http = ['bind', 'listener', 'route', 'backend_kind', 'method', 'status_class'] as const;
  // The per-request series are cells (cells.ts): looked up by a key of folded values, added to as plain numbers.
  const requests = new CellCounter({ name: 'portcullis_requests_total', help: 'HTTP requests served, by where they went and how they ended.', labelNames: http, registers });
  const requestDuration = new CellHistogram({ name: 'portcullis_request_duration_seconds', help: 'Time from the request head to the end of the response.', labelNames: http, buckets: DURATION_BUCKETS, registers });
  const requestBytes = new CellCounter({ name: 'portcullis_request_bytes_total', help: 'Request body bytes read.', labelNames: ['listener', 'route'] as const, registers });
  const responseBytes = new CellCounter({ name: 'portcullis_response_bytes_total', help: 'Response bytes written.', labelNames: ['listener', 'route'] as const, registers });
  let inflightNow = 0;
  new Gauge({
    name: 'portcullis_requests_in_flight',
    help: 'Requests being served.',
    registers,
    collect() {
      this.set(inflightNow);
    },
  });
  const connections = new Gauge({ name: 'portcullis_open_connections', help: 'Client connections open on the gateway binds.', registers });

  const attempts = new CellCounter({ name: 'portcullis_upstream_attempts_total', help: 'Attempts to call an HTTP backend (retries included).', labelNames: ['route', 'backend', 'status_class', 'error_kind'] as const, registers });
  const attemptDuration = new CellHistogram({ name: 'portcullis_upstream_response_seconds', help: 'Time from an attempt to its response headers (or failure).', labelNames: ['route', 'backend'] as const, buckets: DURATION_BUCKETS, registers });
  const retries = new Counter({ name: 'portcullis_upstream_retries_total', help: 'Attempts after the first.', labelNames: ['route', 'backend'] as const, registers });
  const connectTime = new Histogram({ name: 'portcullis_upstream_connect_seconds', help: 'Time to open a connection to an upstream (TCP and TLS).', labelNames: ['backend', 'outcome'] as const, buckets: DURATION_BUCKETS, registers });

  // Per message, like the per-request series: cells looked up by a key of folded values, not prom-client's
  // validate-and-hash on every inc/observe. Each protocol with a descriptor (protocols.ts) has its own series,
  // created here for the ones registered now and on its first message for one registered later; a protocol
  // without series of its own is counted in `portcullis_messages_total`.
  interface MessageSeries {
    spec: ProtocolMetrics;
    methods: LabelFold;
    counter: CellCounter<string>;
    histogram?: CellHistogram<string>;
  }
  // null: the protocol's series could not be made (a name already in the registry); it is counted generically.
  const messageSeries = new Map<string, MessageSeries | null>();
  const makeSeries = (spec: ProtocolMetrics): MessageSeries => {
    const { counter, histogram, labelNames } = spec;
    return {
      spec,
      methods: new LabelFold(0, spec.methods),
      counter: new CellCounter({ name: counter.name, help: counter.help, labelNames, registers }),
      histogram: histogram && new CellHistogram({ name: histogram.name, help: histogram.help, labelNames, buckets: DURATION_BUCKETS, registers }),
    };
  };
  // The protocols registered now: a clash of names fails the gateway's start, with prom-client's message.
  for (const d of protocolTelemetries()) if (d.metrics) messageSeries.set(d.name, makeSeries(d.metrics));
  const seriesOf = (protocol: string): MessageSeries | undefined => {
    const known = messageSeries.get(protocol);
    if (known !== undefined) return known ?? undefined;
    const spec = protocolTelemetry(protocol)?.metrics;
    if (!spec) return undefined;
    // A protocol registered after the start: made on its first message, where a throw would reach the publisher.
    let series: MessageSeries | null = null;
    try {
      series = makeSeries(spec);
    } catch (err) {
      options.logger?.warn({ protocol, err: (err as Error).message }, 'message protocol series not created; its messages are counted in portcullis_messages_total');
    }
    messageSeries.set(protocol, series);
    return series ?? undefined;
  };
  let genericMessages: CellCounter<'protocol' | 'route' | 'method' | 'outcome'> | undefined;
  const sessionsOpen = new Gauge({ name: 'portcullis_sessions_open', help: 'Protocol sessions open.', labelNames: ['protocol', 'route'] as const, registers });
  const sessions = new Counter({ name: 'portcullis_sessions_total', help: 'Protocol sessions opened.', labelNames: ['protocol', 'route'] as const, registers });
  const processesRunning = new Gauge({ name: 'portcullis_mcp_processes_running', help: 'stdio MCP server processes running.', labelNames: ['route', 'target'] as const, registers });
  const processesStarted = new Counter({ name: 'portcullis_mcp_processes_started_total', help: 'stdio MCP server processes started; pooled="true" for the warm pool, "false" when a session had to start one (a pool miss).', labelNames: ['route', 'target', 'pooled'] as const, registers });
  const processesExited = new Counter({ name: 'portcullis_mcp_processes_exited_total', help: 'stdio MCP server processes that exited; crashed="true" when the exit code or signal says so.', labelNames: ['route', 'target', 'crashed'] as const, registers });

  const decisions = new Counter({ name: 'portcullis_policy_decisions_total', help: 'Decisions of deciding policies (authentication, rate limit, filters, authorization).', labelNames: ['route', 'policy', 'phase', 'level', 'outcome'] as const, registers });
  const authFailures = new Counter({ name: 'portcullis_authentication_failures_total', help: 'Requests refused by an authentication policy, by error code.', labelNames: ['route', 'policy', 'reason'] as const, registers });
  const sandbox = new Counter({ name: 'portcullis_filter_sandbox_events_total', help: 'Filter failures (timeouts included, see error_code), isolate replacements and sandbox process exits/restarts.', labelNames: ['filter', 'kind', 'error_code'] as const, registers });
  const rateLimits = new Counter({ name: 'portcullis_rate_limit_decisions_total', help: 'Rate-limit decisions.', labelNames: ['route', 'limit', 'level', 'outcome', 'store'] as const, registers });
  // Across workers (core/cluster) the store is up only while every worker reaches it.
  const rateLimitStoreUp = new Gauge({ name: 'portcullis_rate_limit_store_up', help: '1 while the shared rate-limit store answers, 0 while it is down.', labelNames: ['store'] as const, registers, aggregator: 'min' });

  const connectionsRefused = new Counter({ name: 'portcullis_connections_refused_total', help: 'Connections refused by limits.maxConnections or limits.maxConnectionsPerClient.', labelNames: ['bind', 'reason'] as const, registers });
  const onConnection = (m: unknown) => {
    const e = m as ConnectionEvent;
    connectionsRefused.inc({ bind: e.bind, reason: e.reason });
  };

  const onReload = gatewayMetrics(registry, options.version);
  const spanCounter = new Counter({ name: 'portcullis_telemetry_spans_total', help: 'Spans handed to an exporter, by outcome: exported, or dropped (queue_full, export_failed).', labelNames: ['exporter', 'outcome'] as const, registers });
  for (const exporter of ['otlp', 'langfuse']) for (const outcome of ['exported', 'queue_full', 'export_failed']) spanCounter.inc({ exporter, outcome }, 0);

  let kinds = new Map<string, string>();
  let phases: ReadonlyMap<string, PhaseName> = new Map();
  const ours = new Map<string, RequestEvent>();
  const backendOfOrigin = new Map<string, string>();

  const onRequestStart = (m: unknown) => {
    const e = m as RequestEvent;
    if (e.gateway !== options.gateway) return;
    inflightNow++;
    if (ours.size < MAX_TRACKED) ours.set(e.id, e);
  };
  const onRequestEnd = (m: unknown) => {
    const e = m as RequestEvent;
    if (e.gateway !== options.gateway) return;
    inflightNow--;
    if (ours.get(e.id) === e) ours.delete(e.id);
    const s = seriesOfRequest(e);
    s.count.value++;
    requestDuration.observe(s.duration, (e.durationMs ?? 0) / 1000);
    if (e.bytesIn) (s.bytesIn ??= requestBytes.cell(s.where, s.byteLabels)).value += e.bytesIn;
    if (e.bytesOut) (s.bytesOut ??= responseBytes.cell(s.where, s.byteLabels)).value += e.bytesOut;
  };
  // The series of the last request's labels: under load, request after request has the same bind, listener,
  // route, method and status class, so the folding, the key strings and the map lookups are skipped for it. The
  // raw values are compared (a fold maps a value to the same label for good once it has seen it); the series are
  // looked up again after a reload (the backend kinds) and when a metric dropped its series (its generation).
  interface RequestSeries {
    bind: string;
    listener: string | undefined;
    route: string | undefined;
    method: string;
    statusClass: string;
    kinds: Map<string, string>;
    generation: number;
    count: CounterCell;
    duration: HistogramCell;
    where: string;
    byteLabels: () => { listener: string; route: string };
    /** Made when a request of these labels first has bytes (as the series always were). */
    bytesIn?: CounterCell;
    bytesOut?: CounterCell;
  }
  let lastSeries: RequestSeries | undefined;
  const generation = () => requests.generation + requestDuration.generation + requestBytes.generation + responseBytes.generation;
  const seriesOfRequest = (e: RequestEvent): RequestSeries => {
    const status = statusClass(e.status);
    const l = lastSeries;
    if (l !== undefined && l.route === e.route && l.listener === e.listener && l.bind === e.bind && l.method === e.method && l.statusClass === status && l.kinds === kinds && l.generation === generation()) {
      return l;
    }
    const route = fold.route.value(e.route);
    const listener = fold.listener.value(e.listener);
    const bind = fold.bind.value(e.bind);
    const kind = fold.kind.value(e.route ? (kinds.get(`${e.listener}\0${e.route}`) ?? '') : '');
    const method = fold.method.value(e.method);
    const key = `${bind}\0${listener}\0${route}\0${kind}\0${method}\0${status}`;
    const labels = () => ({ bind, listener, route, backend_kind: kind, method, status_class: status });
    const s: RequestSeries = {
      bind: e.bind,
      listener: e.listener,
      route: e.route,
      method: e.method,
      statusClass: status,
      kinds,
      generation: 0,
      count: requests.cell(key, labels),
      duration: requestDuration.cell(key, labels),
      where: `${listener}\0${route}`,
      byteLabels: () => ({ listener, route }),
    };
    // Read after the lookups: a lookup that dropped series bumped a generation.
    s.generation = generation();
    lastSeries = s;
    return s;
  };

  // When an attempt of this gateway's started, kept on the event under a symbol of ours: a WeakMap entry per
  // attempt costs a hash insert and delete and, for the collector, an ephemeron to trace.
  let lastOrigin: string | undefined;
  let lastOriginBackend: string | undefined;
  const onUpstreamStart = (m: unknown) => {
    const e = m as UpstreamAttemptEvent & { [ATTEMPT_STARTED]?: number };
    if (!ours.has(e.requestId)) return;
    e[ATTEMPT_STARTED] = performance.now();
    if (e.origin && e.backend && (e.origin !== lastOrigin || e.backend !== lastOriginBackend) && backendOfOrigin.size < 1024) {
      backendOfOrigin.set(e.origin, e.backend);
      lastOrigin = e.origin;
      lastOriginBackend = e.backend;
    }
    if (e.attempt > 0) retries.inc({ route: fold.route.value(e.route), backend: fold.backend.value(e.backend) });
  };
  const onUpstreamSettled = (m: unknown) => {
    const e = m as UpstreamAttemptEvent & { [ATTEMPT_STARTED]?: number };
    const started = e[ATTEMPT_STARTED];
    if (started === undefined) return;
    e[ATTEMPT_STARTED] = undefined;
    const s = seriesOfAttempt(e);
    s.count.value++;
    attemptDuration.observe(s.duration, (performance.now() - started) / 1000);
  };
  // As for requests: the series of the last attempt's labels, found again only when they change.
  let lastAttempt: { route: string; backend: string; statusClass: string; errorCode: string | undefined; generation: number; count: CounterCell; duration: HistogramCell } | undefined;
  const seriesOfAttempt = (e: UpstreamAttemptEvent) => {
    const status = statusClass(e.status);
    const l = lastAttempt;
    if (l !== undefined && l.route === e.route && l.backend === e.backend && l.statusClass === status && l.errorCode === e.errorCode && l.generation === attempts.generation + attemptDuration.generation) return l;
    const route = fold.route.value(e.route);
    const backend = fold.backend.value(e.backend);
    const errorKind = fold.errorKind.value(e.errorCode);
    const count = attempts.cell(`${route}\0${backend}\0${status}\0${errorKind}`, () => ({ route, backend, status_class: status, error_kind: errorKind }));
    const duration = attemptDuration.cell(`${route}\0${backend}`, () => ({ route, backend }));
    lastAttempt = { route: e.route, backend: e.backend, statusClass: status, errorCode: e.errorCode, generation: attempts.generation + attemptDuration.generation, count, duration };
    return lastAttempt;
  };

  // A message's start time rides on its event (no WeakMap entry per message); set only for this gateway's requests.
  const onMessageStart = (m: unknown) => {
    const e = m as MessageEvent & { [MESSAGE_STARTED]?: number };
    if (ours.has(e.requestId)) e[MESSAGE_STARTED] = performance.now();
  };
  const onMessageEnd = (m: unknown) => {
    const e = m as MessageEvent & { [DENIED]?: boolean; [MESSAGE_STARTED]?: number };
    const started = e[MESSAGE_STARTED];
    if (started === undefined) return;
    e[MESSAGE_STARTED] = undefined;
    const outcome = e[DENIED] ? 'denied' : (e.outcome ?? 'error');
    const route = fold.route.value(e.route);
    const series = seriesOf(e.protocol);
    if (!series) {
      genericMessages ??= new CellCounter({ name: 'portcullis_messages_total', help: 'Messages of protocols without series of their own, through the message pipeline.', labelNames: ['protocol', 'route', 'method', 'outcome'] as const, registers });
      const protocol = fold.protocol.value(e.protocol);
      const method = fold.messageMethod.value(e.method);
      genericMessages.cell(`${protocol}\0${route}\0${method}\0${outcome}`, () => ({ protocol, route, method, outcome })).value++;
      return;
    }
    const values = series.spec.values(e, { route, method: series.methods.value(e.method), outcome, fold } satisfies MessageLabelValues);
    const key = values.join('\0');
    const labels = () => Object.fromEntries(series.spec.labelNames.map((name, i) => [name, values[i]!]));
    series.counter.cell(key, labels).value++;
    series.histogram?.observe(series.histogram.cell(key, labels), (performance.now() - started) / 1000);
  };
  // Message-level denials mark the message in flight for that request, so that its outcome reads `denied`.
  const inflightMessages = new Map<string, MessageEvent>();
  const trackMessage = (m: unknown) => {
    const e = m as MessageEvent;
    if (ours.has(e.requestId)) inflightMessages.set(e.requestId, e);
  };
  const untrackMessage = (m: unknown) => {
    const e = m as MessageEvent;
    if (inflightMessages.get(e.requestId) === e) inflightMessages.delete(e.requestId);
  };

  const onPolicy = (m: unknown) => {
    const e = m as PolicyDecisionEvent;
    if (!ours.has(e.requestId)) return;
    const phase = phases.get(e.policy) ?? '';
    const route = fold.route.value(e.route);
    const policy = fold.policy.value(e.policy);
    decisions.inc({ route, policy, phase, level: e.level, outcome: e.outcome });
    if (e.outcome !== 'allow' && phase === 'authentication') authFailures.inc({ route, policy, reason: fold.reason.value(e.errorCode ?? 'denied') });
    if (e.outcome === 'deny' && e.level === 'message') {
      const msg = inflightMessages.get(e.requestId) as (MessageEvent & { [DENIED]?: boolean }) | undefined;
      if (msg) msg[DENIED] = true;
    }
  };
  const onSandbox = (m: unknown) => {
    const e = m as SandboxEvent;
    sandbox.inc({ filter: fold.filter.value(e.filter.split(',')[0]), kind: e.kind, error_code: fold.errorKind.value(e.errorCode) });
  };
  const onRateLimit = (m: unknown) => {
    const e = m as RateLimitEvent;
    if (e.kind === 'decision') {
      rateLimits.inc({ route: fold.route.value(e.route), limit: fold.limit.value(e.limit), level: e.level ?? '', outcome: e.outcome ?? '', store: e.store });
    } else rateLimitStoreUp.set({ store: e.store }, e.kind === 'storeUp' ? 1 : 0);
  };
  const onSession = (m: unknown) => {
    const e = m as SessionEvent;
    const labels = { protocol: e.protocol, route: fold.route.value(e.route) };
    if (e.event === 'open') {
      sessions.inc(labels);
      sessionsOpen.inc(labels);
    } else sessionsOpen.dec(labels);
  };
  const onProcess = (m: unknown) => {
    const e = m as ProcessEvent;
    const labels = { route: fold.route.value(e.route), target: fold.target.value(e.target) };
    if (e.event === 'start') {
      processesRunning.inc(labels);
      processesStarted.inc({ ...labels, pooled: String(Boolean(e.pooled)) });
    } else {
      processesRunning.dec(labels);
      const crashed = (typeof e.code === 'number' && e.code !== 0) || (typeof e.signal === 'string' && e.signal !== 'SIGTERM' && e.signal !== 'SIGKILL');
      processesExited.inc({ ...labels, crashed: String(crashed) });
    }
  };

  // Open connections: node's own `net.server.socket` channel, counting sockets of the gateway's binds only.
  const onSocket = (m: unknown) => {
    const socket = (m as { socket: Socket }).socket;
    if (!options.ports?.().includes(socket.localPort ?? -1)) return;
    connections.inc();
    socket.once('close', () => connections.dec());
  };
  // Connect time: undici's own channels; the origin is mapped to the backend an attempt named for it.
  const connecting = new WeakMap<object, number>();
  const onBeforeConnect = (m: unknown) => connecting.set((m as { connectParams: object }).connectParams, performance.now());
  const onConnected = (outcome: 'ok' | 'error') => (m: unknown) => {
    const params = (m as { connectParams: { protocol?: string; host?: string } }).connectParams;
    const started = connecting.get(params);
    if (started === undefined) return;
    connecting.delete(params);
    const origin = `${params.protocol ?? 'http:'}//${params.host ?? ''}`;
    const backend = backendOfOrigin.get(origin);
    if (!backend) return;
    connectTime.observe({ backend: fold.backend.value(backend), outcome }, (performance.now() - started) / 1000);
  };
  const onConnectedOk = onConnected('ok');
  const onConnectError = onConnected('error');

  requestChannel.start.subscribe(onRequestStart);
  requestChannel.end.subscribe(onRequestEnd);
  upstreamChannel.start.subscribe(onUpstreamStart);
  upstreamChannel.asyncEnd.subscribe(onUpstreamSettled);
  messageChannel.start.subscribe(onMessageStart);
  messageChannel.start.subscribe(trackMessage);
  messageChannel.asyncEnd.subscribe(onMessageEnd);
  messageChannel.asyncEnd.subscribe(untrackMessage);
  policyChannel.subscribe(onPolicy);
  sandboxChannel.subscribe(onSandbox);
  rateLimitChannel.subscribe(onRateLimit);
  connectionChannel.subscribe(onConnection);
  reloadChannel.subscribe(onReload);
  sessionChannel.subscribe(onSession);
  processChannel.subscribe(onProcess);
  subscribe('net.server.socket', onSocket);
  subscribe('undici:client:beforeConnect', onBeforeConnect);
  subscribe('undici:client:connected', onConnectedOk);
  subscribe('undici:client:connectError', onConnectError);

  return {
    registry,
    configure(config, policyPhases) {
      const next = new Map<string, string>();
      for (const bind of config.binds) for (const l of bind.listeners) for (const r of l.routes) next.set(`${l.name}\0${r.name}`, r.backends[0]?.kind ?? 'direct');
      kinds = next;
      phases = policyPhases;
    },
    spans(exporter, outcome, count) {
      spanCounter.inc({ exporter, outcome }, count);
    },
    close() {
      requestChannel.start.unsubscribe(onRequestStart);
      requestChannel.end.unsubscribe(onRequestEnd);
      upstreamChannel.start.unsubscribe(onUpstreamStart);
      upstreamChannel.asyncEnd.unsubscribe(onUpstreamSettled);
      messageChannel.start.unsubscribe(onMessageStart);
      messageChannel.start.unsubscribe(trackMessage);
      messageChannel.asyncEnd.unsubscribe(onMessageEnd);
      messageChannel.asyncEnd.unsubscribe(untrackMessage);
      policyChannel.unsubscribe(onPolicy);
      sandboxChannel.unsubscribe(onSandbox);
      rateLimitChannel.unsubscribe(onRateLimit);
      connectionChannel.unsubscribe(onConnection);
      reloadChannel.unsubscribe(onReload);
      sessionChannel.unsubscribe(onSession);
      processChannel.unsubscribe(onProcess);
      unsubscribe('net.server.socket', onSocket);
      unsubscribe('undici:client:beforeConnect', onBeforeConnect);
      unsubscribe('undici:client:connected', onConnectedOk);
      unsubscribe('undici:client:connectError', onConnectError);
      registry.clear();
    },
  };
}
