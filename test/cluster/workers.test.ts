import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startUpstream, type Upstream } from '../helpers/gateway.ts';

// `workers: 2` through the real CLI: one supervisor and two worker processes on one port.
const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'core/cli/bin.mjs');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** One request on a new connection (so that the kernel may pick another worker): body and status. */
async function get(port: number, path = '/'): Promise<{ status: number; text: string }> {
  const res = await request(`http://127.0.0.1:${port}${path}`, { headers: { connection: 'close' }, reset: true });
  return { status: res.statusCode, text: await res.body.text() };
}

/** Asks until answers came from `n` distinct worker pids (bounded); returns the body seen per pid. */
async function answersByPid(port: number, n: number): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  for (let i = 0; i < 400 && seen.size < n; i++) {
    const { text } = await get(port);
    const [version, pid] = text.split(' ');
    seen.set(pid, version);
  }
  return seen;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('workers: 2', () => {
  let dir: string;
  let file: string;
  let flag: string;
  let port: number;
  let readyPort: number;
  let upstream: Upstream;
  let cli: ChildProcess;
  let output = '';

  const config = (version: string) => `import { existsSync } from 'node:fs';
// Worker 1 cannot build this config while the flag file exists: the all-or-none reload case.
const broken = process.env.PORTCULLIS_WORKER_INDEX === '1' && existsSync(${JSON.stringify(flag)});
export default {
  workers: 2,
  admin: { address: false },
  readiness: { address: '127.0.0.1:${readyPort}' },
  stats: { address: false },
  logging: { level: 'info', accessLog: false },
  shutdown: { drainTimeoutMs: 10000 },
  limits: { maxRequestBodyBytes: broken ? -1 : 1048576 },
  binds: [{ port: ${port}, address: '127.0.0.1', listeners: [{ routes: [
    { matches: [{ path: { pathPrefix: '/slow' } }], backends: [{ host: '${upstream.host}' }] },
    { policies: { directResponse: { status: 200, body: '${version} ' + process.pid } } },
  ] }] }],
};
`;

  before(async () => {
    upstream = await startUpstream((_req, res) => {
      setTimeout(() => res.end('slow done'), 1500);
    });
    dir = await mkdtemp(join(tmpdir(), 'pcl-workers-'));
    file = join(dir, 'gateway.config.ts');
    flag = join(dir, 'break-worker-1');
    port = await freePort();
    readyPort = await freePort();
    await writeFile(file, config('v1'));
    // With the runtime's flag given up front, bin.mjs runs the supervisor in this very process (no wrapper).
    cli = spawn(process.execPath, ['--no-node-snapshot', BIN, 'start', '-c', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    cli.stdout!.on('data', (d) => (output += d));
    cli.stderr!.on('data', (d) => (output += d));
    const until = Date.now() + 90_000;
    while (!output.includes('"workers serving"')) {
      if (Date.now() > until || cli.exitCode !== null) throw new Error(`the gateway did not start:\n${output}`);
      await sleep(100);
    }
  });

  after(async () => {
    if (cli.exitCode === null && cli.signalCode === null) cli.kill('SIGKILL');
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves one port from two processes, and readiness answers for both', async () => {
    const seen = await answersByPid(port, 2);
    assert.equal(seen.size, 2, `answers came from ${[...seen.keys()].join(', ')}`);
    assert.deepEqual([...seen.values()], ['v1', 'v1']);
    assert.ok(![...seen.keys()].includes(String(cli.pid)), 'the supervisor serves no traffic');
    const ready = await get(readyPort, '/healthz/ready');
    assert.equal(ready.status, 200);
  });

  it('reloads every worker when the config changes', async () => {
    await writeFile(file, config('v2'));
    const until = Date.now() + 60_000;
    let seen = new Map<string, string>();
    while (Date.now() < until) {
      seen = await answersByPid(port, 2);
      if (seen.size === 2 && [...seen.values()].every((v) => v === 'v2')) break;
      await sleep(200);
    }
    assert.deepEqual([...seen.values()], ['v2', 'v2']);
  });

  it('swaps in no worker when one cannot build the config, and reports the error once', async () => {
    await writeFile(flag, '');
    const failuresBefore = output.split('\n').filter((l) => l.includes('reload failed')).length;
    await writeFile(file, config('v3'));
    const until = Date.now() + 60_000;
    while (output.split('\n').filter((l) => l.includes('reload failed')).length === failuresBefore && Date.now() < until) await sleep(100);
    await sleep(500); // a second report, if there were one, would be written by now
    const failures = output.split('\n').filter((l) => l.includes('reload failed'));
    assert.equal(failures.length - failuresBefore, 1, output);
    const line = JSON.parse(failures.at(-1)!);
    assert.equal(line.pid, cli.pid, 'reported by the supervisor');
    assert.match(line.err, /limits\.maxRequestBodyBytes/);
    const seen = await answersByPid(port, 2);
    assert.equal(seen.size, 2);
    assert.deepEqual([...seen.values()], ['v2', 'v2'], 'the worker that could build v3 rolled back too');
    // Without the flag, the same change goes through everywhere.
    await rm(flag);
    await writeFile(file, config('v4'));
    const until2 = Date.now() + 60_000;
    let now = seen;
    while (Date.now() < until2) {
      now = await answersByPid(port, 2);
      if (now.size === 2 && [...now.values()].every((v) => v === 'v4')) break;
      await sleep(200);
    }
    assert.deepEqual([...now.values()], ['v4', 'v4']);
  });

  it('drains every worker on shutdown: a request in flight completes, then every process exits', async () => {
    const inflight = [get(port, '/slow/1'), get(port, '/slow/2'), get(port, '/slow/3'), get(port, '/slow/4')];
    await sleep(400);
    const exited = new Promise<number | null>((r) => cli.once('exit', (code) => r(code)));
    cli.kill('SIGTERM');
    const results = await Promise.all(inflight);
    for (const r of results) assert.deepEqual(r, { status: 200, text: 'slow done' });
    const code = await Promise.race([exited, sleep(20_000).then(() => 'timeout')]);
    assert.equal(code, 0, output.slice(-2000));
    await assert.rejects(get(port), 'the port is no longer served');
  });
});
