import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../core/config/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import { configSource, echoUpstream, send, simpleConfig, startTestGateway, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { portBelowEphemeralRange } from '../helpers/held-ports.ts';
import { startRateLimitService, type RateLimitService } from '../helpers/ratelimit-service.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startScriptedService, type ScriptedService } from '../fixtures/remote-rate-limit/scripted-service.ts';
import * as grpc from '@grpc/grpc-js';

/**
 * Envoy's rate-limit service config: 3 requests a day per tenant, 2 a day for the tenant "small". The service counts
 * in fixed windows: a day (not a minute) keeps a window boundary from falling inside the test.
 */
const RLS_CONFIG = `domain: portcullis
descriptors:
  - key: tenant
    rate_limit:
      unit: day
      requests_per_unit: 3
  - key: tenant
    value: small
    rate_limit:
      unit: day
      requests_per_unit: 2
`;

describe("remoteRateLimit against Envoy's rate-limit service (envoyproxy/ratelimit on a real Redis)", () => {
  let redis: TestRedis;
  let rls: RateLimitService;
  let app: Upstream;
  let gw: TestGateway;
  before(async () => {
    redis = await startRedis();
    rls = await startRateLimitService(RLS_CONFIG, redis.port, { responseHeaders: true });
    app = await echoUpstream('app');
    gw = await startTestGateway(
      simpleConfig([
        {
          policies: {
            remoteRateLimit: {
              domain: 'portcullis',
              host: rls.host,
              // A request without x-tenant fails this expression: the descriptor is left out, the service not asked.
              descriptors: [{ entries: [{ key: 'tenant', value: 'request.headers["x-tenant"]' }] }],
            },
          },
          backends: [{ host: app.host }],
        },
      ]),
    );
  });
  after(async () => {
    await gw?.close();
    await app?.close();
    await rls?.stop();
    await redis?.stop();
  });

  it('under the limit: each request reaches the backend, with the limit and what remains of it', async () => {
    for (const remaining of ['2', '1', '0']) {
      const res = await send(`${gw.url()}/work`, { headers: { 'x-tenant': 'acme' } });
      assert.equal(res.status, 200);
      assert.equal(res.json().upstream, 'app');
      assert.equal(res.headers['x-ratelimit-limit'], '3');
      assert.equal(res.headers['x-ratelimit-remaining'], remaining);
      assert.ok(Number(res.headers['x-ratelimit-reset']) > 0 && Number(res.headers['x-ratelimit-reset']) <= 86_400, String(res.headers['x-ratelimit-reset']));
      // The service's own headers (LIMIT_RESPONSE_HEADERS_ENABLED) are passed on as it sent them.
      assert.equal(res.headers['ratelimit-limit'], '3');
      assert.equal(res.headers['ratelimit-remaining'], remaining);
    }
  });

  it('over it: 429 with the service\'s headers and PCL_ERR_RATE_LIMITED; the backend never sees the request', async () => {
    const before = app.seen.length;
    const res = await send(`${gw.url()}/work`, { headers: { 'x-tenant': 'acme' } });
    assert.equal(res.status, 429);
    assert.equal(res.headers['x-ratelimit-limit'], '3');
    assert.equal(res.headers['x-ratelimit-remaining'], '0');
    assert.equal(res.headers['ratelimit-limit'], '3');
    assert.equal(res.headers['ratelimit-remaining'], '0');
    assert.ok(Number(res.headers['x-ratelimit-reset']) > 0);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(res.json(), { error: { code: 'PCL_ERR_RATE_LIMITED', message: `rate limit of domain "portcullis" reached (decided by ${rls.host})` } });
    assert.equal(app.seen.length, before);
    assert.match(rls.log, /OVER_LIMIT/);
  });

  it('descriptor CEL: each tenant is counted on its own, with the limit the service has for its value', async () => {
    assert.equal((await send(`${gw.url()}/work`, { headers: { 'x-tenant': 'globex' } })).status, 200);
    const small = [];
    for (let i = 0; i < 3; i++) small.push((await send(`${gw.url()}/work`, { headers: { 'x-tenant': 'small' } })).status);
    assert.deepEqual(small, [200, 200, 429]);
  });

  it('a descriptor whose expression fails is left out: with none left the service is not asked and the request passes', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await send(`${gw.url()}/work`);
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-ratelimit-limit'], undefined);
    }
    assert.ok(gw.logs.find((l) => l.msg === 'remoteRateLimit descriptor left out: its expression failed' && l.key === 'tenant'));
  });
});

