// The gateway's OTLP/protobuf trace serializer against OpenTelemetry's own (the reference): byte for byte the same
// ExportTraceServiceRequest for spans of every shape the SDK can hand an exporter, and the same spans when decoded.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ProtobufTraceSerializer, serializeTraceExportRequest } from '../../core/telemetry/otlp-trace-serializer.ts';
import { decodeTraceRequest } from './otlp.ts';

function record(resource: Record<string, string>, build: (provider: BasicTracerProvider) => void): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes(resource), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  build(provider);
  return exporter.getFinishedSpans();
}

const remote = trace.setSpanContext(ROOT_CONTEXT, {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
  traceState: new TraceState('vendor=opaque,other=1'),
});

const gatewaySpans = record({ 'service.name': 'portcullis', 'service.version': '1.2.3' }, (provider) => {
  const tracer = provider.getTracer('portcullis', '1.2.3');
  const server = tracer.startSpan('POST mcp', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'POST', 'url.path': '/mcp?token=[REDACTED]', 'client.address': '127.0.0.1', 'portcullis.request_id': 'r-1' } }, remote);
  const ctx = trace.setSpan(remote, server);
  const message = tracer.startSpan('tools/call', { attributes: { 'portcullis.protocol': 'mcp', 'rpc.system': 'jsonrpc', 'jsonrpc.request.id': '7' } }, ctx);
  message.setAttributes({
    'gen_ai.tool.name': 'échø 工具 🔧',
    'rpc.jsonrpc.error_code': -32601,
    'http.response.status_code': 200,
    'server.port': 65535,
    'big.int': 2 ** 40,
    'negative.big': -(2 ** 40),
    'ratio': 0.25,
    'nan.value': Number.NaN,
    'flag': true,
    'off': false,
    'langfuse.trace.tags': ['route:mcp', 'tool:échø', ''],
    'numbers': [1, -2, 3.5],
    'flags': [true, false],
    'empty.string': '',
    'long.value': 'x'.repeat(300),
  });
  message.setStatus({ code: SpanStatusCode.ERROR, message: 'denied by authz: no rule allows it' });
  message.updateName('tools/call echo');
  message.end();
  const client = tracer.startSpan('POST', { kind: SpanKind.CLIENT, attributes: { 'url.full': 'http://127.0.0.1:1/mcp', 'server.port': 1 } }, trace.setSpan(ctx, message));
  client.setStatus({ code: SpanStatusCode.OK });
  client.end();
  tracer.startSpan('policy authz', { kind: SpanKind.INTERNAL, startTime: 1_700_000_000_123 }, ctx).end(1_700_000_000_123);
  tracer.startSpan('producer', { kind: SpanKind.PRODUCER, root: true }).end();
  provider.getTracer('another-scope').startSpan('consumer', { kind: SpanKind.CONSUMER }).end();
  server.end();
});

