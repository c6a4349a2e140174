import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { portsBelowEphemeralRange } from '../helpers/held-ports.ts';
import { startHttpFixture, type RunningServer } from '../helpers/mcp.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { callText, openSession, rpc } from '../helpers/replica.ts';

// The container image, built with podman from the local base-image stand-ins, run as two replicas (host network,
// loopback ports) with one session key and a real Redis: sessions move between them, a rolling restart under load
// loses no request, and a limit counted in Redis holds across both. Figures go to stdout ("[deploy] ...").
const ROOT = new URL('../../', import.meta.url).pathname;
const IMAGE = 'localhost/portcullis:deploy-test';
const PODMAN = ['--runtime', 'runc'];
const KEY = randomBytes(32).toString('base64');
const RUN_ID = randomBytes(3).toString('hex');
const say = (text: string) => process.stdout.write(`[deploy] ${text}\n`);

function podman(args: string[], timeoutMs = 60_000): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('podman', [...PODMAN, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

/** Runs a long command with its output streamed to ours (builds), bounded. */
function run(cmd: string, args: string[], timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? -1);
    });
  });
}

interface Ports {
  http: number;
  readiness: number;
  peer: number;
}

/** One replica: a container on the host network. */
class Replica {
  readonly name: string;
  readonly ports: Ports;
  constructor(name: string, ports: Ports) {
    this.name = `pcl-${RUN_ID}-${name}`;
    this.ports = ports;
  }
  get url() {
    return `http://127.0.0.1:${this.ports.http}`;
  }
  start(dir: string, file: string): void {
    podman(['rm', '-f', this.name]);
    const r = podman([
      'run', '-d', '--name', this.name, '--network', 'host', '--read-only', '--tmpfs', '/tmp', '--tmpfs', '/app/.cache',
      '-v', `${join(dir, file)}:/etc/portcullis/config.yaml:ro`,
      '-v', `${ROOT}test/fixtures/mcp:/app/fixtures:ro`,
      '-e', `PORTCULLIS_SESSION_KEY=${KEY}`,
      '-e', `PORTCULLIS_PEER_ADDRESS=127.0.0.1:${this.ports.peer}`,
      IMAGE, 'start', '-f', '/etc/portcullis/config.yaml', '--readiness', `127.0.0.1:${this.ports.readiness}`, '--admin', 'off', '--stats', 'off',
    ]);
    assert.equal(r.status, 0, r.stderr);
  }
  async ready(timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if ((await readiness(this.ports.readiness)) === 200) return;
      const state = podman(['inspect', '-f', '{{.State.Running}}', this.name]).stdout.trim();
      if (state === 'false') throw new Error(`${this.name} exited:\n${this.logs()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.logs()}`);
  }
  logs(): string {
    const r = podman(['logs', this.name]);
    return (r.stdout + r.stderr).slice(-4000);
  }
  /** Graceful stop (SIGTERM, then the drain); resolves with the exit code and how long it took. */
  stop(): { code: number; ms: number } {
    const started = Date.now();
    podman(['stop', '-t', '40', this.name], 60_000);
    const code = Number(podman(['inspect', '-f', '{{.State.ExitCode}}', this.name]).stdout.trim());
    return { code, ms: Date.now() - started };
  }
  kill(): void {
    podman(['kill', '-s', 'KILL', this.name]);
  }
  remove(): void {
    podman(['rm', '-f', this.name]);
  }
}

async function readiness(port: number): Promise<number | 'refused'> {
  try {
    const res = await request(`http://127.0.0.1:${port}/healthz/ready`, { reset: true, headersTimeout: 2000 });
    await res.body.dump();
    return res.statusCode;
  } catch {
    return 'refused';
  }
}

function config(ports: Ports, upstream: string, redisUrl: string, hostUpstream: string): string {
  return `# agentgateway format, with Portcullis policies
binds:
- port: ${ports.http}
  address: 127.0.0.1
  listeners:
  # Named: the rate-limit key names the listener, which is otherwise named after the port (replicas here listen on
  # different ports; in Kubernetes every pod has the same one).
  - name: main
    routes:
    - name: remote
      matches: [{ path: { pathPrefix: /remote } }]
      backends: [{ mcp: { targets: [{ name: r, mcp: { host: ${upstream} } }] } }]
    - name: stdio
      matches: [{ path: { pathPrefix: /stdio } }]
      backends: [{ mcp: { targets: [{ name: s, stdio: { cmd: node, args: [/app/fixtures/server.ts, s, stdio] } }] } }]
    - name: limited
      matches: [{ path: { pathPrefix: /limited } }]
      policies:
        rateLimit:
          limits: [{ name: shared, key: [route], rate: { limit: 5, windowMs: 60000 } }]
          store: { redis: { url: ${redisUrl} } }
          failureMode: failClosed
      backends: [{ host: ${hostUpstream} }]
`;
}

/**
 * A load balancer as a Kubernetes Service with a proxy in front would be: it sends each request to a replica whose
 * readiness answered 200 at the last probe (every 100 ms), round robin, and retries on another replica when the
 * connection is refused or reset before any answer (the request never reached a handler).
 */
