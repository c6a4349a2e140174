// The long soak (issue 13): MCP sessions opened, used and closed, with plain HTTP requests between, for
// SOAK_MINUTES (default 10) against an in-process gateway; prints heap (after a full GC) and RSS at the start and
// the end, and every minute. Not part of `npm run bench` (too long): run it with
//   node --no-node-snapshot bench/soak.ts
// The short version runs in CI as test/perf/soak.test.ts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { builtinPolicies } from '../policies/index.ts';
import { builtinBackends } from '../core/gateway/backends.ts';
import { startPortcullis } from '../core/server/index.ts';
import { createLogger } from '../core/telemetry/index.ts';
import { startHttpFixture } from '../test/helpers/mcp.ts';
import { exposeGc, measure, soakCycle } from './soak-cycle.ts';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const gc = await exposeGc();
const fixture = await startHttpFixture('soak');
const upstream = createServer((_req, res) => res.end('ok'));
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
const dir = mkdtempSync(join(tmpdir(), 'pcl-soak-'));
const file = join(dir, 'gateway.config.ts');
const config = {
  admin: { address: false },
  readiness: { address: false },
  // Metrics on, as by default, but on a port of their own: a gateway or test running beside the soak keeps 15020.
  stats: { address: '127.0.0.1:0' },
  binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [
    { name: 'mcp', matches: [{ path: { pathPrefix: '/mcp' } }], backends: [{ mcp: { targets: [{ name: 'remote', mcp: { url: fixture.url } }] } }] },
    { name: 'http', backends: [{ host: `127.0.0.1:${(upstream.address() as AddressInfo).port}` }] },
  ] }] }],
};
writeFileSync(file, `export default ${JSON.stringify(config)};\n`);
const running = await startPortcullis({ configFile: file, policies: builtinPolicies, backends: builtinBackends, watch: false, logger: createLogger({ level: 'warn' }) });
const pool = new Pool(`http://127.0.0.1:${running.gateway.ports()[0]}`, { connections: 4 });
const kib = (n: number) => `${Math.round(n / 1024)} KiB`;
let i = 0;
for (; i < 100; i++) await soakCycle(pool, '/mcp', '/plain', i);
const start = measure(gc);
console.log(`start (after 100 warm-up cycles): heap ${kib(start.heap)}, heap total ${kib(start.heapTotal)}, external ${kib(start.external)}, RSS ${kib(start.rss)}`);
const until = Date.now() + MINUTES * 60_000;
let nextReport = Date.now() + 60_000;
while (Date.now() < until) {
  await soakCycle(pool, '/mcp', '/plain', i++);
  if (Date.now() >= nextReport) {
    nextReport += 60_000;
    const m = measure(gc);
    console.log(`${i} cycles: heap ${kib(m.heap)} (${kib(m.heap - start.heap)} since start), heap total ${kib(m.heapTotal)}, external ${kib(m.external)}, RSS ${kib(m.rss)}`);
  }
}
const end = measure(gc);
console.log(`end after ${i} cycles in ${MINUTES} min: heap ${kib(end.heap)} (${kib(end.heap - start.heap)}), heap total ${kib(end.heapTotal)}, external ${kib(end.external)}, RSS ${kib(end.rss)} (${kib(end.rss - start.rss)})`);
await pool.close();
await running.close();
await fixture.close();
upstream.close();
