// The parts of the outside bench that do not flatter: a closed-loop generator in C (wrk) when the machine has it,
// processes pinned apart with taskset, CPU time per request read from /proc, the load average beside each figure.
import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin'])) {
    const p = join(dir, cmd);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/** The tools the bench uses and what is missing, said once at the start of a run. */
export interface Tools {
  nginx?: string;
  wrk?: string;
  taskset?: string;
  /** The cores: the generator and upstreams on `load`, the proxies on `proxy` (undefined when not pinned). */
  pin?: { load: string; proxy: string };
  missing: string[];
}

export function checkTools(cores: number): Tools {
  const nginx = which('nginx');
  const wrk = which('wrk');
  const taskset = which('taskset');
  const missing: string[] = [];
  if (!nginx) missing.push('nginx (apt-get install nginx-light): the static upstream and the reference proxy; the HTTP leg is skipped');
  if (!wrk) missing.push('wrk (apt-get install wrk): the closed-loop generator; autocannon (Node, costs more CPU on the shared cores) is used instead');
  if (!taskset) missing.push('taskset (util-linux): generator and gateway are not pinned apart');
  // BENCH_PIN=0: not pinned (on a host whose other load sits on one core, pinning starves what is put there).
  const pin = taskset && cores >= 2 && process.env.BENCH_PIN !== '0' ? { load: '0', proxy: String(cores >= 4 ? '1-' + (cores - 1) : 1) } : undefined;
  return { nginx, wrk, taskset, pin, missing };
}

/** Spawns `cmd args`, under `taskset -c cpus` when given (taskset execs: the pid is the command's). */
export function spawnPinned(cpus: string | undefined, cmd: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  return cpus ? spawn('taskset', ['-c', cpus, cmd, ...args], options) : spawn(cmd, args, options);
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
 * CPU time (user + system) of a process and its descendants whose command line contains `treeMatch`, in µs. Per
 * request it is steadier than req/s on a shared host: outside load slows a proxy down but barely changes the CPU
 * it spends on each request.
 */
export function cpuMicros(pid: number | undefined, treeMatch?: string): number {
  if (pid === undefined) return NaN;
  let total = 0;
  const visit = (p: number, depth: number) => {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      total += ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
    } catch {
      return;
    }
    if (!treeMatch || depth > 2) return;
    let children: string[] = [];
    try {
      children = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      return;
    }
    for (const c of children) {
      try {
        if (readFileSync(`/proc/${c}/cmdline`, 'utf8').includes(treeMatch)) visit(Number(c), depth + 1);
      } catch {
        // gone
      }
    }
  };
  visit(pid, 0);
  return total;
}

export const loadAverage = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

export interface LoadSpec {
  url: string;
  connections: number;
  seconds: number;
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
}

export interface LoadResult {
  requests: number;
  rps: number;
  /** µs */
  p50: number;
  /** µs */
  p99: number;
  errors: number;
}

/**
 * A closed-loop load: `connections` requests in flight for `seconds`, from wrk (one thread) when installed, else
 * autocannon; pinned to `cpus` when given. Counts non-2xx answers and socket errors as errors.
 */
export function closedLoop(tools: Tools, spec: LoadSpec, scratch: string): LoadResult {
  const cpus = tools.pin?.load;
  const pre = cpus ? ['taskset', '-c', cpus] : [];
  if (tools.wrk) {
    const script = join(scratch, `wrk-${Math.random().toString(36).slice(2)}.lua`);
    const lines = [
      `wrk.method = ${JSON.stringify(spec.method ?? 'GET')}`,
      ...(spec.body !== undefined ? [`wrk.body = ${luaString(spec.body)}`] : []),
      ...Object.entries(spec.headers ?? {}).map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}`),
      'done = function(s, latency, requests)',
      '  local e = s.errors',
      '  io.write(string.format("\\nRESULT {\\"requests\\":%d,\\"duration\\":%d,\\"errors\\":%d,\\"p50\\":%d,\\"p99\\":%d}\\n", s.requests, s.duration, e.connect + e.read + e.write + e.timeout + e.status, latency:percentile(50), latency:percentile(99)))',
      'end',
    ];
    writeFileSync(script, lines.join('\n') + '\n');
    const args = [...pre, tools.wrk, '-t1', `-c${spec.connections}`, `-d${spec.seconds}s`, '--timeout', '10s', '-s', script, spec.url];
    const run = spawnSync(args[0], args.slice(1), { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    const m = /RESULT (\{.*\})/.exec(run.stdout ?? '');
    if (!m) throw new Error(`wrk failed (${run.status}): ${run.stderr}${run.stdout}`);
    const r = JSON.parse(m[1]) as { requests: number; duration: number; errors: number; p50: number; p99: number };
    return { requests: r.requests, rps: r.requests / (r.duration / 1e6), p50: r.p50, p99: r.p99, errors: r.errors };
  }
  const args = [
    ...pre,
    process.execPath,
    join(ROOT, 'node_modules/autocannon/autocannon.js'),
    '-j',
    '-c',
    String(spec.connections),
    '-d',
    String(spec.seconds),
    '-m',
    spec.method ?? 'GET',
    ...(spec.body !== undefined ? ['-b', spec.body] : []),
    ...Object.entries(spec.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}=${v}`]),
    spec.url,
  ];
  const run = spawnSync(args[0], args.slice(1), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0 || !run.stdout) throw new Error(`autocannon failed (${run.status}): ${run.stderr}`);
  const r = JSON.parse(run.stdout);
  return { requests: r.requests.total, rps: r.requests.average, p50: r.latency.p50 * 1000, p99: r.latency.p99 * 1000, errors: r.errors + r.non2xx };
}

function luaString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** Stops what the bench started: SIGTERM (nginx's master stops its workers on it), then SIGKILL what is left. */
export async function stopAll(procs: ChildProcess[]): Promise<void> {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
  const until = Date.now() + 3000;
  while (Date.now() < until && procs.some((p) => p.exitCode === null && p.signalCode === null)) await new Promise((r) => setTimeout(r, 50));
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
}
