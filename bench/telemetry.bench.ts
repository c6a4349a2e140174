// Telemetry overhead: MCP tools/call and plain HTTP through two gateways in one run, one with every request
// counted in metrics and traced at 100% to a local OTLP receiver, one with both off. Same upstreams, same load.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentile, type BenchSection } from './report.ts';
import { freePort, waitForPort } from './ports.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const EVERYTHING = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const SLICE_SECONDS = Number(process.env.BENCH_SLICE_SECONDS ?? 1);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

interface Load {
  rps: number;
  p50: number;
  errors: number;
}

// Closed-loop HTTP GETs in their own process, as bench/mcp-load.mjs does for MCP: { count, errors, seconds, latencies (µs) }.
const HTTP_LOAD = `
import { Pool } from 'undici';
const [url, c, s] = process.argv.slice(2);
const u = new URL(url);
const pool = new Pool(u.origin, { connections: Number(c) });
const latencies = [];
let errors = 0;
const until = performance.now() + Number(s) * 1000;
async function worker() {
  while (performance.now() < until) {
    const t0 = performance.now();
    try {
      const res = await pool.request({ path: u.pathname, method: 'GET' });
      await res.body.text();
      if (res.statusCode !== 200) errors++;
      else latencies.push(Math.round((performance.now() - t0) * 1000));
    } catch {
      errors++;
    }
  }
}
await Promise.all(Array.from({ length: Number(c) }, worker));
await pool.close();
process.stdout.write(JSON.stringify({ count: latencies.length, errors, seconds: Number(s), latencies }));
`;

const SIDECAR = `
import { createServer } from 'node:http';
const listening = (s) => new Promise((r) => s.listen(0, '127.0.0.1', () => r(s.address().port)));
const upstream = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok'));
let exports = 0;
let bytes = 0;
const receiver = createServer((req, res) => {
  if (req.method === 'GET') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ exports, bytes }));
  req.on('data', (c) => (bytes += c.length));
  req.on('end', () => {
    exports++;
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  });
});
process.stdout.write(JSON.stringify([await listening(upstream), await listening(receiver)]) + '\\n');
`;

function load(script: string, url: string, concurrency: number, seconds: number): Load {
  const run = spawnSync(process.execPath, [script, url, String(concurrency), String(seconds)], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, cwd: ROOT });
  if (run.status !== 0) throw new Error(`${script} failed (${run.status}): ${run.stderr}`);
  const r = JSON.parse(run.stdout) as { count: number; errors: number; seconds: number; latencies: number[] };
  return { rps: r.count / r.seconds, p50: percentile(r.latencies, 50) / 1000, errors: r.errors };
}

