import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { echoUpstream, type Upstream } from '../helpers/gateway.ts';
import { buildTestRuntime, type TestRuntime } from '../helpers/runtime.ts';
import { filterFixture } from '../helpers/filters.ts';

const fixture = filterFixture;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('filter placement: listeners, routes and phases', () => {
  let gw: TestRuntime;
  let up: Upstream;
  before(async () => {
    up = await echoUpstream();
    gw = await buildTestRuntime({
      binds: [
        {
          port: 0,
          address: '127.0.0.1',
          listeners: [
            {
              policies: { filters: [{ file: fixture('order-a.ts') }] },
              routes: [
                { name: 'inherits', matches: [{ path: { pathPrefix: '/inherits' } }], backends: [{ host: up.host }] },
                { name: 'own', matches: [{ path: { pathPrefix: '/own' } }], policies: { filters: [{ file: fixture('order-b.ts') }] }, backends: [{ host: up.host }] },
                {
                  name: 'authn',
                  matches: [{ path: { pathPrefix: '/authn' } }],
                  policies: {
                    apiKey: { header: 'x-api-key', keys: [{ name: 'agent-9', sha256: sha256('k9'), roles: ['r'] }] },
                    filters: [{ file: fixture('lab.ts'), config: { tag: 'A' } }],
                  },
                  backends: [{ host: up.host }],
                },
              ],
            },
          ],
        },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await up.close();
  });

  it('a listener filter runs on every route without its own list', async () => {
    const res = await gw.send(`/inherits`);
    assert.equal(res.json().headers['x-order'], 'a');
    assert.equal(res.headers['x-back'], 'a');
  });

  it("a route's own filters replace the listener's", async () => {
    const res = await gw.send(`/own`);
    assert.equal(res.json().headers['x-order'], 'b');
    assert.equal(res.headers['x-back'], 'b');
  });

  it('request filters run after authentication: unauthenticated requests never reach them, and they see the identity', async () => {
    const denied = await gw.send(`/authn`, { headers: { 'x-mode': 'deny' } });
    assert.equal(denied.status, 401);
    assert.equal(denied.json().error.code, 'PCL_ERR_UNAUTHENTICATED');
    const res = await gw.send(`/authn`, { headers: { 'x-mode': 'echo', 'x-api-key': 'k9' } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json().identity, { kind: 'apiKey', subject: 'agent-9', roles: ['r'], claims: {} });
    const filtered = await gw.send(`/authn`, { headers: { 'x-mode': 'deny', 'x-api-key': 'k9' } });
    assert.equal(filtered.status, 403);
    assert.deepEqual(filtered.json(), { denied: true, by: 'A' });
  });
});
