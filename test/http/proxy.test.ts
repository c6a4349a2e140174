import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { echoUpstream, simpleConfig, startTestGateway, startUpstream, type TestGateway, type Upstream } from '../helpers/gateway.ts';

describe('HTTP proxying', () => {
  let gw: TestGateway;
  let up: Upstream;
  before(async () => {
    up = await echoUpstream();
    gw = await startTestGateway(simpleConfig([{ name: 'all', backends: [{ host: up.host }] }]));
  });
  after(async () => {
    await gw.close();
    await up.close();
  });

  it('forwards method, path, query, headers and body, and adds X-Forwarded-*', async () => {
    const res = await fetch(`${gw.url()}/a/b?x=1`, { method: 'POST', body: 'hello', headers: { 'x-custom': 'v', host: 'example.test' } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as any;
    assert.equal(body.method, 'POST');
    assert.equal(body.url, '/a/b?x=1');
    assert.equal(body.body, 'hello');
    assert.equal(body.headers['x-custom'], 'v');
    assert.equal(body.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(body.headers['x-forwarded-proto'], 'http');
    assert.ok(body.headers['x-request-id']);
    assert.equal(res.headers.get('x-upstream'), 'echo');
  });

  it('writes one access-log line per request without credentials', async () => {
    await fetch(`${gw.url()}/logged`, { headers: { authorization: 'Bearer s3cret-token', cookie: 'sid=abc' } }).then((r) => r.arrayBuffer());
    const line = await gw.logs.waitFor((l) => l.type === 'access' && l.path === '/logged');
    assert.equal(line.status, 200);
    assert.equal(line.route, 'all');
    assert.equal(line.backend, up.host);
    assert.equal(line.method, 'GET');
    assert.ok(line.durationMs >= 0);
    assert.ok(!gw.logs.raw().includes('s3cret-token'));
    assert.ok(!gw.logs.raw().includes('sid=abc'));
  });
});
