// MCP protocol eras: tools/call in the 2025 era (a session) and the 2026-07-28 era (stateless requests with the
// _meta envelope), each directly against a dual-era SDK v2 server and through Portcullis, in one run. The gateway
// speaks each client's era upstream where the target does (2025 sessions keep a 2025 handshake; 2026-07-28
// clients are served on an internal session that speaks 2026-07-28 to the target).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentile, type BenchSection } from './report.ts';
import { freePort, waitForPort } from './ports.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SERVER = join(ROOT, 'test/fixtures/mcp/modern-server.ts');
const SLICE_SECONDS = Number(process.env.BENCH_SLICE_SECONDS ?? 1.5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = 8;

interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function load(url: string, era: '2025' | '2026', seconds: number): Load {
  const args = [join(ROOT, 'bench/mcp-load.mjs'), url, String(CONCURRENCY), String(seconds), era, 'echo', 'bench: bench', '{"text":"bench"}'];
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`mcp-load failed (${run.status}): ${run.stderr}`);
  const r = JSON.parse(run.stdout) as { count: number; errors: number; seconds: number; latencies: number[] };
  return { rps: r.count / r.seconds, p50: percentile(r.latencies, 50) / 1000, p99: percentile(r.latencies, 99) / 1000, errors: r.errors };
}

export async function bench(): Promise<BenchSection> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-bench-eras-'));
  const procs: ChildProcess[] = [];
  try {
    const upstreamPort = await freePort();
    const gatewayPort = await freePort();
    // The dual-era SDK v2 server (createMcpHandler; 2025 requests served statelessly), named "bench".
    procs.push(spawn(process.execPath, [SERVER, 'bench', 'http', String(upstreamPort)], { stdio: 'ignore' }));
    const config = {
      admin: { address: false },
      readiness: { address: false },
      logging: { level: 'warn' },
      binds: [{ port: gatewayPort, address: '127.0.0.1', listeners: [{ routes: [{ name: 'eras', backends: [{ mcp: { targets: [{ name: 'bench', mcp: { url: `http://127.0.0.1:${upstreamPort}/mcp` } }] } }] }] }] }],
    };
    writeFileSync(join(dir, 'gateway.config.ts'), `export default ${JSON.stringify(config)};\n`);
    procs.push(spawn(process.execPath, ['--no-node-snapshot', join(ROOT, 'core/cli/bin.mjs'), 'start', '--no-watch', '-c', join(dir, 'gateway.config.ts')], { stdio: 'ignore', cwd: ROOT }));
    await Promise.all([waitForPort(upstreamPort), waitForPort(gatewayPort)]);

    const direct = `http://127.0.0.1:${upstreamPort}/mcp`;
    const through = `http://127.0.0.1:${gatewayPort}/mcp`;
    const paths = [
      { era: '2025' as const, path: 'direct', url: direct },
      { era: '2025' as const, path: 'portcullis', url: through },
      { era: '2026' as const, path: 'direct', url: direct },
      { era: '2026' as const, path: 'portcullis', url: through },
    ];
    for (const p of paths) load(p.url, p.era, 0.5);
    // Short slices alternate between the four paths, round after round, so outside load on the shared machine
    // hits all alike; figures are the median over rounds.
    const runs = paths.map(() => [] as Load[]);
    for (let round = 0; round < ROUNDS; round++) paths.forEach((p, i) => runs[i].push(load(p.url, p.era, SLICE_SECONDS)));
    const median = (ls: Load[]): Load => ({
      rps: percentile(ls.map((l) => l.rps), 50),
      p50: percentile(ls.map((l) => l.p50), 50),
      p99: percentile(ls.map((l) => l.p99), 50),
      errors: ls.reduce((a, l) => a + l.errors, 0),
    });
    const m = runs.map(median);
    const rows = paths.map((p, i) => {
      const base = m[i - (i % 2)];
      return {
        era: p.era === '2025' ? '2025-11-25 (session)' : '2026-07-28 (stateless)',
        path: p.path,
        'tools/call per s': Math.round(m[i].rps),
        'p50 ms': m[i].p50,
        'p99 ms': m[i].p99,
        'vs direct': p.path === 'direct' ? 1 : m[i].rps / base.rps,
        errors: m[i].errors,
      };
    });
    return {
      title: `MCP eras: tools/call, ${CONCURRENCY} in flight, direct vs through Portcullis (SDK v2 dual-era server, ${ROUNDS} rounds of ${SLICE_SECONDS} s)`,
      rows,
      notes: [
        'Direct 2025: the SDK v2 server serves 2025 requests statelessly (a fresh server instance per request); through Portcullis the client has a session and the gateway keeps its own 2025 upstream session.',
        'Direct 2026-07-28: per-request envelope and headers; through Portcullis the envelope and headers are checked at the edge, the message pipeline runs, and the call goes upstream as a 2026-07-28 request.',
        '"vs direct" is requests per second through the gateway over the same era direct, medians over the rounds.',
      ],
    };
  } finally {
    for (const p of procs) p.kill('SIGKILL');
  }
}
