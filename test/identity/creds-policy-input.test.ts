import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startTestGateway, simpleConfig, type TestGateway } from '../helpers/gateway.ts';
import { sha256Hex } from '../../policies/api-key/index.ts';
import { startCredsUpstream, type CredsUpstream } from './creds-helpers.ts';

const REGO = fileURLToPath(new URL('../fixtures/identity/creds/linked.rego', import.meta.url));
const KEYS = { alice: 'alice-key-policy', mallory: 'mallory-key-policy' };

describe('authorization sees whether the caller has an upstream credential (input.upstreamCredentials)', () => {
  let up: CredsUpstream;
  let gw: TestGateway;
  before(async () => {
    process.env.PCL_TEST_POLICY_ALICE = 'alice-upstream-policy-token';
    up = await startCredsUpstream({ tokens: { 'alice-upstream-policy-token': 'alice' } });
    const apiKey = { header: 'x-api-key', keys: Object.entries(KEYS).map(([name, key]) => ({ name, sha256: sha256Hex(key) })) };
    const backendAuth = { prefix: 'Bearer ', identityMap: { credentials: { alice: 'env://PCL_TEST_POLICY_ALICE' }, fallback: 'none' } };
    gw = await startTestGateway(
      simpleConfig([
        { name: 'rego', matches: [{ path: { pathPrefix: '/rego' } }], policies: { apiKey, backendAuth, authorization: { rego: REGO }, urlRewrite: { path: { prefix: '/api' } } }, backends: [{ host: `127.0.0.1:${up.port}` }] },
        { name: 'cel', matches: [{ path: { pathPrefix: '/cel' } }], policies: { apiKey, backendAuth, authorization: { rules: ['upstreamCredentials.identityMap == true'] }, urlRewrite: { path: { prefix: '/api' } } }, backends: [{ host: `127.0.0.1:${up.port}` }] },
      ] as any),
    );
  });
  after(async () => {
    await gw?.close();
    await up?.close();
  });

  it('Rego: a mapped caller passes; an unmapped one is refused with the policy reason, before the upstream', async () => {
    assert.deepEqual(await (await fetch(`${gw.url()}/rego/whoami`, { headers: { 'x-api-key': KEYS.alice } })).json(), { user: 'alice' });
    const before = await up.stats();
    const r = await fetch(`${gw.url()}/rego/whoami`, { headers: { 'x-api-key': KEYS.mallory } });
    assert.equal(r.status, 403);
    assert.deepEqual(await r.json(), { error: { code: 'PCL_ERR_FORBIDDEN', message: 'forbidden: no upstream credential for you: ask for one to be mapped' } });
    assert.equal((await up.stats()).refused, before.refused);
  });

  it('CEL: upstreamCredentials is a variable of the rules', async () => {
    assert.equal((await fetch(`${gw.url()}/cel/whoami`, { headers: { 'x-api-key': KEYS.alice } })).status, 200);
    const r = await fetch(`${gw.url()}/cel/whoami`, { headers: { 'x-api-key': KEYS.mallory } });
    assert.equal(r.status, 403);
    assert.equal(((await r.json()) as any).error.code, 'PCL_ERR_FORBIDDEN');
  });
});
