import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startTestGateway, simpleConfig, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, MCP_TEST_EXTRA, text } from '../helpers/mcp.ts';
import { sha256Hex } from '../../policies/api-key/index.ts';
import { credentialChannel, type CredentialLinkEvent } from '../../core/telemetry/index.ts';
import { browserLogin, MCP_HEADERS, initializeBody, sendMessage, startCredsUpstream, startUpstreamAs, type CredsUpstream, type Proc } from './creds-helpers.ts';

const KEYS = { alice: 'alice-key-oauth', bob: 'bob-key-oauth', carol: 'carol-key-oauth', dave: 'dave-key-oauth' };
const as = (who: keyof typeof KEYS) => ({ 'x-api-key': KEYS[who] });

describe('backendAuth.oauth: the gateway runs the authorization-code flow with the upstream own authorization server, per user', () => {
  let authServer: Proc & { revokeAccount(id: string): Promise<number> };
  let up: CredsUpstream;
  let gw: TestGateway;
  let admin: string;
  let csrf: string;
  const events: CredentialLinkEvent[] = [];
  const onEvent = (e: unknown) => void events.push(e as CredentialLinkEvent);

  before(async () => {
    credentialChannel.subscribe(onEvent);
    // Access tokens live 31 s; the gateway refreshes 30 s before expiry: a refresh comes about 1 s after a link.
    authServer = await startUpstreamAs(31);
    up = await startCredsUpstream({ jwks: `${authServer.url}/jwks`, audience: 'urn:upstream:oauth' });
    process.env.PCL_TEST_OAUTH_SECRET = 'gateway-oauth-secret';
    const apiKey = { header: 'x-api-key', keys: Object.entries(KEYS).map(([name, key]) => ({ name, sha256: sha256Hex(key) })) };
    const oauth = (extra: Record<string, unknown> = {}) => ({
      name: 'tools',
      authorizationEndpoint: `${authServer.url}/auth`,
      tokenEndpoint: `${authServer.url}/token`,
      clientId: 'gateway-oauth-client',
      clientSecret: { env: 'PCL_TEST_OAUTH_SECRET' },
      scopes: ['openid', 'offline_access', 'tools'],
      redirectUri: '/oauth/callback',
      encryptionKey: { secret: Buffer.alloc(32, 7).toString('base64') },
      ...extra,
    });
    gw = await startTestGateway(
      simpleConfig(
        [
          { name: 'oauth-callback', matches: [{ path: { exact: '/oauth/callback' } }], policies: { upstreamOAuthCallback: {} } },
          { name: 'rest', matches: [{ path: { pathPrefix: '/api' } }], policies: { apiKey, backendAuth: { oauth: oauth() } }, backends: [{ host: `127.0.0.1:${up.port}` }] },
          {
            name: 'brief',
            matches: [{ path: { pathPrefix: '/brief' } }],
            policies: { apiKey, backendAuth: { oauth: oauth({ name: 'brief', loginTimeoutMs: 1000 }) }, urlRewrite: { path: { prefix: '/api' } } },
            backends: [{ host: `127.0.0.1:${up.port}` }],
          },
          { name: 'anon', matches: [{ path: { pathPrefix: '/anon' } }], policies: { backendAuth: { oauth: oauth() } }, backends: [{ host: `127.0.0.1:${up.port}` }] },
          { name: 'mcp', matches: [{ path: { pathPrefix: '/mcp' } }], policies: { apiKey, backendAuth: { oauth: oauth() } }, backends: [{ mcp: { targets: [{ name: 'up', mcp: { url: `${up.url}/mcp` } }] } }] },
          { name: 'a2a', matches: [{ path: { pathPrefix: '/' } }], policies: { apiKey, backendAuth: { oauth: oauth() } }, backends: [{ a2a: { url: up.url } }] },
        ] as any,
        { ...MCP_TEST_EXTRA, admin: { address: '127.0.0.1:0' }, audit: { destination: { file: './audit.log' } } } as any,
      ),
    );
    await fetch(`${authServer.url}/configure`, { method: 'POST', body: JSON.stringify({ redirectUri: `${gw.url()}/oauth/callback` }) });
    admin = `http://127.0.0.1:${gw.running.admin!.port}`;
    csrf = ((await (await fetch(`${admin}/api/session`)).json()) as { csrf: string }).csrf;
  });
  after(async () => {
    credentialChannel.unsubscribe(onEvent);
    await gw?.close();
    await up?.close();
    await authServer?.close();
  });

  const whoami = (who: keyof typeof KEYS, path = '/api/whoami') => fetch(`${gw.url()}${path}`, { headers: as(who) });
  const loginUrlOf = async (r: Response) => {
    assert.equal(r.status, 403);
    const body = (await r.json()) as { error: { code: string; message: string; loginUrl: string } };
    assert.equal(body.error.code, 'PCL_ERR_UPSTREAM_LINK_REQUIRED');
    assert.equal(body.error.message, `backendAuth.oauth: link your "${body.error.message.match(/"(\w+)"/)![1]}" account first: open ${body.error.loginUrl} and sign in, then retry`);
    return body.error.loginUrl;
  };
  const link = async (who: keyof typeof KEYS, path = '/api/whoami') => {
    const callback = await browserLogin(await loginUrlOf(await whoami(who, path)), who);
    const r = await fetch(callback);
    assert.equal(r.status, 200, await r.clone().text());
    assert.match(await r.text(), /account is linked/);
  };

  it('an unlinked user gets a login URL (PKCE S256, state, the callback); the same one until it is used', async () => {
    const url = new URL(await loginUrlOf(await whoami('alice')));
    assert.equal(url.origin + url.pathname, `${authServer.url}/auth`);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(url.searchParams.get('redirect_uri'), `${gw.url()}/oauth/callback`);
    assert.equal(url.searchParams.get('client_id'), 'gateway-oauth-client');
    assert.ok((url.searchParams.get('state') ?? '').length >= 43);
    assert.equal(await loginUrlOf(await whoami('alice')), url.toString());
    assert.notEqual(await loginUrlOf(await whoami('bob')), url.toString());
  });

  it('after the login, the upstream sees the user through its own token; the callback cannot be replayed', async () => {
    const callback = await browserLogin(await loginUrlOf(await whoami('alice')), 'alice');
    assert.equal(new URL(callback).origin, gw.url());
    const done = await fetch(callback);
    assert.equal(done.status, 200);
    const page = await done.text();
    assert.ok(!/eyJ/.test(page), 'the callback page shows a token');
    assert.deepEqual(await (await whoami('alice')).json(), { user: 'alice' });
    const replay = await fetch(callback);
    assert.equal(replay.status, 400);
    assert.deepEqual(await replay.json(), { error: { code: 'PCL_ERR_OAUTH_CALLBACK_INVALID', message: 'backendAuth.oauth callback: unknown, already used or expired state; start again from your client' } });
    assert.ok(events.some((e) => e.event === 'link' && e.link === 'tools' && e.subject === 'alice' && e.by === 'user'));
  });

  it("another user never gets alice's token: bob must link his own account", async () => {
    const r = await whoami('bob');
    assert.equal(r.status, 403);
    assert.equal(((await r.json()) as any).error.code, 'PCL_ERR_UPSTREAM_LINK_REQUIRED');
    assert.deepEqual(await (await whoami('alice')).json(), { user: 'alice' });
  });

  it('a forged state, a missing state, an error from the server: refused with a stable code', async () => {
    for (const [query, message] of [
      ['state=forged-state&code=abc', 'unknown, already used or expired state; start again from your client'],
      ['code=abc', 'no state parameter'],
    ]) {
      const r = await fetch(`${gw.url()}/oauth/callback?${query}`);
      assert.equal(r.status, 400);
      assert.deepEqual(await r.json(), { error: { code: 'PCL_ERR_OAUTH_CALLBACK_INVALID', message: `backendAuth.oauth callback: ${message}` } });
    }
    const state = new URL(await loginUrlOf(await whoami('dave'))).searchParams.get('state');
    const denied = await fetch(`${gw.url()}/oauth/callback?state=${state}&error=access_denied&error_description=the+user+said+no`);
    assert.equal(((await denied.json()) as any).error.message, 'backendAuth.oauth callback: the authorization server answered access_denied: the user said no');
  });

  it("a code injected into another user's callback fails the PKCE check at the server: bob stays unlinked", async () => {
    const bobState = new URL(await loginUrlOf(await whoami('bob'))).searchParams.get('state')!;
    // carol's own login gives a code bound to carol's PKCE challenge...
    const carolCallback = new URL(await browserLogin(await loginUrlOf(await whoami('carol')), 'carol'));
    const code = carolCallback.searchParams.get('code')!;
    // ...which, put in bob's callback, is redeemed with bob's verifier: the server refuses it.
    const r = await fetch(`${gw.url()}/oauth/callback?state=${encodeURIComponent(bobState)}&code=${encodeURIComponent(code)}`);
    assert.equal(r.status, 400);
    const body = (await r.json()) as any;
    assert.equal(body.error.code, 'PCL_ERR_OAUTH_CALLBACK_INVALID');
    assert.match(body.error.message, /^backendAuth\.oauth callback: the authorization server refused the code \(.+ answered 400 invalid_grant/);
    assert.equal((await whoami('bob')).status, 403);
    assert.ok(events.some((e) => e.event === 'refused' && e.subject === 'bob'));
  });

  it('a login URL expires: its callback is refused after loginTimeoutMs', async () => {
    const url = await loginUrlOf(await whoami('dave', '/brief/whoami'));
    const callback = await browserLogin(url, 'dave');
    await new Promise((r) => setTimeout(r, 1100)); // the login's lifetime is the thing under test
    const r = await fetch(callback);
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as any).error.message, 'backendAuth.oauth callback: unknown, already used or expired state; start again from your client');
  });

  it('an expiring token is refreshed with the refresh token (audited), and the user stays linked', async () => {
    const before = events.filter((e) => e.event === 'refresh' && e.subject === 'alice').length;
    let refreshed = false;
    for (let i = 0; i < 40 && !refreshed; i++) {
      assert.deepEqual(await (await whoami('alice')).json(), { user: 'alice' });
      refreshed = events.filter((e) => e.event === 'refresh' && e.subject === 'alice').length > before;
      if (!refreshed) await new Promise((r) => setTimeout(r, 150));
    }
    assert.ok(refreshed, 'no refresh within 6 s of a token that expires in 31 s with a 30 s margin');
  });

  it('MCP targets and A2A agents are called with the linked user token; an unlinked MCP user still opens a session', async () => {
    const client = await connectClient(`${gw.url()}/mcp`, { headers: as('alice') });
    try {
      assert.equal(text(await client.callTool({ name: 'up_whoami', arguments: {} })), 'user=alice');
    } finally {
      await client.close();
    }
    const r = await fetch(`${gw.url()}/a2a/jsonrpc`, { method: 'POST', headers: { 'content-type': 'application/json', 'a2a-version': '1.0', ...as('alice') }, body: sendMessage('hi') });
    assert.equal(((await r.json()) as any).result?.message?.parts?.[0]?.text, 'alice echo: hi');
    // An unlinked MCP user opens a session; its calls get the login URL as a URL elicitation (creds-oauth-elicitation.test.ts).
    const init = await fetch(`${gw.url()}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, ...as('dave') }, body: initializeBody() });
    assert.equal(init.status, 200);
    await init.body?.cancel();
  });

  it('a caller that is not authenticated is refused: the upstream acts as a user', async () => {
    const r = await fetch(`${gw.url()}/anon/whoami`);
    assert.equal(r.status, 403);
    assert.deepEqual(((await r.json()) as any).error, {
      code: 'PCL_ERR_UPSTREAM_CREDENTIAL_MISSING',
      message: 'backendAuth.oauth: the "tools" upstream acts as the calling user, so the caller must be authenticated (add jwtAuth or apiKey to the route)',
    });
  });

  it('the admin API lists links (never a token) and revokes one; the user must link again', async () => {
    const listed = (await (await fetch(`${admin}/api/credential-links`)).json()) as { links: Array<Record<string, unknown>> };
    const mine = listed.links.find((l) => l.link === 'tools' && l.subject === 'alice');
    assert.ok(mine, JSON.stringify(listed));
    assert.deepEqual(Object.keys(mine).sort(), ['expiresAt', 'link', 'linkedAt', 'refreshable', 'refreshedAt', 'subject'].filter((k) => mine[k] !== undefined).sort());
    assert.equal(mine.refreshable, true);
    assert.ok(!JSON.stringify(listed).includes('eyJ'));
    const noCsrf = await fetch(`${admin}/api/credential-links/revoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ link: 'tools', subject: 'alice' }) });
    assert.equal(noCsrf.status, 403);
    const revoke = await fetch(`${admin}/api/credential-links/revoke`, { method: 'POST', headers: { 'x-portcullis-csrf': csrf, 'content-type': 'application/json' }, body: JSON.stringify({ link: 'tools', subject: 'alice' }) });
    assert.deepEqual(await revoke.json(), { revoked: { link: 'tools', subject: 'alice' } });
    const again = await fetch(`${admin}/api/credential-links/revoke`, { method: 'POST', headers: { 'x-portcullis-csrf': csrf, 'content-type': 'application/json' }, body: JSON.stringify({ link: 'tools', subject: 'alice' }) });
    assert.equal(again.status, 404);
    assert.equal((await whoami('alice')).status, 403);
    assert.ok(events.some((e) => e.event === 'revoke' && e.subject === 'alice' && e.by === 'admin'));
  });

  it('a grant revoked at the authorization server: the refresh is refused, the link dropped (audited), the user asked to log in again', async () => {
    await link('alice');
    assert.deepEqual(await (await whoami('alice')).json(), { user: 'alice' });
    assert.ok((await authServer.revokeAccount('alice')) > 0);
    let asked = false;
    for (let i = 0; i < 40 && !asked; i++) {
      const r = await whoami('alice');
      asked = r.status === 403 && ((await r.json()) as any).error.code === 'PCL_ERR_UPSTREAM_LINK_REQUIRED';
      if (!asked) await new Promise((r) => setTimeout(r, 150));
    }
    assert.ok(asked, 'the user was not asked to link again once the grant was revoked');
    assert.ok(events.some((e) => e.event === 'revoke' && e.subject === 'alice' && e.by === 'gateway' && /invalid_grant/.test(e.reason ?? '')));
  });

  it('audit lines for link, refresh, revoke; no token in logs, audit, or the config dump', async () => {
    const audit = await readFile(join(gw.dir, 'audit.log'), 'utf8');
    const lines = audit.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const event of ['credential.link', 'credential.refresh', 'credential.revoke', 'credential.refused']) assert.ok(lines.some((l) => l.event === event), `no ${event} audit line`);
    assert.ok(lines.some((l) => l.event === 'credential.revoke' && l.by === 'admin' && l['enduser.id'] === 'alice' && l.link === 'tools'));
    const dump = await request(`${admin}/config_dump`);
    const dumped = await dump.body.text();
    for (const text of [gw.logs.raw(), audit, dumped]) assert.ok(!/eyJ[A-Za-z0-9_-]{10,}/.test(text), 'a token leaked');
    assert.ok(!dumped.includes(Buffer.alloc(32, 7).toString('base64')), 'the encryption key is in the config dump');
  });
});
