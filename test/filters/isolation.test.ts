import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import { CHANNELS, type SandboxEvent } from '../../core/telemetry/index.ts';
import { sandboxHosts } from '../../core/sandbox/index.ts';
import { echoUpstream, send, simpleConfig, startTestGateway, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { filterFixture, filterRoute } from '../helpers/filters.ts';
import { cpuMs, spinning } from '../helpers/process-cpu.ts';

const fixture = filterFixture;
const route = filterRoute;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('filter isolation: nothing a filter does stops the gateway', () => {
  let gw: TestGateway;
  let up: Upstream;
  const events: SandboxEvent[] = [];
  const onEvent = (m: unknown) => events.push(m as SandboxEvent);

  before(async () => {
    subscribe(CHANNELS.sandbox, onEvent);
    up = await echoUpstream();
    gw = await startTestGateway(
      simpleConfig([
        route('bombs', '/bombs', [{ file: fixture('bombs.ts') }], up.host),
        // Generous time, so the memory limit is what stops the allocation bombs.
        route('bombs-slow', '/slow', [{ file: fixture('bombs.ts'), name: 'bombs-slow', timeoutMs: 3000, memoryLimitMb: 16 }], up.host),
        route('bombs-open', '/open', [{ file: fixture('bombs.ts'), name: 'bombs-open', failureMode: 'failOpen' }], up.host),
        // The bystander shares the sandbox process with the bombs: what is judged is that it keeps answering (within
        // 5 s, below), not the 50 ms default budget, which a loaded 2-core host can exceed while a bomb's isolate is
        // being torn down beside it.
        route('bystander', '/bystander', [{ file: fixture('bystander.ts'), timeoutMs: 1000 }], up.host),
        route('plain', '/', undefined, up.host),
      ]),
    );
  });
  after(async () => {
    await gw.close();
    await up.close();
    unsubscribe(CHANNELS.sandbox, onEvent);
  });

  /**
   * Runs `attack` while two loops of requests go on, one at a time each (10 ms apart): to a route without filters and to a route
   * whose filter shares the sandbox process. Every one of those must be answered 200, within 5 s.
   */
  async function whileServing<T>(attack: () => Promise<T>): Promise<T> {
    let stop = false;
    const loop = async (path: string, header?: string) => {
      let served = 0;
      for (let i = 0; i < 5000 && !stop; i++) {
        const started = performance.now();
        const res = await send(`${gw.url()}${path}`);
        assert.equal(res.status, 200, `${path} answered ${res.status} during the attack: ${res.text}`);
        if (header) assert.equal(res.json().headers[header], 'passed');
        assert.ok(performance.now() - started < 5000, `${path} took ${Math.round(performance.now() - started)} ms during the attack`);
        served++;
        // Paced, not back to back: a steady probe shows the gateway kept serving; a flood only burned the CPU
        // the bombs' timings are judged against.
        await new Promise((r) => setTimeout(r, 10));
      }
      return served;
    };
    const plain = loop('/plain');
    const bystander = loop('/bystander', 'x-bystander');
    try {
      return await attack();
    } finally {
      stop = true;
      const [p, b] = await Promise.all([plain, bystander]);
      assert.ok(p > 0 && b > 0, `served ${p} plain and ${b} bystander requests during the attack`);
    }
  }

  /**
   * One attack: a 500 with one of `codes`, within the route's time limit plus the slack of a loaded machine and of
   * a sandbox process restart (50 ms routes: 2 s; the 3 s route: 6 s). Then the same filter serves a good request.
   */
  async function attack(path: string, codes: string[], withinMs = path.startsWith('/slow') ? 6000 : 2000): Promise<void> {
    await whileServing(async () => {
      const started = performance.now();
      const res = await send(`${gw.url()}${path}`);
      const elapsed = performance.now() - started;
      assert.equal(res.status, 500, `${path}: ${res.text}`);
      assert.ok(codes.includes(res.json().error.code), `${path}: got ${res.json().error.code}, expected one of ${codes.join(', ')}`);
      assert.ok(elapsed < withinMs, `${path} was answered after ${Math.round(elapsed)} ms`);
    });
    // The same filter serves the next good request.
    const base = path.split('?')[0];
    const next = await send(`${gw.url()}${base}`);
    assert.equal(next.status, 200, `${base} after the attack: ${next.text}`);
    assert.equal(next.json().headers['x-bombs'], 'passed');
  }

  for (const exp of [20, 26, 28]) {
    it(`answers new Array(2^${exp}).fill() sized from the request with the filter's failure, and keeps serving`, async () => {
      if (exp === 20) {
        // Small enough to fit: the filter answers normally. What is judged is the memory limit; the route's 50 ms
        // time budget can be overrun by a loaded 2-core host descheduling the sandbox process (seen in CI-like runs),
        // so a timeout, and only a timeout, is asked again (twice at most).
        let res = await send(`${gw.url()}/bombs?kind=array-fill&n=${2 ** exp}`);
        for (let i = 0; i < 2 && res.status === 500 && res.json().error?.code === 'PCL_ERR_FILTER_TIMEOUT'; i++) res = await send(`${gw.url()}/bombs?kind=array-fill&n=${2 ** exp}`);
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.json(), { length: 2 ** 20 });
        return;
      }
      // Twice on the default limits: a filter that broke a limit once answers the same input the same way.
      for (let i = 0; i < 2; i++) await attack(`/bombs?kind=array-fill&n=${2 ** exp}`, ['PCL_ERR_FILTER_TIMEOUT', 'PCL_ERR_FILTER_MEMORY_LIMIT', 'PCL_ERR_FILTER_CRASHED']);
      await attack(`/slow?kind=array-fill&n=${2 ** exp}`, ['PCL_ERR_FILTER_TIMEOUT', 'PCL_ERR_FILTER_MEMORY_LIMIT', 'PCL_ERR_FILTER_CRASHED']);
    });
  }

  it('answers arrays grown by push and Array.from with the failure result', async () => {
    await attack(`/slow?kind=array-push&n=${2 ** 28}`, ['PCL_ERR_FILTER_MEMORY_LIMIT', 'PCL_ERR_FILTER_CRASHED', 'PCL_ERR_FILTER_TIMEOUT']);
    await attack(`/slow?kind=array-from&n=${2 ** 27}`, ['PCL_ERR_FILTER_MEMORY_LIMIT', 'PCL_ERR_FILTER_CRASHED', 'PCL_ERR_FILTER_TIMEOUT']);
  });

  it('answers string doubling and a huge repeat with the failure result', async () => {
    await attack('/slow?kind=string-double', ['PCL_ERR_FILTER_MEMORY_LIMIT', 'PCL_ERR_FILTER_CRASHED', 'PCL_ERR_FILTER_FAILED']);
    await attack(`/slow?kind=string-repeat&n=${2 ** 29}`, ['PCL_ERR_FILTER_MEMORY_LIMIT', 'PCL_ERR_FILTER_CRASHED', 'PCL_ERR_FILTER_FAILED']);
  });

  it('counts ArrayBuffers and typed arrays against memoryLimitMb', async () => {
    // One allocation over the limit is refused inside the isolate (a RangeError the filter could catch).
    await attack(`/slow?kind=arraybuffer&n=${2 ** 30}`, ['PCL_ERR_FILTER_FAILED']);
    await gw.logs.waitFor((l) => l.msg === 'filter failed' && /Array buffer allocation failed/.test(l.err));
    await attack(`/slow?kind=typed-array&n=${2 ** 28}`, ['PCL_ERR_FILTER_FAILED', 'PCL_ERR_FILTER_MEMORY_LIMIT']);
    await attack('/slow?kind=arraybuffer-many', ['PCL_ERR_FILTER_FAILED', 'PCL_ERR_FILTER_MEMORY_LIMIT']);
  });

  it('gives filters no WebAssembly: its memory would not count against the limit', async () => {
    const probe = await send(`${gw.url()}/bombs?kind=wasm-probe`);
    assert.deepEqual(probe.json(), { WebAssembly: 'undefined', listed: false });
    await attack('/slow?kind=wasm-grow', ['PCL_ERR_FILTER_FAILED']);
    await gw.logs.waitFor((l) => l.msg === 'filter failed' && /TypeError: Cannot read properties of undefined \(reading 'Memory'\)/.test(l.err));
  });

  it('answers an infinite loop with PCL_ERR_FILTER_TIMEOUT within 1.5 s, even once the filter is hot', async () => {
    // Hot code: isolated-vm's own timeout has been seen to miss an optimized loop; the host's watchdog thread does not.
    for (let i = 0; i < 300; i++) assert.equal((await send(`${gw.url()}/bombs`)).status, 200);
    await attack('/bombs?kind=loop', ['PCL_ERR_FILTER_TIMEOUT'], 1500);
    await attack('/bombs?kind=loop', ['PCL_ERR_FILTER_TIMEOUT'], 1500);
  });

  it('fails open past a crash when configured', async () => {
    const res = await send(`${gw.url()}/open?kind=array-fill&n=${2 ** 28}`);
    assert.equal(res.status, 200);
    assert.equal(res.json().upstream, 'echo');
  });

  it('survives its sandbox process killed with SIGKILL mid-request: that request fails, calls queued behind it are answered', async () => {
    const runs = () => sandboxHosts().filter((h) => h.filters.includes('bombs-slow'));
    await whileServing(async () => {
      // Let a 1.5 s call start, then kill the process that runs it.
      const victim = send(`${gw.url()}/slow?kind=spin&n=1500`);
      await until(() => runs().length === 1, 5000);
      const pids = runs().map((h) => h.pid);
      await spinning(pids[0], cpuMs(pids[0]));
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      const res = await victim;
      assert.equal(res.status, 500, res.text);
      assert.equal(res.json().error.code, 'PCL_ERR_FILTER_CRASHED');
      assert.match(res.json().error.message, /^filter "bombs-slow" failed: onRequest crashed its sandbox process \(killed by SIGKILL\)$/);
      const exit = events.find((e) => e.kind === 'hostExit' && e.pid !== undefined && pids.includes(e.pid));
      assert.ok(exit, 'a hostExit event names the killed process');
      assert.equal(exit.filter, 'bombs-slow');
      assert.equal(exit.route, 'bombs-slow');
      const line = await gw.logs.waitFor((l) => l.msg === 'filter sandbox process exited' && pids.includes(l.pid));
      assert.equal(line.filter, 'bombs-slow');
      assert.equal(line.route, 'bombs-slow');
      assert.equal(line.signal, 'SIGKILL');
    });
    assert.ok(events.some((e) => e.kind === 'hostRestart'));
    const next = await send(`${gw.url()}/slow?kind=spin&n=1`);
    assert.equal(next.status, 200);
    assert.equal(next.json().headers['x-bombs'], 'spun');
  });

  it('publishes failure and replaced events with the filter and route', async () => {
    await send(`${gw.url()}/bombs?kind=loop`);
    await until(() => events.some((e) => e.kind === 'failure' && e.filter === 'bombs' && e.route === 'bombs' && e.errorCode === 'PCL_ERR_FILTER_TIMEOUT'), 5000);
    assert.ok(events.some((e) => e.kind === 'replaced' && e.filter === 'bombs' && e.route === 'bombs'));
  });

  it('has moved every filter that broke a limit to a process of its own, away from the bystander', async () => {
    const hosts = sandboxHosts();
    const bystander = hosts.find((h) => h.filters.includes('bystander'));
    assert.deepEqual(bystander?.filters, ['bystander']);
    for (const name of ['bombs', 'bombs-slow']) assert.deepEqual(hosts.find((h) => h.filters.includes(name))?.filters, [name]);
    await gw.logs.waitFor((l) => l.msg === 'filter moved to a sandbox process of its own after breaking a limit' && l.filter === 'bombs');
  });
});

describe('sandbox process lifetime', () => {
  it('ends the sandbox processes when the gateway closes', async () => {
    const up = await echoUpstream();
    const gw = await startTestGateway(simpleConfig([route('f', '/', [{ file: fixture('bystander.ts'), name: 'lifetime-probe' }], up.host)]));
    try {
      assert.equal((await send(`${gw.url()}/x`)).status, 200);
    } finally {
      var pids = sandboxHosts().filter((h) => h.filters.includes('lifetime-probe')).map((h) => h.pid);
      await gw.close();
      await up.close();
    }
    assert.equal(pids.length, 1);
    await until(() => !alive(pids[0]), 5000);
  });

  it('ends a sandbox process when the gateway process dies, even by SIGKILL', async () => {
    const { spawn } = await import('node:child_process');
    const owner = spawn(process.execPath, ['--no-node-snapshot', fixture('owner.ts'), fixture('bystander.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    owner.stdout.on('data', (d) => (out += d));
    await until(() => out.includes('\n'), 20_000);
    const { hostPid } = JSON.parse(out) as { hostPid: number };
    assert.ok(alive(hostPid));
    owner.kill('SIGKILL');
    await until(() => !alive(hostPid), 5000);
  });
});
