import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GatewayConfig } from '../../sdk-types/index.ts';
import { echoUpstream, simpleConfig, type Upstream } from '../helpers/gateway.ts';
import { buildTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

/** HTTP policies through `runtime.handle`: Request in, Response out, no gateway socket. */
describe('HTTP policies through runtime.handle', () => {
  let t: TestRuntime;
  let up: Upstream;
  before(async () => {
    up = await echoUpstream();
    const config: GatewayConfig = simpleConfig(
      [
        {
          name: 'cors',
          matches: [{ path: { pathPrefix: '/cors' } }],
          policies: { cors: { allowOrigins: ['https://app.example.com'], allowHeaders: ['content-type'], exposeHeaders: ['Mcp-Session-Id'], maxAge: 600 } },
          backends: [{ host: up.host }],
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
        { name: 'direct', matches: [{ path: { exact: '/direct' } }], policies: { directResponse: { status: 418, body: 'teapot', headers: { 'x-kind': 'direct' } }, responseHeaderModifier: { add: { 'x-also': 'yes' } } } },
        { name: 'empty', matches: [{ path: { exact: '/empty' } }], policies: { directResponse: { status: 204 } } },
        { name: 'redirect', matches: [{ path: { pathPrefix: '/moved' } }], policies: { requestRedirect: { scheme: 'https', authority: 'new.example.com', path: { prefix: '/here' }, status: 301 } } },
        { name: 'echo', matches: [{ path: { pathPrefix: '/echo' } }], backends: [{ host: up.host }] },
      ] as GatewayConfig['binds'][number]['listeners'][number]['routes'],
      { limits: { maxRequestBodyBytes: 1024 } },
    );
    t = await buildTestRuntime(config);
  });
  after(async () => {
    await t.close();
    await up.close();
  });

  it('cors: answers a preflight itself, decorates responses for allowed origins only', async () => {
    const pre = await t.fetch('/cors/x', { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.equal(pre.headers.get('access-control-allow-headers'), 'content-type');
    assert.equal(pre.headers.get('access-control-max-age'), '600');
    assert.equal(up.seen.filter((r) => r.method === 'OPTIONS').length, 0, 'a preflight never reaches the backend');
    const ok = await t.fetch('/cors/y', { headers: { origin: 'https://app.example.com' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.equal(ok.headers.get('access-control-expose-headers'), 'Mcp-Session-Id');
    await ok.arrayBuffer();
    const other = await t.fetch('/cors/y', { headers: { origin: 'https://evil.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    await other.arrayBuffer();
  });

  it('requestHeaderModifier and responseHeaderModifier', async () => {
    const res = await t.fetch('/headers', { headers: { 'x-drop': 'secret', 'x-add': 'one' } });
    const seen = ((await res.json()) as any).headers;
    assert.equal(seen['x-set'], 'one');
    assert.equal(seen['x-add'], 'one, two');
    assert.equal(seen['x-drop'], undefined);
    assert.equal(res.headers.get('x-served-by'), 'portcullis');
    assert.equal(res.headers.get('x-upstream'), null);
  });

  it('directResponse, with response headers modified, and a 204 without a body', async () => {
    const res = await t.fetch('/direct');
    assert.equal(res.status, 418);
    assert.equal(await res.text(), 'teapot');
    assert.equal(res.headers.get('x-kind'), 'direct');
    assert.equal(res.headers.get('x-also'), 'yes');
    assert.equal(res.headers.get('content-length'), '6');
    const empty = await t.fetch('/empty');
    assert.equal(empty.status, 204);
    assert.equal(empty.body, null);
    assert.equal(empty.headers.get('content-length'), null);
  });

  it('requestRedirect builds the location from the request', async () => {
    const res = await t.fetch('/moved/page?x=1');
    assert.equal(res.status, 301);
    assert.equal(res.headers.get('location'), 'https://new.example.com/here/page?x=1');
    assert.equal(up.seen.filter((r) => r.url?.startsWith('/moved')).length, 0);
  });

  it('body size limit: 413 from the content-length, and while streaming a body without one', async () => {
    const declared = await t.fetch('/echo', { method: 'POST', headers: { 'content-length': '2000' }, body: 'x'.repeat(2000) });
    assert.equal(declared.status, 413);
    assert.deepEqual(await declared.json(), { error: { code: 'PCL_ERR_BODY_TOO_LARGE', message: 'request body exceeds limits.maxRequestBodyBytes (1024 bytes)' } });
    let sent = 0;
    const streamed = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 4) return controller.close();
        sent++;
        controller.enqueue(new Uint8Array(400).fill(121));
      },
    });
    const chunked = await t.fetch('/echo', { method: 'POST', body: streamed, duplex: 'half' } as RequestInit);
    assert.equal(chunked.status, 413);
    assert.equal(((await chunked.json()) as any).error.code, 'PCL_ERR_BODY_TOO_LARGE');
    const small = await t.fetch('/echo', { method: 'POST', body: 'x'.repeat(1000) });
    assert.equal(small.status, 200);
    assert.equal(((await small.json()) as any).body.length, 1000);
  });

  it('HEAD through a backend: no body, and the request is released', async () => {
    const res = await t.fetch('/echo/head', { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.body, null);
    assert.equal(t.runtime.inflight, 0);
  });
});
