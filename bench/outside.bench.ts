// The bench that cannot flatter us (issue 29): one run, interleaved rounds, every gateway with its default
// logging and observability on, against baselines that are hard to beat.
//   HTTP: nginx serving a static 64-byte body; reached directly, through a 15-line node:http + undici proxy (the
//         runtime's ceiling), through nginx as a proxy, through Portcullis, and through agentgateway when
//         AGENTGATEWAY_BIN names its binary. wrk (C, one thread) keeps 32 connections busy.
//   MCP:  tools/call echo, 8 in flight on one session, server-everything over streamable HTTP directly, and through
//         each gateway to the same server (streamable HTTP target) and to its stdio form (stdio target).
//   A2A:  message/send (SendMessage, JSON-RPC) to the @a2a-js/sdk agent, directly and through each gateway.
//   Sessions: 20 new MCP sessions in a row on the stdio target (initialize, initialized, tools/list), each then
//         calling a tool without holding up the next: the time to open a session and the time to its first call.
//         BENCH_BASELINE_ROOT=<checkout> adds that tree's gateway to the same run (BENCH_BASELINE_LAST=1: its
//         bursts after this tree's).
// Both gateways read one agentgateway-format YAML file (Portcullis loads it into its own model), so neither runs
// a setting the other does not. The generator and the upstreams are pinned to core 0, the proxies to core 1
// (taskset), and CPU time per request comes from /proc/<pid>/stat: on a shared host it moves far less than req/s.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { checkTools, closedLoop, cpuMicros, loadAverage, spawnPinned, stopAll, type LoadResult, type LoadSpec, type Tools } from './harness.ts';
import { percentile, type BenchSection } from './report.ts';
import { freePort, waitForPort } from './ports.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const EVERYTHING = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3));
const SLICE_SECONDS = Number(process.env.BENCH_SLICE_SECONDS ?? (QUICK ? 2 : 4));
const BURST = Number(process.env.BENCH_BURST ?? 20);
const AGENTGATEWAY_BIN = process.env.AGENTGATEWAY_BIN;
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const CALL = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'bench' } } });
const SEND = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { messageId: 'bench', role: 'ROLE_USER', parts: [{ text: 'hello agent' }] } } });
const A2A_HEADERS = { 'content-type': 'application/json', 'a2a-version': '1.0' };

interface Gateway {
  name: string;
  proc: ChildProcess;
  port: number;
  /** Descendants whose command line contains this count as the gateway (its workers), not its stdio targets. */
  tree?: string;
}

function gatewayYaml(p: { port: number; admin: number; stats: number; readiness: number; nginx: number; mcp: number; agent: number; quiet?: boolean; workers?: string }): string {
  // `quiet`: no admin server, no metrics, logging at warn (no access line): what the default observability costs.
  return `${p.workers ? `workers: ${p.workers}\n` : ''}config:
  adminAddr: ${p.quiet ? 'false' : `127.0.0.1:${p.admin}`}
  statsAddr: ${p.quiet ? 'false' : `127.0.0.1:${p.stats}`}
  readinessAddr: 127.0.0.1:${p.readiness}
${p.quiet ? '  logging:\n    level: warn\n' : ''}binds:
- port: ${p.port}
  listeners:
  - routes:
    - name: mcp-http
      matches: [{ path: { pathPrefix: /mcp-http } }]
      backends:
      - mcp:
          targets:
          - name: everything
            mcp:
              host: http://127.0.0.1:${p.mcp}/mcp
    - name: mcp-stdio
      matches: [{ path: { pathPrefix: /mcp-stdio } }]
      backends:
      - mcp:
          targets:
          - name: everything
            stdio:
              cmd: ${JSON.stringify(process.execPath)}
              args: [${JSON.stringify(EVERYTHING)}, stdio]
    - name: http
      matches: [{ path: { pathPrefix: /bench } }]
      backends:
      - host: 127.0.0.1:${p.nginx}
    - name: a2a
      policies:
        a2a: {}
      backends:
      - host: 127.0.0.1:${p.agent}
`;
}

