import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UrlElicitationRequiredError } from '@modelcontextprotocol/sdk/types.js';
import { startTestGateway, simpleConfig, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, MCP_TEST_EXTRA, text } from '../helpers/mcp.ts';
import { sha256Hex } from '../../policies/api-key/index.ts';
import { startJaeger, type Jaeger } from '../telemetry/tools.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../telemetry/otlp.ts';
import { browserLogin, CLIENT_ID, CLIENT_SECRET, GATEWAY_AUDIENCE, startCredsUpstream, startTokenServer, startUpstreamAs, type CredsUpstream, type Proc, type TokenServer } from './creds-helpers.ts';

const LF = { publicKey: 'pk-lf-leaks', secretKey: 'sk-lf-leaks-secret' };
const API_KEY = 'leak-test-api-key-0123456789';
const SERVICE = 'portcullis-creds-leaks';
/** Every token in play is a JWT (the caller's, the exchanged one, the upstream's OAuth access token): none may show. */
const JWT = /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/;

describe('per-user upstream credentials never leak: not in traces (Jaeger), the Langfuse export, logs or /config_dump', () => {
  let jaeger: Jaeger;
  let langfuse: OtlpReceiver;
  let ts: TokenServer;
  let authServer: Proc;
  let upTx: CredsUpstream;
  let upOauth: CredsUpstream;
  let gw: TestGateway;
  const clients: Client[] = [];
  const secrets: string[] = [API_KEY, CLIENT_SECRET, 'gateway-oauth-secret', Buffer.alloc(32, 9).toString('base64')];

  before(async () => {
    [jaeger, langfuse, ts, authServer] = await Promise.all([startJaeger(), startOtlpReceiver({ auth: LF }), startTokenServer(120), startUpstreamAs(600)]);
    [upTx, upOauth] = await Promise.all([
      startCredsUpstream({ jwks: `${ts.url}/jwks`, audience: 'urn:upstream:tools' }),
      startCredsUpstream({ jwks: `${authServer.url}/jwks`, audience: 'urn:upstream:oauth' }),
    ]);
    const jwtAuth = { issuer: ts.url, audiences: [GATEWAY_AUDIENCE], jwks: { url: `${ts.url}/jwks` } };
    const tokenExchange = { tokenEndpoint: `${ts.url}/token`, audience: 'urn:upstream:tools', clientId: CLIENT_ID, clientSecret: { secret: CLIENT_SECRET } };
    const oauth = {
      name: 'tools',
      authorizationEndpoint: `${authServer.url}/auth`,
      tokenEndpoint: `${authServer.url}/token`,
      clientId: 'gateway-oauth-client',
      clientSecret: { secret: 'gateway-oauth-secret' },
      scopes: ['openid', 'offline_access', 'tools'],
      redirectUri: '/oauth/callback',
      encryptionKey: { secret: Buffer.alloc(32, 9).toString('base64') },
    };
    const apiKey = { header: 'x-api-key', keys: [{ name: 'hana', sha256: sha256Hex(API_KEY) }] };
    gw = await startTestGateway(
      simpleConfig(
        [
          { name: 'oauth-callback', matches: [{ path: { exact: '/oauth/callback' } }], policies: { upstreamOAuthCallback: {} } },
          { name: 'tx', matches: [{ path: { pathPrefix: '/tx' } }], policies: { jwtAuth, backendAuth: { tokenExchange } }, backends: [{ mcp: { targets: [{ name: 'up', mcp: { url: `${upTx.url}/mcp` } }] } }] },
          { name: 'tx-rest', matches: [{ path: { pathPrefix: '/api' } }], policies: { jwtAuth, backendAuth: { tokenExchange } }, backends: [{ host: `127.0.0.1:${upTx.port}` }] },
          { name: 'oauth', matches: [{ path: { pathPrefix: '/oauth-mcp' } }], policies: { apiKey, backendAuth: { oauth } }, backends: [{ mcp: { targets: [{ name: 'up', mcp: { url: `${upOauth.url}/mcp` } }] } }] },
        ] as any,
        {
          ...MCP_TEST_EXTRA,
          admin: { address: '127.0.0.1:0' },
          // The most telling settings: debug logs, full content to Langfuse, every span to Jaeger.
          logging: { level: 'debug' },
          tracing: { endpoint: jaeger.otlpUrl, scheduledDelayMs: 100, serviceName: SERVICE },
          langfuse: { publicKey: { secret: LF.publicKey }, secretKey: { secret: LF.secretKey }, baseUrl: langfuse.url, flushIntervalMs: 50, captureContent: 'full' },
        } as any,
      ),
    );
    await fetch(`${authServer.url}/configure`, { method: 'POST', body: JSON.stringify({ redirectUri: `${gw.url()}/oauth/callback` }) });
  });
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gw?.close();
    await Promise.allSettled([upTx, upOauth, ts, authServer, langfuse, jaeger].map((p) => p?.close()));
  });

  it('token exchange and upstream OAuth calls (MCP, REST, a refused call, a login) leave no token or secret anywhere', async () => {
    // Token exchange: the caller's token, and the exchanged one, cross the gateway on MCP and REST calls.
    const { token: caller } = await ts.mint('hana');
    secrets.push(caller);
    const tx = await connectClient(`${gw.url()}/tx`, { headers: { authorization: `Bearer ${caller}` } });
    clients.push(tx);
    assert.equal(text(await tx.callTool({ name: 'whoami', arguments: {} })), 'user=hana');
    const rest = await fetch(`${gw.url()}/api/whoami`, { headers: { authorization: `Bearer ${caller}` } });
    assert.deepEqual(await rest.json(), { user: 'hana' });
    const { token: expired } = await ts.mint('hana', { ttl: -60 });
    secrets.push(expired);
    assert.equal((await fetch(`${gw.url()}/api/whoami`, { headers: { authorization: `Bearer ${expired}` } })).status, 401);

    // Upstream OAuth: the elicitation, the login, the callback redeeming the code, then calls with the user's token.
    const oauthClient = await connectClient(`${gw.url()}/oauth-mcp`, { headers: { 'x-api-key': API_KEY }, capabilities: { elicitation: { url: {} } } });
    clients.push(oauthClient);
    const err = await oauthClient.callTool({ name: 'whoami', arguments: {} }).then(
      () => assert.fail('called without a link'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof UrlElicitationRequiredError);
    const callback = await browserLogin(err.elicitations[0].url, 'hana');
    const code = new URL(callback).searchParams.get('code')!;
    secrets.push(code);
    assert.equal((await fetch(callback)).status, 200);
    assert.equal(text(await oauthClient.callTool({ name: 'whoami', arguments: {} })), 'user=hana');

    // Everything exported: wait for the tools/call spans of both routes in Jaeger and in the Langfuse export.
    const traces = await waitForTraces(jaeger, (all) => all.filter((s) => /tools\/call/.test(s.operationName)).length >= 2);
    await langfuse.waitFor((spans) => spans.filter((s) => /tools\/call/.test(s.name)).length >= 2);
    const dump = await (await fetch(`http://127.0.0.1:${gw.running.admin!.port}/config_dump`)).text();
    const places: Record<string, string> = {
      'Jaeger traces': JSON.stringify(traces),
      'the Langfuse export': JSON.stringify(langfuse.spans, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
      'the logs': gw.logs.raw(),
      '/config_dump': dump,
    };
    for (const [where, content] of Object.entries(places)) {
      assert.ok(content.length > 100, `${where} is empty: the check would prove nothing`);
      assert.ok(!JWT.test(content), `a token is in ${where}: ${JWT.exec(content)?.[0].slice(0, 24)}...`);
      for (const secret of secrets) assert.ok(!content.includes(secret), `a secret (${secret.slice(0, 6)}...) is in ${where}`);
    }
    // The check is live: the Langfuse export carries the tool's answer in full, and Jaeger the routes' spans.
    assert.ok(places['the Langfuse export'].includes('user=hana'));
    assert.ok(places['Jaeger traces'].includes('tools/call'));
  });
});

/** Every span Jaeger holds for the gateway's service, polled until `done` holds (bounded to 15 s). */
async function waitForTraces(jaeger: Jaeger, done: (spans: Array<{ operationName: string }>) => boolean): Promise<unknown[]> {
  const end = Date.now() + 15_000;
  let spans: Array<{ operationName: string }> = [];
  let traces: unknown[] = [];
  while (Date.now() < end) {
    const res = await fetch(`${jaeger.queryUrl}/api/traces?service=${SERVICE}&limit=1000&lookback=1h`);
    if (res.ok) {
      traces = ((await res.json()) as { data?: Array<{ spans: Array<{ operationName: string }> }> }).data ?? [];
      spans = (traces as Array<{ spans: Array<{ operationName: string }> }>).flatMap((t) => t.spans);
      if (done(spans)) return traces;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`jaeger: the expected spans did not arrive within 15 s: ${spans.map((s) => s.operationName).join(', ')}`);
}
