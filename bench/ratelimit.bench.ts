// Added cost of a rate limit per request: one runtime, three routes answering the same direct response, one with
// no limit, one with a local limit, one with a Redis-backed limit (a real redis-server on loopback). Requests go
// through `runtime.handle` (the whole pipeline, no sockets, so socket noise does not hide microseconds) and
// alternate between the routes in one run; the added p50/p99 is the difference to the route without a limit.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../core/config/index.ts';
import { createGcraLimiter } from '../policies/rate-limit/engine/index.ts';
import { buildRuntime } from '../core/server/index.ts';
import { createLogger } from '../core/telemetry/index.ts';
import { builtinPolicies } from '../policies/index.ts';
import { builtinBackends } from '../core/gateway/backends.ts';
import { startRedis } from '../test/helpers/redis.ts';
import { percentile, type BenchSection } from './report.ts';

const ROUNDS = Number(process.env.BENCH_RATELIMIT_ROUNDS ?? 10_000);
const WARMUP = 1000;
const MICRO_ROUNDS = 200_000;
const BUDGET_MS = 25_000;

const us = (ms: number) => Math.round(ms * 1000 * 100) / 100;

export async function bench(): Promise<BenchSection> {
  const redis = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), 'pcl-bench-rl-'));
  // Limits high enough never to refuse: every request pays for a full decision (key, algorithm, headers).
  const limits = [{ name: 'per-client', key: ['clientAddress'], rate: { limit: 1_000_000_000, windowMs: 1000 } }];
  const answer = { directResponse: { status: 200, body: 'ok' } };
  const route = (name: string, rateLimit?: object) => ({ name, matches: [{ path: { exact: `/${name}` } }], policies: { ...answer, ...(rateLimit ? { rateLimit } : {}) } });
  const config = {
    admin: { address: false },
    readiness: { address: false },
    logging: { accessLog: false },
    binds: [
      {
        port: 0,
        address: '127.0.0.1',
        listeners: [{ routes: [route('none'), route('local', { limits }), route('redis', { limits, store: { redis: { url: redis.url } } })] }],
      },
    ],
  };
  writeFileSync(join(dir, 'gateway.config.ts'), `export default ${JSON.stringify(config)};\n`);
  const logger = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const loaded = await loadConfig(join(dir, 'gateway.config.ts'), builtinPolicies, builtinBackends);
  const runtime = await buildRuntime(loaded.config, builtinPolicies, builtinBackends, logger);
  try {
    const names = ['none', 'local', 'redis'] as const;
    const samples: Record<(typeof names)[number], number[]> = { none: [], local: [], redis: [] };
    const one = async (name: string): Promise<number> => {
      const started = performance.now();
      const res = await runtime.handle(new Request(`http://localhost/${name}`));
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`/${name} answered ${res.status}`);
      return performance.now() - started;
    };
    for (let i = 0; i < WARMUP; i++) for (const n of names) await one(n);
    const deadline = Date.now() + BUDGET_MS;
    let rounds = 0;
    for (; rounds < ROUNDS && Date.now() < deadline; rounds++) {
      // Rotate the order so no path always runs right after another.
      for (let k = 0; k < names.length; k++) {
        const n = names[(rounds + k) % names.length];
        samples[n].push(await one(n));
      }
    }
    // The local decision alone, outside the pipeline.
    const limiter = createGcraLimiter({ limit: 1_000_000_000, windowMs: 1000, burst: 1_000_000_000 });
    const t0 = performance.now();
    for (let i = 0; i < MICRO_ROUNDS; i++) limiter.take(`10.0.${i & 255}.${(i >> 8) & 255}`);
    const microUs = ((performance.now() - t0) * 1000) / MICRO_ROUNDS;

    const p = (n: (typeof names)[number], q: number) => percentile(samples[n], q);
    const rows = names.map((n) => ({
      route: n === 'none' ? 'no limit' : n === 'local' ? 'local limit' : 'Redis limit (loopback)',
      requests: samples[n].length,
      'p50 µs': us(p(n, 50)),
      'p99 µs': us(p(n, 99)),
      'added p50 µs': n === 'none' ? 0 : us(p(n, 50) - p('none', 50)),
      'added p99 µs': n === 'none' ? 0 : us(p(n, 99) - p('none', 99)),
    }));
    return {
      title: 'Rate limits: added latency per request, local and Redis-backed, vs the same route without a limit (one run)',
      rows,
      notes: [
        `added p50: local ${us(p('local', 50) - p('none', 50))} µs (goal <= 5 µs), Redis ${us(p('redis', 50) - p('none', 50))} µs (goal <= 250 µs)`,
        `the local decision alone (GCRA take, key already built): ${microUs.toFixed(3)} µs`,
        `${rounds} interleaved rounds through runtime.handle (the whole pipeline without sockets), ${WARMUP} warm-up rounds; redis-server ${redis.url} on loopback, no persistence; 2 cores shared with everything else on the machine`,
      ],
    };
  } finally {
    await runtime.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
