import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestGateway, simpleConfig, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, MCP_TEST_EXTRA, text } from '../helpers/mcp.ts';
import { sha256Hex } from '../../policies/api-key/index.ts';
import { initializeBody, MCP_HEADERS, sendMessage, startCredsUpstream, type CredsUpstream } from './creds-helpers.ts';

const ALICE_UPSTREAM = 'alice-upstream-token-1111';
const BOB_UPSTREAM = 'bob-upstream-token-2222';
const SHARED_UPSTREAM = 'shared-readonly-token-3333';
const CALLER_KEYS = { alice: 'alice-client-key', bob: 'bob-client-key', mallory: 'mallory-client-key' };
const OPENAPI = (base: string) => ({
  openapi: '3.0.3',
  info: { title: 'whoami', version: '1.0.0' },
  paths: { '/api/whoami': { get: { operationId: 'whoami', responses: { '200': { description: 'the caller' } } } } },
  servers: [{ url: base }],
});

describe('backendAuth.identityMap: each caller reaches the upstream with its own credential', () => {
  let up: CredsUpstream;
  let gw: TestGateway;
  let secrets: string;
  before(async () => {
    process.env.PCL_TEST_ALICE_UPSTREAM = ALICE_UPSTREAM;
    process.env.PCL_TEST_SHARED_UPSTREAM = SHARED_UPSTREAM;
    secrets = await mkdtemp(join(tmpdir(), 'pcl-creds-'));
    await writeFile(join(secrets, 'bob'), `${BOB_UPSTREAM}\n`);
    up = await startCredsUpstream({ tokens: { [ALICE_UPSTREAM]: 'alice', [BOB_UPSTREAM]: 'bob', [SHARED_UPSTREAM]: 'readonly' } });
    const apiKey = { header: 'x-api-key', keys: Object.entries(CALLER_KEYS).map(([name, key]) => ({ name, sha256: sha256Hex(key), ...(name === 'bob' ? { metadata: { email: 'bob@example.com' } } : {}) })) };
    const identityMap = { credentials: { alice: 'env://PCL_TEST_ALICE_UPSTREAM', bob: `file://${join(secrets, 'bob')}` } };
    const policies = { apiKey, backendAuth: { identityMap, prefix: 'Bearer ' } };
    gw = await startTestGateway(
      simpleConfig(
        [
          { name: 'rest', matches: [{ path: { pathPrefix: '/api' } }], policies, backends: [{ host: `127.0.0.1:${up.port}` }] },
          {
            name: 'fallback',
            matches: [{ path: { pathPrefix: '/fallback' } }],
            policies: { apiKey, backendAuth: { prefix: 'Bearer ', identityMap: { ...identityMap, fallback: { credential: 'env://PCL_TEST_SHARED_UPSTREAM' } } }, urlRewrite: { path: { prefix: '/api' } } },
            backends: [{ host: `127.0.0.1:${up.port}` }],
          },
          {
            name: 'none',
            matches: [{ path: { pathPrefix: '/none' } }],
            policies: { apiKey, backendAuth: { prefix: 'Bearer ', identityMap: { ...identityMap, fallback: 'none' } }, urlRewrite: { path: { prefix: '/api' } } },
            backends: [{ host: `127.0.0.1:${up.port}` }],
          },
          {
            name: 'claim',
            matches: [{ path: { pathPrefix: '/claim' } }],
            policies: { apiKey, backendAuth: { prefix: 'Bearer ', identityMap: { key: { claim: 'email' }, credentials: { 'bob@example.com': { env: 'PCL_TEST_SHARED_UPSTREAM' } } } }, urlRewrite: { path: { prefix: '/api' } } },
            backends: [{ host: `127.0.0.1:${up.port}` }],
          },
          {
            name: 'mcp',
            matches: [{ path: { pathPrefix: '/mcp' } }],
            policies,
            backends: [{ mcp: { targets: [{ name: 'up', mcp: { url: `${up.url}/mcp` } }, { name: 'rest', openapi: { schema: { inline: OPENAPI(up.url) } } }] } }],
          },
          { name: 'a2a', matches: [{ path: { pathPrefix: '/' } }], policies, backends: [{ a2a: { url: up.url } }] },
        ] as any,
        MCP_TEST_EXTRA,
      ),
    );
  });
  after(async () => {
    await gw?.close();
    await up?.close();
    await rm(secrets, { recursive: true, force: true });
  });

  const as = (who: keyof typeof CALLER_KEYS) => ({ 'x-api-key': CALLER_KEYS[who] });

  it('a REST upstream sees alice as alice (env://) and bob as bob (file://)', async () => {
    for (const who of ['alice', 'bob'] as const) {
      const r = await fetch(`${gw.url()}/api/whoami`, { headers: as(who) });
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), { user: who });
    }
  });

  it('a caller with no entry is refused with a stable code, and nothing reaches the upstream', async () => {
    const before = await up.stats();
    const r = await fetch(`${gw.url()}/api/whoami`, { headers: as('mallory') });
    assert.equal(r.status, 403);
    assert.deepEqual(await r.json(), {
      error: { code: 'PCL_ERR_UPSTREAM_CREDENTIAL_MISSING', message: 'backendAuth.identityMap: no upstream credential for caller "mallory" (looked up by subject); add an entry to credentials or set a fallback' },
    });
    const after = await up.stats();
    assert.equal(after.accepted + after.refused, before.accepted + before.refused);
    await gw.logs.waitFor((l) => l.msg === 'backendAuth.identityMap: no upstream credential for the caller' && l.subject === 'mallory' && l.code === 'PCL_ERR_UPSTREAM_CREDENTIAL_MISSING');
  });

  it('fallback: a shared credential, or none at all (the upstream then refuses on its own)', async () => {
    const shared = await fetch(`${gw.url()}/fallback/whoami`, { headers: as('mallory') });
    assert.deepEqual(await shared.json(), { user: 'readonly' });
    const mine = await fetch(`${gw.url()}/fallback/whoami`, { headers: as('alice') });
    assert.deepEqual(await mine.json(), { user: 'alice' });
    const none = await fetch(`${gw.url()}/none/whoami`, { headers: as('mallory') });
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as any).error_description, 'no bearer token');
  });

  it('key by claim: the API key metadata email picks the entry', async () => {
    const bob = await fetch(`${gw.url()}/claim/whoami`, { headers: as('bob') });
    assert.deepEqual(await bob.json(), { user: 'readonly' });
    const alice = await fetch(`${gw.url()}/claim/whoami`, { headers: as('alice') });
    assert.equal(alice.status, 403);
    assert.match(((await alice.json()) as any).error.message, /looked up by claim "email"/);
  });

  it('an MCP target and an OpenAPI target are called with the caller own credential', async () => {
    const alice = await connectClient(`${gw.url()}/mcp`, { headers: as('alice') });
    const bob = await connectClient(`${gw.url()}/mcp`, { headers: as('bob') });
    try {
      const tools = (await alice.listTools()).tools.map((t) => t.name).sort();
      assert.deepEqual(tools, ['rest_whoami', 'up_whoami']);
      assert.equal(text(await alice.callTool({ name: 'up_whoami', arguments: {} })), 'user=alice');
      assert.equal(text(await bob.callTool({ name: 'up_whoami', arguments: {} })), 'user=bob');
      assert.match(text(await alice.callTool({ name: 'rest_whoami', arguments: {} })), /"user":\s*"alice"/);
      assert.match(text(await bob.callTool({ name: 'rest_whoami', arguments: {} })), /"user":\s*"bob"/);
    } finally {
      await alice.close();
      await bob.close();
    }
  });

  it("bob sending alice's MCP session id never gets alice's credential", async () => {
    const init = await fetch(`${gw.url()}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, ...as('alice') }, body: initializeBody() });
    assert.equal(init.status, 200);
    const session = init.headers.get('mcp-session-id')!;
    await init.text();
    const headers = { ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' };
    await (await fetch(`${gw.url()}/mcp`, { method: 'POST', headers: { ...headers, ...as('alice') }, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
    const call = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'up_whoami', arguments: {} } });
    const asBob = await fetch(`${gw.url()}/mcp`, { method: 'POST', headers: { ...headers, ...as('bob') }, body: call });
    const bobText = await asBob.text();
    assert.ok(!bobText.includes('user=alice'), bobText);
    // Sessions are bound to the caller that opened them: to bob, alice's session does not exist.
    assert.equal(asBob.status, 404);
    assert.equal(JSON.parse(bobText).error.code, 'PCL_ERR_MCP_SESSION_NOT_FOUND');
    const asMallory = await fetch(`${gw.url()}/mcp`, { method: 'POST', headers: { ...headers, ...as('mallory') }, body: call });
    assert.equal(asMallory.status, 403);
    assert.equal(((await asMallory.json()) as any).error.code, 'PCL_ERR_UPSTREAM_CREDENTIAL_MISSING');
  });

  it('an MCP caller with no entry is refused before anything reaches the upstream', async () => {
    const r = await fetch(`${gw.url()}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, ...as('mallory') }, body: initializeBody() });
    assert.equal(r.status, 403);
    assert.equal(((await r.json()) as any).error.code, 'PCL_ERR_UPSTREAM_CREDENTIAL_MISSING');
  });

  it('an A2A agent answers each caller as itself; a caller with no entry is refused', async () => {
    for (const who of ['alice', 'bob'] as const) {
      const r = await fetch(`${gw.url()}/a2a/jsonrpc`, { method: 'POST', headers: { 'content-type': 'application/json', 'a2a-version': '1.0', ...as(who) }, body: sendMessage('hi') });
      const body = (await r.json()) as any;
      assert.equal(body.result?.message?.parts?.[0]?.text, `${who} echo: hi`, JSON.stringify(body));
    }
    const r = await fetch(`${gw.url()}/a2a/jsonrpc`, { method: 'POST', headers: { 'content-type': 'application/json', 'a2a-version': '1.0', ...as('mallory') }, body: sendMessage('hi') });
    assert.equal(r.status, 403);
    assert.equal(((await r.json()) as any).error.code, 'PCL_ERR_UPSTREAM_CREDENTIAL_MISSING');
  });

  it('no upstream credential appears in any log line', () => {
    const raw = gw.logs.raw();
    for (const secret of [ALICE_UPSTREAM, BOB_UPSTREAM, SHARED_UPSTREAM]) assert.ok(!raw.includes(secret), `a log line holds ${secret}`);
  });
});

