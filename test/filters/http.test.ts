import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { echoUpstream, simpleConfig, type Upstream } from '../helpers/gateway.ts';
import { buildTestRuntime, type TestRuntime } from '../helpers/runtime.ts';
import { filterFixture, filterRoute } from '../helpers/filters.ts';

const fixture = filterFixture;
const route = filterRoute;

describe('filters on HTTP routes', () => {
  let gw: TestRuntime;
  let up: Upstream;
  before(async () => {
    up = await echoUpstream();
    gw = await buildTestRuntime(
      simpleConfig([
        route('lab', '/lab', [{ file: fixture('lab.ts'), config: { tag: 'T1' } }], up.host),
        route('open', '/open', [{ file: fixture('lab.ts'), config: { tag: 'T2' }, failureMode: 'failOpen' }], up.host),
        route('loop', '/loop', [{ file: fixture('loop.ts'), timeoutMs: 30 }], up.host),
        route('bomb', '/bomb', [{ file: fixture('bomb.ts'), memoryLimitMb: 16, timeoutMs: 5000 }], up.host),
        route('resp', '/resp', [{ file: fixture('respond-rewrite.ts') }], up.host),
        route('order', '/order', [{ file: fixture('order-a.ts') }, { file: fixture('order-b.ts') }], up.host),
        // Building a 4 MiB result takes longer than the default 50 ms on a loaded machine: the cap, not the clock, is under test.
        route('big', '/big', [{ file: fixture('lab.ts'), config: { tag: 'T4' }, timeoutMs: 5000 }], up.host),
        route('small', '/small', [{ file: fixture('lab.ts'), config: { tag: 'T3' }, maxBodyBytes: 16 }], up.host),
        route('plain', '/', undefined, up.host),
      ]),
    );
  });
  after(async () => {
    await gw.close();
    await up.close();
  });

  const servesPlain = async () => {
    const res = await gw.send(`/plain`);
    assert.equal(res.status, 200);
    assert.equal(res.json().upstream, 'echo');
  };

  it('passes a request through unchanged when the hook returns nothing', async () => {
    const res = await gw.send(`/lab/x?a=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"k":1}' });
    assert.equal(res.status, 200);
    assert.equal(res.json().url, '/lab/x?a=1');
    assert.equal(res.json().body, '{"k":1}');
  });

  it('answers from the filter (deny) without reaching the upstream', async () => {
    const before = up.seen.length;
    const res = await gw.send(`/lab`, { headers: { 'x-mode': 'deny' } });
    assert.equal(res.status, 403);
    assert.deepEqual(res.json(), { denied: true, by: 'T1' });
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(up.seen.length, before);
  });

  it('shows the filter method, path, query, lower-case headers, JSON body, route, listener and config', async () => {
    const res = await gw.send(`/lab/p?a=1&a=2&b=x`, {
      method: 'PUT',
      headers: { 'x-mode': 'echo', 'X-Custom': 'v', 'content-type': 'application/json; charset=utf-8' },
      body: '{"n":[1,2]}',
    });
    assert.equal(res.status, 200);
    const seen = res.json();
    assert.equal(seen.request.method, 'PUT');
    assert.equal(seen.request.path, '/lab/p');
    assert.deepEqual(seen.request.query, { a: ['1', '2'], b: 'x' });
    assert.equal(seen.request.headers['x-custom'], 'v');
    assert.deepEqual(seen.request.body, { n: [1, 2] });
    assert.equal(seen.route, 'lab');
    assert.ok(seen.listener);
    assert.ok(seen.requestId);
    assert.deepEqual(seen.config, { tag: 'T1' });
  });

  it('sets and removes request headers', async () => {
    const res = await gw.send(`/lab`, { headers: { 'x-mode': 'set-header', 'x-secret': 's' } });
    assert.equal(res.status, 200);
    assert.equal(res.json().headers['x-filtered'], 'T1');
    assert.equal(res.json().headers['x-secret'], undefined);
  });

  it('replaces the request body and its content-length', async () => {
    const res = await gw.send(`/lab`, { method: 'POST', headers: { 'x-mode': 'rewrite-body', 'content-type': 'application/json' }, body: '{"a":1}' });
    assert.equal(res.status, 200);
    const body = res.json();
    assert.deepEqual(JSON.parse(body.body), { rewritten: true, original: { a: 1 } });
    assert.equal(body.headers['content-length'], String(Buffer.byteLength(body.body)));
  });

  it('does not hand over a body larger than maxBodyBytes, and forwards it whole', async () => {
    const big = JSON.stringify({ text: 'y'.repeat(100) });
    const res = await gw.send(`/small`, { method: 'POST', headers: { 'x-mode': 'rewrite-body', 'content-type': 'application/json' }, body: big });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.json().body), { rewritten: true, original: null });
    // Chunked (no content-length): read up to the cap, then replayed with the rest.
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big.slice(0, 10)));
        c.enqueue(new TextEncoder().encode(big.slice(10)));
        c.close();
      },
    });
    const chunked = await gw.fetch(`/small`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-mode': 'rewrite-body' }, body: stream, duplex: 'half' } as RequestInit);
    assert.deepEqual(JSON.parse(((await chunked.json()) as { body: string }).body), { rewritten: true, original: null });
    const plain = await gw.fetch(`/small`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: new Blob([big]).stream(), duplex: 'half' } as RequestInit);
    assert.equal(((await plain.json()) as { body: string }).body, big);
  });

  it('fails closed with PCL_ERR_FILTER_FAILED when the filter throws, without leaking its message', async () => {
    const res = await gw.send(`/lab`, { headers: { 'x-mode': 'throw' } });
    assert.equal(res.status, 500);
    assert.equal(res.json().error.code, 'PCL_ERR_FILTER_FAILED');
    assert.equal(res.json().error.message, 'filter "lab" failed in onRequest; the gateway log has the details');
    const line = await gw.logs.waitFor((l) => l.msg === 'filter failed' && /secret-abc/.test(l.err));
    assert.equal(line.code, 'PCL_ERR_FILTER_FAILED');
    await servesPlain();
    assert.equal((await gw.send(`/lab`)).status, 200);
  });

  it('fails open when configured: continues unchanged', async () => {
    const res = await gw.send(`/open`, { headers: { 'x-mode': 'throw' } });
    assert.equal(res.status, 200);
    assert.equal(res.json().upstream, 'echo');
  });

  it('rejects an invalid decision and an async hook with PCL_ERR_FILTER_FAILED', async () => {
    for (const mode of ['bad-decision', 'promise', 'bad-header', 'bad-status']) {
      const res = await gw.send(`/lab`, { headers: { 'x-mode': mode } });
      assert.equal(res.status, 500, mode);
      assert.equal(res.json().error.code, 'PCL_ERR_FILTER_FAILED');
    }
    await gw.logs.waitFor((l) => l.msg === 'filter failed' && /returned an invalid decision: action must be "continue" or "respond", got "explode"/.test(l.err));
    await gw.logs.waitFor((l) => l.msg === 'filter failed' && /returned a Promise: filter hooks must be synchronous/.test(l.err));
    await gw.logs.waitFor((l) => l.msg === 'filter failed' && /headers\.set\.x-split must be a string without CR, LF, NUL or other control characters/.test(l.err));
    await gw.logs.waitFor((l) => l.msg === 'filter failed' && /status must be an integer 200-599, got 99/.test(l.err));
    await servesPlain();
  });

  it('answers an oversized result with PCL_ERR_FILTER_RESULT_TOO_LARGE', async () => {
    const res = await gw.send(`/big`, { headers: { 'x-mode': 'big' } });
    assert.equal(res.status, 500);
    assert.equal(res.json().error.code, 'PCL_ERR_FILTER_RESULT_TOO_LARGE');
    assert.match(res.json().error.message, /over maxResultBytes \(4194304\)/);
    assert.equal((await gw.send(`/big`)).status, 200);
  });

  it('writes ctx.log lines to the gateway log with the filter name', async () => {
    await gw.send(`/lab/logged`, { headers: { 'x-mode': 'log' } });
    const line = await gw.logs.waitFor((l) => l.msg === 'lab saw a request');
    assert.equal(line.filter, 'lab');
    assert.equal(line.route, 'lab');
    assert.ok(line.requestId);
    assert.deepEqual(line.fields, { path: '/lab/logged' });
  });

  it('gives filter code no way to the host: no process, require, fetch, timers or host Function', async () => {
    const res = await gw.send(`/lab`, { headers: { 'x-mode': 'escape' } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), {
      process: 'undefined',
      require: 'undefined',
      fetch: 'undefined',
      setTimeout: 'undefined',
      hostFunction: 'undefined',
      constructorProcess: 'threw ReferenceError',
      ctxFunction: 'undefined',
      importMeta: 'undefined',
      evalProcess: 'undefined',
    });
  });

  it('keeps prototype pollution and global stashes of one call from reaching the next', async () => {
    await gw.send(`/lab`, { headers: { 'x-mode': 'pollute', 'x-data': 'request-one-secret' } });
    const res = await gw.send(`/lab`, { headers: { 'x-mode': 'check-pollution' } });
    assert.deepEqual(res.json(), { polluted: 'no', pushWorks: true, parseWorks: true, stash: null });
  });

  it('answers an infinite loop with PCL_ERR_FILTER_TIMEOUT, keeps serving, and the next request is fine', async () => {
    const started = performance.now();
    const res = await gw.send(`/loop`, { headers: { 'x-loop': '1' } });
    assert.equal(res.status, 500);
    assert.equal(res.json().error.code, 'PCL_ERR_FILTER_TIMEOUT');
    // isolated-vm stops the loop and the isolate is replaced; if it cannot, the sandbox process's watchdog ends the
    // process (250 ms later) and the gateway restarts it. Either way the client is told which limit.
    assert.match(res.json().error.message, /^filter "loop" failed: onRequest ran longer than timeoutMs \(30 ms\)/);
    assert.ok(performance.now() - started < 2000);
    await gw.logs.waitFor(
      (l) => (l.msg === 'filter sandbox replaced after breaking a limit' && l.reason === 'timeout') || (l.msg === 'filter sandbox process exited' && l.kind === 'timeout'),
    );
    await servesPlain();
    const next = await gw.send(`/loop`);
    assert.equal(next.status, 200);
    assert.equal(next.json().headers['x-loop-filter'], 'passed');
    // A looping request among normal ones: the others are answered, by a fresh sandbox.
    const mixed = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => gw.send(`/loop`, { headers: i === 2 ? { 'x-loop': '1' } : {} })));
    assert.deepEqual(mixed.map((r) => r.status), [200, 200, 500, 200, 200, 200]);
  });

  it('answers a memory bomb with PCL_ERR_FILTER_MEMORY_LIMIT, and the next request is fine', async () => {
    const res = await gw.send(`/bomb`, { headers: { 'x-bomb': '1' } });
    assert.equal(res.status, 500);
    assert.equal(res.json().error.code, 'PCL_ERR_FILTER_MEMORY_LIMIT');
    assert.equal(res.json().error.message, 'filter "bomb" failed: onRequest went over memoryLimitMb (16 MiB)');
    const next = await gw.send(`/bomb`);
    assert.equal(next.status, 200);
    assert.equal(next.json().headers['x-bomb-filter'], 'passed');
    await servesPlain();
  });

  it('rewrites JSON response bodies and headers on the way back', async () => {
    const res = await gw.send(`/resp/r`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-response-filtered'], '1');
    const body = res.json();
    assert.equal(body.filteredBy, 'respond-rewrite');
    assert.equal(body.url, '/resp/r');
    assert.equal(res.headers['content-length'], String(Buffer.byteLength(res.text)));
  });

  it('runs request hooks in config order and response hooks in reverse', async () => {
    const res = await gw.send(`/order`);
    assert.equal(res.json().headers['x-order'], 'ab');
    assert.equal(res.headers['x-back'], 'ba');
  });

  it('never runs a route filter on a sibling route', async () => {
    const res = await gw.send(`/plain`, { headers: { 'x-mode': 'deny' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-response-filtered'], undefined);
  });

  it('keeps concurrent requests apart: each sees and gets only its own data', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `req-${i}`);
    const results = await Promise.all(
      ids.map((id) => gw.send(`/lab/${id}`, { method: 'POST', headers: { 'x-mode': 'echo', 'x-id': id, 'content-type': 'application/json' }, body: JSON.stringify({ id }) })),
    );
    for (const [i, r] of results.entries()) {
      assert.equal(r.status, 200);
      const seen = r.json().request;
      assert.equal(seen.headers['x-id'], ids[i]);
      assert.deepEqual(seen.body, { id: ids[i] });
      assert.equal(seen.path, `/lab/${ids[i]}`);
    }
  });
});
