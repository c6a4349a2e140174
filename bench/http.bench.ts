// HTTP proxying, one upstream reached three ways in one run: directly, through Portcullis, through nginx.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentile, type BenchSection } from './report.ts';
import { freePort, waitForPort } from './ports.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SLICE_SECONDS = Number(process.env.BENCH_SLICE_SECONDS ?? 3);



function ensureNginx(): string {
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (existsSync(p)) return p;
  console.error('installing nginx from Debian (reference proxy for the bench)...');
  execFileSync('bash', ['-c', 'export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq nginx-light >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq nginx-light >/dev/null)'], { stdio: 'inherit' });
  return '/usr/sbin/nginx';
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** Requests completed in the slice. */
  total: number;
}

/** The CPU clock's ticks per second, for /proc/<pid>/stat (100 on every common Linux). */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time (user + system) a process has used so far, in µs, or undefined where /proc is not there. Per request,
 * it is a steadier figure than req/s on a shared host: outside load slows a proxy down, but barely changes the
 * CPU it spends on each request.
 */
function cpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** autocannon in its own process, so the load generator does not share an event loop with what it measures. */
function load(port: number, args: string[], seconds: number): Load {
  const run = spawnSync(process.execPath, [join(ROOT, 'node_modules/autocannon/autocannon.js'), '-j', '-d', String(seconds), ...args, `http://127.0.0.1:${port}/bench`], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0 || !run.stdout) throw new Error(`autocannon failed (${run.status}): ${run.stderr}`);
  const r = JSON.parse(run.stdout);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx, total: r.requests.total };
}

