import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../core/config/index.ts';
import { RATE_LIMIT_CLOCK } from '../../policies/rate-limit/engine/index.ts';
import { buildRuntime, type Runtime } from '../../core/server/index.ts';
import { GLOBAL_SCOPE, StateStore } from '../../core/state/index.ts';
import { createLogger } from '../../core/telemetry/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import type { GatewayConfig, Policies } from '../../sdk-types/index.ts';
import { configSource, eventually, LogCapture, simpleConfig, startTestGateway, startUpstream, type Upstream } from '../helpers/gateway.ts';
import { buildTestRuntime } from '../helpers/runtime.ts';

const ok = { directResponse: { status: 200, body: 'ok' } } satisfies Policies;
const route = (rateLimit: Policies['rateLimit'], extra: Policies = {}) => simpleConfig([{ name: 'api', policies: { ...ok, ...extra, rateLimit } }]);

/** Statuses of `n` requests, one after the other. */
async function statuses(fetcher: () => Promise<Response>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetcher();
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}

/** A runtime over a given StateStore, as a reload builds one: the same state, a new runtime. */
async function runtimeWith(config: GatewayConfig, state: StateStore): Promise<{ runtime: Runtime; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'pcl-rl-'));
  const file = join(dir, 'gateway.config.ts');
  await writeFile(file, configSource({ admin: { address: false }, readiness: { address: false }, stats: { address: false }, ...config }));
  const loaded = await loadConfig(file, builtinPolicies, builtinBackends);
  const runtime = await buildRuntime(loaded.config, builtinPolicies, builtinBackends, createLogger({ level: 'silent', destination: new LogCapture().stream }), state);
  return {
    runtime,
    async close() {
      await runtime.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe('rateLimit on HTTP requests', () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
  });

  it('answers 429 with Retry-After, the IETF RateLimit headers and a stable error code', async () => {
    const t = await buildTestRuntime(route({ limits: [{ name: 'per-minute', rate: { limit: 2, windowMs: 60_000 } }] }));
    closers.push(() => t.close());
    const first = await t.fetch('/');
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('ratelimit-policy'), '"per-minute";q=2;w=60');
    assert.equal(first.headers.get('ratelimit'), '"per-minute";r=1;t=30');
    await first.arrayBuffer();
    const second = await t.fetch('/');
    assert.equal(second.headers.get('ratelimit'), '"per-minute";r=0;t=60');
    await second.arrayBuffer();
    const refused = await t.fetch('/');
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '30');
    assert.equal(refused.headers.get('ratelimit'), '"per-minute";r=0;t=60');
    assert.equal(refused.headers.get('ratelimit-policy'), '"per-minute";q=2;w=60');
    assert.deepEqual(await refused.json(), { error: { code: 'PCL_ERR_RATE_LIMITED', message: 'rate limit "per-minute" reached: retry in 30 s' } });
  });

  it('sends no RateLimit headers when they are turned off (Retry-After stays)', async () => {
    const t = await buildTestRuntime(route({ headers: false, limits: [{ rate: { limit: 1, windowMs: 3_600_000 } }] }));
    closers.push(() => t.close());
    const first = await t.fetch('/');
    assert.equal(first.headers.get('ratelimit'), null);
    assert.equal(first.headers.get('ratelimit-policy'), null);
    await first.arrayBuffer();
    const refused = await t.fetch('/');
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '3600');
    assert.equal(refused.headers.get('ratelimit'), null);
    await refused.arrayBuffer();
  });

  it('keys by identity: each API-key agent has its own bucket', async () => {
    const t = await buildTestRuntime(
      route(
        { limits: [{ key: ['subject'], rate: { limit: 2, windowMs: 3_600_000 } }, { name: 'by-key-name', key: ['apiKey'], rate: { limit: 100, windowMs: 1000 } }] },
        { apiKey: { keys: [{ name: 'agent-a', sha256: sha('key-a') }, { name: 'agent-b', sha256: sha('key-b') }] } },
      ),
    );
    closers.push(() => t.close());
    const as = (key: string) => () => t.fetch('/', { headers: { authorization: `Bearer ${key}` } });
    assert.deepEqual(await statuses(as('key-a'), 3), [200, 200, 429]);
    assert.deepEqual(await statuses(as('key-b'), 3), [200, 200, 429], 'agent-b is not limited by agent-a');
  });

  it('keys by client address: X-Forwarded-For is ignored unless the peer is a trusted proxy', async () => {
    const plain = await buildTestRuntime(route({ limits: [{ key: ['clientAddress'], rate: { limit: 1, windowMs: 3_600_000 } }] }));
    closers.push(() => plain.close());
    const from = (t: typeof plain, peer: string, xff?: string) => () => t.fetch('/', { headers: xff ? { 'x-forwarded-for': xff } : {} }, { clientAddress: peer });
    assert.deepEqual(await statuses(from(plain, '10.0.0.1', '203.0.113.1'), 1), [200]);
    assert.deepEqual(await statuses(from(plain, '10.0.0.1', '203.0.113.2'), 1), [429], 'a forged X-Forwarded-For does not buy a new bucket');
    assert.deepEqual(await statuses(from(plain, '10.0.0.2'), 1), [200], 'another peer, another bucket');

    const proxied = await buildTestRuntime(route({ trustedProxies: ['10.0.0.0/8'], limits: [{ key: ['clientAddress'], rate: { limit: 1, windowMs: 3_600_000 } }] }));
    closers.push(() => proxied.close());
    assert.deepEqual(await statuses(from(proxied, '10.0.0.1', '203.0.113.1'), 2), [200, 429]);
    assert.deepEqual(await statuses(from(proxied, '10.0.0.9', '203.0.113.2'), 1), [200], 'behind the trusted proxy, each client has its bucket');
    assert.deepEqual(await statuses(from(proxied, '10.0.0.1', '203.0.113.2, 10.0.0.5'), 1), [429], 'trusted hops on the right are skipped');
    assert.deepEqual(await statuses(from(proxied, '198.51.100.7', '203.0.113.3'), 2), [200, 429], 'an untrusted peer is the client itself');
  });

  it('keys by header, and several limits all apply', async () => {
    const t = await buildTestRuntime(
      route({
        limits: [
          { name: 'tenant', key: [{ header: 'x-tenant' }], rate: { limit: 2, windowMs: 3_600_000 } },
          { name: 'everyone', rate: { limit: 5, windowMs: 3_600_000 } },
        ],
      }),
    );
    closers.push(() => t.close());
    const tenant = (name?: string) => () => t.fetch('/', { headers: name ? { 'x-tenant': name } : {} });
    assert.deepEqual(await statuses(tenant('acme'), 3), [200, 200, 429]);
    const res = await t.fetch('/', { headers: { 'x-tenant': 'globex' } });
    assert.equal(res.headers.get('ratelimit'), '"tenant";r=1;t=1800, "everyone";r=2;t=2160');
    assert.equal(res.headers.get('ratelimit-policy'), '"tenant";q=2;w=3600, "everyone";q=5;w=3600');
    await res.arrayBuffer();
    assert.deepEqual(await statuses(tenant(), 3), [200, 200, 429], 'requests without the header share one bucket of their own');
    const refused = await t.fetch('/', { headers: { 'x-tenant': 'initech' } });
    assert.equal(refused.status, 429);
    assert.match(((await refused.json()) as { error: { message: string } }).error.message, /"everyone"/);
  });

  it('rolls a daily quota over at midnight in its time zone (injected clock)', async () => {
    const state = new StateStore();
    let now = Date.UTC(2026, 5, 1, 21, 59, 0); // 23:59 in Paris (UTC+2)
    state.set(RATE_LIMIT_CLOCK, GLOBAL_SCOPE, () => now);
    const { runtime, close } = await runtimeWith(route({ limits: [{ name: 'daily', quota: { limit: 2, period: 'day', timeZone: 'Europe/Paris' } }] }), state);
    closers.push(close);
    const get = () => runtime.handle(new Request('http://localhost/'));
    assert.deepEqual(await statuses(get, 2), [200, 200]);
    const refused = await get();
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '60');
    assert.equal(refused.headers.get('ratelimit-policy'), '"daily";q=2;w=86400');
    await refused.arrayBuffer();
    now += 60_000; // midnight in Paris
    assert.deepEqual(await statuses(get, 3), [200, 200, 429]);
  });

  it('keeps the counters of an unchanged limit across a reload, and starts a changed one afresh', async () => {
    const state = new StateStore();
    const config = (limit: number, extraRoute = false) =>
      simpleConfig([
        { name: 'api', policies: { ...ok, rateLimit: { limits: [{ name: 'hourly', rate: { limit, windowMs: 3_600_000 } }] } } },
        ...(extraRoute ? [{ name: 'other', matches: [{ path: { pathPrefix: '/other' } }], policies: ok }] : []),
      ]);
    const first = await runtimeWith(config(3), state);
    const get = (r: Runtime) => () => r.handle(new Request('http://localhost/'));
    assert.deepEqual(await statuses(get(first.runtime), 2), [200, 200]);
    const second = await runtimeWith(config(3, true), state);
    await first.close();
    assert.deepEqual(await statuses(get(second.runtime), 2), [200, 429], 'the reload kept the two requests already counted');
    const third = await runtimeWith(config(4, true), state);
    await second.close();
    closers.push(third.close);
    assert.deepEqual(await statuses(get(third.runtime), 5), [200, 200, 200, 200, 429], 'a changed limit is a new limit');
  });
});