class Balancer {
  private readonly replicas: Replica[];
  private readonly ready = new Map<Replica, boolean>();
  private timer?: NodeJS.Timeout;
  private next = 0;
  retries = 0;
  constructor(replicas: Replica[]) {
    this.replicas = replicas;
  }
  async start(): Promise<void> {
    const probe = async () => {
      await Promise.all(this.replicas.map(async (r) => this.ready.set(r, (await readiness(r.ports.readiness)) === 200)));
    };
    await probe();
    this.timer = setInterval(() => void probe(), 100);
  }
  stop(): void {
    clearInterval(this.timer);
  }
  async rpc(path: string, body: unknown, session: string): Promise<Awaited<ReturnType<typeof rpc>>> {
    let lastErr: unknown;
    for (let attempt = 0; attempt < 6; attempt++) {
      const live = this.replicas.filter((r) => this.ready.get(r));
      const target = (live.length ? live : this.replicas)[this.next++ % (live.length || this.replicas.length)];
      try {
        return await rpc(`${target.url}${path}`, body, session);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ECONNREFUSED' && code !== 'ECONNRESET' && code !== 'UND_ERR_SOCKET') throw err;
        lastErr = err;
        this.retries++;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw lastErr;
  }
}

describe('container image and replicas', { timeout: 1_800_000 }, () => {
  let dir: string;
  let redis: TestRedis;
  let upstream: RunningServer;
  let hostUpstream: Server;
  let a: Replica;
  let b: Replica;

  before(async () => {
    let t = Date.now();
    assert.equal(await run('bash', ['deploy/local-base-images.sh'], 900_000), 0, 'the base image stand-ins');
    say(`base images ready in ${((Date.now() - t) / 1000).toFixed(0)} s`);
    t = Date.now();
    const built = await run(
      'podman',
      [...PODMAN, 'build', '--format', 'docker', '--network', 'host', '--build-arg', 'NODE_IMAGE=localhost/portcullis-base/node:24', '--build-arg', 'GO_IMAGE=localhost/portcullis-base/go:1', '--build-arg', `WITH_OPA=${process.env.DEPLOY_WITH_OPA ?? '1'}`, '-t', IMAGE, '.'],
      1_500_000,
    );
    assert.equal(built, 0, 'podman build');
    say(`image built in ${((Date.now() - t) / 1000).toFixed(0)} s`);
    dir = await mkdtemp(join(tmpdir(), 'pcl-deploy-'));
    redis = await startRedis();
    upstream = await startHttpFixture('up');
    hostUpstream = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => hostUpstream.listen(0, '127.0.0.1', () => r()));
    const hostPort = (hostUpstream.address() as { port: number }).port;
    // The replicas are restarted on the same ports (a rolling restart) and each is told its peer address: ports given
    // in advance, below the ephemeral range, where no port-0 listener or outgoing connection can take them meanwhile.
    const [ah, ar, ap, bh, br, bp] = await portsBelowEphemeralRange(6);
    a = new Replica('a', { http: ah, readiness: ar, peer: ap });
    b = new Replica('b', { http: bh, readiness: br, peer: bp });
    await writeFile(join(dir, 'a.yaml'), config(a.ports, upstream.url, redis.url, `127.0.0.1:${hostPort}`));
    await writeFile(join(dir, 'b.yaml'), config(b.ports, upstream.url, redis.url, `127.0.0.1:${hostPort}`));
    t = Date.now();
    a.start(dir, 'a.yaml');
    b.start(dir, 'b.yaml');
    await Promise.all([a.ready(), b.ready()]);
    say(`two replicas ready in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  });

  after(async () => {
    for (const r of [a, b]) r?.remove();
    podman(['rm', '-f', `pcl-${RUN_ID}-a2`, `pcl-${RUN_ID}-b2`]);
    await redis?.stop();
    await upstream?.close();
    await new Promise((r) => (hostUpstream ? hostUpstream.close(r) : r(undefined)));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is a non-root image with the CLI as entrypoint, a readiness HEALTHCHECK, and reports its size', async () => {
    const inspect = JSON.parse(podman(['image', 'inspect', IMAGE]).stdout)[0];
    say(`image size ${(inspect.Size / 1e6).toFixed(0)} MB`);
    assert.equal(inspect.Config.User, 'node');
    assert.deepEqual(inspect.Config.Entrypoint, ['tini', '--', 'node', '--no-node-snapshot', '/app/core/cli/bin.mjs']);
    assert.match(JSON.stringify(inspect.Healthcheck ?? inspect.Config.Healthcheck ?? {}), /healthz\/ready/);
    const id = podman(['run', '--rm', '--entrypoint', 'id', IMAGE, '-u']);
    assert.equal(id.stdout.trim(), '1000');
    const valid = podman(['run', '--rm', '--read-only', '-v', `${dir}/a.yaml:/etc/portcullis/config.yaml:ro`, IMAGE, 'validate', '-f', '/etc/portcullis/config.yaml']);
    assert.equal(valid.status, 0, valid.stderr);
    assert.match(valid.stdout, /valid \(1 bind\(s\), 3 route\(s\)\)/);
    await writeFile(join(dir, 'bad.yaml'), 'binds:\n- port: nope\n');
    const invalid = podman(['run', '--rm', '--read-only', '-v', `${dir}/bad.yaml:/etc/portcullis/config.yaml:ro`, IMAGE, 'validate', '-f', '/etc/portcullis/config.yaml']);
    assert.equal(invalid.status, 1);
    assert.match(invalid.stderr, /PCL_ERR_CONFIG_INVALID/);
    // The JavaScript build in the image is fresh: the gateway does not try to rebuild it on a read-only filesystem.
    assert.doesNotMatch(a.logs(), /could not build the gateway/);
  });

  it('continues a remote-target session opened on A on B, and forwards a stdio session to its owner', async () => {
    const remote = await openSession(`${a.url}/remote`);
    const viaA = JSON.parse(await callText(`${a.url}/remote`, remote, 'headers'));
    const viaB = JSON.parse(await callText(`${b.url}/remote`, remote, 'headers'));
    assert.equal(viaB['mcp-session-id'], viaA['mcp-session-id'], 'B reuses the upstream session');
    const stdio = await openSession(`${a.url}/stdio`);
    const pidA = JSON.parse(await callText(`${a.url}/stdio`, stdio, 'whoami')).pid;
    const pidB = JSON.parse(await callText(`${b.url}/stdio`, stdio, 'whoami')).pid;
    assert.equal(pidB, pidA, 'B forwarded to the process on A');
  });

  it('holds a rate limit counted in Redis across both replicas', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await request(`${(i % 2 ? b : a).url}/limited`, { reset: true });
      await res.body.dump();
      statuses.push(res.statusCode);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429, 429], 'five in the window, whichever replica counted them');
  });

  it('loses no request in a rolling restart under load (stop A gracefully, start A\', stop B)', async () => {
    const balancer = new Balancer([a, b]);
    await balancer.start();
    const clients = 4;
    const sessions = await Promise.all(Array.from({ length: clients }, (_, i) => openSession(`${(i % 2 ? b : a).url}/remote`)));
    let running = true;
    let ok = 0;
    const failures: string[] = [];
    const latencies: number[] = [];
    const loops = sessions.map(async (session, c) => {
      for (let n = 0; running && n < 100_000; n++) {
        const started = performance.now();
        try {
          const r = await balancer.rpc('/remote', { jsonrpc: '2.0', id: n, method: 'tools/call', params: { name: 'echo', arguments: { text: `${c}-${n}` } } }, session);
          if (r.status === 200 && r.message?.result?.content?.[0]?.text === `up: ${c}-${n}`) ok++;
          else failures.push(`${r.status} ${JSON.stringify(r.message).slice(0, 200)}`);
        } catch (err) {
          failures.push(String((err as Error).message));
        }
        latencies.push(performance.now() - started);
      }
    });
    const t0 = Date.now();
    const stopA = a.stop();
    assert.equal(stopA.code, 0, `A exits 0 after its drain:\n${a.logs()}`);
    const a2 = new Replica('a2', a.ports);
    a2.start(dir, 'a.yaml');
    await a2.ready();
    const stopB = b.stop();
    assert.equal(stopB.code, 0, `B exits 0 after its drain:\n${b.logs()}`);
    // Load goes on against A' alone for a moment, then stops.
    await new Promise((r) => setTimeout(r, 1000));
    running = false;
    await Promise.all(loops);
    balancer.stop();
    latencies.sort((x, y) => x - y);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(1);
    say(
      `rolling restart: ${ok + failures.length} requests from ${clients} clients over ${((Date.now() - t0) / 1000).toFixed(1)} s, ${ok} ok, ${failures.length} failed, ` +
        `${balancer.retries} balancer retries (connection refused/reset before any answer), latency p50 ${q(0.5)} ms p99 ${q(0.99)} ms max ${q(1)} ms; ` +
        `drain A ${stopA.ms} ms, drain B ${stopB.ms} ms`,
    );
    assert.deepEqual(failures.slice(0, 5), [], 'no request lost');
    assert.ok(ok > 50, `enough load to mean something (${ok})`);
    a2.remove();
  });

  it('after A is killed, B keeps serving the remote-target session', async () => {
    const a3 = new Replica('a', a.ports);
    const b2 = new Replica('b2', b.ports);
    a3.start(dir, 'a.yaml');
    b2.start(dir, 'b.yaml');
    await Promise.all([a3.ready(), b2.ready()]);
    const remote = await openSession(`${a3.url}/remote`);
    const stdio = await openSession(`${a3.url}/stdio`);
    assert.equal(await callText(`${a3.url}/remote`, remote, 'echo', { text: 'before' }), 'up: before');
    a3.kill();
    assert.equal(await callText(`${b2.url}/remote`, remote, 'echo', { text: 'after' }), 'up: after');
    const gone = await rpc(`${b2.url}/stdio`, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, stdio);
    assert.equal(gone.status, 404, 'the stdio session died with its replica: the client initializes again');
    b2.remove();
    a3.remove();
  });
});
