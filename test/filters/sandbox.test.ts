import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Sandbox, SandboxError, sandboxHosts } from '../../core/sandbox/index.ts';
import { createFrameReader, encodeResponse, RESPONSE_HEADER } from '../../core/sandbox/protocol.ts';
import { cpuMs, spinning } from '../helpers/process-cpu.ts';

const module = (body: string) => `var __pcl_module = { default: { ${body} } };`;
const limits = { memoryLimitMb: 16, timeoutMs: 40, maxResultBytes: 64 * 1024 };

describe('sandbox (isolated-vm)', () => {
  it('gives each call its own copy of the data and a frozen config', async () => {
    const sb = await Sandbox.create({
      ...limits,
      name: 't',
      config: { list: [1] },
      code: module(`onRequest(ctx) { let mutated = 'no'; try { ctx.config.list.push(2); mutated = 'yes'; } catch {} ctx.request.seen = true; return { mutated, config: ctx.config, request: ctx.request }; }`),
    });
    try {
      const a = await sb.call('onRequest', { request: { id: 1 } });
      const b = await sb.call('onRequest', { request: { id: 2 } });
      assert.deepEqual(a.value, { mutated: 'no', config: { list: [1] }, request: { id: 1, seen: true } });
      assert.deepEqual(b.value, { mutated: 'no', config: { list: [1] }, request: { id: 2, seen: true } });
    } finally {
      await sb.close();
    }
  });

  it('fails to start when the module throws or loops while loading', async () => {
    await assert.rejects(Sandbox.create({ ...limits, name: 't', config: {}, code: `throw new Error('load failed')` }), /load failed/);
    const started = performance.now();
    await assert.rejects(Sandbox.create({ ...limits, name: 't', config: {}, code: `for (;;) {}` }), /timed out/);
    assert.ok(performance.now() - started < 5000);
    await assert.rejects(Sandbox.create({ ...limits, name: 't', config: {}, code: module(`onRequest: 42`) }), /onRequest must be a function, got number/);
  });

  it('after a breach, answers the calls queued behind it from a fresh isolate', async () => {
    const sb = await Sandbox.create({ ...limits, name: 't', config: {}, code: module(`onRequest(ctx) { if (ctx.loop) for (;;) {} return { n: ctx.n }; }`) });
    try {
      await assert.rejects(sb.call('onRequest', { loop: true }), (e: SandboxError) => e.kind === 'timeout');
      assert.equal(sb.replacements, 1);
      const calls = Array.from({ length: 20 }, (_, n) => sb.call('onRequest', n === 5 ? { loop: true } : { n }));
      const settled = await Promise.allSettled(calls);
      for (const [n, s] of settled.entries()) {
        if (n === 5) assert.equal(s.status === 'rejected' && (s.reason as SandboxError).kind, 'timeout');
        else assert.deepEqual(s.status === 'fulfilled' ? s.value.value : String(s.reason), { n }, `call ${n}`);
      }
      assert.equal(sb.replacements, 2);
    } finally {
      await sb.close();
    }
  });

  it('refuses data over maxResultBytes in both directions', async () => {
    const sb = await Sandbox.create({ ...limits, name: 't', config: {}, code: module(`onRequest(ctx) { return 'y'.repeat(ctx.size); }`) });
    try {
      await assert.rejects(sb.call('onRequest', { size: 1, pad: 'x'.repeat(70 * 1024) }), (e: SandboxError) => e.kind === 'tooLarge' && /the data for onRequest is \d+ bytes, over maxResultBytes \(65536\)/.test(e.message));
      await assert.rejects(sb.call('onRequest', { size: 70 * 1024 }), (e: SandboxError) => e.kind === 'tooLarge');
      assert.equal((await sb.call('onRequest', { size: 3 })).value, 'yyy');
    } finally {
      await sb.close();
    }
  });

  it('rejects calls after close', async () => {
    const sb = await Sandbox.create({ ...limits, name: 't', config: {}, code: module(`onRequest() {}`) });
    await sb.close();
    await assert.rejects(sb.call('onRequest', {}), (e: SandboxError) => e.kind === 'unavailable');
  });

  it('when its process is killed mid-call, fails that call only, reruns the calls queued behind it, and moves the culprit to a process of its own', async () => {
    const spin = module(`onRequest(ctx) { const until = Date.now() + ctx.ms; while (Date.now() < until) {} return { spun: ctx.ms }; }`);
    const a = await Sandbox.create({ ...limits, timeoutMs: 5000, name: 'culprit', config: {}, code: spin });
    const b = await Sandbox.create({ ...limits, name: 'bystander', config: {}, code: module(`onRequest(ctx) { return { n: ctx.n }; }`) });
    try {
      assert.equal(a.hostPid, b.hostPid);
      const shared = a.hostPid!;
      const idle = cpuMs(shared);
      const running = a.call('onRequest', { ms: 2000 });
      await spinning(shared, idle);
      const queued = [1, 2, 3].map((n) => b.call('onRequest', { n }));
      process.kill(shared, 'SIGKILL');
      await assert.rejects(running, (e: SandboxError) => e.kind === 'crashed' && e.message === 'onRequest crashed its sandbox process (killed by SIGKILL)');
      assert.deepEqual((await Promise.all(queued)).map((r) => r.value), [{ n: 1 }, { n: 2 }, { n: 3 }]);
      assert.deepEqual((await a.call('onRequest', { ms: 1 })).value, { spun: 1 });
      assert.notEqual(a.hostPid, b.hostPid);
      assert.deepEqual(sandboxHosts().find((h) => h.pid === a.hostPid)?.filters, ['culprit']);
      // A second crash of the culprit's process costs the bystander nothing.
      const bystanderPid = b.hostPid;
      process.kill(a.hostPid!, 'SIGKILL');
      assert.deepEqual((await b.call('onRequest', { n: 4 })).value, { n: 4 });
      assert.equal(b.hostPid, bystanderPid);
    } finally {
      await a.close();
      await b.close();
    }
    assert.deepEqual(sandboxHosts(), []);
  });

  it('writes the calls issued in one turn of the event loop after the first one together, and answers each in order', async () => {
    const sb = await Sandbox.create({ ...limits, name: 'echo', config: {}, code: module(`onRequest(ctx) { return ctx.n; }`) });
    // write(2) calls of this process so far, from /proc (Linux).
    const writes = () => Number(/^syscw: (\d+)/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
    try {
      await sb.call('onRequest', { n: -1 });
      const before = writes();
      const calls = Array.from({ length: 16 }, (_, n) => sb.call('onRequest', { n }));
      // The first frame went at once; the other fifteen wait for the end of this turn.
      assert.equal(writes() - before, 1);
      assert.deepEqual((await Promise.all(calls)).map((r) => r.value), Array.from({ length: 16 }, (_, n) => n));
    } finally {
      await sb.close();
    }
  });

  it('kills a sandbox process that stops answering (SIGSTOP: even its watchdog thread is frozen) and serves the next call', async () => {
    const sb = await Sandbox.create({ ...limits, timeoutMs: 100, name: 'frozen', config: {}, code: module(`onRequest(ctx) { return { n: ctx.n }; }`) });
    try {
      assert.deepEqual((await sb.call('onRequest', { n: 1 })).value, { n: 1 });
      const pid = sb.hostPid!;
      process.kill(pid, 'SIGSTOP');
      const started = performance.now();
      await assert.rejects(sb.call('onRequest', { n: 2 }), (e: SandboxError) => e.kind === 'timeout' && /ran longer than timeoutMs \(100 ms\) and could not be stopped/.test(e.message));
      // The time limit plus the gateway's 2 s grace, on a loaded machine.
      assert.ok(performance.now() - started < 6000);
      assert.deepEqual((await sb.call('onRequest', { n: 3 })).value, { n: 3 });
      assert.notEqual(sb.hostPid, pid);
    } finally {
      await sb.close();
    }
  });
});

describe('sandbox memory outside the isolate heap', () => {
  it('ends a call that grows its process past twice memoryLimitMb + 64 MiB as a memory breach, long before its time limit', async () => {
    // new Array(2^26).fill() is one builtin call: neither isolated-vm's heap limit nor its timeout reaches into it.
    const sb = await Sandbox.create({ ...limits, timeoutMs: 20_000, name: 'filler', config: {}, code: module(`onRequest(ctx) { return new Array(ctx.n).fill(0.5).length; }`) });
    try {
      const started = performance.now();
      await assert.rejects(sb.call('onRequest', { n: 2 ** 26 }), (e: SandboxError) => e.kind === 'memory' && /went over memoryLimitMb \(16 MiB\)/.test(e.message));
      assert.ok(performance.now() - started < 15_000);
      assert.equal((await sb.call('onRequest', { n: 4 })).value, 4);
    } finally {
      await sb.close();
    }
  });
});

describe('sandbox frames', () => {
  it('reassembles frames split anywhere and packed together, and stops at a frame over the cap', () => {
    const frames = [encodeResponse(1, 0, 'a'), encodeResponse(2, 0, 'é'.repeat(300)), encodeResponse(3, 4, '')];
    const stream = Buffer.concat(frames);
    for (let cut = 1; cut < stream.length; cut += 7) {
      const seen: string[] = [];
      const read = createFrameReader(() => 1 << 20, (f) => seen.push(`${f.readUInt32LE(4)}:${f.toString('utf8', RESPONSE_HEADER)}`), () => assert.fail('not oversize'));
      read(stream.subarray(0, cut));
      read(stream.subarray(cut, cut + 3));
      read(stream.subarray(cut + 3));
      assert.deepEqual(seen, ['1:a', `2:${'é'.repeat(300)}`, '3:'], `cut at ${cut}`);
    }
    // A socket's onread buffer is overwritten after each read: what waits for the rest of a frame is a copy.
    for (let cut = 1; cut < stream.length; cut += 7) {
      const seen: string[] = [];
      const scratch = Buffer.alloc(stream.length);
      const read = createFrameReader(() => 1 << 20, (f) => seen.push(`${f.readUInt32LE(4)}:${f.toString('utf8', RESPONSE_HEADER)}`), () => assert.fail('not oversize'), true);
      for (const [from, to] of [[0, cut], [cut, cut + 3], [cut + 3, stream.length]]) {
        const n = stream.copy(scratch, 0, from, to);
        read(scratch.subarray(0, n));
        scratch.fill(0xee);
      }
      assert.deepEqual(seen, ['1:a', `2:${'é'.repeat(300)}`, '3:'], `reused buffer, cut at ${cut}`);
    }
    const over: number[] = [];
    const read = createFrameReader(() => 100, () => assert.fail('no frame'), (size) => over.push(size));
    read(encodeResponse(9, 0, 'x'.repeat(200)));
    read(encodeResponse(10, 0, 'y'));
    assert.deepEqual(over, [205]);
  });
});
