// MCP gateway: tools/call round trips direct vs through Portcullis, new-session time cold vs warm pool, and
// memory per idle session. One upstream (server-everything over streamable HTTP) for every figure, one run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { percentile, type BenchSection } from './report.ts';
import { freePort, waitForPort } from './ports.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const EVERYTHING = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const SLICE_SECONDS = Number(process.env.BENCH_SLICE_SECONDS ?? 1.5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SESSIONS = Number(process.env.BENCH_MCP_SESSIONS ?? 1000);
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const INIT = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } };



interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function load(url: string, concurrency: number, seconds: number): Load {
  const run = spawnSync(process.execPath, [join(ROOT, 'bench/mcp-load.mjs'), url, String(concurrency), String(seconds)], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`mcp-load failed (${run.status}): ${run.stderr}`);
  const r = JSON.parse(run.stdout) as { count: number; errors: number; seconds: number; latencies: number[] };
  return { rps: r.count / r.seconds, p50: percentile(r.latencies, 50) / 1000, p99: percentile(r.latencies, 99) / 1000, errors: r.errors };
}

/** initialize → initialized → tools/list → first tools/call, then DELETE; returns the time to the call's answer. */
async function newSession(pool: Pool, path: string): Promise<number> {
  const t0 = performance.now();
  const post = async (body: unknown, headers: Record<string, string> = {}) => {
    const res = await pool.request({ path, method: 'POST', headers: { ...HEADERS, ...headers }, body: JSON.stringify(body) });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${path}: ${res.statusCode} ${text}`);
    return res.headers['mcp-session-id'] as string | undefined;
  };
  const id = (await post(INIT))!;
  const h = { 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' };
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, h);
  await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, h);
  await post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } }, h);
  const elapsed = performance.now() - t0;
  await (await pool.request({ path, method: 'DELETE', headers: h })).body.text();
  return elapsed;
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

export async function bench(): Promise<BenchSection> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-bench-mcp-'));
  const procs: ChildProcess[] = [];
  try {
    const upstreamPort = await freePort();
    const gatewayPort = await freePort();
    procs.push(spawn(process.execPath, [EVERYTHING, 'streamableHttp'], { env: { ...process.env, PORT: String(upstreamPort) }, stdio: 'ignore' }));
    const stdio = (warmPool: number) => ({ name: 'everything', stdio: { cmd: 'node', args: [EVERYTHING, 'stdio'], warmPool } });
    // One anonymous client opens SESSIONS sessions for the memory figure: above the default session limits.
    const route = (name: string, prefix: string, target: unknown) => ({ name, matches: [{ path: { pathPrefix: prefix } }], backends: [{ mcp: { targets: [target], maxSessions: SESSIONS + 100, maxSessionsPerIdentity: SESSIONS + 100 } }] });
    const config = {
      admin: { address: false },
      readiness: { address: false },
      logging: { level: 'warn' },
      binds: [
        {
          port: gatewayPort,
          address: '127.0.0.1',
          listeners: [
            {
              routes: [
                route('remote', '/mcp', { name: 'everything', mcp: { url: `http://127.0.0.1:${upstreamPort}/mcp` } }),
                route('cold', '/cold', stdio(0)),
                route('warm', '/warm', stdio(2)),
              ],
            },
          ],
        },
      ],
    };
    writeFileSync(join(dir, 'gateway.config.ts'), `export default ${JSON.stringify(config)};\n`);
    const gateway = spawn(process.execPath, ['--no-node-snapshot', join(ROOT, 'core/cli/bin.mjs'), 'start', '--no-watch', '-c', join(dir, 'gateway.config.ts')], { stdio: 'ignore', cwd: ROOT });
    procs.push(gateway);
    await Promise.all([waitForPort(upstreamPort), waitForPort(gatewayPort)]);

    // Memory first, on a fresh gateway: later phases would leave garbage in the heap and blur the difference.
    const pool = new Pool(`http://127.0.0.1:${gatewayPort}`, { connections: 64 });
    const openSession = async () => {
      const res = await pool.request({ path: '/mcp', method: 'POST', headers: HEADERS, body: JSON.stringify(INIT) });
      await res.body.text();
      const id = res.headers['mcp-session-id'] as string;
      const h = { ...HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' };
      await (await pool.request({ path: '/mcp', method: 'POST', headers: h, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).body.text();
      return id;
    };
    const warmup = await Promise.all(Array.from({ length: 20 }, openSession));
    await new Promise((r) => setTimeout(r, 500));
    const before = rssKb(gateway.pid!);
    const opened: string[] = [];
    for (let i = 0; i < SESSIONS; i += 50) opened.push(...(await Promise.all(Array.from({ length: Math.min(50, SESSIONS - i) }, openSession))).filter(Boolean));
    await new Promise((r) => setTimeout(r, 1000));
    const afterKb = rssKb(gateway.pid!);
    for (const ids of [warmup, opened]) {
      for (let i = 0; i < ids.length; i += 50) {
        await Promise.all(ids.slice(i, i + 50).map(async (id) => (await pool.request({ path: '/mcp', method: 'DELETE', headers: { 'mcp-session-id': id } })).body.text()));
      }
    }

    const direct = `http://127.0.0.1:${upstreamPort}/mcp`;
    const through = `http://127.0.0.1:${gatewayPort}/mcp`;
    load(direct, 8, 1);
    load(through, 8, 1);
    // The machine is shared and noisy: short slices alternate between the two paths, round after round, so a
    // burst of outside load hits both alike; figures are the median over rounds.
    const runs = { seqDirect: [] as Load[], seqGateway: [] as Load[], satDirect: [] as Load[], satGateway: [] as Load[] };
    for (let round = 0; round < ROUNDS; round++) {
      runs.seqDirect.push(load(direct, 1, SLICE_SECONDS));
      runs.seqGateway.push(load(through, 1, SLICE_SECONDS));
      runs.satDirect.push(load(direct, 16, SLICE_SECONDS));
      runs.satGateway.push(load(through, 16, SLICE_SECONDS));
    }
    const median = (ls: Load[]): Load => ({
      rps: percentile(ls.map((l) => l.rps), 50),
      p50: percentile(ls.map((l) => l.p50), 50),
      p99: percentile(ls.map((l) => l.p99), 50),
      errors: ls.reduce((a, l) => a + l.errors, 0),
    });
    const seq = { direct: median(runs.seqDirect), portcullis: median(runs.seqGateway) };
    const sat = { direct: median(runs.satDirect), portcullis: median(runs.satGateway) };
    const ratios = runs.satGateway.map((g, i) => g.rps / runs.satDirect[i].rps);

    const cold: number[] = [];
    const warm: number[] = [];
    for (let i = 0; i < 6; i++) cold.push(await newSession(pool, '/cold/mcp'));
    // The pool serves clients that declared what its processes were initialized with: one session teaches it.
    await newSession(pool, '/warm/mcp');
    await new Promise((r) => setTimeout(r, 1500));
    for (let i = 0; i < 6; i++) {
      warm.push(await newSession(pool, '/warm/mcp'));
      // New sessions arriving one every ~half second: the pool refills between them.
      await new Promise((r) => setTimeout(r, 700));
    }

    await pool.close();

    const row = (path: string, l: Load, c: number) => ({ measure: `tools/call, ${c} in flight`, path, 'calls/s': Math.round(l.rps), 'p50 ms': l.p50, 'p99 ms': l.p99, errors: l.errors });
    return {
      title: 'MCP gateway: server-everything over streamable HTTP, direct vs through Portcullis (one run)',
      rows: [
        row('direct', seq.direct, 1),
        row('portcullis', seq.portcullis, 1),
        row('direct', sat.direct, 16),
        row('portcullis', sat.portcullis, 16),
        { measure: 'new session (init → list → call), stdio', path: 'cold spawn', 'p50 ms': percentile(cold, 50), 'p99 ms': percentile(cold, 99) },
        { measure: 'new session (init → list → call), stdio', path: 'warm pool', 'p50 ms': percentile(warm, 50), 'p99 ms': percentile(warm, 99) },
        { measure: `memory, ${opened.length} idle sessions`, path: 'portcullis RSS', 'KiB/session': Math.round(((afterKb - before) / Math.max(1, opened.length)) * 10) / 10 },
      ],
      notes: [
        `throughput through Portcullis / direct at 16 in flight = ${(sat.portcullis.rps / sat.direct.rps).toFixed(2)} (goal >= 0.6); per round: ${ratios.map((r) => r.toFixed(2)).join(', ')}`,
        `added p50 at 1 in flight = ${(seq.portcullis.p50 - seq.direct.p50).toFixed(3)} ms (goal <= 1 ms)`,
        `new-session p50 with the warm pool = ${percentile(warm, 50).toFixed(1)} ms (goal <= 20 ms), cold spawn ${percentile(cold, 50).toFixed(1)} ms`,
        `gateway RSS ${Math.round(before / 1024)} MiB before, ${Math.round(afterKb / 1024)} MiB after ${opened.length} sessions (each holds an upstream session and its GET stream)`,
        `load from bench/mcp-load.mjs in its own process (undici, closed loop), ${ROUNDS} alternating rounds of ${SLICE_SECONDS} s slices (BENCH_ROUNDS, BENCH_SLICE_SECONDS), medians; the upstream answers POSTs as SSE, the gateway as JSON; 2 cores shared by client, gateway and upstream; gateway log level warn`,
      ],
    };
  } finally {
    for (const p of procs) p.kill('SIGKILL');
  }
}
