import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { echoUpstream, simpleConfig, startUpstream, type Upstream } from '../helpers/gateway.ts';
import { buildTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

describe('route policies', () => {
  let gw: TestRuntime;
  let up: Upstream;
  let slow: Upstream;
  before(async () => {
    up = await echoUpstream();
    slow = await startUpstream((req, res) => {
      const delay = Number(new URL(req.url!, 'http://x').searchParams.get('delay') ?? 0);
      setTimeout(() => res.end('slow done'), delay).unref();
    });
    gw = await buildTestRuntime(
      simpleConfig([
        {
          name: 'cors',
          matches: [{ path: { pathPrefix: '/cors' } }],
          policies: {
            cors: { allowOrigins: ['https://app.example.com', 'https://*.tools.dev'], allowHeaders: ['content-type', 'mcp-session-id'], exposeHeaders: ['Mcp-Session-Id'], maxAge: 600 },
          },
          backends: [{ host: up.host }],
        },
        {
          name: 'cors-dead',
          matches: [{ path: { pathPrefix: '/cors-dead' } }],
          policies: { cors: { allowOrigins: ['*'] } },
          backends: [{ host: '127.0.0.1:1' }],
        },
        {
          name: 'headers',
          matches: [{ path: { pathPrefix: '/headers' } }],
          policies: {
            requestHeaderModifier: { set: { 'x-set': 'one' }, add: [{ name: 'x-add', value: 'two' }], remove: ['x-drop'] },
            responseHeaderModifier: { set: { 'x-served-by': 'portcullis' }, remove: ['x-upstream'] },
          },
          backends: [{ host: up.host }],
        },
        { name: 'rewrite-prefix', matches: [{ path: { pathPrefix: '/old' } }], policies: { urlRewrite: { path: { prefix: '/new' }, authority: { full: 'internal.svc' } } }, backends: [{ host: up.host }] },
        { name: 'rewrite-full', matches: [{ path: { exact: '/exact-old' } }], policies: { urlRewrite: { path: { full: '/replaced' } } }, backends: [{ host: up.host }] },
        { name: 'redirect', matches: [{ path: { pathPrefix: '/moved' } }], policies: { requestRedirect: { scheme: 'https', authority: 'new.example.com', path: { prefix: '/here' }, status: 301 } } },
        { name: 'direct', matches: [{ path: { exact: '/direct' } }], policies: { directResponse: { status: 418, body: 'teapot', headers: { 'x-kind': 'direct' } }, responseHeaderModifier: { add: { 'x-also': 'yes' } } } },
        { name: 'timeout', matches: [{ path: { pathPrefix: '/slow' } }], policies: { timeout: { requestTimeoutMs: 300 } }, backends: [{ host: slow.host }] },
        {
          name: 'attempt-timeout',
          matches: [{ path: { pathPrefix: '/attempt' } }],
          policies: { timeout: { backendRequestTimeoutMs: 300 }, retry: { attempts: 2, backoffMs: 0 } },
          backends: [{ host: slow.host }],
        },
      ]),
    );
  });
  after(async () => {
    await gw.close();
    await up.close();
    await slow.close();
  });

  it('cors: answers a preflight itself with the configured headers', async () => {
    const res = await gw.send(`/cors/x`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(res.headers['access-control-allow-headers'], 'content-type, mcp-session-id');
    assert.equal(res.headers['access-control-max-age'], '600');
    assert.equal(res.headers.vary, 'Origin');
    assert.equal(up.seen.filter((r) => r.method === 'OPTIONS').length, 0);
  });
  it('cors: decorates actual responses, matches wildcard origins, ignores others', async () => {
    const ok = await gw.send(`/cors/y`, { headers: { origin: 'https://a.tools.dev' } });
    assert.equal(ok.headers['access-control-allow-origin'], 'https://a.tools.dev');
    assert.equal(ok.headers['access-control-expose-headers'], 'Mcp-Session-Id');
    const no = await gw.send(`/cors/y`, { headers: { origin: 'https://evil.example' } });
    assert.equal(no.status, 200);
    assert.equal(no.headers['access-control-allow-origin'], undefined);
    const pre = await gw.send(`/cors/y`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], undefined);
  });
  it('cors: error responses carry CORS headers too, so a browser can read them', async () => {
    const res = await gw.send(`/cors-dead`, { headers: { origin: 'https://x.test' } });
    assert.equal(res.status, 502);
    assert.equal(res.json().error.code, 'PCL_ERR_BACKEND_UNREACHABLE');
    assert.equal(res.headers['access-control-allow-origin'], '*');
  });
  it('requestHeaderModifier and responseHeaderModifier', async () => {
    const res = await gw.send(`/headers`, { headers: { 'x-drop': 'secret', 'x-add': 'one' } });
    const seen = res.json().headers;
    assert.equal(seen['x-set'], 'one');
    assert.equal(seen['x-add'], 'one, two');
    assert.equal(seen['x-drop'], undefined);
    assert.equal(res.headers['x-served-by'], 'portcullis');
    assert.equal(res.headers['x-upstream'], undefined);
  });
  it('urlRewrite: prefix and authority, and full path', async () => {
    const a = (await gw.send(`/old/a/b?q=1`)).json();
    assert.equal(a.url, '/new/a/b?q=1');
    assert.equal(a.headers.host, 'internal.svc');
    assert.equal((await gw.send(`/old`)).json().url, '/new');
    assert.equal((await gw.send(`/exact-old?z=2`)).json().url, '/replaced?z=2');
  });
  it('requestRedirect and directResponse answer without a backend', async () => {
    const r = await gw.send(`/moved/page?x=1`);
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, 'https://new.example.com/here/page?x=1');
    const d = await gw.send(`/direct`);
    assert.equal(d.status, 418);
    assert.equal(d.text, 'teapot');
    assert.equal(d.headers['x-kind'], 'direct');
    assert.equal(d.headers['x-also'], 'yes');
  });
  it('timeout: 504 with a code when the backend is slower than requestTimeoutMs, fine when faster', async () => {
    const started = Date.now();
    const late = await gw.send(`/slow?delay=3000`);
    assert.equal(late.status, 504);
    assert.deepEqual(late.json(), { error: { code: 'PCL_ERR_UPSTREAM_TIMEOUT', message: 'route "timeout" timed out after 300 ms' } });
    assert.ok(Date.now() - started < 2500);
    const fast = await gw.send(`/slow?delay=10`);
    assert.equal(fast.status, 200);
    assert.equal(fast.text, 'slow done');
  });
  it('timeout: backendRequestTimeoutMs bounds one attempt, named with its backend; a timeout is not retried', async () => {
    const seen = slow.seen.length;
    const started = Date.now();
    const late = await gw.send(`/attempt?delay=3000`);
    assert.equal(late.status, 504);
    assert.deepEqual(late.json(), { error: { code: 'PCL_ERR_UPSTREAM_TIMEOUT', message: `backend ${slow.host} did not answer within 300 ms` } });
    assert.ok(Date.now() - started < 2500, `answered after ${Date.now() - started} ms`);
    assert.equal(slow.seen.length, seen + 1, 'the request reached the backend once: it may have acted on it');
    assert.equal((await gw.send(`/attempt?delay=10`)).text, 'slow done');
  });
});
