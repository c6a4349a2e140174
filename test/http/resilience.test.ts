import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { upstreamChannel, type UpstreamAttemptEvent } from '../../core/telemetry/events.ts';
import { echoUpstream, send, simpleConfig, startTestGateway, startUpstream, until, type TestGateway, type Upstream } from '../helpers/gateway.ts';

function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let out = '';
    socket.on('data', (d) => (out += d));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error('raw request timed out')));
  });
}

describe('streaming, failures and limits', () => {
  let gw: TestGateway;
  let a: Upstream;
  let b: Upstream;
  let sse: Upstream;
  let hang: Upstream;
  let aborted = 0;
  before(async () => {
    a = await echoUpstream('a');
    b = await echoUpstream('b');
    sse = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let n = 0;
      const timer = setInterval(() => {
        res.write(`data: event-${n}\n\n`);
        if (++n === 3) {
          clearInterval(timer);
          res.end();
        }
      }, 200);
      res.on('close', () => clearInterval(timer));
    });
    hang = await startUpstream((req, res) => {
      req.on('close', () => {
        if (!res.writableEnded) aborted++;
      });
    });
    gw = await startTestGateway(
      simpleConfig(
        [
          { name: 'weighted', matches: [{ path: { pathPrefix: '/w' } }], backends: [{ host: a.host, weight: 3 }, { host: b.host, weight: 1 }] },
          { name: 'only-a', matches: [{ path: { pathPrefix: '/zero' } }], backends: [{ host: a.host, weight: 1 }, { host: b.host, weight: 0 }] },
          { name: 'failover', matches: [{ path: { pathPrefix: '/failover' } }], backends: [{ host: '127.0.0.1:1' }, { host: a.host }], policies: { retry: { attempts: 1, backoffMs: 0 } } },
          { name: 'dead', matches: [{ path: { pathPrefix: '/dead' } }], backends: [{ host: '127.0.0.1:1' }] },
          { name: 'sse', matches: [{ path: { pathPrefix: '/events' } }], backends: [{ host: sse.host }] },
          { name: 'hang', matches: [{ path: { pathPrefix: '/hang' } }], backends: [{ host: hang.host }] },
          { name: 'echo', matches: [{ path: { pathPrefix: '/echo' } }], backends: [{ host: a.host }] },
          { name: 'traced-dead', matches: [{ path: { pathPrefix: '/traced-dead' } }], backends: [{ host: '127.0.0.1:1' }] },
          {
            name: 'traced-failover',
            matches: [{ path: { pathPrefix: '/traced-failover' } }],
            backends: [{ host: '127.0.0.1:1', weight: 1000 }, { host: a.host, weight: 1 }],
            policies: { retry: { attempts: 3, backoffMs: 0 } },
          },
          { name: 'traced-post', matches: [{ path: { pathPrefix: '/traced-post' } }], backends: [{ host: '127.0.0.1:1' }] },
          { name: 'no-retry', matches: [{ path: { pathPrefix: '/no-retry' } }], backends: [{ host: '127.0.0.1:1' }], policies: { retry: { attempts: 0, backoffMs: 0 } } },
        ],
        { limits: { maxRequestBodyBytes: 1024 }, upstream: { ejectionMs: 1000 } },
      ),
    );
  });
  after(async () => {
    await gw.close();
    await Promise.all([a.close(), b.close(), sse.close(), hang.close()]);
  });

  it('spreads load by weight, and never to a weight-0 backend', async () => {
    const counts: Record<string, number> = { a: 0, b: 0 };
    for (let i = 0; i < 200; i++) counts[(await send(`${gw.url()}/w`)).headers['x-upstream'] as string]++;
    assert.ok(counts.a > 110 && counts.b > 20, JSON.stringify(counts));
    for (let i = 0; i < 20; i++) assert.equal((await send(`${gw.url()}/zero`)).headers['x-upstream'], 'a');
  });
  it('retries an idempotent request on another backend when a connection is refused', async () => {
    for (let i = 0; i < 10; i++) {
      const res = await send(`${gw.url()}/failover`);
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-upstream'], 'a');
    }
  });
  it('502 for a dead backend, then 503 while it is ejected, then 502 again after ejectionMs', async () => {
    const first = await send(`${gw.url()}/dead`);
    const ejected = Date.now();
    assert.equal(first.status, 502);
    assert.equal(first.json().error.code, 'PCL_ERR_BACKEND_UNREACHABLE');
    assert.match(first.json().error.message, /^backend 127\.0\.0\.1:1 unreachable \(ECONNREFUSED\)$/);
    const second = await send(`${gw.url()}/dead`);
    assert.equal(second.status, 503);
    assert.equal(second.json().error.code, 'PCL_ERR_NO_HEALTHY_BACKEND');
    // Asked again until the ejection ends (503 until then), rather than sleeping past it.
    let status = 503;
    await until(async () => (status = (await send(`${gw.url()}/dead`)).status) !== 503, { timeoutMs: 5000, intervalMs: 50, what: 'the ejection to end' });
    assert.equal(status, 502);
    assert.ok(Date.now() - ejected >= 900, `ejected for ${Date.now() - ejected} ms, under ejectionMs`);
    assert.equal((await send(`${gw.url()}/echo`)).status, 200, 'other routes keep serving');
  });
  it('passes SSE events through one by one, as they are produced', async () => {
    const started = Date.now();
    const res = await request(`${gw.url()}/events`);
    assert.equal(res.headers['content-type'], 'text/event-stream');
    const arrivals: Array<[string, number]> = [];
    for await (const chunk of res.body) arrivals.push([String(chunk).trim(), Date.now() - started]);
    assert.deepEqual(arrivals.map((x) => x[0]), ['data: event-0', 'data: event-1', 'data: event-2']);
    // The first event must arrive long before the stream ends (no buffering in the gateway).
    assert.ok(arrivals[2][1] - arrivals[0][1] >= 300, JSON.stringify(arrivals));
  });
  it('413 for a body over the limit, by content-length and while streaming a chunked body', async () => {
    const big = await send(`${gw.url()}/echo`, { method: 'POST', body: 'x'.repeat(2000) });
    assert.equal(big.status, 413);
    assert.deepEqual(big.json(), { error: { code: 'PCL_ERR_BODY_TOO_LARGE', message: 'request body exceeds limits.maxRequestBodyBytes (1024 bytes)' } });
    async function* chunks() {
      for (let i = 0; i < 4; i++) yield Buffer.alloc(400, 'y');
    }
    const chunked = await request(`${gw.url()}/echo`, { method: 'POST', body: Readable.from(chunks()) });
    assert.equal(chunked.statusCode, 413);
    assert.equal(((await chunked.body.json()) as any).error.code, 'PCL_ERR_BODY_TOO_LARGE');
    const small = await send(`${gw.url()}/echo`, { method: 'POST', body: 'x'.repeat(1000) });
    assert.equal(small.status, 200);
    assert.equal(small.json().body.length, 1000);
  });
  it('400 with a code for malformed requests, and the gateway keeps serving', async () => {
    const bad = await rawRequest(gw.port(), 'GET /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n');
    assert.match(bad, /^HTTP\/1\.1 400 Bad Request/);
    assert.match(bad, /"code":"PCL_ERR_BAD_REQUEST"/);
    const absolute = await rawRequest(gw.port(), 'GET http://x/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(absolute, /^HTTP\/1\.1 400/);
    assert.match(absolute, /request target must be an absolute path/);
    assert.equal((await send(`${gw.url()}/echo`)).status, 200);
  });
  it('a client that disconnects aborts the upstream call', async () => {
    const controller = new AbortController();
    const pending = request(`${gw.url()}/hang`, { signal: controller.signal }).catch(() => 'aborted');
    const until = Date.now() + 5000;
    while (hang.seen.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    assert.equal(await pending, 'aborted');
    while (aborted === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(aborted, 1);
    const line = await gw.logs.waitFor((l) => l.type === 'access' && l.route === 'hang');
    assert.equal(line.errorCode, 'PCL_ERR_CLIENT_CLOSED');
    // A client going away is expected: no error-level line, no stack trace.
    assert.equal(gw.logs.find((l) => l.level === 'error' && l.route === 'hang'), undefined);
  });
  it('publishes each attempt on portcullis:upstream; retries only body-less idempotent requests, on another backend', async () => {
    const events: UpstreamAttemptEvent[] = [];
    const onStart = (e: unknown) => events.push(e as UpstreamAttemptEvent);
    upstreamChannel.start.subscribe(onStart);
    try {
      const ok = await send(`${gw.url()}/echo`, { headers: { 'x-request-id': 'ignored' } });
      assert.equal(ok.status, 200);
      const echoed = events.filter((e) => e.route === 'echo');
      assert.equal(echoed.length, 1);
      assert.deepEqual({ ...echoed[0], requestId: typeof echoed[0].requestId }, {
        requestId: 'string',
        route: 'echo',
        backend: a.host,
        attempt: 0,
        method: 'GET',
        origin: `http://${a.host}`,
        path: '/echo',
        status: 200,
      });

      // Body-less GET to a dead backend: the first attempt and the default retry (1), both refused.
      assert.equal((await send(`${gw.url()}/traced-dead`)).status, 502);
      const dead = events.filter((e) => e.route === 'traced-dead');
      assert.deepEqual(dead.map((e) => [e.attempt, e.backend, e.errorCode]), [
        [0, '127.0.0.1:1', 'PCL_ERR_BACKEND_UNREACHABLE'],
        [1, '127.0.0.1:1', 'PCL_ERR_BACKEND_UNREACHABLE'],
      ]);
      assert.equal(dead[0].requestId, dead[1].requestId);

      // A POST with a body is never sent twice, whatever failed.
      assert.equal((await send(`${gw.url()}/traced-post`, { method: 'POST', body: 'once' })).status, 502);
      assert.deepEqual(events.filter((e) => e.route === 'traced-post').map((e) => [e.attempt, e.method]), [[0, 'POST']]);
      assert.equal((await send(`${gw.url()}/no-retry`)).status, 502);
      assert.deepEqual(events.filter((e) => e.route === 'no-retry').map((e) => e.attempt), [0], 'retry: { attempts: 0 } makes one attempt');

      // A refused connection is retried on the other backend, which answers.
      const res = await send(`${gw.url()}/traced-failover`);
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-upstream'], 'a');
      const failover = events.filter((e) => e.route === 'traced-failover');
      assert.deepEqual(failover.at(-1)!.backend, a.host);
      assert.equal(failover.at(-1)!.status, 200);
      for (const e of failover.slice(0, -1)) assert.deepEqual([e.backend, e.errorCode], ['127.0.0.1:1', 'PCL_ERR_BACKEND_UNREACHABLE']);
      assert.ok(failover.length <= 2, `the dead backend is tried once, then avoided: ${JSON.stringify(failover)}`);
    } finally {
      upstreamChannel.start.unsubscribe(onStart);
    }
  });
});