describe('backendAuth.identityMap: bad settings are refused with their path', () => {
  it('names the entry whose secret is missing, never a value', async () => {
    await assert.rejects(
      startTestGateway(simpleConfig([{ name: 'r', policies: { backendAuth: { identityMap: { credentials: { alice: 'env://PCL_TEST_NOT_SET_EVER' } } } }, backends: [{ host: '127.0.0.1:9' }] }] as any)),
      (err: any) => {
        assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
        assert.equal(err.message, 'binds[0].listeners[0].routes[0].policies.backendAuth.identityMap.credentials.alice.env: environment variable PCL_TEST_NOT_SET_EVER is not set');
        return true;
      },
    );
  });

  it('refuses a reference that is not env:// or file://, a bad fallback, and two modes at once', async () => {
    const cases: Array<[unknown, string]> = [
      [{ identityMap: { credentials: { a: 'vault://x' } } }, '.identityMap.credentials.a: expected env://NAME or file://PATH, got "vault://x"'],
      [{ identityMap: { credentials: {}, fallback: 'allow' } }, ".identityMap.fallback: expected \"deny\" | \"none\", got \"allow\""],
      [{ identityMap: { credentials: {} }, passthrough: true }, ': expected exactly one of credential, passthrough, jwtSign, identityMap, tokenExchange, oauth, got passthrough, identityMap'],
    ];
    for (const [backendAuth, message] of cases) {
      await assert.rejects(startTestGateway(simpleConfig([{ name: 'r', policies: { backendAuth } as any, backends: [{ host: '127.0.0.1:9' }] }])), (err: any) => {
        assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
        assert.deepEqual(err.message.split('\n').slice(1), [`binds[0].listeners[0].routes[0].policies.backendAuth${message}`]);
        return true;
      });
    }
  });
});

