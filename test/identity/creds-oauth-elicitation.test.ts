import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UrlElicitationRequiredError, ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startTestGateway, simpleConfig, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, MCP_TEST_EXTRA, postModern, text } from '../helpers/mcp.ts';
import { sha256Hex } from '../../policies/api-key/index.ts';
import { browserLogin, MCP_HEADERS, initializeBody, startCredsUpstream, startUpstreamAs, type CredsUpstream, type Proc } from './creds-helpers.ts';

const KEYS = { erin: 'erin-key-elicit', frank: 'frank-key-elicit', gina: 'gina-key-elicit', ivy: 'ivy-key-elicit' };
const as = (who: keyof typeof KEYS) => ({ 'x-api-key': KEYS[who] });

/** The URL elicitation a refused call carries, checked against the spec's shape (MCP 2025-11-25, -32042). */
async function elicitationOf(call: Promise<unknown>): Promise<{ url: string; elicitationId: string; message: string }> {
  const err = await call.then(
    () => assert.fail('the call succeeded without a linked account'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof UrlElicitationRequiredError, `not a URL elicitation: ${String(err)}`);
  assert.equal(err.code, ErrorCode.UrlElicitationRequired);
  assert.equal(err.elicitations.length, 1);
  const [e] = err.elicitations;
  assert.equal(e.mode, 'url');
  assert.match(err.message, new RegExp(`backendAuth\\.oauth: link your "tools" account first: open ${e.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} and sign in, then retry`));
  return { url: e.url, elicitationId: e.elicitationId, message: e.message };
}

describe('backendAuth.oauth on an MCP route: an unlinked user gets a URL-mode elicitation (MCP 2025-11-25), then the call works', () => {
  let authServer: Proc;
  let up: CredsUpstream;
  let gw: TestGateway;
  let admin: string;
  let csrf: string;
  const clients: Client[] = [];

  before(async () => {
    authServer = await startUpstreamAs(600);
    up = await startCredsUpstream({ jwks: `${authServer.url}/jwks`, audience: 'urn:upstream:oauth' });
    const apiKey = { header: 'x-api-key', keys: Object.entries(KEYS).map(([name, key]) => ({ name, sha256: sha256Hex(key) })) };
    const oauth = {
      name: 'tools',
      authorizationEndpoint: `${authServer.url}/auth`,
      tokenEndpoint: `${authServer.url}/token`,
      clientId: 'gateway-oauth-client',
      clientSecret: { secret: 'gateway-oauth-secret' },
      scopes: ['openid', 'offline_access', 'tools'],
      redirectUri: '/oauth/callback',
    };
    gw = await startTestGateway(
      simpleConfig(
        [
          { name: 'oauth-callback', matches: [{ path: { exact: '/oauth/callback' } }], policies: { upstreamOAuthCallback: {} } },
          { name: 'rest', matches: [{ path: { pathPrefix: '/api' } }], policies: { apiKey, backendAuth: { oauth } }, backends: [{ host: `127.0.0.1:${up.port}` }] },
          { name: 'mcp', matches: [{ path: { pathPrefix: '/mcp' } }], policies: { apiKey, backendAuth: { oauth } }, backends: [{ mcp: { targets: [{ name: 'up', mcp: { url: `${up.url}/mcp` } }] } }] },
        ] as any,
        { ...MCP_TEST_EXTRA, admin: { address: '127.0.0.1:0' } } as any,
      ),
    );
    await fetch(`${authServer.url}/configure`, { method: 'POST', body: JSON.stringify({ redirectUri: `${gw.url()}/oauth/callback` }) });
    admin = `http://127.0.0.1:${gw.running.admin!.port}`;
    csrf = ((await (await fetch(`${admin}/api/session`)).json()) as { csrf: string }).csrf;
  });
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gw?.close();
    await up?.close();
    await authServer?.close();
  });

  const client = async (who: keyof typeof KEYS) => {
    const c = await connectClient(`${gw.url()}/mcp`, { headers: as(who), capabilities: { elicitation: { url: {} } } });
    clients.push(c);
    return c;
  };
  /** A 2026-07-28 request (postModern's envelope) carrying the user's API key. */
  const postModernAs = (who: keyof typeof KEYS, body: Record<string, unknown>) => postModern(`${gw.url()}/mcp`, body, { headers: as(who) });
  const completeLogin = async (url: string, who: string) => {
    const r = await fetch(await browserLogin(url, who));
    assert.equal(r.status, 200, await r.clone().text());
  };

  it('initialize succeeds without the link; every call gets the same login URL as an elicitation, nothing reaches the upstream; after the login the same session calls the tool as the user', async () => {
    const before = await up.stats();
    const c = await client('erin');
    const listed = await elicitationOf(c.listTools());
    const called = await elicitationOf(c.callTool({ name: 'up_whoami', arguments: {} }));
    assert.deepEqual(called, listed, 'a retry before the login names the same login');
    const url = new URL(called.url);
    assert.equal(url.origin + url.pathname, `${authServer.url}/auth`);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(url.searchParams.get('redirect_uri'), `${gw.url()}/oauth/callback`);
    assert.equal(called.message, 'Sign in to link your "tools" account to this gateway.');
    assert.match(called.elicitationId, /^[A-Za-z0-9_-]{32}$/);
    const after = await up.stats();
    assert.equal(after.accepted + after.refused, before.accepted + before.refused, 'the upstream was called for an unlinked user');

    await completeLogin(called.url, 'erin');
    assert.deepEqual(
      (await c.listTools()).tools.map((t) => t.name),
      ['whoami'],
    );
    assert.equal(text(await c.callTool({ name: 'up_whoami', arguments: {} })), 'user=erin');
  });

  it('the wire answer is the JSON-RPC error -32042 with data.elicitations (and the gateway code); an HTTP route of the same link still answers 403 with the URL', async () => {
    const init = await fetch(`${gw.url()}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, ...as('frank') }, body: initializeBody() });
    assert.equal(init.status, 200);
    const session = init.headers.get('mcp-session-id');
    assert.ok(session);
    await init.body?.cancel();
    const headers = { ...MCP_HEADERS, ...as('frank'), 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' };
    await fetch(`${gw.url()}/mcp`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) }).then((r) => r.body?.cancel());
    const call = await fetch(`${gw.url()}/mcp`, { method: 'POST', headers: { ...headers, accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'up_whoami', arguments: {} } }) });
    assert.equal(call.status, 200);
    const raw = await call.text();
    const body = JSON.parse(/^data: (.+)$/m.exec(raw)?.[1] ?? raw) as { id: number; error: { code: number; message: string; data: { code: string; elicitations: Array<Record<string, string>> } } };
    assert.equal(body.id, 7);
    assert.equal(body.error.code, -32042);
    assert.equal(body.error.data.code, 'PCL_ERR_UPSTREAM_LINK_REQUIRED');
    assert.deepEqual(Object.keys(body.error.data.elicitations[0]).sort(), ['elicitationId', 'message', 'mode', 'url']);
    assert.ok(body.error.message.includes(body.error.data.elicitations[0].url));
    const rest = await fetch(`${gw.url()}/api/whoami`, { headers: as('frank') });
    assert.equal(rest.status, 403);
    const refusal = (await rest.json()) as { error: { code: string; loginUrl: string } };
    assert.equal(refusal.error.code, 'PCL_ERR_UPSTREAM_LINK_REQUIRED');
    assert.equal(refusal.error.loginUrl, body.error.data.elicitations[0].url, 'one pending login per user and link');
  });

  it('a legacy HTTP+SSE session and 2026-07-28 requests (no session) get the same elicitation; after the login both call the tool', async () => {
    const legacy = await connectClient(`${gw.url()}/mcp/sse`, { sse: true, headers: as('ivy'), capabilities: { elicitation: { url: {} } } });
    clients.push(legacy);
    const viaLegacy = await elicitationOf(legacy.callTool({ name: 'whoami', arguments: {} }));
    const modern = await postModernAs('ivy', { id: 3, method: 'tools/call', params: { name: 'whoami', arguments: {} } });
    assert.equal(modern.body.error?.code, -32042, JSON.stringify(modern.body));
    assert.equal(modern.body.error.data.elicitations[0].url, viaLegacy.url);
    await completeLogin(viaLegacy.url, 'ivy');
    assert.equal(text(await legacy.callTool({ name: 'whoami', arguments: {} })), 'user=ivy');
    const after = await postModernAs('ivy', { id: 4, method: 'tools/call', params: { name: 'whoami', arguments: {} } });
    assert.equal(after.body.result?.content?.[0]?.text, 'user=ivy', JSON.stringify(after.body));
  });

  it('a link revoked while a session is open: the next call elicits a new login, the upstream is not called without a token', async () => {
    const c = await client('gina');
    await completeLogin((await elicitationOf(c.callTool({ name: 'up_whoami', arguments: {} }))).url, 'gina');
    assert.equal(text(await c.callTool({ name: 'up_whoami', arguments: {} })), 'user=gina');
    const revoke = await fetch(`${admin}/api/credential-links/revoke`, { method: 'POST', headers: { 'x-portcullis-csrf': csrf, 'content-type': 'application/json' }, body: JSON.stringify({ link: 'tools', subject: 'gina' }) });
    assert.equal(revoke.status, 200);
    const before = await up.stats();
    const again = await elicitationOf(c.callTool({ name: 'up_whoami', arguments: {} }));
    const after = await up.stats();
    assert.equal(after.accepted + after.refused, before.accepted + before.refused);
    await completeLogin(again.url, 'gina');
    assert.equal(text(await c.callTool({ name: 'up_whoami', arguments: {} })), 'user=gina');
  });
});
