import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import diagnostics_channel from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import { CHANNELS, createLogger, requestChannel } from '../../core/telemetry/index.ts';
import type { GatewayConfig } from '../../sdk-types/index.ts';
import { echoUpstream, send, simpleConfig, startTestGateway, type TestGateway, type Upstream } from '../helpers/gateway.ts';

const TRACING = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const;
const TRACED = new Set<string>([CHANNELS.request, CHANNELS.upstream, CHANNELS.message]);

/** Every channel name the gateway publishes on: the plain ones, and each event of the tracing ones. */
function everyChannelName(): string[] {
  return Object.values(CHANNELS).flatMap((name) => (TRACED.has(name) ? TRACING.map((e) => `tracing:${name}:${e}`) : [name]));
}

interface Seen {
  channel: string;
  /** The payload object itself (tracing events share one object across start and end). */
  payload: Record<string, any>;
  /** A copy as it was when published. */
  snapshot: Record<string, any>;
}

describe('telemetry events through node:diagnostics_channel', () => {
  let gw: TestGateway;
  let up: Upstream;
  const seen: Seen[] = [];
  const listener = (message: unknown, name: string | symbol) => {
    seen.push({ channel: String(name), payload: message as Record<string, any>, snapshot: { ...(message as object) } });
  };
  const key = 'test-key-1';
  const config = (extraRoute = false): GatewayConfig =>
    simpleConfig([
      {
        name: 'api',
        matches: [{ path: { pathPrefix: '/api' } }],
        policies: { apiKey: { header: 'x-api-key', keys: [{ name: 'agent-7', sha256: createHash('sha256').update(key).digest('hex') }] } },
        backends: [{ host: up.host }],
      },
      ...(extraRoute ? [{ name: 'added', matches: [{ path: { pathPrefix: '/added' } }], policies: { directResponse: { status: 200, body: 'added' } } }] : []),
    ]);

  before(async () => {
    for (const name of everyChannelName()) diagnostics_channel.subscribe(name, listener);
    up = await echoUpstream();
    gw = await startTestGateway(config());
  });
  after(async () => {
    await gw.close();
    await up.close();
    for (const name of everyChannelName()) diagnostics_channel.unsubscribe(name, listener);
  });

  it('one request: start at arrival, end when the response is done, with what the access log needs', async () => {
    const from = seen.length;
    const res = await send(`${gw.url()}/api/items?x=1`, { method: 'POST', headers: { 'x-api-key': key, host: 'svc.test', 'x-request-id': 'req-42' }, body: 'twelve bytes' });
    assert.equal(res.status, 200);
    const until = Date.now() + 5000;
    while (!seen.slice(from).some((e) => e.channel === `tracing:${CHANNELS.request}:end`) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    const request = seen.slice(from).filter((e) => e.channel.startsWith(`tracing:${CHANNELS.request}:`));
    assert.deepEqual(request.map((e) => e.channel), [`tracing:${CHANNELS.request}:start`, `tracing:${CHANNELS.request}:end`]);
    const [start, end] = request;
    assert.equal(start.payload, end.payload, 'one object across the trace');
    assert.equal(typeof start.snapshot.startedAt, 'number');
    assert.deepEqual(
      { ...start.snapshot, startedAt: 0, gateway: typeof start.snapshot.gateway, headers: start.snapshot.headers?.['x-request-id'] },
      { id: 'req-42', method: 'POST', path: '/api/items', host: 'svc.test', clientAddress: '127.0.0.1', scheme: 'http', bind: gw.running.gateway.config.binds[0].key, startedAt: 0, gateway: 'string', headers: 'req-42' },
    );
    const e = end.snapshot;
    assert.equal(e.listener, 'bind0');
    assert.equal(e.route, 'api');
    assert.equal(e.backend, up.host);
    assert.equal(e.subject, 'agent-7');
    assert.equal(e.status, 200);
    assert.equal(e.errorCode, undefined);
    assert.equal(e.bytesIn, 12);
    assert.equal(e.bytesOut, Buffer.byteLength(res.text));
    assert.ok(e.durationMs >= 0 && e.durationMs < 5000, String(e.durationMs));
    const line = await gw.logs.waitFor((l) => l.type === 'access' && l.path === '/api/items');
    assert.deepEqual(
      { ...line, durationMs: 0, time: 0, pid: 0 },
      { level: 'info', time: 0, pid: 0, type: 'access', listener: 'bind0', route: 'api', backend: up.host, method: 'POST', path: '/api/items', status: 200, durationMs: 0, bytesIn: 12, bytesOut: e.bytesOut, client: '127.0.0.1', request_id: e.id, 'enduser.id': 'agent-7', msg: 'request' },
    );
  });

  it('a refused request ends with its status and error code', async () => {
    const from = seen.length;
    assert.equal((await send(`${gw.url()}/api/x`)).status, 401);
    assert.equal((await send(`${gw.url()}/nowhere`)).status, 404);
    const until = Date.now() + 5000;
    const ends = () => seen.slice(from).filter((e) => e.channel === `tracing:${CHANNELS.request}:end`);
    while (ends().length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(
      ends().map((x) => [x.snapshot.route, x.snapshot.status, x.snapshot.errorCode, x.snapshot.backend]),
      [
        ['api', 401, 'PCL_ERR_UNAUTHENTICATED', undefined],
        [undefined, 404, 'PCL_ERR_NO_ROUTE', undefined],
      ],
    );
  });

  it('a reload that succeeds and one that fails publish portcullis:reload', async () => {
    const from = seen.length;
    await gw.write(config(true));
    assert.deepEqual(await gw.running.reload([gw.file]), { ok: true });
    assert.equal((await send(`${gw.url()}/added`)).text, 'added');
    await gw.write('export default { binds: [{ port: "not a port" }] };\n');
    const failed = await gw.running.reload([gw.file]);
    assert.equal(failed.ok, false);
    const reloads = seen.slice(from).filter((e) => e.channel === CHANNELS.reload).map((e) => e.snapshot);
    assert.equal(reloads.length, 2);
    assert.equal(reloads[0].ok, true);
    assert.deepEqual(reloads[0].files, [gw.file]);
    assert.ok(reloads[0].durationMs >= 0);
    assert.equal(reloads[0].errorCode, undefined);
    assert.equal(reloads[1].ok, false);
    assert.equal(reloads[1].errorCode, 'PCL_ERR_CONFIG_INVALID');
    assert.equal(reloads[1].message, failed.error!.message);
    assert.match(reloads[1].message, /binds\[0\]\.port/);
    assert.deepEqual(reloads[1].files, [gw.file]);
    // Still serving the config that loaded.
    assert.equal((await send(`${gw.url()}/added`)).text, 'added');
  });

  it('the access log unsubscribes when its gateway closes; another gateway does not log the first one\'s requests', async () => {
    const other = await startTestGateway(simpleConfig([{ name: 'other', policies: { directResponse: { status: 200, body: 'other' } } }]));
    try {
      await send(`${gw.url()}/added`);
      await send(other.url());
      await gw.logs.waitFor((l) => l.type === 'access' && l.route === 'added');
      await other.logs.waitFor((l) => l.type === 'access' && l.route === 'other');
      assert.equal(gw.logs.find((l) => l.type === 'access' && l.route === 'other'), undefined);
      assert.equal(other.logs.find((l) => l.type === 'access' && l.route === 'added'), undefined);
    } finally {
      await other.close();
    }
    for (const name of everyChannelName()) diagnostics_channel.unsubscribe(name, listener);
    await gw.close();
    assert.equal(requestChannel.hasSubscribers, false, 'nothing listens once every gateway closed');
    for (const name of everyChannelName()) diagnostics_channel.subscribe(name, listener);
  });
});

describe('request events cost nothing without a subscriber', () => {
  it('an exchange builds its event only while someone subscribes', async () => {
    const { buildTestRuntime } = await import('../helpers/runtime.ts');
    const { Exchange } = await import('../../core/server/exchange.ts');
    // No access log and no metrics: nothing of the gateway's own subscribes.
    const t = await buildTestRuntime(simpleConfig([{ name: 'r', policies: { directResponse: { status: 200, body: 'ok' } } }], { logging: { accessLog: false }, stats: { address: false } }));
    try {
      const head = { method: 'GET', url: '/x', headers: { host: 'h' }, clientAddress: '127.0.0.1', scheme: 'http' as const, bind: t.runtime.config.binds[0].key };
      const env = { logger: createLogger({ level: 'silent' }), current: () => t.runtime, draining: () => false };
      assert.equal(requestChannel.hasSubscribers, false);
      const quiet = new Exchange(env, head);
      assert.equal(quiet.event, undefined);
      quiet.finish({ status: 200, bytesOut: 0 });
      const ends: unknown[] = [];
      const onEnd = (m: unknown) => ends.push(m);
      requestChannel.end.subscribe(onEnd);
      try {
        const observed = new Exchange(env, head);
        assert.equal(observed.event?.route, 'r');
        observed.finish({ status: 200, bytesOut: 2 });
        observed.finish({ status: 200, bytesOut: 2 });
        assert.deepEqual(ends, [observed.event], 'one end per request, whatever the adapter calls');
      } finally {
        requestChannel.end.unsubscribe(onEnd);
      }
      assert.equal(t.runtime.inflight, 0);
    } finally {
      await t.close();
    }
  });

  it('a reload that turns logging.accessLog off stops the access log', async () => {
    const up = await echoUpstream();
    const gw = await startTestGateway(simpleConfig([{ name: 'r', backends: [{ host: up.host }] }]));
    try {
      await send(`${gw.url()}/before`);
      await gw.logs.waitFor((l) => l.type === 'access' && l.path === '/before');
      await gw.write(simpleConfig([{ name: 'r', backends: [{ host: up.host }] }], { logging: { accessLog: false } }));
      assert.deepEqual(await gw.running.reload(), { ok: true });
      assert.equal(requestChannel.hasSubscribers, false);
      assert.equal((await send(`${gw.url()}/after`)).status, 200);
      await send(`${gw.url()}/after-2`);
      assert.equal(gw.logs.find((l) => l.type === 'access' && String(l.path).startsWith('/after')), undefined);
    } finally {
      await gw.close();
      await up.close();
    }
  });
});