describe('backendAuth.identityMap: a rotated secret file takes effect without a restart', () => {
  it('rewriting bob token file reloads the config, and the upstream sees the new token', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pcl-creds-rot-'));
    await writeFile(join(dir, 'bob'), 'bob-token-before-rotation');
    const up = await startCredsUpstream({ tokens: { 'bob-token-before-rotation': 'bob (old token)', 'bob-token-after-rotation': 'bob (new token)' } });
    const gw = await startTestGateway(
      simpleConfig([
        {
          name: 'rest',
          policies: { apiKey: { header: 'x-api-key', keys: [{ name: 'bob', sha256: sha256Hex('bob-rot-key') }] }, backendAuth: { prefix: 'Bearer ', identityMap: { credentials: { bob: `file://${join(dir, 'bob')}` } } } },
          backends: [{ host: `127.0.0.1:${up.port}` }],
        },
      ] as any),
      { watch: true },
    );
    try {
      const call = async () => (await (await fetch(`${gw.url()}/api/whoami`, { headers: { 'x-api-key': 'bob-rot-key' } })).json()) as { user: string };
      assert.deepEqual(await call(), { user: 'bob (old token)' });
      await writeFile(join(dir, 'bob'), 'bob-token-after-rotation\n');
      await gw.logs.waitFor((l) => l.msg === 'reloaded');
      assert.deepEqual(await call(), { user: 'bob (new token)' });
      assert.ok(!gw.logs.raw().includes('bob-token-'), 'a log line holds the token');
    } finally {
      await gw.close();
      await up.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
