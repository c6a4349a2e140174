// The W3C headers the gateway forwards (traceHeaders, written by hand on the hot path) against OpenTelemetry's own
// propagators (the reference) for every kind of context a request can carry.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { INVALID_SPAN_CONTEXT, propagation, ROOT_CONTEXT, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { CompositePropagator, suppressTracing, TraceState, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { traceHeaders } from '../../core/telemetry/tracing.ts';

const reference = new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });
const inject = (ctx: Context) => {
  const carrier: Record<string, string> = {};
  reference.inject(ctx, carrier, { set: (c, k, v) => (c[k] = v) });
  return carrier;
};
const span = (traceFlags: number, traceState?: TraceState) => ({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags, traceState });

it('traceHeaders writes what the W3C trace-context and baggage propagators write', () => {
  const contexts: Array<[string, Context]> = [
    ['sampled', trace.setSpanContext(ROOT_CONTEXT, span(TraceFlags.SAMPLED))],
    ['not sampled', trace.setSpanContext(ROOT_CONTEXT, span(TraceFlags.NONE))],
    ['with tracestate', trace.setSpanContext(ROOT_CONTEXT, span(TraceFlags.SAMPLED, new TraceState('vendor=opaque,other=1')))],
    ['with an empty tracestate', trace.setSpanContext(ROOT_CONTEXT, span(TraceFlags.SAMPLED, new TraceState()))],
    ['with baggage', propagation.setBaggage(trace.setSpanContext(ROOT_CONTEXT, span(TraceFlags.SAMPLED)), propagation.createBaggage({ tenant: { value: 'a b' } }))],
    ['baggage and no span', propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage({ tenant: { value: 'x' } }))],
    ['an invalid span context', trace.setSpanContext(ROOT_CONTEXT, INVALID_SPAN_CONTEXT)],
    ['tracing suppressed', suppressTracing(trace.setSpanContext(ROOT_CONTEXT, span(TraceFlags.SAMPLED)))],
    ['no span', ROOT_CONTEXT],
  ];
  for (const [name, ctx] of contexts) assert.deepEqual(traceHeaders(ctx), inject(ctx), name);
  assert.deepEqual(traceHeaders(contexts[0][1]), { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
});