/** Runs bench/fixed-rate.mjs in its own process and returns every latency in µs. */
export function fixedRate(url: string, rate: number, seconds: number): { latencies: number[]; errors: number } {
  const run = spawnSync(process.execPath, [join(ROOT, 'bench/fixed-rate.mjs'), url, String(rate), String(seconds), '16', '--raw'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`fixed-rate client failed (${run.status}): ${run.stderr}`);
  const r = JSON.parse(run.stdout);
  return { latencies: r.latencies, errors: r.errors };
}

export async function bench(): Promise<BenchSection> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-bench-'));
  const procs: ChildProcess[] = [];
  const nginx = ensureNginx();
  try {
    const upstreamPort = await freePort();
    const gatewayPort = await freePort();
    const plainPort = await freePort();
    const nginxPort = await freePort();
    const barePort = await freePort();
    // The upstream: a minimal node:http server with a 64-byte body, in its own process.
    procs.push(
      spawn(process.execPath, ['-e', `require('node:http').createServer((q,s)=>{s.writeHead(200,{'content-type':'text/plain'});s.end('x'.repeat(64))}).listen(${upstreamPort},'127.0.0.1')`], { stdio: 'ignore' }),
    );
    // The ceiling: a bare node:http + undici proxy on the same Node (what the runtime allows without a gateway).
    const bare = spawn(process.execPath, [join(ROOT, 'bench/bare-proxy.mjs'), String(barePort), String(upstreamPort)], { stdio: 'ignore' });
    procs.push(bare);
    const pids: Record<string, number | undefined> = { 'bare node proxy': bare.pid };
    // Two gateways on the same route without policies: `portcullis` as the default config runs it (Prometheus
    // metrics on, here on a port of their own: another gateway on this host may hold the default 15020), and
    // `portcullis, no metrics` (stats off), which does what the bare proxy and nginx do and nothing more. The
    // difference between the two is what the metrics subscriber costs per request.
    // With the runtime's flag given up front, bin.mjs runs the gateway in this very process: one pid to kill.
    // BENCH_CPU_PROF=<dir> writes each gateway's CPU profile there (open it in Chrome DevTools or speedscope).
    const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
    for (const [name, port, stats] of [['gateway', gatewayPort, "'127.0.0.1:0'"], ['gateway-no-metrics', plainPort, 'false']] as const) {
      writeFileSync(
        join(dir, `${name}.config.ts`),
        `export default { admin: { address: false }, readiness: { address: false }, stats: { address: ${stats} }, logging: { level: 'warn' },
          binds: [{ port: ${port}, address: '127.0.0.1', listeners: [{ routes: [{ backends: [{ host: '127.0.0.1:${upstreamPort}' }] }] }] }] };\n`,
      );
      const gateway = spawn(process.execPath, ['--no-node-snapshot', ...prof, join(ROOT, 'core/cli/bin.mjs'), 'start', '--no-watch', '-c', join(dir, `${name}.config.ts`)], { stdio: 'ignore' });
      procs.push(gateway);
      pids[name === 'gateway' ? 'portcullis' : 'portcullis, no metrics'] = gateway.pid;
    }
    // nginx as the reference: one worker (Portcullis runs one event loop), keep-alive to the upstream, no access log
    // (Portcullis runs with its access log at warn level, so neither writes a line per request).
    writeFileSync(
      join(dir, 'nginx.conf'),
      `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log warn;
       events { worker_connections 4096; }
       http { access_log off;
         upstream u { server 127.0.0.1:${upstreamPort}; keepalive 128; }
         server { listen 127.0.0.1:${nginxPort};
           location / { proxy_pass http://u; proxy_http_version 1.1; proxy_set_header Connection "";
             proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; proxy_buffering off; } } }\n`,
    );
    procs.push(spawn(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' }));
    await Promise.all([waitForPort(upstreamPort), waitForPort(gatewayPort), waitForPort(plainPort), waitForPort(nginxPort), waitForPort(barePort)]);

    const targets = { direct: upstreamPort, 'bare node proxy': barePort, portcullis: gatewayPort, 'portcullis, no metrics': plainPort, nginx: nginxPort };
    // Warm up every path (JIT, pools) before measuring.
    for (const port of Object.values(targets)) load(port, ['-c', '20'], 2);
    // The machine is shared and noisy: measurements are interleaved in short slices, round-robin over the
    // paths, so a burst of outside load hits all of them alike instead of skewing one.
    const names = Object.keys(targets) as Array<keyof typeof targets>;
    const sat = Object.fromEntries(names.map((n) => [n, [] as Load[]])) as Record<string, Load[]>;
    const fixed = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<string, number[]>;
    const fixedErrors: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
    // The proxies' CPU time over the saturation slices, and the requests it served.
    const cpu: Record<string, { micros: number; requests: number }> = Object.fromEntries(names.map((n) => [n, { micros: 0, requests: 0 }]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const n of names) {
        const before = cpuMicros(pids[n]);
        const l = load(targets[n], ['-c', '50'], SLICE_SECONDS);
        const after = cpuMicros(pids[n]);
        sat[n].push(l);
        if (before !== undefined && after !== undefined) {
          cpu[n].micros += after - before;
          cpu[n].requests += l.total;
        }
      }
      for (const n of names) {
        const r = fixedRate(`http://127.0.0.1:${targets[n]}/bench`, 1000, SLICE_SECONDS);
        fixed[n].push(...r.latencies);
        fixedErrors[n] += r.errors;
      }
    }
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const rps = Object.fromEntries(names.map((n) => [n, avg(sat[n].map((l) => l.rps))])) as Record<string, number>;
    const p = (n: string, q: number) => percentile(fixed[n], q) / 1000;
    const cpuPerRequest = (n: string) => (cpu[n].requests === 0 ? NaN : cpu[n].micros / cpu[n].requests);
    const rows = names.flatMap((n): Array<Record<string, string | number>> => [
      {
        load: 'saturation, 50 conns',
        path: n,
        'req/s': Math.round(rps[n]),
        'p50 ms': avg(sat[n].map((l) => l.p50)),
        'p99 ms': avg(sat[n].map((l) => l.p99)),
        errors: sat[n].reduce((a, l) => a + l.errors, 0),
        'cpu µs/req': cpu[n].requests === 0 ? '' : Math.round(cpuPerRequest(n)),
      },
      { load: 'fixed 1000 req/s', path: n, 'req/s': 1000, 'p50 ms': p(n, 50), 'p99 ms': p(n, 99), errors: fixedErrors[n] },
    ]);
    const ratio = (a: number, b: number) => (b === 0 ? NaN : a / b);
    return {
      title: 'HTTP proxying: direct vs Portcullis vs nginx (same upstream, one run)',
      rows,
      notes: [
        `throughput Portcullis/bare node:http+undici proxy = ${ratio(rps.portcullis, rps['bare node proxy']).toFixed(2)} (goal >= 0.9: the runtime's ceiling); without metrics ${ratio(rps['portcullis, no metrics'], rps['bare node proxy']).toFixed(2)}`,
        `throughput Portcullis/nginx = ${ratio(rps.portcullis, rps.nginx).toFixed(2)} (goal >= 0.5); without metrics ${ratio(rps['portcullis, no metrics'], rps.nginx).toFixed(2)}`,
        `proxy CPU per request (user + system, /proc; steadier than req/s on a shared host): Portcullis/bare proxy = ${ratio(cpuPerRequest('portcullis'), cpuPerRequest('bare node proxy')).toFixed(2)}, without metrics ${ratio(cpuPerRequest('portcullis, no metrics'), cpuPerRequest('bare node proxy')).toFixed(2)} (1/0.9 = 1.11 matches the throughput goal)`,
        `throughput Portcullis/direct = ${ratio(rps.portcullis, rps.direct).toFixed(2)}, nginx/direct = ${ratio(rps.nginx, rps.direct).toFixed(2)}`,
        `added p50 at 1000 req/s: Portcullis ${(p('portcullis', 50) - p('direct', 50)).toFixed(3)} ms (without metrics ${(p('portcullis, no metrics', 50) - p('direct', 50)).toFixed(3)}), bare proxy ${(p('bare node proxy', 50) - p('direct', 50)).toFixed(3)} ms, nginx ${(p('nginx', 50) - p('direct', 50)).toFixed(3)} ms`,
        `added p99 at 1000 req/s: Portcullis ${(p('portcullis', 99) - p('direct', 99)).toFixed(3)} ms (goal <= 1 ms; without metrics ${(p('portcullis, no metrics', 99) - p('direct', 99)).toFixed(3)}), bare proxy ${(p('bare node proxy', 99) - p('direct', 99)).toFixed(3)} ms, nginx ${(p('nginx', 99) - p('direct', 99)).toFixed(3)} ms`,
        `${ROUNDS} interleaved rounds of ${SLICE_SECONDS} s per path and load (BENCH_ROUNDS, BENCH_SLICE_SECONDS); saturation load from autocannon (ms resolution), fixed rate from bench/fixed-rate.mjs (µs resolution), each in its own process; 2 cores shared by load generator, proxy and upstream`,
      ],
    };
  } finally {
    // SIGTERM: nginx's master stops its workers on it (after a SIGKILL they would run on, orphaned).
    for (const p of procs) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
}