describe('rateLimit on a real gateway', () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
  });

  it('keeps counters across a hot reload of the config file', async () => {
    const policies = { ...ok, rateLimit: { limits: [{ name: 'hourly', rate: { limit: 3, windowMs: 3_600_000 } }] } } satisfies Policies;
    const api = { name: 'api', matches: [{ path: { exact: '/' } }], policies };
    const gw = await startTestGateway(simpleConfig([api]), { watch: true });
    closers.push(() => gw.close());
    const get = () => fetch(`${gw.url()}/`);
    assert.deepEqual(await statuses(get, 2), [200, 200]);
    await gw.write(simpleConfig([api, { name: 'new', matches: [{ path: { exact: '/new' } }], policies: ok }]));
    await eventually(async () => (await statuses(() => fetch(`${gw.url()}/new`), 1))[0] === 200);
    assert.deepEqual(await statuses(get, 2), [200, 429]);
  });

  it('frees a concurrency slot when the client disconnects mid-request', async () => {
    const held: Array<() => void> = [];
    const upstream: Upstream = await startUpstream((req, res) => {
      if (req.url === '/slow') held.push(() => res.end('late'));
      else res.end('fast');
    });
    closers.push(() => upstream.close());
    const gw = await startTestGateway(
      simpleConfig([{ name: 'api', policies: { rateLimit: { limits: [{ name: 'in-flight', key: [{ header: 'x-agent' }], concurrency: { limit: 1 } }] } }, backends: [{ host: upstream.host }] }]),
    );
    closers.push(() => gw.close());
    const agent = { 'x-agent': 'a' };
    const abort = new AbortController();
    const slow = fetch(`${gw.url()}/slow`, { headers: agent, signal: abort.signal }).catch((err: Error) => err);
    await eventually(async () => held.length === 1);
    const busy = await fetch(`${gw.url()}/fast`, { headers: agent });
    assert.equal(busy.status, 429);
    assert.equal(busy.headers.get('retry-after'), '1');
    assert.equal(((await busy.json()) as { error: { message: string } }).error.message, 'concurrency limit "in-flight" reached: retry in 1 s');
    const other = await fetch(`${gw.url()}/fast`, { headers: { 'x-agent': 'b' } });
    assert.equal(other.status, 200, 'another key has its own slot');
    await other.arrayBuffer();
    abort.abort();
    assert.ok((await slow) instanceof Error);
    await eventually(async () => {
      const res = await fetch(`${gw.url()}/fast`, { headers: agent });
      await res.arrayBuffer();
      return res.status === 200;
    });
    for (const release of held) release();
  });

  it('holds a concurrency slot while a streamed response body is still being sent', async () => {
    let finish: (() => void) | undefined;
    const upstream = await startUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk\n');
      if (req.url === '/stream') finish = () => res.end('done');
      else res.end();
    });
    closers.push(() => upstream.close());
    const gw = await startTestGateway(simpleConfig([{ name: 'api', policies: { rateLimit: { limits: [{ concurrency: { limit: 1 } }] } }, backends: [{ host: upstream.host }] }]));
    closers.push(() => gw.close());
    const streaming = await fetch(`${gw.url()}/stream`);
    assert.equal(streaming.status, 200);
    const reader = streaming.body!.getReader();
    await reader.read();
    const busy = await fetch(`${gw.url()}/x`);
    assert.equal(busy.status, 429, 'the stream still holds the slot');
    await busy.arrayBuffer();
    finish!();
    while (!(await reader.read()).done);
    await eventually(async () => {
      const res = await fetch(`${gw.url()}/x`);
      await res.arrayBuffer();
      return res.status === 200;
    });
  });
});

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
