import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Sandbox, SandboxError } from '../../core/sandbox/index.ts';

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
        else assert.deepEqual(s.status === 'fulfilled' && s.value.value, { n });
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
});
