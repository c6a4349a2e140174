import { redactString } from './redact.ts';
import { isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type TextMapGetter, type Tracer } from '@opentelemetry/api';
import { CompositePropagator, isTracingSuppressed, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { IncomingHttpHeaders } from 'node:http';
import {
  messageChannel,
  policyChannel,
  requestChannel,
  upstreamChannel,
  type MessageEvent,
  type PolicyDecisionEvent,
  type RequestEvent,
  type UpstreamAttemptEvent,
} from './events.ts';
import { GENERIC_PROTOCOL_TELEMETRY, protocolTelemetry, sessionHeaders, type ProtocolTelemetry } from './protocols.ts';
import { captureContent } from './redact-content.ts';

/**
 * Traces: a subscriber that turns the request, message, policy and upstream events into OpenTelemetry spans.
 *
 * - one SERVER span per request, its parent the client's W3C `traceparent` (with `tracestate` and baggage);
 * - a child span per protocol message, with the attributes its protocol's descriptor adds (protocols.ts);
 * - a point span per policy decision, under the message it decided on or the request;
 * - a CLIENT span per upstream attempt, whose context is injected into the attempt's headers.
 * The trace context of a message span is handed back on the event (`propagation`) and forwarded by the MCP
 * backend in `params._meta` (stdio targets read it there) and, for HTTP targets, as headers.
 *
 * Attribute names follow the OpenTelemetry semantic conventions (http.*, url.*, server.*, client.*, enduser.id,
 * mcp.*, gen_ai.*, jsonrpc.*). With Langfuse on, spans also carry the `langfuse.*` attributes Langfuse reads.
 * No context manager is installed: contexts are passed explicitly, so nothing else in the process is affected.
 */

export interface TracingSubscriberOptions {
  tracer: Tracer;
  /** Only this gateway's requests are traced (`RequestEvent.gateway`). */
  gateway?: string;
  /** Set when spans go to Langfuse: adds its attributes, and tool input/output in this form. */
  langfuse?: { captureContent: 'full' | 'redacted' | 'none' };
}

interface RequestTrace {
  span: Span;
  ctx: Context;
  /** The message in progress, parent of its policy decisions and upstream attempts. */
  message?: MessageTrace;
  /** The protocol session the request belongs to (a header named by a protocol's descriptor, or its message). */
  session?: { attribute: string; id: string };
  tags: Set<string>;
}

interface MessageTrace {
  span: Span;
  ctx: Context;
  /** The descriptor of the message's protocol, looked up once at its start. */
  telemetry: ProtocolTelemetry | undefined;
  denied?: string;
}

const MAX_TRACKED = 100_000;
const propagator = new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });
const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/**
 * The W3C headers of a context: `traceparent`, and `tracestate`/`baggage` when there are any. Written here as
 * `W3CTraceContextPropagator.inject` writes them (once per message and per upstream attempt, where the composite
 * propagator's getter/setter calls showed); a context with baggage goes through the propagators.
 */
export function traceHeaders(ctx: Context): Record<string, string> {
  const sc = trace.getSpanContext(ctx);
  if (propagation.getBaggage(ctx) !== undefined) {
    const carrier: Record<string, string> = {};
    propagator.inject(ctx, carrier, { set: (c, k, v) => (c[k] = v) });
    return carrier;
  }
  if (!sc || isTracingSuppressed(ctx) || !isSpanContextValid(sc)) return {};
  const carrier: Record<string, string> = { traceparent: `00-${sc.traceId}-${sc.spanId}-0${Number(sc.traceFlags || 0).toString(16)}` };
  if (sc.traceState) carrier.tracestate = sc.traceState.serialize();
  return carrier;
}

const servers = new Map<string, { address: string; port: number } | undefined>();

/** `server.address` and `server.port` of an origin, parsed once per origin (origins come from the config). */
function serverOf(origin: string): { address: string; port: number } | undefined {
  if (servers.has(origin)) return servers.get(origin);
  let out: { address: string; port: number } | undefined;
  try {
    const u = new URL(origin);
    out = { address: u.hostname, port: Number(u.port) || (u.protocol === 'https:' ? 443 : 80) };
  } catch {
    // an origin undici accepted but URL does not: the address stays out
  }
  if (servers.size < 1024) servers.set(origin, out);
  return out;
}

