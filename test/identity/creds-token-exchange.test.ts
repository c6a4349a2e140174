import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestGateway, simpleConfig, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, MCP_TEST_EXTRA, text } from '../helpers/mcp.ts';
import { CLIENT_ID, CLIENT_SECRET, GATEWAY_AUDIENCE, MCP_HEADERS, initializeBody, sendMessage, startCredsUpstream, startTokenServer, type CredsUpstream, type TokenServer } from './creds-helpers.ts';

const AUDIENCE = 'urn:upstream:tools';

describe('backendAuth.tokenExchange (RFC 8693): the upstream gets a token for itself, exchanged per caller', () => {
  let ts: TokenServer;
  let up: CredsUpstream;
  let gw: TestGateway;
  const routes: Record<string, unknown> = {};
  before(async () => {
    process.env.PCL_TEST_TX_CLIENT_SECRET = CLIENT_SECRET;
    ts = await startTokenServer(120);
    up = await startCredsUpstream({ jwks: `${ts.url}/jwks`, audience: AUDIENCE });
    const jwtAuth = { issuer: ts.url, audiences: [GATEWAY_AUDIENCE], jwks: { url: `${ts.url}/jwks` } };
    const exchange = (extra: Record<string, unknown> = {}) => ({ tokenEndpoint: `${ts.url}/token`, audience: AUDIENCE, clientId: CLIENT_ID, clientSecret: { env: 'PCL_TEST_TX_CLIENT_SECRET' }, ...extra });
    const rest = (name: string, tokenExchange: Record<string, unknown>, auth = true) => ({
      name,
      matches: [{ path: { pathPrefix: `/${name}` } }],
      policies: { ...(auth ? { jwtAuth } : {}), backendAuth: { tokenExchange }, urlRewrite: { path: { prefix: '/api' } } },
      backends: [{ host: `127.0.0.1:${up.port}` }],
    });
    const list = [
      rest('rest', exchange()),
      rest('tiny', exchange({ cacheEntries: 1 })),
      rest('wrongaud', exchange({ audience: 'urn:upstream:unknown' })),
      rest('badclient', exchange({ clientSecret: { secret: 'not-the-secret' } })),
      rest('hang', exchange({ tokenEndpoint: `${ts.url}/token-hang`, timeoutMs: 300 })),
      rest('fail', exchange({ tokenEndpoint: `${ts.url}/token-fail` })),
      rest('down', exchange({ tokenEndpoint: 'http://127.0.0.1:9/token', timeoutMs: 2000 })),
      rest('anon', exchange(), false),
      {
        name: 'mcp',
        matches: [{ path: { pathPrefix: '/mcp' } }],
        policies: { jwtAuth, backendAuth: { tokenExchange: exchange() } },
        backends: [{ mcp: { targets: [{ name: 'up', mcp: { url: `${up.url}/mcp` } }, { name: 'rest', openapi: { schema: { inline: { openapi: '3.0.3', info: { title: 'w', version: '1' }, servers: [{ url: up.url }], paths: { '/api/whoami': { get: { operationId: 'whoami', responses: { '200': { description: 'ok' } } } } } } } } }] } }],
      },
      { name: 'a2a', matches: [{ path: { pathPrefix: '/' } }], policies: { jwtAuth, backendAuth: { tokenExchange: exchange() } }, backends: [{ a2a: { url: up.url } }] },
    ];
    for (const r of list) routes[(r as { name: string }).name] = r;
    gw = await startTestGateway(simpleConfig(list as any, MCP_TEST_EXTRA));
  });
  after(async () => {
    await gw?.close();
    await up?.close();
    await ts?.close();
  });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const errorOf = async (r: Response) => ((await r.json()) as any).error as { code: string; message: string };

  it('the upstream checks the audience: the caller own token is refused there, the exchanged one accepted', async () => {
    const { token } = await ts.mint('alice');
    const direct = await fetch(`${up.url}/api/whoami`, { headers: bearer(token) });
    assert.equal(direct.status, 401);
    assert.match(((await direct.json()) as any).error_description, /"aud" claim/);
    const r = await fetch(`${gw.url()}/rest/whoami`, { headers: bearer(token) });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { user: 'alice' });
  });

  it('caches per caller: a second call of alice does not exchange again; bob gets his own exchange', async () => {
    const alice = (await ts.mint('alice')).token;
    const bob = (await ts.mint('bob')).token;
    const before = await ts.exchanges();
    for (let i = 0; i < 3; i++) assert.deepEqual(await (await fetch(`${gw.url()}/rest/whoami`, { headers: bearer(alice) })).json(), { user: 'alice' });
    assert.equal(await ts.exchanges(), before + 1);
    assert.deepEqual(await (await fetch(`${gw.url()}/rest/whoami`, { headers: bearer(bob) })).json(), { user: 'bob' });
    assert.equal(await ts.exchanges(), before + 2);
    // Concurrent first calls of one caller share one exchange.
    const carol = (await ts.mint('carol')).token;
    const all = await Promise.all(Array.from({ length: 5 }, () => fetch(`${gw.url()}/rest/whoami`, { headers: bearer(carol) }).then((r) => r.json())));
    for (const b of all) assert.deepEqual(b, { user: 'carol' });
    assert.equal(await ts.exchanges(), before + 3);
  });

  it('the cache is bounded: with cacheEntries 1, alice is evicted by bob and exchanged again', async () => {
    const alice = (await ts.mint('alice')).token;
    const bob = (await ts.mint('bob')).token;
    const before = await ts.exchanges();
    for (const t of [alice, bob, alice]) assert.equal((await fetch(`${gw.url()}/tiny/whoami`, { headers: bearer(t) })).status, 200);
    assert.equal(await ts.exchanges(), before + 3);
  });

  it('an exchanged token is never cached past the caller own token expiry', async () => {
    // The caller's token lives 11 s; the cache drops entries 10 s before expiry: a fresh exchange comes within ~1 s.
    const { token } = await ts.mint('dave', { ttl: 11 });
    const before = await ts.exchanges();
    assert.equal((await fetch(`${gw.url()}/rest/whoami`, { headers: bearer(token) })).status, 200);
    assert.equal(await ts.exchanges(), before + 1);
    const started = Date.now();
    let again = false;
    for (let i = 0; i < 40 && !again; i++) {
      assert.equal((await fetch(`${gw.url()}/rest/whoami`, { headers: bearer(token) })).status, 200);
      again = (await ts.exchanges()) > before + 1;
      if (!again) await new Promise((r) => setTimeout(r, 150));
    }
    assert.ok(again, 'the exchange was not asked again as the caller token neared expiry');
    assert.ok(Date.now() - started < 5000);
  });

  it('expired and wrong-audience caller tokens are refused by authentication, before any exchange', async () => {
    const before = await ts.exchanges();
    const expired = (await ts.mint('alice', { ttl: -120 })).token;
    const r1 = await fetch(`${gw.url()}/rest/whoami`, { headers: bearer(expired) });
    assert.equal(r1.status, 401);
    assert.equal((await errorOf(r1)).code, 'PCL_ERR_UNAUTHENTICATED');
    const other = (await ts.mint('alice', { aud: AUDIENCE })).token;
    const r2 = await fetch(`${gw.url()}/rest/whoami`, { headers: bearer(other) });
    assert.equal(r2.status, 401);
    assert.equal((await errorOf(r2)).code, 'PCL_ERR_UNAUTHENTICATED');
    assert.equal(await ts.exchanges(), before);
  });

  it('a revoked caller token: the endpoint refuses the exchange and the call fails closed', async () => {
    const { token, jti } = await ts.mint('erin');
    await ts.revoke(jti);
    const before = await up.stats();
    const r = await fetch(`${gw.url()}/rest/whoami`, { headers: bearer(token) });
    assert.equal(r.status, 403);
    assert.deepEqual(await errorOf(r), {
      code: 'PCL_ERR_TOKEN_EXCHANGE_FAILED',
      message: `backendAuth.tokenExchange: ${ts.url}/token refused the exchange with 400 invalid_grant: subject token revoked; nothing was sent upstream`,
    });
    const after = await up.stats();
    assert.equal(after.accepted + after.refused, before.accepted + before.refused);
  });

  it('an audience the endpoint does not know, and a wrong client secret, fail closed with the endpoint answer', async () => {
    const { token } = await ts.mint('alice');
    const r1 = await fetch(`${gw.url()}/wrongaud/whoami`, { headers: bearer(token) });
    assert.equal(r1.status, 403);
    assert.equal((await errorOf(r1)).message, `backendAuth.tokenExchange: ${ts.url}/token refused the exchange with 400 invalid_target: unknown audience urn:upstream:unknown; nothing was sent upstream`);
    const r2 = await fetch(`${gw.url()}/badclient/whoami`, { headers: bearer(token) });
    assert.equal(r2.status, 502);
    assert.equal((await errorOf(r2)).message, `backendAuth.tokenExchange: ${ts.url}/token refused the exchange with 401 invalid_client: client authentication failed; nothing was sent upstream`);
  });

  it('an endpoint that hangs, fails or is down: a clear error within the bound, nothing sent upstream', async () => {
    const { token } = await ts.mint('alice');
    const before = await up.stats();
    const started = Date.now();
    const hang = await fetch(`${gw.url()}/hang/whoami`, { headers: bearer(token) });
    assert.ok(Date.now() - started < 3000, 'the hanging endpoint held the request past its timeout');
    assert.equal(hang.status, 504);
    assert.deepEqual(await errorOf(hang), { code: 'PCL_ERR_TOKEN_EXCHANGE_FAILED', message: `backendAuth.tokenExchange: ${ts.url}/token-hang did not answer within 300 ms (timeoutMs); nothing was sent upstream` });
    const fail = await fetch(`${gw.url()}/fail/whoami`, { headers: bearer(token) });
    assert.equal(fail.status, 502);
    assert.equal((await errorOf(fail)).message, `backendAuth.tokenExchange: ${ts.url}/token-fail refused the exchange with 500; nothing was sent upstream`);
    const down = await fetch(`${gw.url()}/down/whoami`, { headers: bearer(token) });
    assert.equal(down.status, 502);
    assert.match((await errorOf(down)).message, /^backendAuth\.tokenExchange: http:\/\/127\.0\.0\.1:9\/token could not be reached \(.+\); nothing was sent upstream$/);
    const after = await up.stats();
    assert.equal(after.accepted + after.refused, before.accepted + before.refused);
  });

  it('a request with no bearer token has nothing to exchange: refused with a stable code', async () => {
    const r = await fetch(`${gw.url()}/anon/whoami`);
    assert.equal(r.status, 403);
    assert.deepEqual(await errorOf(r), {
      code: 'PCL_ERR_UPSTREAM_CREDENTIAL_MISSING',
      message: 'backendAuth.tokenExchange: the request has no bearer token to exchange for the upstream (send Authorization: Bearer <token>, verified by jwtAuth)',
    });
  });

  it('MCP and OpenAPI targets and an A2A agent get the exchanged token of the caller', async () => {
    const alice = (await ts.mint('alice')).token;
    const client = await connectClient(`${gw.url()}/mcp`, { headers: bearer(alice) });
    try {
      assert.equal(text(await client.callTool({ name: 'up_whoami', arguments: {} })), 'user=alice');
      assert.match(text(await client.callTool({ name: 'rest_whoami', arguments: {} })), /"user":\s*"alice"/);
    } finally {
      await client.close();
    }
    const bob = (await ts.mint('bob')).token;
    const r = await fetch(`${gw.url()}/a2a/jsonrpc`, { method: 'POST', headers: { 'content-type': 'application/json', 'a2a-version': '1.0', ...bearer(bob) }, body: sendMessage('hi') });
    assert.equal(((await r.json()) as any).result?.message?.parts?.[0]?.text, 'bob echo: hi');
    // A revoked token on an MCP route: refused at initialize, with the code.
    const { token, jti } = await ts.mint('frank');
    await ts.revoke(jti);
    const init = await fetch(`${gw.url()}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, ...bearer(token) }, body: initializeBody() });
    assert.equal(init.status, 403);
    assert.equal((await errorOf(init)).code, 'PCL_ERR_TOKEN_EXCHANGE_FAILED');
  });

  it('no token (the callers, nor the exchanged ones) appears in a log line', () => {
    const raw = gw.logs.raw();
    assert.ok(!/eyJ[A-Za-z0-9_-]{10,}/.test(raw), 'a log line holds a JWT');
    assert.ok(!raw.includes(CLIENT_SECRET));
  });
});

describe('backendAuth.tokenExchange: bad settings are refused with their path', () => {
  it('needs an audience or resource; clientSecret needs clientId; header and prefix do not apply', async () => {
    const cases: Array<[unknown, string]> = [
      [{ tokenExchange: { tokenEndpoint: 'http://idp/token' } }, '.tokenExchange: needs audience or resource: the upstream the exchanged token is for'],
      [{ tokenExchange: { tokenEndpoint: 'http://idp/token', audience: 'a', clientSecret: { secret: 's' } } }, '.tokenExchange.clientSecret: needs clientId (the secret authenticates that client)'],
      [{ tokenExchange: { tokenEndpoint: 'ftp://idp/token', audience: 'a' } }, '.tokenExchange.tokenEndpoint: expected an http(s) URL, got "ftp://idp/token"'],
      [{ tokenExchange: { tokenEndpoint: 'http://idp/token', audience: 'a' }, prefix: 'Bearer ' }, ': tokenExchange sends `Authorization: Bearer <token>`: header and prefix do not apply'],
      [{ tokenExchange: { tokenEndpoint: 'http://idp/token', grantType: 'jwtBearer' } }, '.tokenExchange: needs audience, resource or scope: what the token is asked for'],
      [{ tokenExchange: { tokenEndpoint: 'http://idp/token', audience: 'a', grantType: 'saml2' } }, '.tokenExchange.grantType: expected "tokenExchange" | "jwtBearer", got "saml2"'],
      [{ tokenExchange: { tokenEndpoint: 'http://idp/token', audience: 'a', grantType: 'jwtBearer', subjectTokenType: 'x' } }, '.tokenExchange: subjectTokenType and requestedTokenType belong to the tokenExchange grant, not jwtBearer'],
      [{ tokenExchange: { tokenEndpoint: 'http://idp/token', audience: 'a', clientAuthMethod: 'post' } }, '.tokenExchange.clientAuthMethod: needs clientId'],
      [{ tokenExchange: { tokenEndpoint: 'http://idp/token', audience: 'a', additionalParams: { assertion: 'x' } } }, '.tokenExchange.additionalParams.assertion: is a parameter of the grant itself: set it with its own setting'],
      [{ tokenExchange: { tokenEndpoint: 'http://idp/token', audience: 'a', resourceAuthorizationServer: { clientId: 'r' } } }, '.tokenExchange.resourceAuthorizationServer.tokenEndpoint: is required (string)'],
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
