import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { GatewayConfig } from '../../sdk-types/index.ts';
import { send, simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { Server, ServerCredentials, type Metadata, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { decodeTraceRequest, type DecodedSpan } from './otlp.ts';
import { startJaeger, tag, type Jaeger } from './tools.ts';

/**
 * The same switches in gateway.config.ts: `tracing.protocol: 'grpc'` into a real Jaeger, `clientSamplerRatio`
 * (agentgateway's clientSampling), and `logging.accessLog` as a CEL-shaped line that a reload can change.
 */

const ROUTES = simpleConfig([
  { name: 'ok', matches: [{ path: { pathPrefix: '/ok' } }], policies: { directResponse: { status: 200, body: 'ok' } } },
  { name: 'missing', matches: [{ path: { pathPrefix: '/missing' } }], policies: { directResponse: { status: 404, body: 'no' } } },
]);

const traceparent = () => {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, header: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
};

describe("tracing.protocol: 'grpc' and clientSamplerRatio, against Jaeger's OTLP/gRPC receiver", () => {
  let jaeger: Jaeger;
  const gateways: TestGateway[] = [];

  before(async () => {
    jaeger = await startJaeger();
  });
  after(async () => {
    await Promise.allSettled(gateways.map((g) => g.close()));
    await jaeger?.close();
  });

  it('exports the request span over gRPC, with its service name', async () => {
    const gw = await startTestGateway({ ...ROUTES, tracing: { protocol: 'grpc', endpoint: jaeger.otlpGrpcUrl, scheduledDelayMs: 100, serviceName: 'grpc-native' } });
    gateways.push(gw);
    const line = await gw.logs.waitFor((l) => l.sink === 'tracing');
    assert.deepEqual([line.on, line.from, line.protocol, line.endpoint], [true, 'config', 'grpc', jaeger.otlpGrpcUrl]);
    const tp = traceparent();
    assert.equal((await send(`${gw.url()}/ok`, { headers: { traceparent: tp.header } })).status, 200);
    const spans = await jaeger.waitForTrace(tp.traceId, 1);
    assert.equal(tag(spans[0], 'http.response.status_code'), 200);
    const services = (await (await fetch(`${jaeger.queryUrl}/api/services`)).json()) as { data: string[] };
    assert.ok(services.data.includes('grpc-native'), services.data.join(', '));
  });

  it("clientSamplerRatio: 0 ignores a caller's sampled traceparent; requests without one are still sampled", async () => {
    const gw = await startTestGateway({ ...ROUTES, tracing: { protocol: 'grpc', endpoint: jaeger.otlpGrpcUrl, scheduledDelayMs: 100, clientSamplerRatio: 0 } });
    gateways.push(gw);
    const ignored = traceparent();
    assert.equal((await send(`${gw.url()}/ok/ignored`, { headers: { traceparent: ignored.header } })).status, 200);
    assert.equal((await send(`${gw.url()}/ok/own`)).status, 200);
    const own = await gw.logs.waitFor((l) => l.type === 'access' && l.path === '/ok/own');
    // The ignored request ended first: had it been sampled it would be in the same batch or an earlier one.
    await jaeger.waitForTrace(own.trace_id, 1);
    assert.deepEqual(await jaeger.trace(ignored.traceId), []);
  });

  it("headers go as gRPC metadata (seen by a gRPC server on OTLP's Export method), lower-cased as gRPC requires", async () => {
    // The OTLP trace service's one method, bodies kept as bytes and decoded with the tests' OTLP reader.
    const calls: Array<{ metadata: Metadata; spans: DecodedSpan[] }> = [];
    let onCall = () => {};
    const server = new Server();
    const raw = (b: Buffer) => b;
    server.addService(
      { Export: { path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export', requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw } },
      {
        Export: (call: ServerUnaryCall<Buffer, Buffer>, done: sendUnaryData<Buffer>) => {
          calls.push({ metadata: call.metadata, spans: decodeTraceRequest(new Uint8Array(call.request)) });
          done(null, Buffer.alloc(0));
          onCall();
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    try {
      const gw = await startTestGateway({ ...ROUTES, tracing: { protocol: 'grpc', endpoint: `http://127.0.0.1:${port}`, scheduledDelayMs: 50, headers: { 'X-Tenant': 'blue' } } });
      gateways.push(gw);
      const tp = traceparent();
      const carried = () => calls.find((c) => c.spans.some((s) => s.traceId === tp.traceId));
      const arrived = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no Export call carried the trace within 15 s; calls: ${calls.length}`)), 15_000);
        onCall = () => {
          if (carried()) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
      assert.equal((await send(`${gw.url()}/ok/meta`, { headers: { traceparent: tp.header } })).status, 200);
      await arrived;
      const call = carried()!;
      assert.deepEqual(call.metadata.get('x-tenant'), ['blue']);
      assert.equal(call.spans.find((s) => s.traceId === tp.traceId)!.attributes['url.path'], '/ok/meta');
    } finally {
      server.forceShutdown();
    }
  });

  it('a collector that is not there fails no request', async () => {
    const gw = await startTestGateway({ ...ROUTES, tracing: { protocol: 'grpc', endpoint: 'http://127.0.0.1:9', scheduledDelayMs: 50, exportTimeoutMs: 500 } });
    gateways.push(gw);
    for (let i = 0; i < 5; i++) assert.equal((await send(`${gw.url()}/ok/${i}`)).status, 200);
  });

  it('bad values are config errors with their path', async () => {
    await assert.rejects(startTestGateway({ ...ROUTES, tracing: { protocol: 'thrift' as 'grpc', clientSamplerRatio: 2 } }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
      assert.match(err.message, /tracing\.protocol: expected "http\/protobuf" \| "http\/json" \| "grpc", got "thrift"/);
      assert.match(err.message, /tracing\.clientSamplerRatio: must be <= 1, got 2/);
      return true;
    });
  });
});

describe('logging.accessLog as a shape: filter, add, remove, changed by a reload', () => {
  let gw: TestGateway;
  after(async () => {
    await gw?.close();
  });

  it('keeps only the lines its filter selects, and a reload swaps the shape', async () => {
    const shaped = (accessLog: NonNullable<GatewayConfig['logging']>['accessLog']): GatewayConfig => ({ ...ROUTES, logging: { accessLog } });
    gw = await startTestGateway(shaped({ filter: 'response.code >= 400', add: { method_and_code: 'request.method + " " + string(response.code)' }, remove: ['http.path'] }));
    await send(`${gw.url()}/ok/quiet`);
    await send(`${gw.url()}/missing/loud`);
    const line = await gw.logs.waitFor((l) => l.type === 'access' && l.status === 404);
    assert.equal(line.method_and_code, 'GET 404');
    assert.equal('path' in line, false);
    assert.equal(gw.logs.lines.some((l) => l.type === 'access' && l.status === 200), false);

    await gw.write(shaped({ add: { host: 'request.host' } }));
    assert.deepEqual(await gw.running.reload(), { ok: true });
    await send(`${gw.url()}/ok/after`);
    const after = await gw.logs.waitFor((l) => l.type === 'access' && l.path === '/ok/after');
    assert.equal(after.host, '127.0.0.1');

    await gw.write(shaped({ filter: 'request.nope.startsWith(' }));
    const reload = await gw.running.reload();
    assert.equal(reload.ok, false);
    assert.match(JSON.stringify(reload), /logging\.accessLog\.filter: invalid CEL expression/);
  });
});
