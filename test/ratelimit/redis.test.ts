import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { rateLimitChannel, type RateLimitEvent } from '../../core/telemetry/events.ts';
import type { Policies } from '../../sdk-types/index.ts';
import { configSource, eventually, simpleConfig, startTestGateway } from '../helpers/gateway.ts';
import { withHeldPortRetry } from '../helpers/held-ports.ts';
import { startCli, type Replica } from '../helpers/replica.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';

const ok = { directResponse: { status: 200, body: 'ok' } } satisfies Policies;

async function statuses(url: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(url);
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}

/** A gateway in its own process (the CLI, as `npx portcullis start` runs it), once it logs that it listens. */
const gatewayProcess = (file: string) => startCli(['start', '--no-watch', '-c', file], { ready: (l) => l.msg === 'listening', readyTimeoutMs: 20_000 });

describe('rateLimit shared in Redis', () => {
  let redis: TestRedis;
  let inspect: Redis;
  const closers: Array<() => Promise<void>> = [];
  before(async () => {
    redis = await startRedis();
    inspect = new Redis(redis.url, { lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: 1 });
    inspect.on('error', () => {}); // it reconnects by itself once the test restarts Redis
    await inspect.connect();
  });
  after(async () => {
    for (const c of closers.reverse()) await c();
    inspect?.disconnect();
    await redis?.stop();
  });

  it('two gateway processes sharing one Redis admit exactly the limit under a concurrent burst from both', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pcl-rl-two-'));
    const ports: number[] = [];
    const children: Replica[] = [];
    closers.push(async () => {
      await Promise.all(children.map((c) => c.cleanup()));
      await rm(dir, { recursive: true, force: true });
    });
    // Replicas started from a config file are told their port: one below the ephemeral range, another on a clash.
    for (const i of [0, 1]) {
      const [port, child] = await withHeldPortRetry(async (port) => {
        const config = {
          // Replicas share a counter when listener, route, limit and definition are the same: name the listener
          // (its default name carries the port, which differs between these two).
          admin: { address: false },
          readiness: { address: false },
          stats: { address: false },
          logging: { level: 'info' },
          // `shared` is limited in Redis, with the same config on both replicas.
          binds: [
            {
              port,
              address: '127.0.0.1',
              listeners: [
                {
                  name: 'public',
                  routes: [
                    { name: 'warm', matches: [{ path: { exact: '/warm' } }], policies: { ...ok, rateLimit: { limits: [{ rate: { limit: 1000, windowMs: 1000 } }], store: { redis: { url: redis.url, prefix: 'two:', timeoutMs: 5000 } }, failureMode: 'failClosed' } } },
                    { name: 'daily', matches: [{ path: { exact: '/daily' } }], policies: { ...ok, rateLimit: { limits: [{ name: 'daily', key: [{ header: 'x-tenant' }], quota: { limit: 15, period: 'day', timeZone: 'America/New_York' } }], store: { redis: { url: redis.url, prefix: 'two:', timeoutMs: 5000 } }, failureMode: 'failClosed' } } },
                    { name: 'shared', policies: { ...ok, rateLimit: { limits: [{ name: 'hourly', rate: { limit: 20, windowMs: 3_600_000 } }], store: { redis: { url: redis.url, prefix: 'two:', timeoutMs: 5000 } }, failureMode: 'failClosed' } } },
                  ],
                },
              ],
            },
          ],
        };
        const file = join(dir, `gw${i}.config.ts`);
        await writeFile(file, configSource(config as never));
        return [port, await gatewayProcess(file)] as const;
      });
      ports.push(port);
      children.push(child);
    }
    // Both replicas connected to Redis (one connection per URL serves every route of a replica).
    for (const port of ports) {
      await eventually(async () => {
        const res = await fetch(`http://127.0.0.1:${port}/warm`);
        await res.arrayBuffer();
        return res.status === 200;
      }, 10_000);
    }
    // 2 x 40 requests at once (bounded), half to each replica. The replicas fail closed with a generous timeout:
    // a decision Redis did not make shows as a 503, never as an admission, so what is counted is the script's.
    const burst = await Promise.all(
      Array.from({ length: 80 }, async (_, i) => {
        const res = await fetch(`http://127.0.0.1:${ports[i % 2]}/x`);
        await res.arrayBuffer();
        return res.status;
      }),
    );
    const admitted = burst.filter((s) => s === 200).length;
    const refused = burst.filter((s) => s === 429).length;
    assert.equal(admitted + refused, 80, `unexpected statuses (503: Redis did not decide within 5 s): ${burst.join(',')}`);
    assert.equal(admitted, 20, `over-admission: ${admitted - 20}`);
    // A calendar quota, keyed by a header, through the other script: exactly its limit per tenant.
    const quota = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const res = await fetch(`http://127.0.0.1:${ports[i % 2]}/daily`, { headers: { 'x-tenant': i % 3 === 0 ? 'globex' : 'acme' } });
        await res.arrayBuffer();
        return `${i % 3 === 0 ? 'globex' : 'acme'} ${res.status}`;
      }),
    );
    const count = (what: string) => quota.filter((q) => q === what).length;
    assert.deepEqual([count('acme 200'), count('acme 429'), count('globex 200'), count('globex 429')], [15, 25, 15, 5], 'over-admission of the quota');
    const quotaKeys = (await inspect.keys('two:*/daily:*')).sort();
    assert.equal(quotaKeys.length, 2, quotaKeys.join(','));
    assert.match(quotaKeys[0], /^two:public\/daily:daily:[\w-]+:\{acme\}:\d{4}-\d{2}-\d{2}$/);
    const quotaTtl = await inspect.pttl(quotaKeys[0]);
    assert.ok(quotaTtl > 86_400_000 && quotaTtl <= 2 * 90_000_000 + 60_000, String(quotaTtl));
    // The bucket lives in Redis, under the prefix, and expires.
    const keys = await inspect.keys('two:*/shared:*');
    assert.equal(keys.length, 1, keys.join(','));
    assert.match(keys[0], /^two:public\/shared:hourly:[\w-]+:$/);
    const ttl = await inspect.pttl(keys[0]);
    assert.ok(ttl > 0 && ttl <= 3_600_000 + 1000, String(ttl));
  });

  for (const failureMode of ['failOpen', 'failClosed'] as const) {
    it(`${failureMode}: Redis stopped mid-test, then restarted: the failure mode decides, a log line and events say so, limiting resumes`, async () => {
      const events: RateLimitEvent[] = [];
      const listen = (e: unknown) => events.push(e as RateLimitEvent);
      rateLimitChannel.subscribe(listen);
      closers.push(async () => void rateLimitChannel.unsubscribe(listen));
      const gw = await startTestGateway(
        simpleConfig([
          {
            name: 'api',
            policies: { ...ok, rateLimit: { limits: [{ name: 'hourly', rate: { limit: 3, windowMs: 3_600_000 } }], store: { redis: { url: redis.url, prefix: `${failureMode}:` } }, failureMode } },
          },
        ]),
      );
      closers.push(() => gw.close());
      const url = `${gw.url()}/`;
      assert.deepEqual(await statuses(url, 4), [200, 200, 200, 429], 'limited in Redis');
      assert.equal((await inspect.keys(`${failureMode}:*`)).length, 1);

      await redis.stop();
      await gw.logs.waitFor((l) => l.msg?.includes('rate-limit store (Redis) is unreachable'));
      if (failureMode === 'failOpen') {
        // Decided in this process by the same limit, counted here from zero.
        assert.deepEqual(await statuses(url, 4), [200, 200, 200, 429]);
      } else {
        const res = await fetch(url);
        assert.equal(res.status, 503);
        assert.equal(res.headers.get('retry-after'), '1');
        assert.deepEqual(await res.json(), {
          error: { code: 'PCL_ERR_RATE_LIMIT_UNAVAILABLE', message: 'rate limit "hourly" cannot be checked: its Redis store is unreachable and the policy fails closed; retry later' },
        });
      }
      assert.ok(gw.logs.find((l) => l.msg?.startsWith('rate limit') && l.failureMode === failureMode), 'a log line names the failure mode');
      assert.ok(events.some((e) => e.kind === 'storeDown' && e.store === 'redis'));
      assert.ok(events.some((e) => e.kind === 'decision' && e.outcome === 'error' && e.failureMode === failureMode));

      await redis.start();
      await eventually(async () => events.some((e) => e.kind === 'storeUp'), 10_000);
      await gw.logs.waitFor((l) => l.msg?.includes('rate-limit store (Redis) is back'));
      // Redis restarted empty (no persistence): three more, counted in Redis again. With failOpen the local
      // fallback is spent, so these 200s can only come from Redis.
      assert.deepEqual(await statuses(url, 4), [200, 200, 200, 429], 'limiting resumed in Redis without a restart');
      assert.equal((await inspect.keys(`${failureMode}:*`)).length, 1);
      rateLimitChannel.unsubscribe(listen);
    });
  }

  it('shares one Redis connection per URL across policies and reloads, and closes it with the last one', async () => {
    const before = Number(/connected_clients:(\d+)/.exec(await inspect.info('clients'))![1]);
    const store = { redis: { url: redis.url, prefix: 'shared:' } };
    const policies = (limit: number) => ({ ...ok, rateLimit: { limits: [{ rate: { limit, windowMs: 60_000 } }], store } });
    const gw = await startTestGateway(simpleConfig([{ name: 'a', matches: [{ path: { exact: '/a' } }], policies: policies(5) }, { name: 'b', policies: policies(6) }]), { watch: true });
    const clients = async () => Number(/connected_clients:(\d+)/.exec(await inspect.info('clients'))![1]) - before;
    await eventually(async () => (await clients()) === 1).catch(async (err) => {
      throw new Error(`${err.message}: ${await clients()} connections`);
    });
    assert.deepEqual(await statuses(`${gw.url()}/a`, 1), [200]);
    await gw.write(simpleConfig([{ name: 'a', matches: [{ path: { exact: '/a' } }], policies: policies(5) }, { name: 'b', policies: policies(7) }]));
    await eventually(async () => gw.logs.lines.some((l) => l.msg === 'reloaded')).catch((err) => {
      throw new Error(`${err.message}: ${gw.logs.raw()}`);
    });
    assert.equal(await clients(), 1, 'a reload keeps the connection');
    await gw.close();
    await eventually(async () => (await clients()) === 0);
  });
});
