import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GatewayConfig } from '../../sdk-types/index.ts';
import { echoUpstream, type Upstream } from '../helpers/gateway.ts';
import { buildTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

/** A route that answers with its own name, so a test sees which one matched. */
const named = (name: string, matches: unknown[], hostnames?: string[]) => ({
  name,
  ...(hostnames ? { hostnames } : {}),
  matches,
  policies: { directResponse: { status: 200, body: name } },
});

/** Routing through `runtime.handle`: the runtime the gateway builds, served in process, no gateway socket. */
describe('routing through runtime.handle', () => {
  let t: TestRuntime;
  let up: Upstream;
  before(async () => {
    up = await echoUpstream();
    const config = {
      binds: [
        {
          port: 8080,
          address: '127.0.0.1',
          listeners: [
            {
              name: 'api-host',
              hostname: 'api.example.com',
              routes: [named('api-host-all', [{ path: { pathPrefix: '/' } }])],
            },
            {
              name: 'main',
              routes: [
                named('catch-all', [{ path: { pathPrefix: '/' } }]),
                named('api', [{ path: { pathPrefix: '/api' } }]),
                named('api-v1', [{ path: { pathPrefix: '/api/v1/' } }]),
                named('api-exact', [{ path: { exact: '/api/v1/users' } }]),
                named('regex', [{ path: { regex: '/api/v[0-9]+/items/[0-9]+' } }]),
                named('get-only', [{ path: { pathPrefix: '/m' }, method: 'GET' }]),
                named('any-method', [{ path: { pathPrefix: '/m' } }]),
                named('one-header', [{ path: { pathPrefix: '/h' }, headers: [{ name: 'x-a', value: { exact: '1' } }] }]),
                named('two-headers', [{ path: { pathPrefix: '/h' }, headers: [{ name: 'X-A', value: { exact: '1' } }, { name: 'x-b', value: { regex: 'b+' } }] }]),
                named('query', [{ path: { pathPrefix: '/q' }, query: [{ name: 'v', value: { exact: '2' } }] }]),
                named('host-wild', [{ path: { pathPrefix: '/w' } }], ['*.tools.dev']),
                named('admin', [{ path: { exact: '/admin' } }]),
                { name: 'proxied', matches: [{ path: { pathPrefix: '/echo' } }], backends: [{ host: up.host }] },
              ],
            },
          ],
        },
        { port: 9090, address: '127.0.0.1', listeners: [{ routes: [{ name: 'only', matches: [{ path: { exact: '/only' } }], policies: { directResponse: { status: 200, body: 'second bind' } } }] }] },
      ],
    } as unknown as GatewayConfig;
    t = await buildTestRuntime(config);
  });
  after(async () => {
    await t.close();
    await up.close();
  });

  const route = async (path: string, init?: RequestInit) => {
    const res = await t.fetch(path, init);
    return res.status === 200 ? res.text() : `${res.status}`;
  };

  it('exact beats regex beats the longest prefix', async () => {
    assert.equal(await route('/api/v1/users'), 'api-exact');
    assert.equal(await route('/api/v2/items/7'), 'regex');
    assert.equal(await route('/api/v1/other'), 'api-v1');
    assert.equal(await route('/api/v1'), 'api-v1');
    assert.equal(await route('/api'), 'api');
    assert.equal(await route('/apix'), 'catch-all');
  });

  it('then a method condition, then most headers, then most query conditions', async () => {
    assert.equal(await route('/m'), 'get-only');
    assert.equal(await route('/m', { method: 'POST' }), 'any-method');
    assert.equal(await route('/h', { headers: { 'x-a': '1', 'x-b': 'bbb' } }), 'two-headers');
    assert.equal(await route('/h', { headers: { 'x-a': '1', 'x-b': 'c' } }), 'one-header');
    assert.equal(await route('/h', { headers: { 'x-a': '2' } }), 'catch-all');
    assert.equal(await route('/q?v=2'), 'query');
    assert.equal(await route('/q?v=3'), 'catch-all');
  });

  it('host names: the listener for the host, then route hostnames (wildcards), then the rest', async () => {
    assert.equal(await route('http://api.example.com/anything'), 'api-host-all');
    assert.equal(await route('http://API.example.com:8080/x'), 'api-host-all');
    assert.equal(await route('http://a.tools.dev/w'), 'host-wild');
    assert.equal(await route('http://tools.dev/w'), 'catch-all');
    assert.equal(await route('/w', { headers: { host: 'b.tools.dev' } }), 'host-wild');
  });

  it('normalizes the path before matching: encoded dot segments and duplicate slashes', async () => {
    assert.equal(await route('/public/%2e%2E/admin'), 'admin');
    assert.equal(await route('/public/%2E%2e/%2e/admin'), 'admin');
    assert.equal(await route('http://localhost//admin'), 'admin');
    assert.equal(await route('http://localhost/a/..//admin/'), 'catch-all');
    assert.equal(await route('/api//v1///users'), 'api-exact');
  });

  it('404 PCL_ERR_NO_ROUTE with the request named, when nothing matches', async () => {
    const res = await t.fetch('/nothing?x=1', { method: 'DELETE' }, { bind: '127.0.0.1:9090' });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.deepEqual(await res.json(), { error: { code: 'PCL_ERR_NO_ROUTE', message: 'no route for DELETE /nothing on host "localhost"' } });
    // The first bind is the default; another is named by its key.
    assert.equal(await route('/only'), 'catch-all');
    assert.equal(await (await t.fetch('/only', undefined, { bind: '127.0.0.1:9090' })).text(), 'second bind');
    await assert.rejects(t.fetch('/only', undefined, { bind: '127.0.0.1:1' }), {
      name: 'TypeError',
      message: 'runtime.handle: no bind "127.0.0.1:1"; this runtime has "127.0.0.1:8080", "127.0.0.1:9090"',
    });
  });

  it('proxies with bodies streaming both ways, the client address from the options', async () => {
    const chunks = ['part one, ', 'part two'];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const res = await t.fetch('/echo/a?b=1', { method: 'POST', body, duplex: 'half', headers: { 'x-custom': 'v' } } as RequestInit, { clientAddress: '10.1.2.3' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-upstream'), 'echo');
    const seen = (await res.json()) as any;
    assert.equal(seen.url, '/echo/a?b=1');
    assert.equal(seen.body, 'part one, part two');
    assert.equal(seen.headers['x-custom'], 'v');
    assert.equal(seen.headers['x-forwarded-for'], '10.1.2.3');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers.host, 'localhost');
    assert.equal(t.runtime.inflight, 0, 'the request is done once its body was read');
  });

  it('a response body the caller cancels releases the request', async () => {
    const res = await t.fetch('/echo/cancel');
    await res.body!.cancel();
    const until = Date.now() + 5000;
    while (t.runtime.inflight !== 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.equal(t.runtime.inflight, 0);
  });
});
