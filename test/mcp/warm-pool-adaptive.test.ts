import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { DEFAULT_WARM_POOL_MAX, POOL_CLIENT_INIT, WarmPool, warmPoolSizing } from '../../core/backends/mcp/upstream/pool.ts';
import { MCP_DEFAULTS } from '../../core/backends/mcp/index.ts';
import { ProcessBudget, TargetLauncher } from '../../core/backends/mcp/upstream/processes.ts';
import { createLogger } from '../../core/telemetry/index.ts';
import { countTagged, TINY, waitUntil } from '../helpers/mcp.ts';

// The warm pool grows while sessions are opened faster than processes start, never past its maximum, and
// shrinks back when no session comes. Functional checks only: timings are in bench/mcp-pool.bench.ts.
const logger = createLogger({ level: 'silent' });

function pool(tag: string, sizing: { min: number; max: number; idleMs?: number }, limit = 50) {
  const launcher = new TargetLauncher({
    route: 'r',
    // A bare server: the subject is how many processes start and stop, and each costs a Node start.
    target: { name: 't', stdio: { cmd: process.execPath, args: [TINY, 't', `--tag=${tag}`] } },
    env: { baseDir: process.cwd() },
    timeoutMs: 20_000,
    budget: new ProcessBudget(limit),
    logger,
  });
  return { launcher, pool: new WarmPool(launcher, sizing, logger) };
}

describe('adaptive warm pool', () => {
  const opened: Array<{ close(): Promise<void> }> = [];
  const pools: WarmPool[] = [];
  after(async () => {
    await Promise.allSettled(opened.map((c) => c.close()));
    await Promise.allSettled(pools.map((p) => p.close()));
  });

  it('grows under a burst of sequential sessions, up to its maximum, then shrinks when idle', async () => {
    const tag = `adaptive-${randomUUID()}`;
    // The idle period is long enough that a slow machine fills the grown pool (of bare servers, which start in tens
    // of ms) before a quiet period shrinks it, and short enough that the shrink comes in seconds.
    const { pool: p } = pool(tag, { min: 1, max: 4, idleMs: 3_000 });
    pools.push(p);
    await waitUntil(() => p.available === 1, 20_000, 'the first pooled process');
    assert.equal(p.size, 1);
    // Sessions one after another, faster than processes start: the first takes the pooled process, each of the
    // next finds the pool empty and doubles it (1 → 2 → 4), then it stays at its maximum.
    opened.push(p.take(POOL_CLIENT_INIT)!);
    assert.ok(opened[0], 'the first session took the pooled process');
    for (let i = 0; i < 3; i++) assert.equal(p.take(POOL_CLIENT_INIT), undefined);
    assert.equal(p.size, 4, 'grew to its maximum');
    await waitUntil(() => p.available === 4, 30_000, 'the grown pool to fill');
    // The next sessions of the burst are served from the pool.
    for (let i = 0; i < 4; i++) {
      const conn = p.take(POOL_CLIENT_INIT);
      assert.ok(conn, `session ${i + 2} was served from the pool`);
      opened.push(conn);
    }
    await waitUntil(() => p.available === 4, 30_000, 'the refill');
    assert.equal(countTagged(tag), 5 + 4, 'sessions plus a pool at its maximum, nothing more');
    // No session for two idle periods: back to the minimum, the extra processes stopped.
    await waitUntil(() => p.size === 1 && p.available === 1, 45_000, 'the pool to shrink');
    await waitUntil(() => countTagged(tag) === 5 + 1, 10_000, 'the extra pooled processes to exit');
  });

  it('adapts without configuration: the default maximum, bounded by maxProcesses; warmPoolMax = warmPool is fixed', () => {
    assert.equal(DEFAULT_WARM_POOL_MAX, 24);
    assert.deepEqual(warmPoolSizing({}, MCP_DEFAULTS), { min: 1, max: DEFAULT_WARM_POOL_MAX });
    assert.deepEqual(warmPoolSizing({ maxProcesses: 5 }, MCP_DEFAULTS), { min: 1, max: 4 }, 'room for the session that takes one');
    assert.deepEqual(warmPoolSizing({ maxProcesses: 1 }, MCP_DEFAULTS), { min: 1, max: 1 });
    assert.deepEqual(warmPoolSizing({ warmPool: 2, warmPoolMax: 2 }, MCP_DEFAULTS), { min: 2, max: 2 });
    assert.deepEqual(warmPoolSizing({ warmPool: 40 }, MCP_DEFAULTS), { min: 40, max: 40 });
    assert.deepEqual(warmPoolSizing({ warmPoolMax: 6 }, MCP_DEFAULTS), { min: 1, max: 6 });
    assert.deepEqual(warmPoolSizing({ warmPool: 0 }, MCP_DEFAULTS), { min: 0, max: DEFAULT_WARM_POOL_MAX });
  });

  it('grows at once to as many processes as sessions come while one starts, not one doubling per miss', async () => {
    const tag = `demand-${randomUUID()}`;
    const { pool: p } = pool(tag, { min: 1, max: 6, idleMs: 20_000 });
    pools.push(p);
    await waitUntil(() => p.available === 1, 20_000, 'the first pooled process');
    opened.push(p.take(POOL_CLIENT_INIT)!);
    // A second session right after the first, far sooner than a process starts: the pool goes to its maximum in
    // one step (doubling would give 2).
    assert.equal(p.take(POOL_CLIENT_INIT), undefined);
    assert.equal(p.size, 6);
    await waitUntil(() => p.available === 6, 40_000, 'the grown pool to fill');
    assert.equal(countTagged(tag), 1 + 6);
  });

  it('a fixed size (min = max) never grows', async () => {
    const tag = `fixed-${randomUUID()}`;
    const { launcher, pool: p } = pool(tag, { min: 1, max: 1 });
    pools.push(p);
    await waitUntil(() => p.available === 1, 20_000, 'the pooled process');
    for (let i = 0; i < 3; i++) opened.push(p.take(POOL_CLIENT_INIT) ?? (await launcher.open(POOL_CLIENT_INIT, false)));
    assert.equal(p.size, 1);
    await waitUntil(() => p.available === 1, 20_000, 'the refill');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(countTagged(tag), 3 + 1);
  });
});
