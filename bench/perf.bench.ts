// Performance (issue 13), one run: HTTP through 1 vs 2 workers, a burst of new stdio MCP sessions with the adaptive
// warm pool vs a fixed one vs one shared process, what handing a session's request to its owning worker costs, and memory of the
// default config. Every figure is a ratio or a difference against its baseline measured in this same run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Pool } from 'undici';
import { percentile, type BenchSection } from './report.ts';
import { freePort, waitForPort } from './ports.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const EVERYTHING = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SLICE_SECONDS = Number(process.env.BENCH_SLICE_SECONDS ?? 3);
const BURST = Number(process.env.BENCH_BURST ?? 20);
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const INIT = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } };

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** The gateway's processes: the supervisor and its workers (children running the same command). */
function treeRssKb(pid: number): number {
  let total = rssKb(pid);
  const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
  for (const c of children) {
    const cmd = readFileSync(`/proc/${c}/cmdline`, 'utf8');
    if (cmd.includes('core/cli/bin.mjs')) total += rssKb(c);
  }
  return total;
}

function startGateway(dir: string, name: string, config: unknown, procs: ChildProcess[]): ChildProcess {
  const file = join(dir, `${name}.config.ts`);
  writeFileSync(file, typeof config === 'string' ? config : `export default ${JSON.stringify(config)};\n`);
  const p = spawn(process.execPath, ['--no-node-snapshot', join(ROOT, 'core/cli/bin.mjs'), 'start', '--no-watch', '-c', file], { stdio: 'ignore', cwd: ROOT });
  procs.push(p);
  return p;
}

