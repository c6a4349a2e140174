import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createCalendar,
  createClientAddressResolver,
  createConcurrencyLimiter,
  createGcraLimiter,
  createQuotaLimiter,
  redisLabel,
  type Decision,
} from '../../policies/rate-limit/engine/index.ts';

const sync = (d: Decision | Promise<Decision>): Decision => {
  assert.ok(!(d instanceof Promise), 'a local limiter answers synchronously');
  return d;
};

describe('GCRA (token bucket)', () => {
  it('admits a burst, then one request per emission interval, per key', () => {
    let now = 1_000_000;
    const limiter = createGcraLimiter({ limit: 10, windowMs: 1000, burst: 3 }, () => now);
    const first = sync(limiter.take('a'));
    assert.deepEqual(first, { allowed: true, limit: 3, remaining: 2, resetMs: 100, retryAfterMs: 0 });
    assert.equal(sync(limiter.take('a')).remaining, 1);
    assert.equal(sync(limiter.take('a')).remaining, 0);
    const refused = sync(limiter.take('a'));
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterMs, 100);
    assert.equal(sync(limiter.take('b')).allowed, true, 'another key has its own bucket');
    now += 100;
    assert.equal(sync(limiter.take('a')).allowed, true, 'one interval later, one more');
    assert.equal(sync(limiter.take('a')).allowed, false);
    now += 10_000;
    assert.equal(sync(limiter.take('a')).remaining, 2, 'a quiet period refills the whole burst');
  });

  it('burst defaults to nothing more than the limit within one window from a full bucket', () => {
    let now = 0;
    const limiter = createGcraLimiter({ limit: 100, windowMs: 60_000, burst: 100 }, () => now);
    let admitted = 0;
    for (let i = 0; i < 150; i++) if (sync(limiter.take('k')).allowed) admitted++;
    assert.equal(admitted, 100);
    now = 600; // one emission interval (60 s / 100)
    assert.equal(sync(limiter.take('k')).allowed, true);
    assert.equal(sync(limiter.take('k')).allowed, false);
  });

  it('forgets keys whose bucket is full again, so memory follows active keys only', () => {
    let now = 0;
    const limiter = createGcraLimiter({ limit: 1, windowMs: 1000, burst: 1 }, () => now);
    for (let i = 0; i < 4000; i++) limiter.take(`k${i}`);
    assert.equal(limiter.size(), 4000);
    now = 5000;
    for (let i = 0; i < 200; i++) limiter.take('hot');
    assert.equal(limiter.size(), 1);
  });
});

describe('calendar quotas', () => {
  it('rolls a daily quota over at midnight in the configured time zone, not in UTC', () => {
    // 2026-03-10 23:59:59.000 in New York (UTC-4 after the DST change of 2026-03-08) is 03:59:59 UTC.
    let now = Date.UTC(2026, 2, 11, 3, 59, 59);
    const quota = createQuotaLimiter({ limit: 2, period: 'day', timeZone: 'America/New_York' }, () => now);
    assert.equal(sync(quota.take('a')).allowed, true);
    const last = sync(quota.take('a'));
    assert.deepEqual(last, { allowed: true, limit: 2, remaining: 0, resetMs: 1000, retryAfterMs: 0 });
    const refused = sync(quota.take('a'));
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterMs, 1000, 'retry exactly at local midnight');
    now += 999;
    assert.equal(sync(quota.take('a')).allowed, false, 'one millisecond before midnight: still refused');
    now += 1;
    const fresh = sync(quota.take('a'));
    assert.equal(fresh.allowed, true, 'local midnight: a new day');
    assert.equal(fresh.remaining, 1);
    assert.equal(fresh.resetMs, 24 * 3600_000);
  });

  it('rolls a monthly quota over on the first of the month, and a day across DST lasts 23 hours', () => {
    const paris = createCalendar('month', 'Europe/Paris');
    const march = paris.periodAt(Date.UTC(2026, 2, 15));
    assert.equal(march.id, '2026-03');
    assert.equal(march.start, Date.UTC(2026, 1, 28, 23), 'March starts at 00:00 CET = 23:00 UTC on Feb 28');
    assert.equal(march.end, Date.UTC(2026, 2, 31, 22), 'April starts at 00:00 CEST = 22:00 UTC on Mar 31');
    const day = createCalendar('day', 'Europe/Paris').periodAt(Date.UTC(2026, 2, 29, 12));
    assert.equal(day.id, '2026-03-29');
    assert.equal(day.end - day.start, 23 * 3600_000);

    let now = march.end - 1;
    const quota = createQuotaLimiter({ limit: 1, period: 'month', timeZone: 'Europe/Paris' }, () => now);
    assert.equal(sync(quota.take('k')).allowed, true);
    assert.equal(sync(quota.take('k')).allowed, false);
    now = march.end;
    assert.equal(sync(quota.take('k')).allowed, true, 'April: the quota is back');
  });

  it('hourly periods in a half-hour zone start at the local hour', () => {
    const p = createCalendar('hour', 'Asia/Kolkata').periodAt(Date.UTC(2026, 0, 1, 10, 45));
    assert.equal(p.id, '2026-01-01T16');
    assert.equal(p.start, Date.UTC(2026, 0, 1, 10, 30));
  });
});

describe('concurrency', () => {
  it('holds a slot until released, once', () => {
    const c = createConcurrencyLimiter(2);
    const a = c.acquire('k')!;
    const b = c.acquire('k')!;
    assert.equal(c.acquire('k'), undefined);
    assert.ok(c.acquire('other'));
    a();
    a();
    assert.equal(c.inFlight('k'), 1, 'a second release of the same slot does nothing');
    assert.ok(c.acquire('k'));
    b();
  });
});

describe('client address', () => {
  it('ignores X-Forwarded-For unless the peer is a trusted proxy, then takes the rightmost untrusted hop', () => {
    const untrusting = createClientAddressResolver([]);
    assert.equal(untrusting('::ffff:10.1.2.3', '1.1.1.1'), '10.1.2.3');
    const resolve = createClientAddressResolver(['10.0.0.0/8', '127.0.0.1']);
    assert.equal(resolve('127.0.0.1', '203.0.113.9'), '203.0.113.9');
    assert.equal(resolve('127.0.0.1', '6.6.6.6, 203.0.113.9, 10.0.0.7'), '203.0.113.9', 'a client-written left part is not believed');
    assert.equal(resolve('192.0.2.1', '203.0.113.9'), '192.0.2.1', 'an untrusted peer: the header is ignored');
    assert.equal(resolve('127.0.0.1', undefined), '127.0.0.1');
    assert.equal(resolve('127.0.0.1', '10.0.0.8, 10.0.0.7'), '10.0.0.8', 'every hop trusted: the leftmost');
  });
});

describe('Redis store label', () => {
  it('never shows a password in logs', () => {
    assert.equal(redisLabel('redis://user:s3cret@cache.internal:6380/2'), 'redis://cache.internal:6380/2');
    assert.equal(redisLabel('rediss://:s3cret@cache.internal'), 'rediss://cache.internal');
  });
});
