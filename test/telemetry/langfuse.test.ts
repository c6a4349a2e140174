import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { GatewayConfig } from '../../sdk-types/index.ts';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, MCP_TEST_EXTRA, text } from '../helpers/mcp.ts';
import { decodeTraceRequest, startOtlpReceiver, type OtlpReceiver } from './otlp.ts';
import { parseExposition, sample } from './tools.ts';

const META_ECHO = fileURLToPath(new URL('../fixtures/telemetry/meta-echo-server.ts', import.meta.url));
const KEYS = { publicKey: 'pk-lf-1234', secretKey: 'sk-lf-very-secret-5678' };

function gatewayConfig(receiver: OtlpReceiver, langfuse: Partial<NonNullable<GatewayConfig['langfuse']>> = {}, extra: Partial<GatewayConfig> = {}): GatewayConfig {
  return {
    ...simpleConfig([{ name: 'mcp', backends: [{ mcp: { targets: [{ name: 'meta', stdio: { cmd: process.execPath, args: [META_ECHO, 'stdio'] } }] } }] }]),
    ...MCP_TEST_EXTRA,
    stats: { address: '127.0.0.1:0' },
    langfuse: { publicKey: { secret: KEYS.publicKey }, secretKey: { secret: KEYS.secretKey }, baseUrl: receiver.url, flushIntervalMs: 50, ...langfuse },
    ...extra,
  };
}

async function metrics(gw: TestGateway) {
  const res = await fetch(`http://127.0.0.1:${gw.running.telemetry.statsPort}/metrics`);
  return parseExposition(await res.text(), res.headers.get('content-type')!);
}

describe('Langfuse export through @langfuse/otel, checked by a local receiver of its OTLP endpoint', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  after(async () => {
    for (const o of open.reverse()) await o.close();
  });

  it("the receiver's decoder reads what OpenTelemetry's own protobuf serializer writes", () => {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
    const span = provider.getTracer('decoder-check').startSpan('op', { kind: SpanKind.CLIENT, attributes: { s: 'text', i: 42, d: 1.5, b: true, a: ['x', 'y'] } });
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'broken' });
    span.end();
    const [written] = memory.getFinishedSpans();
    const decoded = decodeTraceRequest(ProtobufTraceSerializer.serializeRequest([written])!);
    assert.equal(decoded.length, 1);
    const d = decoded[0];
    assert.deepEqual(
      { traceId: d.traceId, spanId: d.spanId, name: d.name, kind: d.kind, attributes: d.attributes, status: d.status, scope: d.scope },
      { traceId: written.spanContext().traceId, spanId: written.spanContext().spanId, name: 'op', kind: 3, attributes: { s: 'text', i: 42, d: 1.5, b: true, a: ['x', 'y'] }, status: { code: 2, message: 'broken' }, scope: 'decoder-check' },
    );
  });

  it('redacts tool input and output by default; keys never reach the log, the config dump shows them redacted', async () => {
    const receiver = await startOtlpReceiver({ auth: KEYS });
    open.push(receiver);
    const gw = await startTestGateway(gatewayConfig(receiver, {}, { admin: { address: '127.0.0.1:0' } }));
    open.push(gw);
    const client = await connectClient(`${gw.url()}/mcp`);
    open.push(client);
    const args = { text: 'mail jane.doe@example.com, card 4111 1111 1111 1111, token Bearer abcdefghijklmnop' };
    assert.match(text(await client.callTool({ name: 'echo_meta', arguments: args })), /jane\.doe@example\.com/, 'the client gets the real answer');
    await receiver.waitFor((s) => s.some((x) => x.name === 'tools/call echo_meta'));
    const obs = receiver.spans.find((x) => x.name === 'tools/call echo_meta')!;
    assert.equal(obs.attributes['langfuse.observation.input'], JSON.stringify({ text: 'mail [email], card [paymentCard], token [bearer]' }));
    const output = String(obs.attributes['langfuse.observation.output']);
    assert.ok(output.includes('[email]') && output.includes('[paymentCard]') && !output.includes('jane.doe') && !output.includes('4111'), output);
    const logs = gw.logs.raw();
    assert.ok(!logs.includes(KEYS.secretKey), 'the secret key is not logged');
    const dump = await (await fetch(`http://127.0.0.1:${gw.running.admin!.port}/config_dump`)).text();
    assert.ok(!dump.includes(KEYS.secretKey), 'the secret key is not in /config_dump');
    assert.deepEqual(JSON.parse(dump).telemetry.langfuse.secretKey, { secret: '[redacted]' });
  });

  it('captureContent "none" exports no content; wrong keys are refused by the endpoint and counted as dropped', async () => {
    const receiver = await startOtlpReceiver({ auth: KEYS });
    open.push(receiver);
    const gw = await startTestGateway(gatewayConfig(receiver, { captureContent: 'none' }));
    open.push(gw);
    const client = await connectClient(`${gw.url()}/mcp`);
    open.push(client);
    await client.callTool({ name: 'echo_meta', arguments: { text: 'private' } });
    await receiver.waitFor((s) => s.some((x) => x.name === 'tools/call echo_meta'));
    const obs = receiver.spans.find((x) => x.name === 'tools/call echo_meta')!;
    assert.equal(obs.attributes['langfuse.observation.input'], undefined);
    assert.equal(obs.attributes['langfuse.observation.output'], undefined);
    assert.equal(obs.attributes['langfuse.observation.type'], 'tool');

    const wrong = await startTestGateway(gatewayConfig(receiver, { secretKey: { secret: 'sk-wrong' } }));
    open.push(wrong);
    const other = await connectClient(`${wrong.url()}/mcp`);
    open.push(other);
    await other.callTool({ name: 'echo_meta', arguments: {} });
    const until = Date.now() + 10_000;
    let failed = 0;
    while (failed === 0 && Date.now() < until) {
      failed = sample(await metrics(wrong), 'portcullis_telemetry_spans_total', { exporter: 'langfuse', outcome: 'export_failed' }) ?? 0;
      if (failed === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(failed > 0, 'the refused spans are counted');
    assert.ok(receiver.refused.some((r) => r.status === 401));
  });

  it('flushes on reload and on shutdown, before the batch delay', async () => {
    const receiver = await startOtlpReceiver({ auth: KEYS });
    open.push(receiver);
    const gw = await startTestGateway(gatewayConfig(receiver, { flushIntervalMs: 600_000 }));
    const client = await connectClient(`${gw.url()}/mcp`);
    await client.callTool({ name: 'echo_meta', arguments: { n: 1 } });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(receiver.spans.filter((x) => x.name === 'tools/call echo_meta').length, 0, 'held by the batch');
    assert.equal((await gw.running.reload()).ok, true);
    assert.equal(receiver.spans.filter((x) => x.name === 'tools/call echo_meta').length, 1, 'flushed by the reload');
    await client.callTool({ name: 'echo_meta', arguments: { n: 2 } });
    await client.close();
    await gw.close();
    assert.equal(receiver.spans.filter((x) => x.name === 'tools/call echo_meta').length, 2, 'flushed by the shutdown');
  });

  it('a missing key fails the start with the field that names it', async () => {
    const receiver = await startOtlpReceiver({ auth: KEYS });
    open.push(receiver);
    await assert.rejects(
      startTestGateway(gatewayConfig(receiver, { secretKey: { env: 'PCL_TEST_NO_SUCH_LANGFUSE_KEY' } })),
      (e: any) => e.code === 'PCL_ERR_CONFIG_INVALID' && e.message === 'langfuse.secretKey: environment variable PCL_TEST_NO_SUCH_LANGFUSE_KEY is not set',
    );
  });
});
