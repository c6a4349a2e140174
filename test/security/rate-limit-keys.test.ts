import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { echoUpstream, simpleConfig, startTestGateway, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { heapAfterGc, MiB } from '../helpers/memory.ts';
import { createGcraLimiter, createQuotaLimiter, DEFAULT_MAX_KEYS, type Decision } from '../../policies/rate-limit/engine/index.ts';

/** Sends `n` requests, `parallel` at a time, each with its own header value; counts the statuses. */
async function flood(url: string, n: number, header: (i: number) => Record<string, string>, parallel = 32): Promise<Map<number, number>> {
  const dispatcher = new Agent({ connections: parallel });
  const statuses = new Map<number, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) {
        const i = next++;
        const res = await request(url, { headers: header(i), dispatcher });
        await res.body.dump();
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      }
    }),
  );
  await dispatcher.close();
  return statuses;
}

describe('rate-limit keys are bounded in number (issue 25, finding 5)', () => {
  let upstream: Upstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await echoUpstream();
    gw = await startTestGateway(
      simpleConfig([
        {
          name: 'r',
          policies: { rateLimit: { maxKeys: 500, limits: [{ name: 'per-client', key: [{ header: 'x-client' }], rate: { limit: 2, windowMs: 60_000 } }] } },
          backends: [{ host: upstream.host }],
        },
      ]),
    );
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('a flood of distinct header values holds at most maxKeys buckets; newcomers past it share one; known keys keep theirs', async () => {
    const heap0 = heapAfterGc();
    const statuses = await flood(`${gw.url()}/x`, 5000, (i) => ({ 'x-client': `flood-${i}-${'v'.repeat(150)}` }));
    const grown = heapAfterGc() - heap0;
    assert.ok(grown < 16 * MiB, `the heap grew by ${(grown / MiB).toFixed(1)} MiB`);
    // 500 keys of their own (one request each), then one shared bucket of 2 for the other 4,500.
    assert.equal(statuses.get(200), 502, JSON.stringify([...statuses]));
    assert.equal(statuses.get(429), 4498);
    // A key counted before the flood still has its own bucket (burst 2: a second request passes).
    const again = await request(`${gw.url()}/x`, { headers: { 'x-client': `flood-0-${'v'.repeat(150)}` } });
    await again.body.dump();
    assert.equal(again.statusCode, 200);
  });

  it('limiters are bounded by default, rate and quota alike', () => {
    const now = 1_000_000;
    const rate = createGcraLimiter({ limit: 1, windowMs: 60_000, burst: 1 }, () => now);
    for (let i = 0; i < DEFAULT_MAX_KEYS * 2; i++) rate.take(`k${i}`);
    assert.equal(rate.size(), DEFAULT_MAX_KEYS + 1);
    assert.equal((rate.take(`k${DEFAULT_MAX_KEYS * 3}`) as Decision).allowed, false, 'newcomers share the overflow bucket');
    const quota = createQuotaLimiter({ limit: 1, period: 'month', maxKeys: 3 }, () => now);
    assert.deepEqual(['a', 'b', 'c', 'd', 'e', 'a'].map((k) => (quota.take(k) as Decision).allowed), [true, true, true, true, false, false]);
  });
});
