import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConfigValidationError, validateConfig } from '../../core/config/index.ts';
import { fromAgentgateway } from '../../core/config/agentgateway.ts';
import { resolveConfig } from '../../core/config/resolve.ts';
import { wantsOpenMetrics } from '../../core/telemetry/stats.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import type { GatewayConfig } from '../../sdk-types/index.ts';
import { echoUpstream, send, simpleConfig, startTestGateway, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { parseExposition, promtoolCheck, sample, type ParsedMetrics } from './tools.ts';

const KEY = 'metrics-key';

function issues(raw: unknown): string[] {
  try {
    validateConfig(raw, builtinPolicies, builtinBackends);
  } catch (err) {
    assert.ok(err instanceof ConfigValidationError);
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}
const base = { binds: [{ port: 1, listeners: [{ routes: [{ backends: [{ host: '127.0.0.1:1' }] }] }] }] };

describe('metrics on the stats server, read by Prometheus\' own parser', () => {
  let up: Upstream;
  let gw: TestGateway;
  let stats: string;
  const config = (extra = false): GatewayConfig => ({
    ...simpleConfig([
      {
        name: 'api',
        matches: [{ path: { pathPrefix: '/api' } }],
        policies: { apiKey: { header: 'x-api-key', keys: [{ name: 'agent-1', sha256: createHash('sha256').update(KEY).digest('hex') }] } },
        backends: [{ host: up.host }],
      },
      { name: 'hello', matches: [{ path: { pathPrefix: '/hello' } }], policies: { directResponse: { status: 200, body: 'hi' } } },
      ...(extra ? [{ name: 'added', matches: [{ path: { pathPrefix: '/added' } }], policies: { directResponse: { status: 200, body: 'added' } } }] : []),
    ]),
    stats: { address: '127.0.0.1:0' },
  });

  before(async () => {
    up = await echoUpstream();
    gw = await startTestGateway(config());
    stats = `http://127.0.0.1:${gw.running.telemetry.statsPort}`;
  });
  after(async () => {
    await gw?.close();
    await up?.close();
  });

  async function scrape(accept?: string): Promise<{ body: string; type: string; parsed: ParsedMetrics }> {
    const res = await fetch(`${stats}/metrics`, { headers: accept ? { accept } : {} });
    assert.equal(res.status, 200);
    const body = await res.text();
    const type = res.headers.get('content-type')!;
    return { body, type, parsed: parseExposition(body, type) };
  }

  it('counts requests by bind, listener, route, backend kind, method and status class', async () => {
    assert.equal((await send(`${gw.url()}/api/a`, { headers: { 'x-api-key': KEY } })).status, 200);
    assert.equal((await send(`${gw.url()}/api/b`, { method: 'POST', headers: { 'x-api-key': KEY }, body: 'eleven byte' })).status, 200);
    assert.equal((await send(`${gw.url()}/api/c`)).status, 401);
    assert.equal((await send(`${gw.url()}/hello`)).status, 200);
    const { parsed, type } = await scrape();
    assert.equal(type, 'text/plain; version=0.0.4; charset=utf-8');
    const bind = gw.running.gateway.config.binds[0].key;
    const labels = { bind, listener: 'bind0', route: 'api', backend_kind: 'host' };
    assert.equal(sample(parsed, 'portcullis_requests_total', { ...labels, method: 'GET', status_class: '2xx' }), 1);
    assert.equal(sample(parsed, 'portcullis_requests_total', { ...labels, method: 'POST', status_class: '2xx' }), 1);
    assert.equal(sample(parsed, 'portcullis_requests_total', { ...labels, method: 'GET', status_class: '4xx' }), 1);
    assert.equal(sample(parsed, 'portcullis_requests_total', { route: 'hello', backend_kind: 'direct', status_class: '2xx' }), 1);
    assert.equal(sample(parsed, 'portcullis_request_duration_seconds_count', { ...labels, method: 'GET', status_class: '2xx' }), 1);
    assert.equal(sample(parsed, 'portcullis_request_bytes_total', { route: 'api' }), 11);
    assert.equal(parsed.families.portcullis_requests?.type ?? parsed.families.portcullis_requests_total?.type, 'counter');
    assert.equal(parsed.families.portcullis_request_duration_seconds.type, 'histogram');
    assert.equal(sample(parsed, 'portcullis_upstream_attempts_total', { route: 'api', backend: up.host, status_class: '2xx' }), 2);
    assert.equal(sample(parsed, 'portcullis_policy_decisions_total', { route: 'api', policy: 'apiKey', phase: 'authentication', level: 'http', outcome: 'allow' }), 2);
    assert.equal(sample(parsed, 'portcullis_authentication_failures_total', { route: 'api', policy: 'apiKey', reason: 'PCL_ERR_UNAUTHENTICATED' }), 1);
    assert.equal(sample(parsed, 'portcullis_build_info', { version: '0.1.0', nodejs_version: process.version }), 1);
    assert.ok(sample(parsed, 'process_cpu_user_seconds_total') !== undefined, 'process metrics are exported');
    assert.equal(sample(parsed, 'portcullis_requests_in_flight'), 0);
  });

  it('folds values that do not come from the config: an unknown method is "other", a request without a route has no route label', async () => {
    assert.equal((await send(`${gw.url()}/api/x`, { method: 'PROPFIND', headers: { 'x-api-key': KEY } })).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await send(`${gw.url()}/nowhere-${i}`)).status, 404);
    const { parsed } = await scrape();
    assert.equal(sample(parsed, 'portcullis_requests_total', { route: 'api', method: 'other' }), 1);
    assert.equal(parsed.samples.filter((s) => s.name === 'portcullis_requests_total' && s.labels.method === 'PROPFIND').length, 0);
    const noRoute = parsed.samples.filter((s) => s.name === 'portcullis_requests_total' && !s.labels.route);
    assert.deepEqual(noRoute.map((s) => [s.labels.status_class, s.value]), [['4xx', 3]], 'three 404s share one series');
  });

  it('serves OpenMetrics when the scraper asks for it, as Prometheus does', async () => {
    const { parsed, type, body } = await scrape('application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1');
    assert.equal(type, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    assert.ok(body.endsWith('# EOF\n'));
    assert.equal(parsed.families.portcullis_requests.type, 'counter');
    assert.ok((sample(parsed, 'portcullis_requests_total', { route: 'api', method: 'GET', status_class: '2xx' }) ?? 0) >= 1);
    // The plain format again right after: the registry's format is per scrape.
    assert.equal((await scrape()).type, 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(wantsOpenMetrics('application/openmetrics-text;q=0, text/plain'), false);
    assert.equal(wantsOpenMetrics(undefined), false);
  });

  it('passes promtool check metrics', async () => {
    const { body } = await scrape();
    const r = promtoolCheck(body);
    assert.equal(r.output, '');
    assert.equal(r.status, 0);
  });

  it('counts reloads and the config generation; answers only /metrics', async () => {
    await gw.write(config(true));
    assert.equal((await gw.running.reload()).ok, true);
    const { parsed } = await scrape();
    assert.equal(sample(parsed, 'portcullis_reloads_total', { outcome: 'ok' }), 1);
    assert.equal(sample(parsed, 'portcullis_config_generation'), 2);
    assert.equal((await fetch(`${stats}/other`)).status, 404);
    assert.equal((await fetch(`${stats}/metrics`, { method: 'POST' })).status, 405);
  });
});

describe('stats, tracing, langfuse and audit settings', () => {
  it('reports bad values with their path', () => {
    assert.deepEqual(issues({ ...base, stats: { address: 'nope' } }), ['stats.address: expected "host:port", got "nope"']);
    assert.deepEqual(issues({ ...base, stats: { address: true } }), ['stats.address: expected string | false, got boolean']);
    assert.deepEqual(issues({ ...base, tracing: { samplerRatio: 2, endpoint: 'localhost:4318' } }), [
      'tracing.endpoint: expected an http(s) URL, got "localhost:4318"',
      'tracing.samplerRatio: must be <= 1, got 2',
    ]);
    assert.deepEqual(issues({ ...base, tracing: { resourceAttributes: { team: ['a'] } } }), ['tracing.resourceAttributes.team: expected string | number | boolean, got array']);
    assert.deepEqual(issues({ ...base, langfuse: { secretKey: { env: 'A', file: 'b' }, captureContent: 'all' } }), [
      'langfuse.secretKey: expected exactly one of secret, env, file, got env, file',
      'langfuse.captureContent: expected "full" | "redacted" | "none", got "all"',
    ]);
    assert.deepEqual(issues({ ...base, audit: { destination: 'stderr' } }), ['audit.destination: expected "stdout", got "stderr"']);
    assert.deepEqual(issues({ ...base, audit: { destination: { maxBytes: 10 } } }), ['audit.destination.file: is required (string)', 'audit.destination.maxBytes: must be >= 1024, got 10']);
  });

  it('resolves defaults, and the OTEL_* variables where the config is silent', () => {
    const c = resolveConfig({ ...base, tracing: {} } as GatewayConfig, '/base', builtinBackends);
    assert.deepEqual(c.telemetry.stats, { address: '127.0.0.1:15020' });
    assert.equal(c.telemetry.tracing?.samplerRatio, 1);
    assert.equal(c.telemetry.tracing?.protocol, 'http/protobuf');
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://collector:4318/';
    process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-team=a%20b,x-key=1';
    process.env.OTEL_SERVICE_NAME = 'edge';
    try {
      const t = resolveConfig({ ...base, tracing: { headers: { 'x-key': '2' } } } as GatewayConfig, '/base', builtinBackends).telemetry.tracing!;
      assert.equal(t.endpoint, 'http://collector:4318/v1/traces');
      assert.deepEqual(t.headers, { 'x-team': 'a b', 'x-key': '2' });
      assert.equal(t.serviceName, 'edge');
    } finally {
      delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      delete process.env.OTEL_EXPORTER_OTLP_HEADERS;
      delete process.env.OTEL_SERVICE_NAME;
    }
    const a = resolveConfig({ ...base, audit: { destination: { file: 'logs/audit.log' } } } as GatewayConfig, '/base', builtinBackends).telemetry.audit;
    assert.deepEqual(a, { file: '/base/logs/audit.log', maxBytes: 10485760, maxFiles: 5 });
  });

  it("maps agentgateway's config.statsAddr", () => {
    const out = fromAgentgateway({ config: { statsAddr: '0.0.0.0:15020', adminAddr: '127.0.0.1:15000' }, binds: [] }) as Record<string, unknown>;
    assert.deepEqual(out.stats, { address: '0.0.0.0:15020' });
    assert.equal(out.config, undefined);
  });

  it('a stats address already in use fails the start with its path', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      await assert.rejects(
        startTestGateway({ ...simpleConfig([{ policies: { directResponse: { status: 200 } } }]), stats: { address: `127.0.0.1:${port}` } }),
        // Checked before any data port opens, with the setting and the CLI flag that move it.
        (e: any) => e.code === 'PCL_ERR_BIND_FAILED' && e.message.startsWith(`stats.address 127.0.0.1:${port} is already in use`) && e.message.includes('--stats'),
      );
    } finally {
      blocker.close();
    }
  });

  it('stats off: no server, and no metrics subscriber', async () => {
    const gw = await startTestGateway(simpleConfig([{ policies: { directResponse: { status: 200 } } }]));
    try {
      assert.equal(gw.running.telemetry.statsPort, undefined);
      assert.equal(gw.running.telemetry.registry, undefined);
    } finally {
      await gw.close();
    }
  });
});

// The request and attempt series of the last labels are kept at hand: a change of any label, of the backend kinds
// (a reload) or of the series themselves must find the right series again.
describe('per-request series kept at hand', () => {
  it('count runs of equal labels, every change of a label, and a reload that changes a backend kind', async () => {
    const { createMetrics } = await import('../../core/telemetry/metrics.ts');
    const { requestChannel, upstreamChannel } = await import('../../core/telemetry/events.ts');
    const metrics = createMetrics({ gateway: 'series-test', version: '0' });
    const view = (kind: string) => ({ binds: [{ listeners: [{ name: 'l', routes: [{ name: 'r', backends: [{ kind }] }, { name: 'r2', backends: [{ kind }] }] }] }] });
    metrics.configure(view('host') as never, new Map());
    let n = 0;
    const request = (route: string, status: number, method = 'GET', bytesOut = 10) => {
      const e = { id: `id-${n++}`, gateway: 'series-test', bind: 'b', listener: 'l', route, method, status, durationMs: 1, bytesIn: 0, bytesOut } as Record<string, unknown>;
      requestChannel.start.publish(e as never);
      const u = { requestId: e.id, route, backend: 'up', attempt: 0, method, origin: 'http://up', path: '/' } as Record<string, unknown>;
      upstreamChannel.start.publish(u as never);
      u.status = status;
      upstreamChannel.asyncEnd.publish(u as never);
      requestChannel.end.publish(e as never);
    };
    try {
      for (let i = 0; i < 5; i++) request('r', 200);
      request('r', 201);
      request('r', 404);
      request('r2', 404);
      request('r', 200, 'POST', 0);
      request('r', 200);
      metrics.configure(view('mcp') as never, new Map());
      request('r', 200);
      request('r', 200);
      const values = async (name: string) => (await metrics.registry.getSingleMetric(name)!.get()).values.map((v) => [Object.values(v.labels).join(' '), v.value]).sort();
      assert.deepEqual(await values('portcullis_requests_total'), [
        ['b l r host GET 2xx', 7],
        ['b l r host GET 4xx', 1],
        ['b l r host POST 2xx', 1],
        ['b l r mcp GET 2xx', 2],
        ['b l r2 host GET 4xx', 1],
      ]);
      assert.deepEqual(await values('portcullis_response_bytes_total'), [
        ['l r', 100],
        ['l r2', 10],
      ]);
      assert.deepEqual(await values('portcullis_upstream_attempts_total'), [
        ['r up 2xx ', 10],
        ['r up 4xx ', 1],
        ['r2 up 4xx ', 1],
      ]);
    } finally {
      metrics.close();
    }
  });
});
