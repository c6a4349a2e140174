import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GatewayConfig } from '../../sdk-types/index.ts';
import { startTestGateway, simpleConfig, send, eventually, type TestGateway } from '../helpers/gateway.ts';
import { startAgent, type RunningAgent } from '../fixtures/a2a/agent.ts';
import { ADMIN_KEY, READER_KEY, securedPolicies } from './helpers.ts';

describe('A2A cards: extended card, cache TTL and reload', () => {
  let agent: RunningAgent;
  let gw: TestGateway;
  const config = (ttl: number): GatewayConfig =>
    simpleConfig([
      { name: 'cached', matches: [{ path: { pathPrefix: '/cached' } }], policies: securedPolicies(), backends: [{ a2a: { url: agent.url, cardTtlMs: ttl } }] },
      { name: 'fresh', matches: [{ path: { pathPrefix: '/fresh' } }], policies: securedPolicies(), backends: [{ a2a: { url: agent.url, cardTtlMs: 0 } }] },
    ]);
  const skills = async (path: string, key = READER_KEY) =>
    (await send(`${gw.url()}${path}/.well-known/agent-card.json`, { headers: { 'x-api-key': key, 'a2a-version': '1.0' } })).json().skills.map((s: any) => s.id);

  before(async () => {
    agent = await startAgent({ name: 'research', skills: [{ id: 'summarize' }, { id: 'delete' }], extendedSkills: ['audit', 'deploy'] });
    gw = await startTestGateway(config(60_000), { watch: true });
  });
  after(async () => {
    await gw?.close();
    await agent?.close();
  });

  it('rewrites the authenticated extended card under the same rules (JSON-RPC v1.0, v0.3 and REST)', async () => {
    const post = (method: string, version: string, key: string) =>
      send(`${gw.url()}/cached/a2a/jsonrpc`, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: {} }), headers: { 'content-type': 'application/json', 'x-api-key': key, 'a2a-version': version } });
    const v1 = (await post('GetExtendedAgentCard', '1.0', READER_KEY)).json().result;
    assert.deepEqual(v1.skills.map((s: any) => s.id), ['summarize', 'audit']);
    assert.equal(v1.supportedInterfaces[0].url, `${gw.url()}/cached/a2a/jsonrpc`);
    assert.deepEqual(Object.keys(v1.securitySchemes), ['gatewayApiKey']);
    const admin = (await post('GetExtendedAgentCard', '1.0', ADMIN_KEY)).json().result;
    assert.deepEqual(admin.skills.map((s: any) => s.id), ['summarize', 'delete', 'audit', 'deploy']);
    const legacy = (await post('agent/getAuthenticatedExtendedCard', '0.3', READER_KEY)).json();
    assert.equal(legacy.result.url, `${gw.url()}/cached/a2a/jsonrpc`, JSON.stringify(legacy));
    assert.deepEqual(legacy.result.skills.map((s: any) => s.id), ['summarize', 'audit']);
    const rest = await send(`${gw.url()}/cached/a2a/rest/extendedAgentCard`, { headers: { 'x-api-key': READER_KEY, 'a2a-version': '1.0' } });
    assert.equal(rest.status, 200, rest.text);
    assert.deepEqual(rest.json().skills.map((s: any) => s.id), ['summarize', 'audit']);
    assert.equal(rest.json().supportedInterfaces[1].url, `${gw.url()}/cached/a2a/rest`);
  });

  it('reuses a card for its TTL, and fetches it anew on reload', async () => {
    assert.deepEqual(await skills('/cached'), ['summarize']);
    const before = agent.hits.filter((h) => h.includes('agent-card')).length;
    assert.deepEqual(await skills('/cached'), ['summarize']);
    assert.equal(agent.hits.filter((h) => h.includes('agent-card')).length, before, 'served from the cache');
    agent.card.skills.push({ ...agent.card.skills[0], id: 'translate', name: 'translate' });
    assert.deepEqual(await skills('/cached'), ['summarize']);
    assert.deepEqual(await skills('/fresh'), ['summarize', 'translate']);
    await gw.write(config(59_000));
    await eventually(async () => (await skills('/cached')).includes('translate'));
  });
});

describe('A2A cards: the security schemes shown are those the gateway enforces', () => {
  it('maps jwtAuth and apiKey, in both card spellings, optional modes included', async () => {
    const { routeSecurity } = await import('../../core/backends/a2a/card.ts');
    const route = (policies: object) => ({ policies }) as never;
    const none = { policies: {} } as never;
    assert.deepEqual(routeSecurity(route({}), none), { v03: { schemes: {}, security: [] }, v10: { schemes: {}, requirements: [] } });
    const jwt = routeSecurity(route({ jwtAuth: { issuer: 'x' } }), none);
    assert.deepEqual(jwt.v03.schemes, { gatewayJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'a JWT the gateway validates' } });
    assert.deepEqual(jwt.v10.schemes, { gatewayJwt: { httpAuthSecurityScheme: { scheme: 'Bearer', bearerFormat: 'JWT', description: 'a JWT the gateway validates' } } });
    assert.deepEqual(jwt.v03.security, [{ gatewayJwt: [] }]);
    const cookie = routeSecurity(route({ jwtAuth: { issuer: 'x', token: { cookie: 'session' }, mode: 'optional' } }), none);
    assert.deepEqual(cookie.v03.schemes.gatewayJwt, { type: 'apiKey', in: 'cookie', name: 'session', description: 'a JWT the gateway validates' });
    assert.deepEqual(cookie.v03.security, [{ gatewayJwt: [] }, {}]);
    assert.deepEqual(cookie.v10.requirements, [{ schemes: { gatewayJwt: { list: [] } } }, { schemes: {} }]);
    // A listener's policy counts when the route sets none of its own.
    const inherited = routeSecurity(route({}), { policies: { apiKey: { keys: [] } } } as never);
    assert.deepEqual(inherited.v03.schemes, { gatewayApiKey: { type: 'http', scheme: 'bearer', description: 'an API key the gateway validates' } });
  });
});
