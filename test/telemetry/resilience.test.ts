import assert from 'node:assert/strict';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { percentile } from '../../bench/report.ts';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startOtlpReceiver, type OtlpReceiver } from './otlp.ts';
import { parseExposition, sample } from './tools.ts';

const ROUTE = [{ name: 'hello', policies: { directResponse: { status: 200, body: 'hi' } } }];
const N = 300;

/** Sequential requests on one keep-alive connection; their latencies in ms. */
async function latencies(url: string): Promise<number[]> {
  const { Agent, request } = await import('undici');
  const agent = new Agent({ connections: 1 });
  const out: number[] = [];
  try {
    for (let i = 0; i < N; i++) {
      const t = performance.now();
      const res = await request(url, { dispatcher: agent });
      await res.body.text();
      assert.equal(res.statusCode, 200);
      out.push(performance.now() - t);
    }
  } finally {
    await agent.close();
  }
  return out;
}

describe('an unreachable or slow trace backend never slows or fails traffic; what it cannot take is counted', () => {
  let slow: OtlpReceiver;
  let plain: TestGateway;
  let traced: TestGateway;
  let dead: NetServer;

  before(async () => {
    slow = await startOtlpReceiver({ auth: { publicKey: 'pk', secretKey: 'sk' }, delayMs: 5_000 });
    // A port this test holds, where every connection is cut at once: a port merely found free could be taken by
    // another test's server meanwhile, and answer the exports.
    dead = createNetServer((socket) => socket.destroy());
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const closedPort = (dead.address() as AddressInfo).port;
    plain = await startTestGateway(simpleConfig(ROUTE));
    traced = await startTestGateway({
      ...simpleConfig(ROUTE),
      stats: { address: '127.0.0.1:0' },
      // The OTLP endpoint cuts every connection; Langfuse answers after 5 s, past its 300 ms export timeout.
      tracing: { endpoint: `http://127.0.0.1:${closedPort}/v1/traces`, maxQueueSize: 50, scheduledDelayMs: 20, exportTimeoutMs: 300 },
      langfuse: { publicKey: { secret: 'pk' }, secretKey: { secret: 'sk' }, baseUrl: slow.url, maxQueueSize: 50, flushIntervalMs: 20, exportTimeoutMs: 300 },
    });
  });
  after(async () => {
    await plain?.close();
    await traced?.close();
    await slow?.close();
    dead?.close();
  });

  it('latency with dead exporters stays within 1 ms of no tracing at all (p50), and every request succeeds', async () => {
    await latencies(`${plain.url()}/`); // warm both paths
    await latencies(`${traced.url()}/`);
    const base = percentile(await latencies(`${plain.url()}/`), 50);
    const withDead = percentile(await latencies(`${traced.url()}/`), 50);
    assert.ok(withDead < base + 1, `p50 ${withDead.toFixed(3)} ms with dead exporters vs ${base.toFixed(3)} ms without tracing`);
  });

  it('drops are counted: failed exports for the unreachable endpoint, a full queue in front of the slow one', async () => {
    const until = Date.now() + 10_000;
    let parsed = parseExposition('', 'text/plain; version=0.0.4');
    let failed = 0;
    while (Date.now() < until) {
      const res = await fetch(`http://127.0.0.1:${traced.running.telemetry.statsPort}/metrics`);
      parsed = parseExposition(await res.text(), res.headers.get('content-type')!);
      failed = sample(parsed, 'portcullis_telemetry_spans_total', { exporter: 'otlp', outcome: 'export_failed' }) ?? 0;
      if (failed > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(failed > 0, 'failed exports to the unreachable endpoint are counted');
    assert.ok((sample(parsed, 'portcullis_telemetry_spans_total', { exporter: 'langfuse', outcome: 'queue_full' }) ?? 0) > 0, 'a full Langfuse queue drops and counts');
    assert.equal(sample(parsed, 'portcullis_telemetry_spans_total', { exporter: 'otlp', outcome: 'exported' }), 0);
  });
});