describe('remoteRateLimit: a service that is down or hangs', () => {
  let app: Upstream;
  let hanging: Server;
  const sockets = new Set<Socket>();
  let hangingHost: string;
  let deadHost: string;
  let gw: TestGateway;
  before(async () => {
    app = await echoUpstream('app');
    // Accepts connections and never answers a byte: the gRPC handshake cannot complete.
    hanging = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
    hangingHost = `127.0.0.1:${(hanging.address() as { port: number }).port}`;
    deadHost = `127.0.0.1:${await portBelowEphemeralRange()}`;
    const route = (prefix: string, host: string, extra: Record<string, unknown>) => ({
      matches: [{ path: { pathPrefix: prefix } }],
      policies: { remoteRateLimit: { domain: 'd', host, descriptors: [{ entries: [{ key: 'path', value: 'request.path' }] }], ...extra } },
      backends: [{ host: app.host }],
    });
    gw = await startTestGateway(
      simpleConfig([
        route('/dead-closed', deadHost, {}),
        route('/dead-open', deadHost, { failureMode: 'failOpen' }),
        route('/hang-closed', hangingHost, { timeoutMs: 300 }),
        route('/hang-open', hangingHost, { timeoutMs: 300, failureMode: 'failOpen' }),
      ] as never),
    );
  });
  after(async () => {
    await gw?.close();
    await app?.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => hanging?.close(r));
  });

  it('down, failClosed (the default): 500 PCL_ERR_REMOTE_RATE_LIMIT_FAILED, logged', async () => {
    const res = await send(`${gw.url()}/dead-closed`);
    assert.equal(res.status, 500);
    assert.equal(res.json().error.code, 'PCL_ERR_REMOTE_RATE_LIMIT_FAILED');
    assert.match(res.json().error.message, new RegExp(`^the rate-limit service ${deadHost} could not decide: unreachable \\(.+\\); the policy fails closed \\(set failureMode: failOpen to let requests through\\)$`));
    const line = await gw.logs.waitFor((l) => l.msg === 'rate-limit service failed: request denied (failureMode: failClosed)');
    assert.equal(line.service, deadHost);
    assert.equal(line.level, 'warn');
  });

  it('down, failOpen: the request goes through, logged', async () => {
    const res = await send(`${gw.url()}/dead-open`);
    assert.equal(res.status, 200);
    assert.equal(res.json().upstream, 'app');
    assert.ok(await gw.logs.waitFor((l) => l.msg === 'rate-limit service failed: request allowed (failureMode: failOpen)' && l.service === deadHost));
  });

  it('hanging, failClosed: 500 after timeoutMs, not later', async () => {
    const started = performance.now();
    const res = await send(`${gw.url()}/hang-closed`);
    const took = performance.now() - started;
    assert.equal(res.status, 500);
    assert.equal(res.json().error.code, 'PCL_ERR_REMOTE_RATE_LIMIT_FAILED');
    assert.match(res.json().error.message, /could not decide: no answer within 300 ms;/);
    assert.ok(took >= 250 && took < 3000, `took ${took} ms`);
  });

  it('hanging, failOpen: the request goes through after timeoutMs', async () => {
    const res = await send(`${gw.url()}/hang-open`);
    assert.equal(res.status, 200);
    assert.equal(res.json().upstream, 'app');
  });
});

