import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { echoUpstream, eventually, send, simpleConfig, startTestGateway, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';

describe('a stalled Redis (SIGSTOP): decisions stop waiting, and a resumed server charges nothing twice (issue 25, finding 6)', () => {
  let redis: TestRedis;
  let upstream: Upstream;
  let gw: TestGateway;
  let inspect: Redis;

  before(async () => {
    redis = await startRedis();
    upstream = await echoUpstream();
    inspect = new Redis(redis.url, { enableOfflineQueue: true, maxRetriesPerRequest: 1 });
    gw = await startTestGateway(
      simpleConfig([
        {
          name: 'q',
          policies: { rateLimit: { limits: [{ name: 'daily', quota: { limit: 1000, period: 'day' } }], store: { redis: { url: redis.url, prefix: 'stall:', timeoutMs: 300 } }, failureMode: 'failOpen' } },
          backends: [{ host: upstream.host }],
        },
      ]),
    );
    await eventually(async () => (await send(`${gw.url()}/x`)).status === 200);
  });
  after(async () => {
    if (redis?.pid) process.kill(redis.pid, 'SIGCONT');
    await gw?.close();
    inspect?.disconnect();
    await upstream?.close();
    await redis?.stop();
  });

  const counted = async () => {
    const keys = await inspect.keys('stall:*');
    let n = 0;
    for (const k of keys) n += Number(await inspect.get(k));
    return n;
  };

  it('waits the store timeout once, then decides at once until Redis answers again; the stalled commands count nothing', async () => {
    const before = await counted();
    process.kill(redis.pid!, 'SIGSTOP');
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      assert.equal((await send(`${gw.url()}/x`)).status, 200, 'failOpen decides in this process');
      times.push(performance.now() - started);
    }
    assert.ok(times[0] >= 250, `the first decision waited the timeout (${Math.round(times[0])} ms)`);
    // None of the later ones waits the 300 ms store timeout (a loaded machine may still make one slow).
    const later = times.slice(1).sort((a, b) => a - b);
    assert.ok(later.at(-1)! < 290 && later[Math.floor(later.length / 2)] < 100, `later decisions waited: ${times.map(Math.round).join(', ')} ms`);
    await gw.logs.waitFor((l) => /Redis is connected but not answering/.test(l.reason ?? ''));
    process.kill(redis.pid!, 'SIGCONT');
    await gw.logs.waitFor((l) => l.msg === 'rate-limit store (Redis) is back: shared limits apply again');
    // The command that timed out ran on resume, past its deadline: it charged nothing.
    assert.equal(await counted(), before);
    assert.equal((await send(`${gw.url()}/x`)).status, 200);
    assert.equal(await counted(), before + 1, 'Redis decides again');
  });
});
