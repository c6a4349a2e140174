import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { send, startUpstream, type Upstream } from '../helpers/gateway.ts';
import { startExample } from '../helpers/examples.ts';

describe('examples/http-routing', () => {
  let up: Upstream;
  let ex: Awaited<ReturnType<typeof startExample>>;
  before(async () => {
    up = await startUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path: req.url, route: req.headers['x-route'] ?? null, debug: req.headers['x-internal-debug'] ?? null }));
    });
    ex = await startExample('http-routing', { upstreamHost: up.host });
  });
  after(async () => {
    await ex.running.close();
    await up.close();
  });

  it('answers health checks itself', async () => {
    const res = await send(`${ex.url()}/healthz`);
    assert.deepEqual([res.status, res.text], [200, 'ok']);
  });
  it('routes /api, with header rewrites both ways', async () => {
    const res = await send(`${ex.url()}/api/users?id=1`, { headers: { 'x-internal-debug': '1' } });
    assert.deepEqual(res.json(), { path: '/api/users?id=1', route: 'api', debug: null });
    assert.equal(res.headers['x-gateway'], 'portcullis');
  });
  it('sends canary requests to the rewritten path', async () => {
    const res = await send(`${ex.url()}/api/users`, { headers: { 'x-canary': 'true' } });
    assert.deepEqual(res.json(), { path: '/canary/users', route: 'canary', debug: null });
  });
  it('redirects the legacy prefix and applies listener CORS', async () => {
    const res = await send(`${ex.url()}/v0/users`, { headers: { host: 'gw.local', origin: 'http://localhost:5173' } });
    assert.equal(res.status, 308);
    assert.equal(res.headers.location, 'http://gw.local/api/users');
    assert.equal(res.headers['access-control-allow-origin'], 'http://localhost:5173');
  });
});