describe('remoteRateLimit: bad config', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcl-rrl-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const errorsOf = async (file: string) => {
    const err = await loadConfig(file, builtinPolicies, builtinBackends).then(() => undefined, (e: Error & { code?: string }) => e);
    assert.equal(err?.code, 'PCL_ERR_CONFIG_INVALID');
    return err!.message.split('\n').slice(1);
  };
  const p = 'binds[0].listeners[0].routes[0].policies.remoteRateLimit';

  it('gateway.config.ts: every mistake with its path', async () => {
    const ts = join(dir, 'gateway.config.ts');
    const policy = {
      domain: '',
      host: 'no-port',
      failureMode: 'open',
      timeoutMs: 0,
      descriptors: [{ entries: [{ key: 'a', value: 'request.nope(' }, { key: 'b', value: '[request.path]' }, { key: '', value: '"x"' }] }, { entries: [] }],
    };
    await writeFile(ts, configSource(simpleConfig([{ policies: { remoteRateLimit: policy }, backends: [{ host: '127.0.0.1:1' }] }] as never)));
    assert.deepEqual(await errorsOf(ts), [
      `${p}.domain: must not be empty`,
      `${p}.host: expected "host:port", got "no-port"`,
      `${p}.descriptors[0].entries[0].value: invalid CEL expression "request.nope(": Unexpected token: EOF (column 14)`,
      `${p}.descriptors[0].entries[1].value: invalid CEL expression "[request.path]": the expression must be of type string or int or uint or double or bool, it is of type list`,
      `${p}.descriptors[0].entries[2].key: must not be empty`,
      `${p}.descriptors[1].entries: expected at least 1 item(s), got 0`,
      `${p}.failureMode: expected "failOpen" | "failClosed", got "open"`,
      `${p}.timeoutMs: must be >= 1, got 0`,
    ]);
    await writeFile(ts, configSource(simpleConfig([{ policies: { remoteRateLimit: { host: 'rls:8081' } }, backends: [{ host: '127.0.0.1:1' }] }] as never)));
    assert.deepEqual(await errorsOf(ts), [`${p}.domain: is required (string)`, `${p}.descriptors: is required (array of object)`]);
  });

  it("agentgateway YAML: PascalCase failure modes are read; token descriptors, cost and limitOverride are named as not supported", async () => {
    const yaml = join(dir, 'config.yaml');
    const config = (policy: string) =>
      `binds:\n- port: 3000\n  listeners:\n  - routes:\n    - policies:\n        remoteRateLimit:\n${policy.replace(/^/gm, '          ')}\n      backends:\n      - host: 127.0.0.1:1\n`;
    await writeFile(yaml, config('domain: d\nhost: 127.0.0.1:8081\nfailureMode: FailOpen\ndescriptors:\n- entries:\n  - key: m\n    value: request.method\n  type: requests'));
    const loaded = await loadConfig(yaml, builtinPolicies, builtinBackends);
    assert.equal((loaded.config.binds[0].listeners[0].routes[0].policies as Record<string, any>).remoteRateLimit.failureMode, 'failOpen');
    await writeFile(yaml, config('domain: d\nhost: 127.0.0.1:8081\ndescriptors:\n- entries:\n  - key: m\n    value: request.method\n  type: tokens\n  cost: "1"\n  limitOverride: "{}"'));
    assert.deepEqual(await errorsOf(yaml), [
      `${p}.descriptors[0].type: agentgateway feature \`remoteRateLimit descriptors of type tokens\` is not supported by Portcullis (LLM traffic is not handled; use type: requests)`,
      `${p}.descriptors[0].cost: agentgateway feature \`remoteRateLimit cost\` is not supported by Portcullis (each request counts 1 against the limits of the service's own config)`,
      `${p}.descriptors[0].limitOverride: agentgateway feature \`remoteRateLimit limitOverride\` is not supported by Portcullis (each request counts 1 against the limits of the service's own config)`,
    ]);
  });
});

