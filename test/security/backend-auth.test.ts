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
        {
          name: 'passthrough',
          matches: [{ path: { pathPrefix: '/passthrough' } }],
          policies: { apiKey: { keys: [{ name: 'agent', sha256: sha256Hex('client-key') }] }, backendAuth: { passthrough: true } },
          backends: [{ host: up.host }],
        },
        {
          name: 'passthrough-named',
          matches: [{ path: { pathPrefix: '/named' } }],
          policies: { apiKey: { header: 'x-api-key', keys: [{ name: 'agent', sha256: sha256Hex('client-key') }] }, backendAuth: { passthrough: true, header: 'x-api-key' } },
          backends: [{ host: up.host }],
        },
        { name: 'leak-a', matches: [{ path: { pathPrefix: '/leak-a' } }], policies: { backendAuth: { header: 'x-upstream-key', credential: { secret: 'token-a' } } }, backends: [{ host: up.host }] },
        { name: 'leak-b', matches: [{ path: { pathPrefix: '/leak-b' } }], policies: { backendAuth: { header: 'x-upstream-key', credential: { secret: 'token-b' } } }, backends: [{ host: up.host }] },
        { name: 'leak-none', matches: [{ path: { pathPrefix: '/leak-none' } }], backends: [{ host: up.host }] },
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

  it('passthrough sends the client its own credential back to the backend, after authentication removed it', async () => {
    const r = await fetch(`${gw.url()}/passthrough`, { headers: { authorization: 'Bearer client-key' } });
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as any).headers.authorization, 'Bearer client-key');
    const named = await fetch(`${gw.url()}/named`, { headers: { 'x-api-key': 'client-key' } });
    assert.equal(((await named.json()) as any).headers['x-api-key'], 'client-key');
  });

  it('two routes to one backend each send their own credential, even interleaved; a route without backendAuth sends none', async () => {
    const calls: Array<Promise<[string, string | undefined]>> = [];
    for (let i = 0; i < 30; i++) {
      for (const route of ['leak-a', 'leak-b', 'leak-none']) {
        calls.push(
          fetch(`${gw.url()}/${route}`, { headers: { 'x-upstream-key': 'from-the-client' } })
            .then((r) => r.json())
            .then((b: any) => [route, b.headers['x-upstream-key']]),
        );
      }
    }
    const expected: Record<string, string> = { 'leak-a': 'token-a', 'leak-b': 'token-b', 'leak-none': 'from-the-client' };
    for (const [route, seen] of await Promise.all(calls)) assert.equal(seen, expected[route], route);
  });

  it('refuses settings that say two things, with their path, and the gateway keeps serving', async () => {
    const cases: Array<[unknown, string]> = [
      [{ passthrough: true, credential: { secret: 'x' } }, 'expected exactly one of credential, passthrough, jwtSign, identityMap, tokenExchange, oauth, got credential, passthrough'],
      [{}, 'expected exactly one of credential, passthrough, jwtSign, identityMap, tokenExchange, oauth, got none'],
      [{ passthrough: false }, "passthrough: must be true when set (give a credential instead to send the gateway's own)"],
      [{ passthrough: true, prefix: 'Bearer ' }, "prefix: applies to a credential, not to passthrough (the client's value is sent as it came)"],
    ];
    for (const [backendAuth, message] of cases) {
      await assert.rejects(startTestGateway(simpleConfig([{ name: 'r', policies: { backendAuth } as any, backends: [{ host: up.host }] }])), (err: any) => {
        assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
        assert.match(err.message, /^invalid configuration in .*gateway\.config\.ts:\n/);
        assert.deepEqual(err.message.split('\n').slice(1), [`binds[0].listeners[0].routes[0].policies.backendAuth${message.startsWith('expected') ? ': ' : '.'}${message}`]);
        return true;
      });
    }
    const r = await fetch(`${gw.url()}/env`, { headers: { authorization: 'Bearer client-key' } });
    assert.equal(r.status, 200);
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
