import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { exposeGc, measureSettled, soakCycle } from '../../bench/soak-cycle.ts';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { MCP_TEST_EXTRA, mcpRoute, startHttpFixture, type RunningServer } from '../helpers/mcp.ts';

// A bounded soak: sessions opened, used and closed again and again, with plain HTTP requests between; the heap
// after a full collection must not grow with the number of cycles (bench/soak.ts runs the same for 10 minutes).
const WARMUP = 40;
const CYCLES = Number(process.env.SOAK_CYCLES ?? 200);

describe('soak: open/use/close cycles', () => {
  let gw: TestGateway;
  let fixture: RunningServer;
  // A plain upstream, not the helper's (which keeps every request it saw, for assertions: a leak of its own).
  let upstream: Server;
  let pool: Pool;

  before(async () => {
    fixture = await startHttpFixture('soak');
    upstream = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    gw = await startTestGateway(
      simpleConfig(
        [
          { ...mcpRoute([{ name: 'remote', mcp: { url: fixture.url } }]), matches: [{ path: { pathPrefix: '/mcp' } }] },
          { name: 'http', backends: [{ host }] },
        ],
        { ...MCP_TEST_EXTRA, logging: { level: 'warn' } },
      ),
    );
    pool = new Pool(gw.url(), { connections: 4 });
  });

  after(async () => {
    await pool.close();
    await gw.close();
    await fixture.close();
    await new Promise((r) => upstream.close(r));
  });

  it('leaves no memory behind: the heap after the cycles is where it was after the warm-up', async () => {
    const gc = await exposeGc();
    for (let i = 0; i < WARMUP; i++) await soakCycle(pool, '/mcp', '/plain', i);
    // The test gateway keeps its log lines (at debug level) for assertions: not the gateway's memory.
    gw.logs.lines.length = 0;
    const start = await measureSettled(gc);
    const run = async () => {
      for (let i = 0; i < CYCLES; i++) await soakCycle(pool, '/mcp', '/plain', i);
      // Sessions end asynchronously (their upstream DELETE): give them a moment before measuring.
      await new Promise((r) => setTimeout(r, 500));
      gw.logs.lines.length = 0;
      return measureSettled(gc);
    };
    // Two runs of the cycles: what fills once (caches, label sets, the JIT's feedback) shows in the first only; a
    // leak of one session's state (a few KiB at least) grows both alike, by >= 2 KiB per cycle.
    const mid = await run();
    const end = await run();
    const growthPerCycle = (end.heap - mid.heap) / CYCLES;
    assert.ok(growthPerCycle < 2048, `heap grew ${Math.round((end.heap - mid.heap) / 1024)} KiB over the second ${CYCLES} cycles (${Math.round(growthPerCycle)} B/cycle; the first ${CYCLES}: ${Math.round((mid.heap - start.heap) / 1024)} KiB)`);
    assert.ok((end.heap - start.heap) / (2 * CYCLES) < 4096, `heap grew ${Math.round((end.heap - start.heap) / 1024)} KiB over ${2 * CYCLES} cycles`);
  });
});