function autocannon(port: number, seconds: number): number {
  const run = spawnSync(process.execPath, [join(ROOT, 'node_modules/autocannon/autocannon.js'), '-j', '-d', String(seconds), '-c', '50', `http://127.0.0.1:${port}/bench`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0 || !run.stdout) throw new Error(`autocannon failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout).requests.average;
}

async function post(client: Pool | Client, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ session?: string; text: string }> {
  const res = await client.request({ path, method: 'POST', headers: { ...HEADERS, ...headers }, body: JSON.stringify(body) });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${path}: ${res.statusCode} ${text}`);
  return { session: res.headers['mcp-session-id'] as string | undefined, text };
}

/** initialize → initialized → tools/list: the time until a new session can call a tool. */
async function openSession(pool: Pool, path: string): Promise<{ ms: number; id: string }> {
  const t0 = performance.now();
  const id = (await post(pool, path, INIT)).session!;
  const h = { 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' };
  await post(pool, path, { jsonrpc: '2.0', method: 'notifications/initialized' }, h);
  await post(pool, path, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, h);
  return { ms: performance.now() - t0, id };
}

async function closeSession(pool: Pool, path: string, id: string): Promise<void> {
  await (await pool.request({ path, method: 'DELETE', headers: { 'mcp-session-id': id } })).body.text();
}

export async function bench(): Promise<BenchSection> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-bench-perf-'));
  const procs: ChildProcess[] = [];
  const rows: Array<Record<string, string | number>> = [];
  const notes: string[] = [];
  try {
    const upstreamPort = await freePort();
    const mcpPort = await freePort();
    procs.push(spawn(process.execPath, ['-e', `require('node:http').createServer((q,s)=>{s.writeHead(200,{'content-type':'text/plain'});s.end('x'.repeat(64))}).listen(${upstreamPort},'127.0.0.1')`], { stdio: 'ignore' }));
    procs.push(spawn(process.execPath, [EVERYTHING, 'streamableHttp'], { env: { ...process.env, PORT: String(mcpPort) }, stdio: 'ignore' }));

    // --- Memory of the default config (gateway.config.ts), idle, then after a few sessions came and went.
    const defaultPort = await freePort();
    const defaults = readFileSync(join(ROOT, 'gateway.config.ts'), 'utf8')
      .replace("from 'portcullis'", `from '${join(ROOT, 'sdk-types/index.ts')}'`)
      .replace('port: 3000', `port: ${defaultPort}`)
      .replace('export default defineConfig({', "export default defineConfig({ admin: { address: false }, readiness: { address: false }, stats: { address: '127.0.0.1:0' }, logging: { level: 'warn' },")
      .replace("args: ['node_modules/", `args: ['${ROOT}node_modules/`);
    const plain = startGateway(dir, 'default', defaults, procs);
    await waitForPort(defaultPort, 60_000);
    await new Promise((r) => setTimeout(r, 3000));
    const idleKb = rssKb(plain.pid!);
    const dpool = new Pool(`http://127.0.0.1:${defaultPort}`, { connections: 4 });
    for (let i = 0; i < 5; i++) {
      const s = await openSession(dpool, '/mcp');
      await closeSession(dpool, '/mcp', s.id);
    }
    await new Promise((r) => setTimeout(r, 2000));
    const afterFewKb = rssKb(plain.pid!);
    await dpool.close();
    plain.kill('SIGTERM');
    rows.push({ figure: 'RSS, default config, idle', value: Math.round(idleKb / 1024), unit: 'MiB', goal: '<= 100' });
    rows.push({ figure: 'RSS, default config, after 5 sessions came and went', value: Math.round(afterFewKb / 1024), unit: 'MiB', goal: '' });

    // --- Warm pool: BURST new sessions one after another on a stdio target, adaptive pool vs fixed pool of 1, and
    // the same burst on a target whose sessions share one process (`stdio.shared`).
    const poolPort = await freePort();
    const stdio = (warmPoolMax: number) => ({ name: 'everything', stdio: { cmd: 'node', args: [EVERYTHING, 'stdio'], warmPool: 1, warmPoolMax } });
    const shared = { name: 'everything', stdio: { cmd: 'node', args: [EVERYTHING, 'stdio'], shared: true } };
    const route = (name: string, target: unknown) => ({ name, matches: [{ path: { pathPrefix: `/${name}` } }], backends: [{ mcp: { targets: [target] } }] });
    startGateway(dir, 'pool', { admin: { address: false }, readiness: { address: false }, stats: { address: false }, logging: { level: 'warn' }, binds: [{ port: poolPort, address: '127.0.0.1', listeners: [{ routes: [route('adaptive', stdio(8)), route('fixed', stdio(1)), route('shared', shared)] }] }] }, procs);
    await waitForPort(poolPort, 60_000);
    const ppool = new Pool(`http://127.0.0.1:${poolPort}`, { connections: 4 });
    // One session each first: the pool learns what clients declare (its processes are initialized for them).
    for (const r of ['adaptive', 'fixed', 'shared']) await closeSession(ppool, `/${r}/mcp`, (await openSession(ppool, `/${r}/mcp`)).id);
    await new Promise((r) => setTimeout(r, 3000));
    const burst: Record<string, number[]> = { adaptive: [], fixed: [], shared: [] };
    const held: Array<[string, string]> = [];
    // Shared first: its burst starts no process, so it leaves the host as quiet for the pools as it found it (a
    // pool's burst leaves processes starting for seconds after it, which would weigh on whatever runs next).
    for (const r of ['shared', 'fixed', 'adaptive']) {
      for (let i = 0; i < BURST; i++) {
        const s = await openSession(ppool, `/${r}/mcp`);
        burst[r].push(s.ms);
        held.push([r, s.id]);
      }
    }
    for (const [r, id] of held) await closeSession(ppool, `/${r}/mcp`, id);
    await ppool.close();
    for (const r of ['fixed', 'adaptive']) {
      rows.push({ figure: `${BURST} sequential new stdio sessions, ${r} pool, p50`, value: Math.round(percentile(burst[r], 50) * 10) / 10, unit: 'ms', goal: r === 'adaptive' ? '<= 20' : '' });
      rows.push({ figure: `${BURST} sequential new stdio sessions, ${r} pool, p99`, value: Math.round(percentile(burst[r], 99) * 10) / 10, unit: 'ms', goal: '' });
    }
    rows.push({ figure: `${BURST} sequential new stdio sessions, one shared process (stdio.shared), p50`, value: Math.round(percentile(burst.shared, 50) * 10) / 10, unit: 'ms', goal: 'a few ms' });
    rows.push({ figure: `${BURST} sequential new stdio sessions, one shared process (stdio.shared), p99`, value: Math.round(percentile(burst.shared, 99) * 10) / 10, unit: 'ms', goal: '' });

    // --- HTTP proxying through 1 and 2 workers, interleaved slices.
    const one = await freePort();
    const two = await freePort();
    const httpConfig = (port: number, workers: number) => ({ workers, admin: { address: false }, readiness: { address: false }, stats: { address: false }, logging: { level: 'warn' }, binds: [{ port, address: '127.0.0.1', listeners: [{ routes: [{ backends: [{ host: `127.0.0.1:${upstreamPort}` }] }] }] }] });
    startGateway(dir, 'one', httpConfig(one, 1), procs);
    startGateway(dir, 'two', httpConfig(two, 2), procs);
    await Promise.all([waitForPort(upstreamPort), waitForPort(one, 60_000), waitForPort(two, 60_000)]);
    autocannon(one, 2);
    autocannon(two, 2);
    const rps: Record<string, number[]> = { one: [], two: [] };
    for (let i = 0; i < ROUNDS; i++) {
      rps.one.push(autocannon(one, SLICE_SECONDS));
      rps.two.push(autocannon(two, SLICE_SECONDS));
    }
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    rows.push({ figure: 'HTTP req/s, 1 worker', value: Math.round(avg(rps.one)), unit: 'req/s', goal: '' });
    rows.push({ figure: 'HTTP req/s, 2 workers', value: Math.round(avg(rps.two)), unit: 'req/s', goal: '' });
    notes.push(
      `2 workers / 1 worker = ${(avg(rps.two) / avg(rps.one)).toFixed(2)} (per round ${rps.two.map((t, i) => (t / rps.one[i]).toFixed(2)).join(', ')}); on this 2-core host the load generator and the upstream take most of the second core, so little is left to scale into`,
    );

    // --- The handoff hop: one MCP session on 2 workers, calls on connections that land on the owner vs the other.
    const hopPort = await freePort();
    startGateway(
      dir,
      'hop',
      `export default { workers: 2, admin: { address: false }, readiness: { address: false }, stats: { address: false }, logging: { level: 'warn' },
        binds: [{ port: ${hopPort}, address: '127.0.0.1', listeners: [{ routes: [
          { name: 'which', matches: [{ path: { exact: '/which' } }], policies: { directResponse: { status: 200, body: String(process.env.PORTCULLIS_WORKER_INDEX) } } },
          { name: 'mcp', matches: [{ path: { pathPrefix: '/mcp' } }], backends: [{ mcp: { targets: [{ name: 'everything', mcp: { url: 'http://127.0.0.1:${mcpPort}/mcp' } }] } }] },
        ] }] }] };\n`,
      procs,
    );
    await Promise.all([waitForPort(mcpPort), waitForPort(hopPort, 60_000)]);
    const hpool = new Pool(`http://127.0.0.1:${hopPort}`, { connections: 2 });
    const session = await openSession(hpool, '/mcp');
    const owner = Number(/^w(\d+)\./.exec(session.id)?.[1]);
    const h = { 'mcp-session-id': session.id, 'mcp-protocol-version': '2025-06-18' };
    const lat: Record<'owner' | 'other', number[]> = { owner: [], other: [] };
    for (let c = 0; c < 16 && (lat.owner.length < 200 || lat.other.length < 200); c++) {
      // A new connection: the kernel picks its worker; /which says which one.
      const client = new Client(`http://127.0.0.1:${hopPort}`);
      const which = Number(await (await client.request({ path: '/which', method: 'GET' })).body.text());
      const bucket = which === owner ? 'owner' : 'other';
      for (let i = 0; i < 100; i++) {
        const t0 = performance.now();
        await post(client, '/mcp', { jsonrpc: '2.0', id: 10 + i, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } }, h);
        lat[bucket].push(performance.now() - t0);
      }
      await client.close();
    }
    await closeSession(hpool, '/mcp', session.id);
    await hpool.close();
    if (lat.owner.length > 0 && lat.other.length > 0) {
      rows.push({ figure: 'MCP tools/call p50, connection on the owning worker', value: Math.round(percentile(lat.owner, 50) * 1000) / 1000, unit: 'ms', goal: '' });
      rows.push({ figure: 'MCP tools/call p50, handed over from the other worker', value: Math.round(percentile(lat.other, 50) * 1000) / 1000, unit: 'ms', goal: '' });
      notes.push(`the handoff hop adds ${(percentile(lat.other, 50) - percentile(lat.owner, 50)).toFixed(3)} ms p50, ${(percentile(lat.other, 99) - percentile(lat.owner, 99)).toFixed(3)} ms p99 (HTTP over a unix socket to the owner)`);
    } else notes.push('the handoff hop: every connection landed on one worker this run; no figure');

    notes.push(`${ROUNDS} interleaved rounds of ${SLICE_SECONDS} s (BENCH_ROUNDS, BENCH_SLICE_SECONDS); burst of ${BURST} (BENCH_BURST); the default config runs with admin/readiness off and its port moved, nothing else changed`);
    return { title: 'Performance: workers, warm pool burst, session handoff, memory (one run)', rows, notes };
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
}
