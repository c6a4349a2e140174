import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startUpstream, type Upstream } from '../helpers/gateway.ts';
import { withHeldPortRetry } from '../helpers/held-ports.ts';
import { startCli, until, type Replica } from '../helpers/replica.ts';

// `workers: 2` through the real CLI: one supervisor and two worker processes on one port. The port is given in
// advance (each worker opens its own SO_REUSEPORT socket on it, which port 0 would bypass); readiness takes port 0.

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

/** Asks until both workers answer with `version` (bounded); returns what the last round saw. */
async function allAt(port: number, version: string): Promise<Map<string, string>> {
  let seen = new Map<string, string>();
  await until(
    async () => {
      seen = await answersByPid(port, 2);
      return seen.size === 2 && [...seen.values()].every((v) => v === version);
    },
    { timeoutMs: 60_000, intervalMs: 100, what: `both workers at ${version}` },
  ).catch(() => undefined);
  return seen;
}

describe('workers: 2', () => {
  let dir: string;
  let file: string;
  let flag: string;
  let port: number;
  let readyPort: number;
  let upstream: Upstream;
  let gw: Replica;
  const output = () => gw.output();

  const config = (version: string) => `import { existsSync } from 'node:fs';
// Worker 1 cannot build this config while the flag file exists: the all-or-none reload case.
const broken = process.env.PORTCULLIS_WORKER_INDEX === '1' && existsSync(${JSON.stringify(flag)});
export default {
  workers: 2,
  admin: { address: false },
  readiness: { address: '127.0.0.1:0' },
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
    // With the runtime's flag given up front, bin.mjs runs the supervisor in this very process (no wrapper).
    gw = await withHeldPortRetry(
      async (held) => {
        port = held;
        await writeFile(file, config('v1'));
        return startCli(['start', '-c', file], { ready: (l) => l.msg === 'workers serving', readyTimeoutMs: 90_000 });
      }
    );
    readyPort = (await gw.waitFor((l) => l.msg === 'readiness server listening')).port;
  });

  after(async () => {
    await gw?.cleanup();
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves one port from two processes, and readiness answers for both', async () => {
    const seen = await answersByPid(port, 2);
    assert.equal(seen.size, 2, `answers came from ${[...seen.keys()].join(', ')}`);
    assert.deepEqual([...seen.values()], ['v1', 'v1']);
    assert.ok(![...seen.keys()].includes(String(gw.child.pid)), 'the supervisor serves no traffic');
    const ready = await get(readyPort, '/healthz/ready');
    assert.equal(ready.status, 200);
  });

  it('reloads every worker when the config changes', async () => {
    await writeFile(file, config('v2'));
    assert.deepEqual([...(await allAt(port, 'v2')).values()], ['v2', 'v2']);
  });

  it('swaps in no worker when one cannot build the config, and reports the error once', async () => {
    await writeFile(flag, '');
    const failed = () => output().split('\n').filter((l) => l.includes('reload failed'));
    const failuresBefore = failed().length;
    await writeFile(file, config('v3'));
    await until(() => failed().length > failuresBefore, { timeoutMs: 60_000, what: 'the reload failure' });
    const line = JSON.parse(failed().at(-1)!);
    assert.equal(line.pid, gw.child.pid, 'reported by the supervisor');
    assert.match(line.err, /limits\.maxRequestBodyBytes/);
    const seen = await answersByPid(port, 2);
    assert.equal(seen.size, 2);
    assert.deepEqual([...seen.values()], ['v2', 'v2'], 'the worker that could build v3 rolled back too');
    // Without the flag, the same change goes through everywhere.
    await rm(flag);
    await writeFile(file, config('v4'));
    assert.deepEqual([...(await allAt(port, 'v4')).values()], ['v4', 'v4']);
    // Any second report of v3's failure would have come before v4 was served: it was reported once.
    assert.equal(failed().length - failuresBefore, 1, output());
  });

  it('drains every worker on shutdown: a request in flight completes, then every process exits', async () => {
    const inflight = [get(port, '/slow/1'), get(port, '/slow/2'), get(port, '/slow/3'), get(port, '/slow/4')];
    await until(() => upstream.seen.length === 4, { what: 'the four requests at the upstream' });
    gw.child.kill('SIGTERM');
    const results = await Promise.all(inflight);
    for (const r of results) assert.deepEqual(r, { status: 200, text: 'slow done' });
    assert.equal(await gw.exited, 0, output().slice(-2000));
    await assert.rejects(get(port), 'the port is no longer served');
  });
});
