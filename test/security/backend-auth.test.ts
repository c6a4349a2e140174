import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { echoUpstream, simpleConfig, startTestGateway, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { sha256Hex } from '../../policies/api-key/index.ts';

describe('backendAuth: the gateway credential replaces the client one', () => {
  let up: Upstream;
  let gw: TestGateway;
  before(async () => {
    process.env.PCL_TEST_UPSTREAM_TOKEN = 'upstream-secret-token';
    up = await echoUpstream();
    gw = await startTestGateway(
      simpleConfig([
        {
          name: 'env',
          matches: [{ path: { pathPrefix: '/env' } }],
          policies: {
            apiKey: { keys: [{ name: 'agent', sha256: sha256Hex('client-key') }] },
            backendAuth: { credential: { env: 'PCL_TEST_UPSTREAM_TOKEN' }, prefix: 'Bearer ' },
          },
          backends: [{ host: up.host }],
        },
        {
          name: 'static',
          matches: [{ path: { pathPrefix: '/static' } }],
          policies: {
            apiKey: { header: 'x-api-key', keys: [{ name: 'agent', sha256: sha256Hex('client-key') }] },
            backendAuth: { header: 'x-upstream-key', credential: { secret: 'static-value' } },
          },
          backends: [{ host: up.host }],
        },
      ]),
    );
  });
  after(async () => {
    await gw?.close();
    await up?.close();
  });

  it('sends the credential from the environment, never the client key', async () => {
    const r = await fetch(`${gw.url()}/env`, { headers: { authorization: 'Bearer client-key' } });
    assert.equal(r.status, 200);
    const body = (await r.json()) as any;
    assert.equal(body.headers.authorization, 'Bearer upstream-secret-token');
  });

  it('sends a static credential in a named header and drops the client key header', async () => {
    const r = await fetch(`${gw.url()}/static`, { headers: { 'x-api-key': 'client-key' } });
    const body = (await r.json()) as any;
    assert.equal(body.headers['x-upstream-key'], 'static-value');
    assert.equal(body.headers['x-api-key'], undefined);
  });

  it('refuses to start when the environment variable is not set', async () => {
    await assert.rejects(
      startTestGateway(simpleConfig([{ name: 'r', policies: { backendAuth: { credential: { env: 'PCL_TEST_NOT_SET_ANYWHERE' } } }, backends: [{ host: up.host }] }])),
      (err: any) => {
        assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
        assert.equal(err.message, 'binds[0].listeners[0].routes[0].policies.backendAuth.credential.env: environment variable PCL_TEST_NOT_SET_ANYWHERE is not set');
        return true;
      },
    );
  });
});

describe('secrets in the admin config dump', () => {
  it('redacts inline secrets of jwtAuth and backendAuth', async () => {
    const { redactSecrets } = await import('../../core/admin/redact.ts');
    const dumped = JSON.stringify(
      redactSecrets({ policies: { jwtAuth: { issuer: 'x', secret: { secret: 'hmac-inline-1' } }, backendAuth: { credential: { secret: 'upstream-inline-2' } } } }),
    );
    assert.ok(!dumped.includes('hmac-inline-1'), dumped);
    assert.ok(!dumped.includes('upstream-inline-2'), dumped);
  });
});
