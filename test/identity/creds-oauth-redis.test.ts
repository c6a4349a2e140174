import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startTestGateway, simpleConfig, type TestGateway } from '../helpers/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { sha256Hex } from '../../policies/api-key/index.ts';
import { browserLogin, startCredsUpstream, startUpstreamAs, type CredsUpstream, type Proc } from './creds-helpers.ts';

describe('backendAuth.oauth with a Redis store: two replicas share the links, sealed', () => {
  let redis: TestRedis;
  let authServer: Proc;
  let up: CredsUpstream;
  let a: TestGateway;
  let b: TestGateway;
  const config = () =>
    simpleConfig(
      [
        { name: 'oauth-callback', matches: [{ path: { exact: '/oauth/callback' } }], policies: { upstreamOAuthCallback: {} } },
        {
          name: 'rest',
          matches: [{ path: { pathPrefix: '/api' } }],
          policies: {
            apiKey: { header: 'x-api-key', keys: [{ name: 'alice', sha256: sha256Hex('alice-redis-key') }] },
            backendAuth: {
              oauth: {
                name: 'tools',
                authorizationEndpoint: `${authServer.url}/auth`,
                tokenEndpoint: `${authServer.url}/token`,
                clientId: 'gateway-oauth-client',
                clientSecret: { secret: 'gateway-oauth-secret' },
                scopes: ['openid', 'offline_access', 'tools'],
                redirectUri: '/oauth/callback',
                encryptionKey: { secret: Buffer.alloc(32, 9).toString('base64') },
                store: { redis: { url: redis.url, prefix: 'pcl-test:links:' } },
              },
            },
          },
          backends: [{ host: `127.0.0.1:${up.port}` }],
        },
      ] as any,
      { admin: { address: '127.0.0.1:0' } } as any,
    );
  before(async () => {
    redis = await startRedis();
    authServer = await startUpstreamAs(600);
    up = await startCredsUpstream({ jwks: `${authServer.url}/jwks`, audience: 'urn:upstream:oauth' });
    a = await startTestGateway(config());
    b = await startTestGateway(config());
    await fetch(`${authServer.url}/configure`, { method: 'POST', body: JSON.stringify({ redirectUri: `${a.url()}/oauth/callback` }) });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await up?.close();
    await authServer?.close();
    await redis?.stop();
  });

  const whoami = (gw: TestGateway) => fetch(`${gw.url()}/api/whoami`, { headers: { 'x-api-key': 'alice-redis-key' } });

  it('alice links through replica A; replica B serves her with the same link; Redis holds no token in clear', async () => {
    const first = (await (await whoami(a)).json()) as any;
    assert.equal(first.error.code, 'PCL_ERR_UPSTREAM_LINK_REQUIRED');
    assert.equal(((await (await whoami(b)).json()) as any).error.code, 'PCL_ERR_UPSTREAM_LINK_REQUIRED');
    assert.equal((await fetch(await browserLogin(first.error.loginUrl, 'alice'))).status, 200);
    assert.deepEqual(await (await whoami(b)).json(), { user: 'alice' });
    assert.deepEqual(await (await whoami(a)).json(), { user: 'alice' });
    const client = new Redis(redis.url);
    try {
      const keys = await client.keys('pcl-test:links:*');
      assert.ok(keys.includes('pcl-test:links:link:tools:alice'), keys.join(', '));
      for (const k of keys) assert.ok(!/eyJ/.test((await client.get(k)) ?? ''), `${k} holds a token in clear`);
    } finally {
      client.disconnect();
    }
  });

  it("B's admin lists the link and revokes it for both replicas", async () => {
    const admin = `http://127.0.0.1:${b.running.admin!.port}`;
    const links = ((await (await fetch(`${admin}/api/credential-links`)).json()) as any).links;
    assert.deepEqual(links.map((l: any) => [l.link, l.subject]), [['tools', 'alice']]);
    const csrf = ((await (await fetch(`${admin}/api/session`)).json()) as any).csrf;
    const r = await fetch(`${admin}/api/credential-links/revoke`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-portcullis-csrf': csrf }, body: JSON.stringify({ link: 'tools', subject: 'alice' }) });
    assert.equal(r.status, 200);
    assert.equal(((await (await whoami(a)).json()) as any).error.code, 'PCL_ERR_UPSTREAM_LINK_REQUIRED');
  });

  it('Redis down: the call fails closed with a stable code, nothing sent upstream', async () => {
    await redis.stop();
    try {
      const before = await up.stats();
      const r = await whoami(a);
      assert.equal(r.status, 503);
      const body = (await r.json()) as any;
      assert.equal(body.error.code, 'PCL_ERR_UPSTREAM_CREDENTIAL_MISSING');
      assert.match(body.error.message, /^backendAuth\.oauth: the "tools" link store could not be reached \(.+\); nothing was sent upstream$/);
      const after = await up.stats();
      assert.equal(after.accepted + after.refused, before.accepted + before.refused);
    } finally {
      await redis.start();
    }
  });
});

describe('backendAuth.oauth: bad settings are refused with their path', () => {
  const base = { authorizationEndpoint: 'http://as/auth', tokenEndpoint: 'http://as/token', clientId: 'c', redirectUri: '/cb' };
  it('a Redis store needs an encryptionKey; the key must be 32 bytes; the store URL must be redis://', async () => {
    const cases: Array<[unknown, string]> = [
      [{ ...base, store: { redis: { url: 'redis://127.0.0.1:1' } } }, '.oauth.encryptionKey: is required with a Redis store (every replica must open the tokens the others sealed)'],
      [{ ...base, encryptionKey: { secret: Buffer.alloc(16).toString('base64') } }, '.oauth.encryptionKey: expected base64 of 32 bytes (openssl rand -base64 32), got 16 bytes'],
      [{ ...base, store: { redis: { url: 'http://x' } }, encryptionKey: { secret: 'x' } }, '.oauth.store.redis.url: expected a redis:// or rediss:// URL, got "http://x"'],
    ];
    for (const [oauth, message] of cases) {
      await assert.rejects(startTestGateway(simpleConfig([{ name: 'r', policies: { backendAuth: { oauth } } as any, backends: [{ host: '127.0.0.1:9' }] }])), (err: any) => {
        assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
        const lines = err.message.split('\n');
        assert.equal(lines.at(-1).replace(/^.*?policies\.backendAuth/, ''), message);
        return true;
      });
    }
  });
});
