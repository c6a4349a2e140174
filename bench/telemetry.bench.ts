// Tracing overhead: the same gateway config with tracing off and on (100 % sampling, OTLP/protobuf to a live local
// receiver that decodes every export and counts its spans), plain HTTP and MCP tools/call, interleaved in one run.
// Reported per mode: req/s and the gateway's CPU per request from /proc (process and threads) under a closed-loop
// load, and p50/p99 at one request in flight (the latency tracing adds, without queueing in it).
// BENCH_BASELINE=<checkout> (e.g. /work/main) adds that checkout's gateway, off and on, to the same run. A second
// section measures the tracing pipeline alone in one process (steadier on a shared host); BENCH_ONLY=pipeline runs
// only that.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { checkTools, closedLoop, cpuMicros, loadAverage, spawnPinned, stopAll, type LoadResult, type LoadSpec } from './harness.ts';
import { freePort, waitForPort } from './ports.ts';
import type { BenchSection } from './report.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const EVERYTHING = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const QUICK = process.env.BENCH_QUICK === '1';
const SLICE_SECONDS = Number(process.env.BENCH_SLICE_SECONDS ?? (QUICK ? 2 : 3));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3));
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const CALL = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'bench' } } });

// The HTTP upstream and the OTLP receiver, in a process of their own on the generator's core. The receiver decodes
// each ExportTraceServiceRequest (resource_spans 1 > scope_spans 2 > spans 2 > kind 6) with OpenTelemetry's own
// protobuf reader and counts spans per path (one path per gateway) and kind: proof that the spans arrive.
const SIDECAR = `
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
const require = createRequire(process.argv[2]);
const { ProtobufReader } = require('@opentelemetry/otlp-transformer/build/src/common/protobuf/protobuf-reader.js');
const listening = (s) => new Promise((r) => s.listen(0, '127.0.0.1', () => r(s.address().port)));
const upstream = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok'));
function each(buf, field, on) {
  const r = new ProtobufReader(buf);
  while (!r.isAtEnd()) {
    const t = r.readTag();
    if (t.fieldNumber === field && t.wireType === 2) on(r.readBytes());
    else r.skip(t.wireType);
  }
}
function kindOf(span) {
  const r = new ProtobufReader(span);
  while (!r.isAtEnd()) {
    const t = r.readTag();
    if (t.fieldNumber === 6 && t.wireType === 0) return r.readVarint();
    r.skip(t.wireType);
  }
  return 0;
}
const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const counts = {};
const receiver = createServer((req, res) => {
  if (req.method === 'GET') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(counts));
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const c = (counts[req.url] ??= { exports: 0, bytes: 0, spans: 0, internal: 0, server: 0, client: 0 });
    const body = Buffer.concat(chunks);
    c.exports++;
    c.bytes += body.length;
    each(body, 1, (rs) => each(rs, 2, (ss) => each(ss, 2, (span) => {
      c.spans++;
      c[KINDS[kindOf(span)]] = (c[KINDS[kindOf(span)]] ?? 0) + 1;
    })));
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  });
});
process.stdout.write(JSON.stringify([await listening(upstream), await listening(receiver)]) + '\\n');
`;