describe('remoteRateLimit: what the service may answer besides OK and OVER_LIMIT (a scripted grpc-js service)', () => {
  let svc: ScriptedService;
  let app: Upstream;
  let gw: TestGateway;
  before(async () => {
    svc = await startScriptedService();
    app = await echoUpstream('app');
    const route = (prefix: string, extra: Record<string, unknown>) => ({
      matches: [{ path: { pathPrefix: prefix } }],
      policies: {
        remoteRateLimit: {
          domain: 'scripted',
          host: svc.host,
          descriptors: [
            { entries: [{ key: 'path', value: 'request.path' }, { key: 'big', value: 'size(request.path) > 3' }, { key: 'n', value: 'size(request.path) * 2' }] },
            { entries: [{ key: 'never', value: 'request.headers["absent"]' }] },
          ],
          ...extra,
        },
      },
      backends: [{ host: app.host }],
    });
    gw = await startTestGateway(simpleConfig([route('/open', { failureMode: 'failOpen' }), route('/', {})] as never));
  });
  after(async () => {
    await gw?.close();
    await app?.close();
    await svc?.close();
  });

  it('the domain and the descriptors as sent: numbers and booleans as text, a failed descriptor left out', async () => {
    svc.answer = { overallCode: 1 };
    assert.equal((await send(`${gw.url()}/abcd`)).status, 200);
    assert.deepEqual(svc.seen.at(-1), {
      domain: 'scripted',
      hitsAddend: 0,
      descriptors: [{ entries: [{ key: 'path', value: '/abcd' }, { key: 'big', value: 'true' }, { key: 'n', value: '10' }], limit: null, hitsAddend: null }],
    });
  });

  it('OK: request headers reach the upstream, response headers the client; headers a service may not set are dropped', async () => {
    svc.answer = {
      overallCode: 1,
      requestHeadersToAdd: [
        { key: 'x-rl-tier', value: 'gold', rawValue: Buffer.alloc(0) },
        { key: 'x-raw', value: '', rawValue: Buffer.from('bytes') },
        { key: 'host', value: 'evil.example', rawValue: Buffer.alloc(0) },
        { key: 'bad name', value: 'x', rawValue: Buffer.alloc(0) },
      ],
      responseHeadersToAdd: [
        { key: 'x-rl-note', value: 'fine', rawValue: Buffer.alloc(0) },
        { key: 'x-split', value: 'a\r\nset-cookie: x=1', rawValue: Buffer.alloc(0) },
        { key: 'content-length', value: '1', rawValue: Buffer.alloc(0) },
      ],
    };
    const res = await send(`${gw.url()}/x`);
    assert.equal(res.status, 200);
    const seen = res.json().headers as Record<string, string>;
    assert.equal(seen['x-rl-tier'], 'gold');
    assert.equal(seen['x-raw'], 'bytes');
    assert.notEqual(seen.host, 'evil.example');
    assert.equal(res.headers['x-rl-note'], 'fine');
    assert.equal(res.headers['x-split'], undefined);
    assert.equal(res.headers['set-cookie'], undefined);
    assert.equal(res.headers['x-ratelimit-limit'], undefined, 'no statuses, no x-ratelimit headers');
  });

  it("OVER_LIMIT with a raw body: 429 with the service's body and headers", async () => {
    svc.answer = {
      overallCode: 2,
      rawBody: Buffer.from('slow down'),
      responseHeadersToAdd: [{ key: 'content-type', value: 'text/plain', rawValue: Buffer.alloc(0) }, { key: 'retry-after', value: '7', rawValue: Buffer.alloc(0) }],
      statuses: [
        { code: 1, currentLimit: { name: '', requestsPerUnit: 100, unit: 2 }, limitRemaining: 50, durationUntilReset: { seconds: 30, nanos: 0 } },
        { code: 2, currentLimit: { name: '', requestsPerUnit: 4, unit: 1 }, limitRemaining: 0, durationUntilReset: { seconds: 1, nanos: 0 } },
      ],
    };
    const before = app.seen.length;
    const res = await send(`${gw.url()}/x`);
    assert.equal(res.status, 429);
    assert.equal(res.text, 'slow down');
    assert.equal(res.headers['content-type'], 'text/plain');
    assert.equal(res.headers['retry-after'], '7');
    // The tightest limit: the one with the fewest requests left.
    assert.equal(res.headers['x-ratelimit-limit'], '4');
    assert.equal(res.headers['x-ratelimit-remaining'], '0');
    assert.equal(res.headers['x-ratelimit-reset'], '1');
    assert.equal(app.seen.length, before);
  });

  it('a gRPC error from the service is a failure: 500 when failing closed, through when failing open', async () => {
    svc.answer = { error: grpc.status.INTERNAL, details: 'redis is gone' };
    const closed = await send(`${gw.url()}/x`);
    assert.equal(closed.status, 500);
    assert.equal(closed.json().error.message, `the rate-limit service ${svc.host} could not decide: gRPC INTERNAL: redis is gone; the policy fails closed (set failureMode: failOpen to let requests through)`);
    assert.equal((await send(`${gw.url()}/open`)).status, 200);
  });
});
