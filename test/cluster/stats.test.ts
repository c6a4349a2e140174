import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { withHeldPortRetry } from '../helpers/held-ports.ts';
import { startCli, until, type Replica } from '../helpers/replica.ts';
import { parseExposition, promtoolCheck, sample } from '../telemetry/tools.ts';

// `workers: 2` through the real CLI: the supervisor serves the stats address and the admin API for every worker.
// The data port is given in advance (each worker opens its own SO_REUSEPORT socket on it); stats and admin take port 0.

/** One request on a new connection (so that the kernel may pick another worker). */
async function get(port: number, path = '/', headers: Record<string, string> = {}, method: 'GET' | 'POST' = 'GET') {
  const res = await request(`http://127.0.0.1:${port}${path}`, { method, headers: { connection: 'close', ...headers }, reset: true });
  return { status: res.statusCode, type: String(res.headers['content-type']), text: await res.body.text() };
}

/** The sum of every sample of `name` (with any labels) in a Prometheus or OpenMetrics text. */
function total(text: string, name: string, labels = ''): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels && !line.includes(labels)) continue;
    found = true;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  assert.ok(found, `no sample of ${name}${labels ? ` with ${labels}` : ''}`);
  return sum;
}

function logLines(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('workers: 2, stats and admin for the whole gateway', () => {
  let dir: string;
  let file: string;
  let port: number;
  let statsPort: number;
  let adminPort: number;
  let gw: Replica;
  /** Requests sent so far, and the worker pid that answered each, by request id. */
  const answeredBy = new Map<string, string>();

  // The config turns the stats address off: `--stats` turns it on, and must stay on across reloads.
  const config = (version: string) => `export default {
  workers: 2,
  admin: { address: '127.0.0.1:0' },
  readiness: { address: false },
  stats: { address: false },
  logging: { level: 'info', accessLog: false },
  shutdown: { drainTimeoutMs: 5000 },
  binds: [{ port: ${port}, address: '127.0.0.1', listeners: [{ routes: [
    { name: 'secure', matches: [{ path: { pathPrefix: '/secure' } }], policies: { apiKey: { header: 'x-api-key', keys: [{ name: 'agent-1', sha256: '${'0'.repeat(64)}' }] }, directResponse: { status: 200 } } },
    { policies: { directResponse: { status: 200, body: '${version} ' + process.pid } } },
  ] }] }],
};
`;

  /** Sends requests on new connections until both workers answered (bounded); returns the versions seen. */
  async function spread(): Promise<Map<string, string>> {
    const seen = new Map<string, string>();
    for (let i = 0; i < 400 && (seen.size < 2 || i < 20); i++) {
      const id = `req-${answeredBy.size}`;
      const { status, text } = await get(port, '/', { 'x-request-id': id });
      assert.equal(status, 200);
      const [version, pid] = text.split(' ');
      answeredBy.set(id, pid);
      seen.set(pid, version);
    }
    return seen;
  }

  const scrape = (accept?: string) => get(statsPort, '/metrics', accept ? { accept } : {});

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcl-cluster-stats-'));
    file = join(dir, 'gateway.config.ts');
    gw = await withHeldPortRetry(
      async (held) => {
        port = held;
        await writeFile(file, config('v1'));
        return startCli(['start', '-c', file, '--stats', '127.0.0.1:0'], { ready: (l) => l.msg === 'workers serving', readyTimeoutMs: 90_000 });
      }
    );
    const lines = gw.lines();
    statsPort = Number(String(lines.find((l) => l.msg === 'stats server listening')?.address ?? ':0').split(':').at(-1));
    adminPort = Number(lines.find((l) => l.msg === 'admin server listening')?.port ?? 0);
  });

  after(async () => {
    await gw?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('the supervisor opens the stats address (from --stats) once every worker is up', async () => {
    const opened = gw.lines().filter((l) => l.msg === 'stats server listening');
    assert.equal(opened.length, 1, 'one stats server, in the supervisor');
    assert.equal(opened[0].pid, gw.child.pid);
    assert.ok(statsPort > 0);
    assert.ok(adminPort > 0);
  });

  it('one scrape sums the requests of both workers', async () => {
    const seen = await spread();
    assert.equal(seen.size, 2, `answers came from ${[...seen.keys()].join(', ')}`);
    const res = await scrape();
    assert.equal(res.status, 200);
    assert.match(res.type, /^text\/plain; version=0\.0\.4/);
    assert.equal(total(res.text, 'portcullis_requests_total'), answeredBy.size);
    assert.equal(total(res.text, 'portcullis_request_duration_seconds_count'), answeredBy.size);
    assert.equal(total(res.text, 'portcullis_workers'), 2);
    assert.equal(total(res.text, 'portcullis_workers_scraped'), 2);
    // Gateway-wide metrics are the supervisor's, not one per worker.
    assert.equal(total(res.text, 'portcullis_config_generation'), 1);
    assert.equal(total(res.text, 'portcullis_build_info'), 1);
    assert.equal(total(res.text, 'portcullis_reloads_total'), 0);
    // Per-process metrics follow prom-client's aggregators: memory summed, versions from the first worker.
    assert.ok(total(res.text, 'process_resident_memory_bytes') > 0);
    assert.equal(total(res.text, 'nodejs_version_info'), 1);
    assert.ok(!res.text.includes('process_start_time_seconds'), 'start times are per process: left out');
    // The sum is a valid exposition: Prometheus' own parser reads it, and promtool finds nothing to flag.
    const parsed = parseExposition(res.text, res.type);
    assert.equal(sample(parsed, 'portcullis_request_duration_seconds_bucket', { le: '+Inf' }), answeredBy.size);
    assert.deepEqual(promtoolCheck(res.text), { status: 0, output: '' });
  });

  it('answers OpenMetrics when asked', async () => {
    const res = await scrape('application/openmetrics-text; version=1.0.0');
    assert.equal(res.status, 200);
    assert.match(res.type, /^application\/openmetrics-text/);
    assert.ok(res.text.endsWith('# EOF\n'));
    assert.match(res.text, /^# TYPE portcullis_requests counter$/m);
    assert.equal(total(res.text, 'portcullis_requests_total'), answeredBy.size);
    const parsed = parseExposition(res.text, res.type);
    assert.equal(parsed.families.portcullis_requests?.type, 'counter');
    assert.equal(sample(parsed, 'portcullis_workers_scraped'), 2);
  });

  it('keeps answering other paths and methods as before: 404 and 405', async () => {
    const missing = await get(statsPort, '/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.text, 'not found: the stats server serves /metrics\n');
    const post = await get(statsPort, '/metrics', {}, 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.text, 'method not allowed\n');
  });

  it('the admin API shows the traffic of both workers', async () => {
    let lines: Array<{ id: string }> = [];
    await until(
      async () => {
        lines = (JSON.parse((await get(adminPort, '/api/traffic')).text) as { lines: Array<{ id: string }> }).lines;
        return lines.length >= answeredBy.size;
      },
      { timeoutMs: 5_000, intervalMs: 50, what: 'the traffic lines of both workers' },
    ).catch(() => undefined);
    const ids = new Set(lines.map((l) => l.id));
    const pids = new Set([...answeredBy].filter(([id]) => ids.has(id)).map(([, pid]) => pid));
    assert.equal(lines.length, answeredBy.size);
    assert.equal(pids.size, 2, 'lines of both workers');
    const metrics = JSON.parse((await get(adminPort, '/api/metrics')).text) as { window: { totals: { requests: number } }; prometheus: Array<{ name: string; values: Array<{ value: number }> }> };
    assert.equal(metrics.window.totals.requests, answeredBy.size);
    const requests = metrics.prometheus.find((m) => m.name === 'portcullis_requests_total');
    assert.equal(requests?.values.reduce((n, v) => n + v.value, 0), answeredBy.size);
  });

  it('leaves out a worker that does not answer in time, and says so', async () => {
    const pid = Number(answeredBy.values().next().value);
    process.kill(pid, 'SIGSTOP');
    try {
      const started = Date.now();
      const res = await scrape();
      assert.equal(res.status, 200);
      assert.ok(Date.now() - started >= 1900, 'the scrape waited for the timeout');
      assert.equal(total(res.text, 'portcullis_workers_scraped'), 1);
      assert.equal(total(res.text, 'portcullis_worker_scrape_failures_total'), 1);
      assert.ok(total(res.text, 'portcullis_requests_total') < answeredBy.size);
      // The supervisor's log line reaches our pipe on its own time, maybe after the scrape's answer.
      await gw.waitForText('stats: a worker did not answer the scrape in time', 5_000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // Its late answer is ignored; once it runs again, a scrape has both again.
    let res = await scrape();
    await until(
      async () => {
        res = await scrape();
        return total(res.text, 'portcullis_workers_scraped') === 2;
      },
      { timeoutMs: 10_000, intervalMs: 50, what: 'a scrape of both workers' },
    ).catch(() => undefined);
    assert.equal(total(res.text, 'portcullis_workers_scraped'), 2);
    assert.equal(total(res.text, 'portcullis_requests_total'), answeredBy.size);
  });

  it('the admin API shows the decisions taken in the workers', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      ids.push(`denied-${i}`);
      assert.equal((await get(port, '/secure', { 'x-request-id': ids[i] })).status, 401);
    }
    let decisions: Array<{ requestId: string; outcome: string; route: string }> = [];
    await until(
      async () => {
        decisions = (JSON.parse((await get(adminPort, '/api/decisions')).text) as { decisions: typeof decisions }).decisions.filter((d) => d.requestId.startsWith('denied-'));
        return decisions.length >= ids.length;
      },
      { timeoutMs: 5_000, intervalMs: 50, what: 'the decisions of both workers' },
    ).catch(() => undefined);
    // Two workers, two channels: their batches may arrive in either order.
    assert.deepEqual(decisions.map((d) => [d.requestId, d.route, d.outcome]).sort(), ids.map((id) => [id, 'secure', 'deny']).sort());
    const line = JSON.parse((await get(adminPort, `/api/traffic/${ids[0]}`)).text) as { status: number; decisions: unknown[] };
    assert.equal(line.status, 401);
    assert.equal(line.decisions.length, 1);
  });

  it('keeps --stats across a reload; reloads are counted once for the gateway', async () => {
    await writeFile(file, config('v2'));
    let seen = new Map<string, string>();
    await until(
      async () => {
        seen = await spread();
        return seen.size === 2 && [...seen.values()].every((v) => v === 'v2');
      },
      { timeoutMs: 60_000, intervalMs: 100, what: 'both workers at v2' },
    ).catch(() => undefined);
    assert.deepEqual([...seen.values()], ['v2', 'v2']);
    const res = await scrape();
    assert.equal(res.status, 200, 'the stats server still answers on the --stats address');
    assert.equal(total(res.text, 'portcullis_reloads_total', 'outcome="ok"'), 1);
    assert.equal(total(res.text, 'portcullis_config_generation'), 2);
    const reloads = JSON.parse((await get(adminPort, '/api/reloads')).text) as { reloads: Array<{ ok: boolean }> };
    assert.deepEqual(
      reloads.reloads.map((r) => r.ok),
      [true],
      'one reload line for the gateway',
    );
  });

  it('answers while a killed worker restarts, and counts the restart', async () => {
    const pid = Number([...answeredBy.values()].at(-1));
    process.kill(pid, 'SIGKILL');
    const res = await scrape();
    assert.equal(res.status, 200);
    let text = '';
    await until(
      async () => {
        text = (await scrape()).text;
        return total(text, 'portcullis_workers_scraped') === 2 && total(text, 'portcullis_worker_restarts_total') === 1;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: 'the restarted worker in a scrape' },
    ).catch(() => undefined);
    assert.equal(total(text, 'portcullis_workers_scraped'), 2);
    assert.equal(total(text, 'portcullis_worker_restarts_total'), 1);
    const seen = await spread();
    assert.equal(seen.size, 2);
    assert.ok(!seen.has(String(pid)));
  });
});

describe('workers: 2, a busy stats address', () => {
  let dir: string;
  let busy: Server;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcl-cluster-stats-busy-'));
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  });

  after(async () => {
    await new Promise((r) => busy.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('stops the start with a clear error before any worker starts', async () => {
    const busyPort = (busy.address() as { port: number }).port;
    const file = join(dir, 'gateway.config.ts');
    await writeFile(
      file,
      `export default {
  workers: 2,
  admin: { address: false },
  readiness: { address: false },
  stats: { address: '127.0.0.1:${busyPort}' },
  binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ policies: { directResponse: { status: 200 } } }] }] }],
};
`,
    );
    const gw = await startCli(['start', '-c', file]);
    const code = await gw.exited;
    const state = { output: gw.output(), cli: gw.child };
    assert.equal(code, 1, state.output);
    assert.ok(
      state.output.includes(
        `PCL_ERR_BIND_FAILED: stats.address 127.0.0.1:${busyPort} is already in use (another Portcullis or agentgateway running?): set stats.address in the config, or pass --stats <host:port> (--stats off turns it off)`,
      ),
      state.output,
    );
    for (const line of logLines(state.output)) assert.equal(line.pid, state.cli.pid, `only the supervisor ran: ${JSON.stringify(line)}`);
  });
});