const otherResource = record({ 'service.name': 'other', 'host.name': 'ünïcode' }, (provider) => {
  const span = provider.getTracer('portcullis').startSpan('GET', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET' } });
  span.end();
});

const withEventsAndLinks = record({ 'service.name': 'portcullis' }, (provider) => {
  const tracer = provider.getTracer('portcullis');
  const first = tracer.startSpan('first');
  first.end();
  const span = tracer.startSpan('second', { links: [{ context: first.spanContext(), attributes: { why: 'follows' } }] });
  span.addEvent('retry', { attempt: 1 });
  span.end();
});

describe('OTLP/protobuf trace serializer', () => {
  const cases: Array<[string, ReadableSpan[]]> = [
    ['the gateway span shapes: remote parent with trace state, every span kind, status, attribute types, non-ASCII', gatewaySpans],
    ['two resources and three scopes in one batch', [...gatewaySpans, ...otherResource, ...gatewaySpans.slice(0, 2)]],
    ['spans with events and links', [...gatewaySpans, ...withEventsAndLinks]],
    ['an empty batch', []],
  ];
  for (const [name, spans] of cases) {
    it(`writes the same bytes as @opentelemetry/otlp-transformer: ${name}`, () => {
      const ours = Buffer.from(serializeTraceExportRequest(spans));
      const reference = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
      assert.equal(ours.toString('hex'), reference.toString('hex'));
      assert.deepEqual(decodeTraceRequest(ours), decodeTraceRequest(reference));
    });
  }

  it('a batch far larger than the previous one still comes out whole (the buffer is sized from the last batch)', () => {
    serializeTraceExportRequest(gatewaySpans.slice(0, 1));
    const many = Array.from({ length: 400 }, () => gatewaySpans).flat();
    const ours = Buffer.from(serializeTraceExportRequest(many));
    assert.ok(ours.equals(Buffer.from(ProtobufTraceSerializer.serializeRequest(many)!)));
    assert.equal(decodeTraceRequest(ours).length, many.length);
  });

  it('the decoded spans carry what was recorded', () => {
    const spans = decodeTraceRequest(serializeTraceExportRequest(gatewaySpans));
    const message = spans.find((s) => s.name === 'tools/call echo')!;
    assert.equal(message.attributes['gen_ai.tool.name'], 'échø 工具 🔧');
    assert.equal(message.attributes['http.response.status_code'], 200); // (the test decoder reads int64 as unsigned: -32601 is checked by the byte comparison)
    assert.deepEqual(message.attributes['langfuse.trace.tags'], ['route:mcp', 'tool:échø', '']);
    assert.deepEqual(message.status, { code: 2, message: 'denied by authz: no rule allows it' });
    const server = spans.find((s) => s.name === 'POST mcp')!;
    assert.equal(server.parentSpanId, 'b7ad6b7169203331');
    assert.equal(server.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(server.traceState, 'vendor=opaque,other=1');
    assert.equal(server.resource['service.version'], '1.2.3');
  });

  // The one-pass serializer uses internals of @opentelemetry/otlp-transformer; the exporter only trusts it after its
  // first batch came out byte for byte like the package's. Each case loads a fresh copy of the module (its own state).
  const fresh = async (tag: string) =>
    (await import(`../../core/telemetry/otlp-trace-serializer.ts?${tag}`)) as typeof import('../../core/telemetry/otlp-trace-serializer.ts');

  it("the exporter's serializer writes its first batch with the package's serializer, then its own once they agree", async () => {
    const m = await fresh('agree');
    assert.equal(m.fastSerializerVerified(), undefined);
    const first = Buffer.from(m.fastProtobufTraceSerializer.serializeRequest(gatewaySpans)!);
    assert.ok(first.equals(Buffer.from(ProtobufTraceSerializer.serializeRequest(gatewaySpans)!)));
    assert.equal(m.fastSerializerVerified(), true);
    const next = Buffer.from(m.fastProtobufTraceSerializer.serializeRequest([...gatewaySpans, ...otherResource])!);
    assert.ok(next.equals(Buffer.from(ProtobufTraceSerializer.serializeRequest([...gatewaySpans, ...otherResource])!)));
  });

  it("when its first batch differs from the package's, the package's serializer writes every batch", async () => {
    const m = await fresh('differ');
    // An id of odd length (the SDK never makes one): the package's hexToBinary and the in-place decoder disagree on it.
    const odd = gatewaySpans.map((span) => Object.assign(Object.create(Object.getPrototypeOf(span) as object) as ReadableSpan, span, {
      spanContext: () => ({ ...span.spanContext(), spanId: 'abc' }),
    }));
    const first = Buffer.from(m.fastProtobufTraceSerializer.serializeRequest(odd)!);
    assert.ok(first.equals(Buffer.from(ProtobufTraceSerializer.serializeRequest(odd)!)));
    assert.equal(m.fastSerializerVerified(), false);
    const next = Buffer.from(m.fastProtobufTraceSerializer.serializeRequest(gatewaySpans)!);
    assert.ok(next.equals(Buffer.from(ProtobufTraceSerializer.serializeRequest(gatewaySpans)!)));
    assert.equal(m.fastSerializerVerified(), false);
  });
});