export function subscribeTracing(options: TracingSubscriberOptions): () => void {
  const { tracer } = options;
  const langfuse = options.langfuse;
  const requests = new Map<string, RequestTrace>();
  const messages = new WeakMap<MessageEvent, MessageTrace>();
  const attempts = new WeakMap<UpstreamAttemptEvent, Span>();
  const started = (startedAt: number) => performance.timeOrigin + startedAt;
  // The SDK copies and checks the attributes given to `startSpan` twice before the span checks them again (for
  // samplers, which here read none): set on the span, they are checked once. Langfuse's processor reads and adds
  // attributes when a span starts, so with it they go in at the start, as before.
  const startSpan = langfuse
    ? (name: string, kind: SpanKind, attributes: Attributes, parent: Context, startTime?: number) => tracer.startSpan(name, { kind, attributes, startTime }, parent)
    : (name: string, kind: SpanKind, attributes: Attributes, parent: Context, startTime?: number) => tracer.startSpan(name, { kind, startTime }, parent).setAttributes(attributes);

  const onRequestStart = (m: unknown) => {
    const e = m as RequestEvent;
    if (e.gateway !== options.gateway || requests.size >= MAX_TRACKED) return;
    // Only a request with `traceparent` or `baggage` has a context to extract (`tracestate` alone is ignored).
    const parent = e.headers && (e.headers.traceparent !== undefined || e.headers.baggage !== undefined) ? propagator.extract(ROOT_CONTEXT, e.headers, headerGetter) : ROOT_CONTEXT;
    const attributes: Attributes = {
      'http.request.method': e.method,
      'url.path': e.path,
      'url.scheme': e.scheme,
      'server.address': e.host,
      'client.address': e.clientAddress,
      'portcullis.request_id': e.id,
    };
    const ua = e.headers?.['user-agent'];
    if (typeof ua === 'string') attributes['user_agent.original'] = ua;
    const span = startSpan(e.method, SpanKind.SERVER, attributes, parent, started(e.startedAt));
    const sc = span.spanContext();
    e.traceId = sc.traceId;
    e.spanId = sc.spanId;
    let session: RequestTrace['session'];
    for (const { header, attribute } of sessionHeaders()) {
      const sid = e.headers?.[header];
      if (typeof sid === 'string') {
        session = { attribute, id: sid };
        break;
      }
    }
    requests.set(e.id, { span, ctx: trace.setSpan(parent, span), tags: new Set(), session });
  };

  const onRequestEnd = (m: unknown) => {
    const e = m as RequestEvent;
    const t = requests.get(e.id);
    if (!t || e.gateway !== options.gateway) return;
    requests.delete(e.id);
    const span = t.span;
    span.updateName(e.route ? `${e.method} ${e.route}` : e.method);
    const attributes: Attributes = { 'http.response.status_code': e.status ?? 0 };
    if (e.listener) attributes['portcullis.listener'] = e.listener;
    if (e.route) attributes['portcullis.route'] = e.route;
    if (e.backend) attributes['portcullis.backend'] = e.backend;
    if (e.subject) attributes['enduser.id'] = e.subject;
    if (e.bytesIn) attributes['http.request.body.size'] = e.bytesIn;
    if (e.bytesOut) attributes['http.response.body.size'] = e.bytesOut;
    if (e.errorCode) attributes['error.type'] = e.errorCode;
    if (t.session) attributes[t.session.attribute] = t.session.id;
    if (langfuse) {
      attributes['langfuse.trace.name'] = e.route ? `${e.method} ${e.route}` : e.method;
      if (e.subject) attributes['user.id'] = e.subject;
      if (t.session) attributes['session.id'] = t.session.id;
      if (e.route) t.tags.add(`route:${e.route}`);
      attributes['langfuse.trace.tags'] = [...t.tags];
      if (e.route) attributes['langfuse.trace.metadata.route'] = e.route;
      if (e.listener) attributes['langfuse.trace.metadata.listener'] = e.listener;
      attributes['langfuse.trace.metadata.status'] = String(e.status ?? 0);
    }
    span.setAttributes(attributes);
    if ((e.status ?? 0) >= 500 || e.status === 0) span.setStatus({ code: SpanStatusCode.ERROR, message: e.errorCode ?? `HTTP ${e.status ?? 0}` });
    span.end(started(e.startedAt + (e.durationMs ?? performance.now() - e.startedAt)));
  };

  const onMessageStart = (m: unknown) => {
    const e = m as MessageEvent;
    const t = requests.get(e.requestId);
    if (!t) return;
    const d = protocolTelemetry(e.protocol);
    const attributes: Attributes = { 'portcullis.protocol': e.protocol, 'rpc.system': 'jsonrpc' };
    if (d?.startSpan) d.startSpan(e, attributes);
    else GENERIC_PROTOCOL_TELEMETRY.startSpan!(e, attributes);
    if (e.rpcId !== undefined && e.rpcId !== null) attributes['jsonrpc.request.id'] = String(e.rpcId);
    if (e.sessionId) {
      const session = d?.session ?? GENERIC_PROTOCOL_TELEMETRY.session!;
      attributes[session.attribute] = e.sessionId;
      // A session the request's header names: the request span carries it too.
      if (session.header) t.session = { attribute: session.attribute, id: e.sessionId };
    }
    if (e.subject) attributes['enduser.id'] = e.subject;
    const span = startSpan(e.method, SpanKind.INTERNAL, attributes, t.ctx);
    const ctx = trace.setSpan(t.ctx, span);
    const mt: MessageTrace = { span, ctx, telemetry: d };
    messages.set(e, mt);
    t.message = mt;
    // Handed back to the publisher: forwarded with the message (MCP `params._meta`).
    e.propagation = traceHeaders(ctx);
  };

  const onMessageError = (m: unknown) => {
    const e = m as MessageEvent;
    const mt = messages.get(e);
    if (!mt) return;
    if (e.rpcErrorCode !== undefined) mt.span.setAttribute('rpc.jsonrpc.error_code', e.rpcErrorCode);
    mt.span.setAttribute('error.type', e.rpcErrorCode !== undefined ? String(e.rpcErrorCode) : 'error');
  };

  const onMessageEnd = (m: unknown) => {
    const e = m as MessageEvent;
    const mt = messages.get(e);
    if (!mt) return;
    messages.delete(e);
    const t = requests.get(e.requestId);
    if (t?.message === mt) t.message = undefined;
    const span = mt.span;
    const attributes: Attributes = {};
    const name = e.tool ?? e.prompt ?? e.skill;
    if (e.target) attributes['portcullis.target'] = e.target;
    if (e.tool) attributes['gen_ai.tool.name'] = e.tool;
    if (e.prompt) attributes['gen_ai.prompt.name'] = e.prompt;
    mt.telemetry?.endSpan?.(e, attributes);
    if (langfuse) {
      attributes['langfuse.observation.type'] = mt.telemetry?.langfuse?.isTool(e) ? 'tool' : 'span';
      const input = captureContent(e.arguments, langfuse.captureContent);
      const output = e.outcome === 'ok' ? captureContent(e.result, langfuse.captureContent) : undefined;
      if (input !== undefined) attributes['langfuse.observation.input'] = input;
      if (output !== undefined) attributes['langfuse.observation.output'] = output;
      if (e.target) attributes['langfuse.observation.metadata.target'] = e.target;
      attributes['langfuse.observation.metadata.outcome'] = mt.denied ? 'denied' : (e.outcome ?? 'error');
      if (mt.denied || e.outcome !== 'ok') {
        attributes['langfuse.observation.level'] = mt.denied ? 'WARNING' : 'ERROR';
        attributes['langfuse.observation.status_message'] = mt.denied ?? e.errorMessage ?? 'error';
      }
      if (t) {
        if (name) t.tags.add(`${mt.telemetry?.langfuse?.tag ?? 'tool'}:${name}`);
        if (e.target) t.tags.add(`target:${e.target}`);
        if (mt.denied) t.tags.add('denied');
      }
    }
    span.setAttributes(attributes);
    span.updateName(name ? `${e.method} ${name}` : e.method);
    if (mt.denied) span.setStatus({ code: SpanStatusCode.ERROR, message: mt.denied });
    else if (e.outcome !== 'ok') span.setStatus({ code: SpanStatusCode.ERROR, message: e.errorMessage ?? 'error' });
    span.end();
  };

  const onPolicy = (m: unknown) => {
    const e = m as PolicyDecisionEvent;
    const t = requests.get(e.requestId);
    if (!t) return;
    const parent = e.level === 'message' && t.message ? t.message : t;
    const attributes: Attributes = {
      'portcullis.policy.name': e.policy,
      'portcullis.policy.level': e.level,
      'portcullis.policy.outcome': e.outcome,
    };
    if (e.reason) attributes['portcullis.policy.reason'] = e.reason;
    if (e.rule) attributes['portcullis.policy.rule'] = e.rule;
    if (e.errorCode) attributes['error.type'] = e.errorCode;
    if (e.method) attributes['mcp.method.name'] = e.method;
    if (e.tool) attributes['gen_ai.tool.name'] = e.tool;
    if (langfuse) {
      attributes['langfuse.observation.type'] = 'guardrail';
      if (e.outcome !== 'allow') attributes['langfuse.observation.level'] = e.outcome === 'deny' ? 'WARNING' : 'ERROR';
    }
    const now = Date.now();
    const span = startSpan(`policy ${e.policy}`, SpanKind.INTERNAL, attributes, parent.ctx, now);
    if (e.outcome !== 'allow') {
      const why = `${e.outcome === 'deny' ? 'denied' : 'failed'} by ${e.policy}${e.reason ? `: ${e.reason}` : ''}`;
      span.setStatus({ code: SpanStatusCode.ERROR, message: why });
      parent.span.setAttribute('portcullis.denied_by', e.policy);
      parent.span.setStatus({ code: SpanStatusCode.ERROR, message: why });
      if (parent !== t) (parent as MessageTrace).denied = why;
    }
    span.end(now);
  };

  const onUpstreamStart = (m: unknown) => {
    const e = m as UpstreamAttemptEvent;
    const t = requests.get(e.requestId);
    if (!t) return;
    const parent = t.message ?? t;
    const attributes: Attributes = { 'http.request.method': e.method, 'url.full': redactString(`${e.origin}${e.path}`), 'portcullis.backend': e.backend };
    const server = serverOf(e.origin);
    if (server) {
      attributes['server.address'] = server.address;
      attributes['server.port'] = server.port;
    }
    if (e.attempt > 0) attributes['http.request.resend_count'] = e.attempt;
    const span = startSpan(e.method, SpanKind.CLIENT, attributes, parent.ctx);
    attempts.set(e, span);
    e.propagation = traceHeaders(trace.setSpan(parent.ctx, span));
  };

  const onUpstreamError = (m: unknown) => {
    const e = m as UpstreamAttemptEvent;
    const span = attempts.get(e);
    if (!span) return;
    span.setAttribute('error.type', e.errorCode ?? 'error');
    span.setStatus({ code: SpanStatusCode.ERROR, message: e.error instanceof Error ? redactString(e.error.message) : (e.errorCode ?? 'error') });
  };

  const onUpstreamEnd = (m: unknown) => {
    const e = m as UpstreamAttemptEvent;
    const span = attempts.get(e);
    if (!span) return;
    attempts.delete(e);
    if (e.status !== undefined) {
      span.setAttribute('http.response.status_code', e.status);
      if (e.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${e.status}` });
    }
    span.end();
  };

  requestChannel.start.subscribe(onRequestStart);
  requestChannel.end.subscribe(onRequestEnd);
  messageChannel.start.subscribe(onMessageStart);
  messageChannel.error.subscribe(onMessageError);
  messageChannel.asyncEnd.subscribe(onMessageEnd);
  policyChannel.subscribe(onPolicy);
  upstreamChannel.start.subscribe(onUpstreamStart);
  upstreamChannel.error.subscribe(onUpstreamError);
  upstreamChannel.asyncEnd.subscribe(onUpstreamEnd);
  return () => {
    requestChannel.start.unsubscribe(onRequestStart);
    requestChannel.end.unsubscribe(onRequestEnd);
    messageChannel.start.unsubscribe(onMessageStart);
    messageChannel.error.unsubscribe(onMessageError);
    messageChannel.asyncEnd.unsubscribe(onMessageEnd);
    policyChannel.unsubscribe(onPolicy);
    upstreamChannel.start.unsubscribe(onUpstreamStart);
    upstreamChannel.error.unsubscribe(onUpstreamError);
    upstreamChannel.asyncEnd.unsubscribe(onUpstreamEnd);
  };
}