export async function bench(): Promise<BenchSection> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-bench-telemetry-'));
  const procs: ChildProcess[] = [];
  try {
    // The plain HTTP upstream and the local OTLP receiver, in a process of their own: this one blocks while a load
    // generator runs. The receiver takes every export and counts its bytes (decoding is the trace backend's cost).
    const sidecar = join(dir, 'sidecar.mjs');
    writeFileSync(sidecar, SIDECAR);
    const side = spawn(process.execPath, [sidecar], { stdio: ['ignore', 'pipe', 'ignore'] });
    procs.push(side);
    // It listens on port 0 and says where: no window for another process to take a port in between.
    const [upstreamPort, receiverPort] = await new Promise<number[]>((resolve, reject) => {
      let out = '';
      side.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]) as number[]);
      });
      side.once('exit', (code) => reject(new Error(`bench sidecar exited with ${code}`)));
    });
    const mcpPort = await freePort();
    procs.push(spawn(process.execPath, [EVERYTHING, 'streamableHttp'], { env: { ...process.env, PORT: String(mcpPort) }, stdio: 'ignore' }));
    // Resolved from the repository (undici), so it lives there only for the run's duration.
    const httpLoadInRepo = join(ROOT, 'bench', `.telemetry-http-load-${process.pid}.mjs`);
    writeFileSync(httpLoadInRepo, HTTP_LOAD);
    const gateways: Record<'off' | 'on', number> = { off: await freePort(), on: await freePort() };
    for (const mode of ['off', 'on'] as const) {
      const config = {
        admin: { address: false },
        readiness: { address: false },
        logging: { level: 'warn' },
        stats: { address: mode === 'on' ? `127.0.0.1:${await freePort()}` : false },
        ...(mode === 'on' ? { tracing: { endpoint: `http://127.0.0.1:${receiverPort}/v1/traces`, samplerRatio: 1, scheduledDelayMs: 200 } } : {}),
        binds: [
          {
            port: gateways[mode],
            address: '127.0.0.1',
            listeners: [
              {
                routes: [
                  { name: 'mcp', matches: [{ path: { pathPrefix: '/mcp' } }], backends: [{ mcp: { targets: [{ name: 'everything', mcp: { url: `http://127.0.0.1:${mcpPort}/mcp` } }] } }] },
                  { name: 'http', matches: [{ path: { pathPrefix: '/http' } }], backends: [{ host: `127.0.0.1:${upstreamPort}` }] },
                ],
              },
            ],
          },
        ],
      };
      const file = join(dir, `${mode}.config.ts`);
      writeFileSync(file, `export default ${JSON.stringify(config)};\n`);
      procs.push(spawn(process.execPath, ['--no-node-snapshot', join(ROOT, 'core/cli/bin.mjs'), 'start', '--no-watch', '-c', file], { stdio: 'ignore', cwd: ROOT }));
    }
    await Promise.all([waitForPort(mcpPort), waitForPort(upstreamPort), waitForPort(receiverPort), waitForPort(gateways.off), waitForPort(gateways.on)]);

    const mcpLoad = join(ROOT, 'bench/mcp-load.mjs');
    const kinds = {
      mcp: (mode: 'off' | 'on', c: number) => load(mcpLoad, `http://127.0.0.1:${gateways[mode]}/mcp`, c, SLICE_SECONDS),
      http: (mode: 'off' | 'on', c: number) => load(httpLoadInRepo, `http://127.0.0.1:${gateways[mode]}/http`, c, SLICE_SECONDS),
    };
    for (const k of Object.values(kinds)) for (const mode of ['off', 'on'] as const) k(mode, 4); // warm up
    const runs: Record<string, Load[]> = {};
    const add = (key: string, l: Load) => (runs[key] ??= []).push(l);
    // Alternating short slices, round after round: outside load on the shared machine hits both modes alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const [kind, run] of Object.entries(kinds)) {
        for (const mode of ['off', 'on'] as const) {
          add(`${kind} ${mode} 1`, run(mode, 1));
          add(`${kind} ${mode} 16`, run(mode, 16));
        }
      }
    }
    const median = (ls: Load[]): Load => ({ rps: percentile(ls.map((l) => l.rps), 50), p50: percentile(ls.map((l) => l.p50), 50), errors: ls.reduce((a, l) => a + l.errors, 0) });
    const rows: BenchSection['rows'] = [];
    const notes: string[] = [];
    for (const kind of ['mcp', 'http']) {
      const label = kind === 'mcp' ? 'MCP tools/call (streamable HTTP target)' : 'plain HTTP GET';
      const m = (mode: string, c: number) => median(runs[`${kind} ${mode} ${c}`]);
      for (const mode of ['off', 'on']) {
        rows.push({ measure: label, telemetry: mode === 'on' ? 'metrics + tracing 100%' : 'off', 'req/s @16': Math.round(m(mode, 16).rps), 'p50 ms @1': m(mode, 1).p50, errors: m(mode, 16).errors + m(mode, 1).errors });
      }
      const loss = 1 - m('on', 16).rps / m('off', 16).rps;
      const addedUs = (m('on', 1).p50 - m('off', 1).p50) * 1000;
      notes.push(`${label}: throughput loss ${(loss * 100).toFixed(1)}% (goal <= 10%), added p50 ${addedUs.toFixed(0)} µs (goal <= 100 µs)`);
    }
    const received = (await fetch(`http://127.0.0.1:${receiverPort}/count`)
      .then((r) => r.json())
      .catch(() => ({ exports: NaN, bytes: NaN }))) as { exports: number; bytes: number };
    const { exports, bytes: exportedBytes } = received;
    notes.push(
      `the receiver took ${exports} OTLP/protobuf exports (${Math.round(exportedBytes / 1024)} KiB) during the run`,
      `${ROUNDS} alternating rounds of ${SLICE_SECONDS} s slices per mode and load (BENCH_ROUNDS, BENCH_SLICE_SECONDS), medians; load generators in their own processes; 2 cores shared by clients, both gateways, the MCP upstream and this process; log level warn (no access log) in both`,
    );
    rmSync(httpLoadInRepo, { force: true });
    return { title: 'Telemetry overhead: metrics on + tracing at 100% vs both off (one run)', rows, notes };
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    rmSync(join(ROOT, 'bench', `.telemetry-http-load-${process.pid}.mjs`), { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}