// The tracing subscriber and its OTLP/protobuf export alone, in one process: the request, message and upstream
// events of a plain HTTP request or an MCP tools/call published as the gateway publishes them, 10 per 1 ms tick,
// exported to a receiver in a child process. Prints { rounds: CPU µs per request of this process, exported, dropped }.
const PIPELINE = `
import { spawn } from 'node:child_process';
const [kind, root, perRound, tracing] = process.argv.slice(2);
const { requestChannel, messageChannel, upstreamChannel } = await import(root + '/core/telemetry/events.ts');
const { startTraceExport } = await import(root + '/core/telemetry/trace-export.ts');
const receiver = spawn(process.execPath, ['-e', "require('node:http').createServer((q, r) => { q.resume(); q.on('end', () => r.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()); }).listen(0, '127.0.0.1', function () { console.log(this.address().port); })"], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((r) => receiver.stdout.once('data', (d) => r(Number(String(d).trim()))));
const counts = { exported: 0, queue_full: 0, export_failed: 0 };
const te = tracing === 'off' ? undefined : startTraceExport({
  tracing: { endpoint: 'http://127.0.0.1:' + port + '/v1/traces', protocol: 'http/protobuf', headers: {}, samplerRatio: 1, clientSamplerRatio: 1, maxQueueSize: 2048, scheduledDelayMs: 200, exportTimeoutMs: 10000, serviceName: 'bench', resourceAttributes: {} },
  langfuse: undefined, keys: undefined, gateway: undefined, version: '1',
  count: () => (outcome, n) => (counts[outcome] += n),
});
let id = 0;
function upstream(requestId, method, path) {
  const u = { requestId, route: 'r', backend: 'b', attempt: 0, method, origin: 'http://127.0.0.1:9', path };
  upstreamChannel.start.publish(u);
  upstreamChannel.end.publish(u);
  u.status = 200;
  upstreamChannel.asyncStart.publish(u);
  upstreamChannel.asyncEnd.publish(u);
}
function http() {
  const e = { id: String(++id), method: 'GET', path: '/http', host: '127.0.0.1:1', clientAddress: '127.0.0.1', scheme: 'http', bind: 'b', startedAt: performance.now(), headers: { host: 'x', 'user-agent': 'wrk' } };
  requestChannel.start.publish(e);
  upstream(e.id, 'GET', '/http');
  Object.assign(e, { route: 'http', listener: 'l', backend: 'b', status: 200, bytesOut: 2, durationMs: performance.now() - e.startedAt });
  requestChannel.end.publish(e);
}
function mcp() {
  const e = { id: String(++id), method: 'POST', path: '/mcp', host: '127.0.0.1:1', clientAddress: '127.0.0.1', scheme: 'http', bind: 'b', startedAt: performance.now(), headers: { host: 'x', 'mcp-session-id': 'abc' } };
  requestChannel.start.publish(e);
  const m = { requestId: e.id, protocol: 'mcp', route: 'mcp', method: 'tools/call', rpcId: 1, sessionId: 'abc', tool: 'echo', arguments: { message: 'bench' } };
  messageChannel.start.publish(m);
  upstream(e.id, 'POST', '/mcp');
  Object.assign(m, { target: 'everything', outcome: 'ok', result: { content: [] } });
  messageChannel.end.publish(m);
  messageChannel.asyncStart.publish(m);
  messageChannel.asyncEnd.publish(m);
  Object.assign(e, { route: 'mcp', backend: 'mcp', status: 200, durationMs: performance.now() - e.startedAt });
  requestChannel.end.publish(e);
}
const one = kind === 'mcp' ? mcp : http;
const run = async (n) => {
  for (let done = 0; done < n; ) {
    for (let i = 0; i < 10 && done < n; i++, done++) one();
    await new Promise((r) => setTimeout(r, 1));
  }
};
const cpu = () => { const u = process.cpuUsage(); return u.user + u.system; };
await run(Number(perRound) * 3); // JIT and heap warm-up: the first rounds are slower by half
await te?.provider.forceFlush();
const rounds = [];
for (let r = 0; r < 5; r++) {
  const c0 = cpu();
  await run(Number(perRound));
  await te?.provider.forceFlush();
  rounds.push((cpu() - c0) / Number(perRound));
}
await te?.provider.shutdown();
te?.unsubscribe();
receiver.kill();
process.stdout.write(JSON.stringify({ rounds, ...counts }));
`;

interface Counts {
  exports: number;
  bytes: number;
  spans: number;
  internal: number;
  server: number;
  client: number;
}

interface Gateway {
  name: string;
  root: string;
  tracing: boolean;
  port: number;
  proc?: ChildProcess;
}

interface Leg {
  kind: 'HTTP GET' | 'MCP tools/call';
  gateway: Gateway;
  throughput: LoadSpec;
  latency: LoadSpec;
  loaded: LoadResult[];
  single: LoadResult[];
  cpu: number;
  load: string[];
}

async function mcpPost(pool: Pool, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ session?: string; text: string }> {
  const res = await pool.request({ path, method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body: JSON.stringify(body) });
  const text = await res.body.text();
  const session = res.headers['mcp-session-id'];
  return { session: typeof session === 'string' ? session : undefined, text };
}

