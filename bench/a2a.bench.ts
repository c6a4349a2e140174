// A2A message/send (v1.0 SendMessage over JSON-RPC) through Portcullis against the same agent directly, in one run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { percentile, type BenchSection } from './report.ts';
import { freePort, waitForPort } from './ports.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SLICE_SECONDS = Number(process.env.BENCH_SLICE_SECONDS ?? 3);
const BODY = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { messageId: 'bench', role: 'ROLE_USER', parts: [{ text: 'hello agent' }] } } });
const HEADERS = { 'content-type': 'application/json', 'a2a-version': '1.0' };

/** autocannon in its own process: requests per second and errors at saturation. */
function saturate(url: string, seconds: number): { rps: number; errors: number } {
  const args = ['-j', '-c', '20', '-d', String(seconds), '-m', 'POST', '-b', BODY, ...Object.entries(HEADERS).flatMap(([k, v]) => ['-H', `${k}=${v}`]), url];
  const run = spawnSync(process.execPath, [join(ROOT, 'node_modules/autocannon/autocannon.js'), ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0 || !run.stdout) throw new Error(`autocannon failed (${run.status}): ${run.stderr}`);
  const r = JSON.parse(run.stdout);
  return { rps: r.requests.average, errors: r.errors + r.non2xx };
}

/** One request at a time, timed in µs: the latency a lone caller sees. */
async function sequential(url: string, count: number): Promise<number[]> {
  const out: number[] = [];
  // A pool of its own: a socket left idle by the previous slice may have been closed by the server meanwhile.
  const dispatcher = new Agent({ connections: 1 });
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    const res = await request(url, { method: 'POST', headers: HEADERS, body: BODY, dispatcher }).catch((err) => {
      throw new Error(`POST ${url} failed: ${(err as Error).message}`, { cause: err });
    });
    const text = await res.body.text();
    if (res.statusCode !== 200 || !text.includes('"result"')) throw new Error(`unexpected answer ${res.statusCode}: ${text.slice(0, 200)}`);
    out.push((performance.now() - t) * 1000);
  }
  await dispatcher.close();
  return out;
}

export async function bench(): Promise<BenchSection> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-bench-a2a-'));
  const procs: ChildProcess[] = [];
  try {
    const agentPort = await freePort();
    const gatewayPort = await freePort();
    // The agent: the tests' @a2a-js/sdk agent (express, JSON-RPC handler, in-memory task store), in its own process.
    const agentScript = `import { startAgent } from ${JSON.stringify(join(ROOT, 'test/fixtures/a2a/agent.ts'))}; await startAgent({ name: 'bench', port: ${agentPort} });`;
    procs.push(spawn(process.execPath, ['--input-type=module', '-e', agentScript], { stdio: 'ignore' }));
    writeFileSync(
      join(dir, 'gateway.config.ts'),
      `export default { admin: { address: false }, readiness: { address: false }, logging: { level: 'warn' },
        binds: [{ port: ${gatewayPort}, address: '127.0.0.1', listeners: [{ routes: [
          { name: 'plain', matches: [{ path: { pathPrefix: '/plain' } }], policies: { urlRewrite: { path: { prefix: '/' } } }, backends: [{ host: '127.0.0.1:${agentPort}' }] },
          { name: 'agent', backends: [{ a2a: { url: 'http://127.0.0.1:${agentPort}' } }] }] }] }] };\n`,
    );
    procs.push(spawn(process.execPath, ['--no-node-snapshot', join(ROOT, 'core/cli/bin.mjs'), 'start', '--no-watch', '-c', join(dir, 'gateway.config.ts')], { stdio: 'ignore' }));
    await Promise.all([waitForPort(agentPort), waitForPort(gatewayPort)]);
    // `proxy`: the same gateway as a plain HTTP proxy (host backend) to the same agent, so the A2A layer's own cost
    // shows apart from the cost of any proxy hop on this machine.
    const urls = { direct: `http://127.0.0.1:${agentPort}/a2a/jsonrpc`, proxy: `http://127.0.0.1:${gatewayPort}/plain/a2a/jsonrpc`, portcullis: `http://127.0.0.1:${gatewayPort}/a2a/jsonrpc` };
    const names = Object.keys(urls) as Array<keyof typeof urls>;
    for (const n of names) {
      await sequential(urls[n], 200);
      saturate(urls[n], 1);
    }
    // Interleaved slices, so outside load on the shared machine hits both paths alike.
    const rps: Record<string, number[]> = { direct: [], proxy: [], portcullis: [] };
    const errors: Record<string, number> = { direct: 0, proxy: 0, portcullis: 0 };
    const lat: Record<string, number[]> = { direct: [], proxy: [], portcullis: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const n of names) {
        const s = saturate(urls[n], SLICE_SECONDS);
        rps[n].push(s.rps);
        errors[n] += s.errors;
      }
      for (const n of names) lat[n].push(...(await sequential(urls[n], 300)));
    }
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const rows = names.map((n) => ({ path: n, 'req/s (20 conns)': Math.round(avg(rps[n])), 'p50 ms (1 conn)': percentile(lat[n], 50) / 1000, 'p99 ms (1 conn)': percentile(lat[n], 99) / 1000, errors: errors[n] }));
    const ratio = avg(rps.portcullis) / avg(rps.direct);
    const overProxy = avg(rps.portcullis) / avg(rps.proxy);
    return {
      title: 'A2A message/send: the agent directly vs through Portcullis as a plain proxy vs as an A2A gateway (one run)',
      rows,
      notes: [
        `throughput Portcullis A2A/direct = ${ratio.toFixed(2)} (goal >= 0.8); A2A/plain proxy hop = ${overProxy.toFixed(2)}`,
        `added p50 = ${((percentile(lat.portcullis, 50) - percentile(lat.direct, 50)) / 1000).toFixed(3)} ms (plain proxy hop: ${((percentile(lat.proxy, 50) - percentile(lat.direct, 50)) / 1000).toFixed(3)} ms), added p99 = ${((percentile(lat.portcullis, 99) - percentile(lat.direct, 99)) / 1000).toFixed(3)} ms`,
        `${ROUNDS} interleaved rounds of ${SLICE_SECONDS} s saturation (autocannon, own process) and 300 sequential sends per path; agent = @a2a-js/sdk on express, route with no policies; 2 cores shared by load generator, gateway and agent`,
      ],
    };
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
}