async function mcpPost(pool: Pool, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ session?: string; text: string }> {
  const res = await pool.request({ path, method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body: JSON.stringify(body) });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${path}: ${res.statusCode} ${text.slice(0, 300)}`);
  return { session: res.headers['mcp-session-id'] as string | undefined, text };
}

/** initialize + initialized; returns the headers a call on the session carries. */
async function openMcp(pool: Pool, path: string, protocolVersion = '2025-06-18'): Promise<Record<string, string>> {
  const init = await mcpPost(pool, path, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion, capabilities: {}, clientInfo: { name: 'bench', version: '1' } } });
  const h: Record<string, string> = { 'mcp-protocol-version': protocolVersion, ...(init.session ? { 'mcp-session-id': init.session } : {}) };
  await mcpPost(pool, path, { jsonrpc: '2.0', method: 'notifications/initialized' }, h);
  return h;
}

export async function bench(): Promise<BenchSection[]> {
  const cores = cpus().length;
  const tools = checkTools(cores);
  const dir = mkdtempSync(join(tmpdir(), 'pcl-bench-outside-'));
  const procs: ChildProcess[] = [];
  const sections: BenchSection[] = [];
  const setupNotes = [
    `load average at start ${loadAverage()}; ${cores} cores; generator ${tools.wrk ? 'wrk 1 thread' : 'autocannon'}; ${tools.pin ? `generator and upstreams on cpu ${tools.pin.load}, proxies on cpu ${tools.pin.proxy} (taskset)` : 'not pinned'}`,
    ...tools.missing.map((m) => `missing: ${m}`),
    ...(AGENTGATEWAY_BIN ? [`agentgateway: ${AGENTGATEWAY_BIN}`] : ['agentgateway: not in this run (set AGENTGATEWAY_BIN to its binary to add it)']),
  ];
  try {
    const pinLoad = tools.pin?.load;
    const pinProxy = tools.pin?.proxy;
    const [nginxPort, nginxProxyPort, barePort, mcpPort, agentPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    // The upstreams, on the generator's core.
    if (tools.nginx) {
      // nginx's workers run as an unprivileged user: the scratch directory (0700 from mkdtemp) must be readable.
      chmodSync(dir, 0o755);
      writeFileSync(join(dir, 'bench'), 'x'.repeat(64), { mode: 0o644 });
      writeFileSync(
        join(dir, 'upstream.conf'),
        `worker_processes 1; daemon off; pid ${dir}/upstream.pid; error_log ${dir}/upstream-error.log warn;
         events { worker_connections 4096; }
         http { access_log off; keepalive_requests 1000000; default_type text/plain;
           server { listen 127.0.0.1:${nginxPort}; root ${dir}; location / { try_files /bench =404; } } }\n`,
      );
      procs.push(spawnPinned(pinLoad, tools.nginx, ['-e', `${dir}/upstream-error.log`, '-p', dir, '-c', join(dir, 'upstream.conf')], { stdio: 'ignore' }));
      // nginx as a reference proxy, its access log on (to a file), as shipped.
      writeFileSync(
        join(dir, 'proxy.conf'),
        `worker_processes 1; daemon off; pid ${dir}/proxy.pid; error_log ${dir}/proxy-error.log warn;
         events { worker_connections 4096; }
         http { access_log ${dir}/proxy-access.log; keepalive_requests 1000000;
           upstream u { server 127.0.0.1:${nginxPort}; keepalive 128; }
           server { listen 127.0.0.1:${nginxProxyPort};
             location / { proxy_pass http://u; proxy_http_version 1.1; proxy_set_header Connection ""; } } }\n`,
      );
      procs.push(spawnPinned(pinProxy, tools.nginx, ['-e', `${dir}/proxy-error.log`, '-p', dir, '-c', join(dir, 'proxy.conf')], { stdio: 'ignore' }));
    }
    procs.push(spawnPinned(pinLoad, process.execPath, [EVERYTHING, 'streamableHttp'], { env: { ...process.env, PORT: String(mcpPort) }, stdio: 'ignore' }));
    const agentScript = `import { startAgent } from ${JSON.stringify(join(ROOT, 'test/fixtures/a2a/agent.ts'))}; await startAgent({ name: 'bench', port: ${agentPort} });`;
    procs.push(spawnPinned(pinLoad, process.execPath, ['--input-type=module', '-e', agentScript], { stdio: 'ignore' }));
    const bare = spawnPinned(pinProxy, process.execPath, [join(ROOT, 'bench/bare-proxy.mjs'), String(barePort), String(nginxPort)], { stdio: 'ignore' });
    procs.push(bare);

    // The gateways: one YAML, each with its default logging (lines to a file) and observability.
    const gateways: Gateway[] = [];
    const yamlFor = async (name: string, quiet = false, workers?: string) => {
      const [port, admin, stats, readiness] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, gatewayYaml({ port, admin, stats, readiness, nginx: nginxPort, mcp: mcpPort, agent: agentPort, quiet, workers }));
      return { port, file, log: openSync(join(dir, `${name}.log`), 'a') };
    };
    const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
    // BENCH_QUIET=1 adds `portcullis, quiet` (no admin server, no metrics, no access line) to show what the
    // default observability costs.
    // BENCH_BASELINE_ROOT=<another checkout> adds `portcullis, baseline`: the same gateway from that tree, in the same
    // run (A/B of a change against the tree it started from).
    const baselineRoot = process.env.BENCH_BASELINE_ROOT;
    const flavours: Array<[string, boolean, string]> = [
      ...(baselineRoot ? [['portcullis, baseline', false, baselineRoot] as [string, boolean, string]] : []),
      ['portcullis', false, ROOT],
      ...(process.env.BENCH_QUIET === '1' ? [['portcullis, quiet', true, ROOT] as [string, boolean, string]] : []),
    ];
    for (const [name, quiet, root] of flavours) {
      const c = await yamlFor(name.replace(/\W+/g, '-'), quiet);
      const proc = spawnPinned(pinProxy, process.execPath, ['--no-node-snapshot', ...prof, join(root, 'core/cli/bin.mjs'), 'start', '--no-watch', '-c', c.file], { stdio: ['ignore', c.log, c.log], cwd: dir });
      procs.push(proc);
      gateways.push({ name, proc, port: c.port, tree: 'bin.mjs' });
    }
    // Scaling with cores (BENCH_ONLY=scaling, or the full run): the same gateway with 1 worker and with
    // `workers: auto`, neither pinned (the generator stays on its core): HTTP legs only.
    const scaling: Gateway[] = [];
    if (!QUICK && (!process.env.BENCH_ONLY || process.env.BENCH_ONLY.split(',').includes('scaling'))) {
      for (const [name, workers] of [['portcullis, 1 worker, unpinned', '1'], ['portcullis, workers: auto, unpinned', 'auto']]) {
        const c = await yamlFor(name.replace(/\W+/g, '-'), false, workers);
        const proc = spawn(process.execPath, ['--no-node-snapshot', join(ROOT, 'core/cli/bin.mjs'), 'start', '--no-watch', '-c', c.file], { stdio: ['ignore', c.log, c.log], cwd: dir });
        procs.push(proc);
        scaling.push({ name, proc, port: c.port, tree: 'bin.mjs' });
      }
    }
    if (AGENTGATEWAY_BIN) {
      const c = await yamlFor('agentgateway');
      const proc = spawnPinned(pinProxy, AGENTGATEWAY_BIN, ['-f', c.file], { stdio: ['ignore', c.log, c.log], cwd: dir });
      procs.push(proc);
      gateways.push({ name: 'agentgateway', proc, port: c.port });
    }
    await Promise.all([waitForPort(mcpPort, 30_000), waitForPort(agentPort, 30_000), waitForPort(barePort), ...(tools.nginx ? [waitForPort(nginxPort), waitForPort(nginxProxyPort)] : []), ...[...gateways, ...scaling].map((g) => waitForPort(g.port, 60_000))]);

    // --- The legs: a name, the process whose CPU counts, and the load.
    interface Leg {
      workload: string;
      path: string;
      pid?: number;
      tree?: string;
      spec: LoadSpec;
      results: LoadResult[];
      cpu: number;
      load: string[];
    }
    const legs: Leg[] = [];
    // BENCH_ONLY=HTTP,MCP,A2A,sessions (any of them): only those parts, e.g. with BENCH_CPU_PROF=<dir> to profile one workload.
    const onlyLegs = process.env.BENCH_ONLY?.split(',');
    const leg = (workload: string, path: string, spec: LoadSpec, pid?: number, tree?: string) => onlyLegs && !onlyLegs.some((o) => workload.startsWith(o)) ? 0 : legs.push({ workload, path, pid, tree, spec, results: [], cpu: 0, load: [] });
    const seconds = SLICE_SECONDS;
    if (tools.nginx) {
      const get = (port: number): LoadSpec => ({ url: `http://127.0.0.1:${port}/bench`, connections: 32, seconds });
      leg('HTTP GET, 32 conns', 'direct (nginx static)', get(nginxPort));
      leg('HTTP GET, 32 conns', 'bare node:http+undici proxy', get(barePort), bare.pid);
      leg('HTTP GET, 32 conns', 'nginx proxy', get(nginxProxyPort), procs[1].pid, 'nginx');
      for (const g of gateways) leg('HTTP GET, 32 conns', g.name, get(g.port), g.proc.pid, g.tree);
      for (const g of scaling) legs.push({ workload: 'HTTP GET, 32 conns', path: g.name, pid: g.proc.pid, tree: g.tree, spec: get(g.port), results: [], cpu: 0, load: [] });
    }
    // MCP: one session per path, opened now; 8 calls in flight on it.
    const direct = new Pool(`http://127.0.0.1:${mcpPort}`);
    const mcpCall = async (port: number, path: string): Promise<LoadSpec> => {
      const pool = new Pool(`http://127.0.0.1:${port}`);
      const h = await openMcp(pool, path);
      const check = await mcpPost(pool, path, JSON.parse(CALL), h);
      if (!check.text.includes('Echo: bench')) throw new Error(`tools/call on ${port}${path} answered ${check.text.slice(0, 300)}`);
      await pool.close();
      return { url: `http://127.0.0.1:${port}${path}`, connections: 8, seconds, method: 'POST', body: CALL, headers: { ...MCP_HEADERS, ...h } };
    };
    leg('MCP tools/call, 8 in flight', 'direct (streamable HTTP)', await mcpCall(mcpPort, '/mcp'));
    for (const g of gateways) leg('MCP tools/call, 8 in flight', `${g.name}, streamable HTTP target`, await mcpCall(g.port, '/mcp-http/mcp'), g.proc.pid, g.tree);
    for (const g of gateways) leg('MCP tools/call, 8 in flight', `${g.name}, stdio target`, await mcpCall(g.port, '/mcp-stdio/mcp'), g.proc.pid, g.tree);
    await direct.close();
    const send = async (url: string): Promise<LoadSpec> => {
      // The load counts only HTTP statuses: check once that the answer is a JSON-RPC result, not an error.
      const res = await fetch(url, { method: 'POST', headers: A2A_HEADERS, body: SEND });
      const text = await res.text();
      if (res.status !== 200 || !text.includes('"result"')) throw new Error(`SendMessage to ${url} answered ${res.status} ${text.slice(0, 300)}`);
      return { url, connections: 8, seconds, method: 'POST', body: SEND, headers: A2A_HEADERS };
    };
    leg('A2A message/send, 8 in flight', 'direct', await send(`http://127.0.0.1:${agentPort}/a2a/jsonrpc`));
    for (const g of gateways) leg('A2A message/send, 8 in flight', g.name, await send(`http://127.0.0.1:${g.port}/a2a/jsonrpc`), g.proc.pid, g.tree);

    // Warm-up: JIT, pools, keep-alive sockets.
    for (const l of legs) closedLoop(tools, { ...l.spec, seconds: 1 }, dir);
    // Interleaved rounds: a burst of outside load hits every path alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const l of legs) {
        const before = cpuMicros(l.pid, l.tree);
        const r = closedLoop(tools, l.spec, dir);
        const after = cpuMicros(l.pid, l.tree);
        l.results.push(r);
        l.cpu += after - before;
        l.load.push(loadAverage().split(' ')[0]);
      }
    }
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const rps = (l: Leg) => avg(l.results.map((r) => r.rps));
    const cpuPerReq = (l: Leg) => (l.pid === undefined ? NaN : l.cpu / l.results.reduce((a, r) => a + r.requests, 0));
    const find = (workload: string, path: string) => legs.find((l) => l.workload.startsWith(workload) && l.path === path);
    const rows = legs.map((l) => ({
      workload: l.workload,
      path: l.path,
      'req/s': Math.round(rps(l)),
      'per round': l.results.map((r) => Math.round(r.rps)).join(' '),
      'p50 ms': avg(l.results.map((r) => r.p50)) / 1000,
      'p99 ms': avg(l.results.map((r) => r.p99)) / 1000,
      errors: l.results.reduce((a, r) => a + r.errors, 0),
      'proxy cpu µs/req': Number.isNaN(cpuPerReq(l)) ? '' : Math.round(cpuPerReq(l)),
      'load avg (1 min)': l.load.join(' '),
    }));
    const notes: string[] = [...setupNotes];
    const ratio = (a: Leg | undefined, b: Leg | undefined, f: (l: Leg) => number) => (a && b ? (f(a) / f(b)).toFixed(2) : 'n/a');
    const httpBare = find('HTTP', 'bare node:http+undici proxy');
    for (const g of gateways) {
      const h = find('HTTP', g.name);
      if (h) notes.push(`HTTP ${g.name}/bare proxy: req/s ${ratio(h, httpBare, rps)} (goal >= 0.9), CPU/req ${ratio(h, httpBare, cpuPerReq)} (goal <= 1.1); ${g.name}/nginx proxy req/s ${ratio(h, find('HTTP', 'nginx proxy'), rps)}`);
      const d = find('MCP', 'direct (streamable HTTP)');
      for (const t of ['streamable HTTP target', 'stdio target']) {
        const m = find('MCP', `${g.name}, ${t}`);
        if (m) notes.push(`MCP ${g.name}, ${t}/direct: req/s ${ratio(m, d, rps)} (goal >= 0.9); gateway CPU ${Math.round(cpuPerReq(m))} µs per tools/call`);
      }
      const a = find('A2A', g.name);
      if (a) notes.push(`A2A ${g.name}/direct: req/s ${ratio(a, find('A2A', 'direct'), rps)} (goal >= 0.9); gateway CPU ${Math.round(cpuPerReq(a))} µs per message/send`);
    }
    if (gateways.length > 1) {
      for (const w of ['HTTP', 'MCP', 'A2A']) {
        const mine = legs.filter((l) => l.workload.startsWith(w) && l.path.startsWith('portcullis'));
        for (const l of mine) {
          const theirs = find(w, l.path.replace('portcullis', 'agentgateway'));
          if (theirs) notes.push(`${w} ${l.path} / agentgateway: req/s ${ratio(l, theirs, rps)}, CPU/req ${ratio(l, theirs, cpuPerReq)}`);
        }
      }
    }
    if (scaling.length === 2) {
      const one = find('HTTP', scaling[0].name);
      const auto = find('HTTP', scaling[1].name);
      notes.push(`scaling: workers: auto (${cores} here) / 1 worker, both unpinned: req/s ${ratio(auto, one, rps)}, CPU/req ${ratio(auto, one, cpuPerReq)}${find('HTTP', 'portcullis') ? `; one pinned worker serves ${Math.round(rps(find('HTTP', 'portcullis')!))} req/s on its core` : ''}`);
    }
    notes.push(`${ROUNDS} interleaved rounds of ${SLICE_SECONDS} s per path (BENCH_ROUNDS, BENCH_SLICE_SECONDS${QUICK ? '; --quick' : ''}); CPU = user + system of the proxy process (and its workers) from /proc over its slices / requests served; every gateway with its default logging (to a file), metrics and admin server`);

    // Fixed rate: 1,000 req/s, the added p99 (HTTP path).
    const fixedRows: Array<Record<string, string | number>> = [];
    if (tools.nginx && (!onlyLegs || onlyLegs.includes('HTTP'))) {
      const fixedTargets: Array<[string, number]> = [['direct (nginx static)', nginxPort], ['bare node:http+undici proxy', barePort], ...gateways.map((g): [string, number] => [g.name, g.port])];
      const lat: Record<string, number[]> = Object.fromEntries(fixedTargets.map(([n]) => [n, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const [n, port] of fixedTargets) {
          const args = [join(ROOT, 'bench/fixed-rate.mjs'), `http://127.0.0.1:${port}/bench`, '1000', String(Math.min(SLICE_SECONDS, 3)), '16', '--raw'];
          const run = spawnSync(pinLoad ? 'taskset' : process.execPath, pinLoad ? ['-c', pinLoad, process.execPath, ...args] : args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
          if (run.status !== 0) throw new Error(`fixed-rate failed: ${run.stderr}`);
          lat[n].push(...(JSON.parse(run.stdout).latencies as number[]));
        }
      }
      const d50 = percentile(lat['direct (nginx static)'], 50);
      const d99 = percentile(lat['direct (nginx static)'], 99);
      for (const [n] of fixedTargets) {
        fixedRows.push({ path: n, 'p50 ms': percentile(lat[n], 50) / 1000, 'p99 ms': percentile(lat[n], 99) / 1000, 'added p50 ms': (percentile(lat[n], 50) - d50) / 1000, 'added p99 ms': (percentile(lat[n], 99) - d99) / 1000 });
      }
    }

    // Sessions: BURST new sessions in a row on the stdio target (the pool with its defaults), twice: the first
    // burst finds the pool at its resting size and grows it; the second, 3 s later, finds it grown. Each session
    // then calls a tool, not waited for before the next session opens (a session answered before its process is up
    // pays for it there): the time from the session's initialize to that call's answer is the second figure.
    // The gateways' first bursts come first, one after the other, then their second bursts: none has a head start.
    const burstRows: Array<Record<string, string | number>> = [];
    const onlyBurst = !onlyLegs || onlyLegs.includes('sessions');
    // BENCH_BASELINE_LAST=1: the baseline's bursts come after the candidate's (alternate runs to even out the order).
    const burstOrder = baselineRoot && process.env.BENCH_BASELINE_LAST === '1' ? [...gateways.slice(1), gateways[0]] : gateways;
    // The calls go on connections of their own: a call waiting for its process never holds up the next session.
    const burstPools = new Map((onlyBurst ? burstOrder : []).map((g) => [g, { pool: new Pool(`http://127.0.0.1:${g.port}`, { connections: 2 }), calls: new Pool(`http://127.0.0.1:${g.port}`, { connections: BURST }) }]));
    for (const pass of onlyBurst ? ['first burst', 'second burst, 3 s later'] : []) {
      for (const [g, { pool, calls: callPool }] of burstPools) {
        const times: number[] = [];
        const calls: Array<Promise<number>> = [];
        const held: string[] = [];
        const burstStart = performance.now();
        for (let i = 0; i < BURST; i++) {
          const t0 = performance.now();
          const h = await openMcp(pool, '/mcp-stdio/mcp');
          await mcpPost(pool, '/mcp-stdio/mcp', { jsonrpc: '2.0', id: 1, method: 'tools/list' }, h);
          times.push(performance.now() - t0);
          calls.push(
            mcpPost(callPool, '/mcp-stdio/mcp', JSON.parse(CALL), h).then(({ text }) => {
              if (!text.includes('Echo: bench')) throw new Error(`${g.name}: tools/call on a new session answered ${text.slice(0, 300)}`);
              return performance.now() - t0;
            }),
          );
          if (h['mcp-session-id']) held.push(h['mcp-session-id']);
        }
        const callTimes = await Promise.all(calls);
        const allAnswered = performance.now() - burstStart;
        for (const id of held) await (await pool.request({ path: '/mcp-stdio/mcp', method: 'DELETE', headers: { 'mcp-session-id': id } })).body.text();
        burstRows.push({
          path: g.name,
          burst: pass,
          'p50 ms': percentile(times, 50),
          'p90 ms': percentile(times, 90),
          'max ms': Math.max(...times),
          'first call p50 ms': percentile(callTimes, 50),
          'first call p90 ms': percentile(callTimes, 90),
          'first call max ms': Math.max(...callTimes),
          'all calls answered ms': allAnswered,
          'load avg': loadAverage(),
        });
      }
      await new Promise((r) => setTimeout(r, 3000));
    }
    for (const { pool, calls } of burstPools.values()) await Promise.all([pool.close(), calls.close()]);

    sections.push({ title: 'Outside bench: HTTP, MCP, A2A through each gateway vs direct and a bare proxy (one run, interleaved)', rows, notes });
    if (fixedRows.length) sections.push({ title: 'Outside bench: fixed 1,000 req/s (HTTP, 16 conns)', rows: fixedRows, notes: [`goal: added p99 <= 2 ms; load average ${loadAverage()}`] });
    if (burstRows.length) sections.push({ title: `Outside bench: ${BURST} new MCP sessions in a row on a stdio target (initialize → tools/list), default pool`, rows: burstRows, notes: ['goal: p50 <= 20 ms, p90 <= 100 ms (initialize → tools/list)', 'first call: from the session\'s initialize to the answer of its first tools/call, sent right after its tools/list and not waited for before the next session; all calls answered: from the first initialize of the burst to the last of those answers'] });
    return sections;
  } finally {
    await stopAll(procs);
  }
}