/** A session on the gateway's MCP route, checked with one call: wrk counts only statuses. */
async function openMcp(port: number): Promise<Record<string, string>> {
  const pool = new Pool(`http://127.0.0.1:${port}`);
  try {
    const init = await mcpPost(pool, '/mcp', { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } });
    const h: Record<string, string> = { 'mcp-protocol-version': '2025-06-18', ...(init.session ? { 'mcp-session-id': init.session } : {}) };
    await mcpPost(pool, '/mcp', { jsonrpc: '2.0', method: 'notifications/initialized' }, h);
    const check = await mcpPost(pool, '/mcp', JSON.parse(CALL), h);
    if (!check.text.includes('Echo: bench')) throw new Error(`tools/call on ${port} answered ${check.text.slice(0, 300)}`);
    return { ...MCP_HEADERS, ...h };
  } finally {
    await pool.close();
  }
}

/**
 * The tracing pipeline alone (PIPELINE), for each checkout and without tracing (what the event publishing itself
 * costs), interleaved: CPU µs per request, medians over rounds and runs.
 */
function pipelineSection(roots: Array<[string, string]>, dir: string): BenchSection {
  const script = join(dir, 'pipeline.mjs');
  writeFileSync(script, PIPELINE);
  const runs = Number(process.env.BENCH_PIPELINE_RUNS ?? (QUICK ? 1 : 3));
  const variants: Array<[string, string, 'on' | 'off']> = [['events only, no tracing', ROOT, 'off'], ...roots.map(([name, root]): [string, string, 'on'] => [name, root, 'on'])];
  const out = new Map<string, { rounds: number[]; exported: number; dropped: number }>();
  for (let r = 0; r < runs; r++) {
    for (const kind of ['http', 'mcp']) {
      for (const [name, root, tracing] of variants) {
        const run = spawnSync(process.execPath, ['--no-warnings', script, kind, root, '5000', tracing], { encoding: 'utf8', cwd: root });
        if (run.status !== 0) throw new Error(`tracing pipeline bench (${name}, ${kind}) failed: ${run.stderr}`);
        const res = JSON.parse(run.stdout) as { rounds: number[]; exported: number; queue_full: number; export_failed: number };
        const o = out.get(`${kind} ${name}`) ?? { rounds: [], exported: 0, dropped: 0 };
        o.rounds.push(...res.rounds);
        o.exported += res.exported;
        o.dropped += res.queue_full + res.export_failed;
        out.set(`${kind} ${name}`, o);
      }
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const rows: BenchSection['rows'] = [];
  for (const kind of ['http', 'mcp']) {
    const none = med(out.get(`${kind} events only, no tracing`)!.rounds);
    for (const [name] of variants) {
      const o = out.get(`${kind} ${name}`)!;
      rows.push({ workload: kind === 'http' ? 'HTTP GET (2 spans)' : 'MCP tools/call (3 spans)', pipeline: name, 'cpu µs/req': Number(med(o.rounds).toFixed(1)), 'tracing µs/req': name === variants[0][0] ? '' : Number((med(o.rounds) - none).toFixed(1)), 'spans exported': o.exported, dropped: o.dropped });
    }
  }
  return {
    title: 'Tracing pipeline alone: subscriber, spans, batch and OTLP/protobuf export in one process (CPU per request)',
    rows,
    notes: [`${runs} interleaved runs × 5 rounds of 5,000 requests (after 15,000 to warm up) at up to 10,000 req/s each, medians; "tracing µs/req" is the CPU above publishing the same events with no subscriber; the receiver (a child process) is not counted; load average ${loadAverage()}`],
  };
}

export async function bench(): Promise<BenchSection[]> {
  const tools = checkTools(cpus().length);
  const dir = mkdtempSync(join(tmpdir(), 'pcl-bench-telemetry-'));
  const procs: ChildProcess[] = [];
  const startLoad = loadAverage();
  const roots: Array<[string, string]> = [['candidate', ROOT]];
  if (process.env.BENCH_BASELINE) roots.unshift(['baseline', resolve(process.env.BENCH_BASELINE)]);
  try {
    // BENCH_ONLY=pipeline: only the in-process pipeline section (a minute, and steadier than the gateways).
    if (process.env.BENCH_ONLY === 'pipeline') return [pipelineSection(roots.slice().reverse(), dir)];
    const sidecar = join(dir, 'sidecar.mjs');
    writeFileSync(sidecar, SIDECAR);
    const side = spawnPinned(tools.pin?.load, process.execPath, [sidecar, join(ROOT, 'package.json')], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(side);
    // It listens on port 0 and says where: no window for another process to take a port in between.
    const [upstreamPort, receiverPort] = await new Promise<number[]>((done, fail) => {
      let out = '';
      side.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) done(JSON.parse(out.split('\n')[0]) as number[]);
      });
      side.once('exit', (code) => fail(new Error(`bench sidecar exited with ${code}`)));
    });
    const mcpPort = await freePort();
    procs.push(spawnPinned(tools.pin?.load, process.execPath, [EVERYTHING, 'streamableHttp'], { env: { ...process.env, PORT: String(mcpPort) }, stdio: 'ignore' }));

    const gateways: Gateway[] = [];
    for (const [name, root] of roots) for (const tracing of [false, true]) gateways.push({ name: `${name}, tracing ${tracing ? 'on' : 'off'}`, root, tracing, port: await freePort() });
    const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
    for (const g of gateways) {
      // The same config but for `tracing`: the gateway's metrics on, no access log (level warn), no admin server.
      const config = {
        admin: { address: false },
        readiness: { address: false },
        logging: { level: 'warn' },
        stats: { address: `127.0.0.1:${await freePort()}` },
        ...(g.tracing ? { tracing: { endpoint: `http://127.0.0.1:${receiverPort}/${gateways.indexOf(g)}/v1/traces`, samplerRatio: 1, scheduledDelayMs: 200 } } : {}),
        binds: [
          {
            port: g.port,
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
      const file = join(dir, `gateway-${gateways.indexOf(g)}.config.ts`);
      writeFileSync(file, `export default ${JSON.stringify(config)};\n`);
      // Flags given here: no wrapper process, so /proc/<pid> is the gateway itself (and its threads).
      g.proc = spawnPinned(tools.pin?.proxy, process.execPath, ['--no-node-snapshot', ...prof, join(g.root, 'core/cli/bin.mjs'), 'start', '--no-watch', '-c', file], { stdio: ['ignore', 'ignore', 'inherit'], cwd: g.root });
      procs.push(g.proc);
    }
    await Promise.all([mcpPort, upstreamPort, receiverPort, ...gateways.map((g) => g.port)].map((p) => waitForPort(p, 60_000)));

    const legs: Leg[] = [];
    const seconds = SLICE_SECONDS;
    for (const g of gateways) {
      const url = `http://127.0.0.1:${g.port}`;
      const get: LoadSpec = { url: `${url}/http`, connections: 16, seconds };
      legs.push({ kind: 'HTTP GET', gateway: g, throughput: get, latency: { ...get, connections: 1 }, loaded: [], single: [], cpu: 0, load: [] });
    }
    for (const g of gateways) {
      const call: LoadSpec = { url: `http://127.0.0.1:${g.port}/mcp`, connections: 8, seconds, method: 'POST', body: CALL, headers: await openMcp(g.port) };
      legs.push({ kind: 'MCP tools/call', gateway: g, throughput: call, latency: { ...call, connections: 1 }, loaded: [], single: [], cpu: 0, load: [] });
    }
    for (const l of legs) closedLoop(tools, { ...l.throughput, seconds: 1 }, dir); // warm-up: JIT, pools, sockets
    // Interleaved rounds, each gateway's slices next to each other: a burst of outside load hits all alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const l of legs) {
        const pid = l.gateway.proc!.pid;
        const before = cpuMicros(pid);
        const r = closedLoop(tools, l.throughput, dir);
        l.cpu += cpuMicros(pid) - before;
        l.loaded.push(r);
        l.single.push(closedLoop(tools, l.latency, dir));
        l.load.push(loadAverage().split(' ')[0]);
      }
    }
    await new Promise((r) => setTimeout(r, 1500)); // the last batch (scheduledDelayMs 200) reaches the receiver
    const counts = (await (await fetch(`http://127.0.0.1:${receiverPort}/`)).json()) as Record<string, Counts>;

    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
    const cpuPerReq = (l: Leg) => l.cpu / sum(l.loaded.map((r) => r.requests));
    const rps = (l: Leg) => sum(l.loaded.map((r) => r.requests)) / (l.loaded.length * seconds);
    const rows: BenchSection['rows'] = legs.map((l) => ({
      workload: l.kind,
      gateway: l.gateway.name,
      [`req/s @${l.throughput.connections}`]: Math.round(rps(l)),
      'cpu µs/req': Math.round(cpuPerReq(l)),
      'p50 µs @1': med(l.single.map((r) => r.p50)),
      'p99 µs @1': med(l.single.map((r) => r.p99)),
      errors: sum([...l.loaded, ...l.single].map((r) => r.errors)),
      'load avg': l.load.join(' '),
    }));
    const notes: string[] = [];
    for (const name of roots.map(([n]) => n)) {
      for (const kind of ['HTTP GET', 'MCP tools/call'] as const) {
        const off = legs.find((l) => l.kind === kind && l.gateway.name === `${name}, tracing off`)!;
        const on = legs.find((l) => l.kind === kind && l.gateway.name === `${name}, tracing on`)!;
        const loss = 1 - rps(on) / rps(off);
        const addedP50 = med(on.single.map((r) => r.p50)) - med(off.single.map((r) => r.p50));
        const addedP99 = med(on.single.map((r) => r.p99)) - med(off.single.map((r) => r.p99));
        notes.push(
          `${name} ${kind}: tracing adds ${Math.round(cpuPerReq(on) - cpuPerReq(off))} µs CPU/req (${((cpuPerReq(on) / cpuPerReq(off) - 1) * 100).toFixed(0)} %), throughput ${loss >= 0 ? '-' : '+'}${Math.abs(loss * 100).toFixed(1)} % (goal loss <= 10 %), p50 ${addedP50 >= 0 ? '+' : ''}${addedP50} µs (goal <= 100 µs), p99 ${addedP99 >= 0 ? '+' : ''}${addedP99} µs`,
        );
      }
    }
    for (const g of gateways.filter((x) => x.tracing)) {
      const served = sum(legs.filter((l) => l.gateway === g).flatMap((l) => [...l.loaded, ...l.single].map((r) => r.requests)));
      const c = counts[`/${gateways.indexOf(g)}/v1/traces`];
      // A span the gateway dropped (queue full, failed export) shows here: tracing did not keep up at 100 %.
      if (!c || c.server < served) notes.push(`${g.name}: SPANS LOST: the receiver got ${c?.server ?? 0} server spans for ${served} measured requests`);
      else notes.push(`${g.name}: the receiver decoded ${c.spans} spans (${c.server} server, ${c.internal} internal, ${c.client} client) in ${c.exports} OTLP/protobuf exports (${Math.round(c.bytes / 1024)} KiB) for ${served} measured requests (+ warm-up and session setup)`);
    }
    notes.push(
      `${ROUNDS} interleaved rounds of ${seconds} s slices per gateway and workload (BENCH_ROUNDS, BENCH_SLICE_SECONDS); req/s and CPU at 16 connections (HTTP) / 8 calls in flight on one session (MCP), p50/p99 (medians over rounds) at 1 in flight; generator ${tools.wrk ? 'wrk' : 'autocannon'}; ${tools.pin ? `generator, upstreams and receiver on cpu ${tools.pin.load}, gateways on cpu ${tools.pin.proxy}` : 'not pinned'}; load average at start ${startLoad}, at end ${loadAverage()}`,
      ...tools.missing,
    );
    return [pipelineSection(roots.slice().reverse(), dir), { title: 'Tracing overhead: the same gateway with tracing off and on (100 %, OTLP/protobuf to a live receiver), one run', rows, notes }];
  } finally {
    await stopAll(procs);
    rmSync(dir, { recursive: true, force: true });
  }
}
