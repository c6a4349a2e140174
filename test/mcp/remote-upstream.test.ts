import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { createTestPki, type TestPki } from '../helpers/certs.ts';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, MCP_TEST_EXTRA, mcpRoute, text } from '../helpers/mcp.ts';
import { startMcpTestServer, type McpTestServer } from '../fixtures/upstream/mcp-server.ts';
import { upstreamChannel, type UpstreamAttemptEvent } from '../../core/telemetry/events.ts';

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1.0.0' } },
});

/** An initialize POSTed by hand, to read the gateway's error as it is sent. */
async function initialize(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: INITIALIZE });
  return { status: res.status, body: await res.json() };
}

describe('remote MCP targets go through the route upstream: backend TLS, backendAuth, timeouts', () => {
  let pki: TestPki;
  let other: TestPki;
  let secure: McpTestServer;
  let plain: McpTestServer;
  let gw: TestGateway;
  const clients: Client[] = [];

  before(async () => {
    pki = createTestPki(['backend.test']);
    other = createTestPki(['backend.test']);
    // Mutual TLS: the server requires a client certificate from the test CA, and a credential on every request.
    secure = await startMcpTestServer({
      tls: { cert: pki.read(pki.serverCert), key: pki.read(pki.serverKey), ca: pki.read(pki.ca) },
      credentials: ['Bearer route-a-token', 'Bearer route-b-token'],
    });
    plain = await startMcpTestServer({ credentials: ['Bearer slow-token'], slowMs: 4000 });
    const tls = { root: pki.ca, cert: pki.clientCert, key: pki.clientKey, sni: 'backend.test' };
    const auth = (token: string) => ({ credential: { secret: token }, prefix: 'Bearer ' });
    const route = (name: string, target: Record<string, unknown>, policies: Record<string, unknown>) => ({
      ...mcpRoute([{ name: 'secure', ...target }], {}, name),
      matches: [{ path: { pathPrefix: `/${name}` } }],
      policies,
    });
    const streamable = { mcp: { host: '127.0.0.1', port: secure.port, path: '/mcp' } };
    gw = await startTestGateway(
      simpleConfig(
        [
          route('secure-http', streamable, { backendTLS: tls, backendAuth: auth('route-a-token') }),
          route('secure-b', streamable, { backendTLS: tls, backendAuth: auth('route-b-token') }),
          route('secure-sse', { sse: { url: secure.url('sse') } }, { backendTLS: tls, backendAuth: auth('route-a-token') }),
          route('no-credential', streamable, { backendTLS: tls }),
          route('untrusted', streamable, { backendTLS: { ...tls, root: other.ca }, backendAuth: auth('route-a-token') }),
          {
            ...mcpRoute([{ name: 'plain', mcp: { url: plain.url('mcp') } }], {}, 'slow'),
            matches: [{ path: { pathPrefix: '/slow' } }],
            policies: { backendAuth: auth('slow-token'), timeout: { backendRequestTimeoutMs: 500 } },
          },
        ],
        MCP_TEST_EXTRA,
      ),
    );
  });
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gw?.close();
    await Promise.allSettled([secure?.close(), plain?.close()]);
  });

  const connect = async (path: string, sse = false) => {
    const client = await connectClient(`${gw.url()}${path}`, { sse });
    clients.push(client);
    return client;
  };

  it('a streamable HTTP target is reached over mutual TLS with SNI, carrying the route credential', async () => {
    const events: UpstreamAttemptEvent[] = [];
    const onStart = (e: unknown) => events.push(e as UpstreamAttemptEvent);
    upstreamChannel.start.subscribe(onStart);
    try {
      const client = await connect('/secure-http/mcp');
      const tools = await client.listTools();
      assert.deepEqual(tools.tools.map((t) => t.name).sort(), ['slow', 'whoami']);
      assert.equal(text(await client.callTool({ name: 'whoami', arguments: {} })), 'Bearer route-a-token');
    } finally {
      upstreamChannel.start.unsubscribe(onStart);
    }
    // Each call to the target is an attempt of the route's upstream, published like an HTTP backend's.
    const posts = events.filter((e) => e.method === 'POST');
    assert.ok(posts.length >= 3, 'initialize, initialized, tools/list, tools/call');
    for (const e of posts) {
      assert.deepEqual([e.route, e.backend, e.origin, e.path, e.attempt], ['secure-http', `127.0.0.1:${secure.port}`, `https://127.0.0.1:${secure.port}`, '/mcp', 0]);
      assert.ok(e.status === 200 || e.status === 202, String(e.status));
    }
  });

  it('a legacy SSE target is reached over mutual TLS, carrying the route credential on the stream and on every POST', async () => {
    const before = secure.seen.length;
    const client = await connect('/secure-sse/sse', true);
    assert.equal(text(await client.callTool({ name: 'whoami', arguments: {} })), 'Bearer route-a-token');
    const seen = secure.seen.slice(before);
    assert.ok(seen.length >= 3, `GET /sse, initialize, initialized, tools/call: ${JSON.stringify(seen)}`);
    assert.deepEqual([...new Set(seen)], ['Bearer route-a-token']);
  });

  it('without backendAuth the target refuses the session (401), and the route answers 502 with the cause', async () => {
    const rejected = secure.rejected;
    const res = await initialize(`${gw.url()}/no-credential/mcp`);
    assert.equal(res.status, 502);
    assert.deepEqual(res.body, {
      error: {
        code: 'PCL_ERR_MCP_UPSTREAM_FAILED',
        message: 'route "no-credential": the MCP session could not start: target "secure": target "secure" is unavailable: upstream answered HTTP 401: missing or wrong credential',
      },
    });
    assert.equal(secure.rejected, rejected + 1);
    const client = await connect('/secure-http/mcp');
    assert.equal(text(await client.callTool({ name: 'whoami', arguments: {} })), 'Bearer route-a-token', 'other routes keep serving');
  });

  it('a target whose certificate the route does not trust is never sent the credential', async () => {
    const seen = secure.seen.length;
    const res = await initialize(`${gw.url()}/untrusted/mcp`);
    assert.equal(res.status, 502);
    assert.equal(res.body.error.code, 'PCL_ERR_MCP_UPSTREAM_FAILED');
    assert.match(
      res.body.error.message,
      new RegExp(`^route "untrusted": the MCP session could not start: target "secure": target "secure" is unavailable: backend 127\\.0\\.0\\.1:${secure.port} unreachable: TLS failed \\(`),
    );
    assert.equal(secure.seen.length, seen, 'no request reached the target');
  });

  it('two routes to one target each send their own credential, even interleaved', async () => {
    const [a, b] = await Promise.all([connect('/secure-http/mcp'), connect('/secure-b/mcp')]);
    const calls: Array<Promise<[string, string]>> = [];
    for (let i = 0; i < 10; i++) {
      calls.push(a.callTool({ name: 'whoami', arguments: {} }).then((r) => ['a', text(r)]));
      calls.push(b.callTool({ name: 'whoami', arguments: {} }).then((r) => ['b', text(r)]));
    }
    for (const [who, credential] of await Promise.all(calls)) assert.equal(credential, who === 'a' ? 'Bearer route-a-token' : 'Bearer route-b-token');
  });

  it('the route timeout bounds each call to the target', async () => {
    const client = await connect('/slow/mcp');
    const started = Date.now();
    await assert.rejects(client.callTool({ name: 'slow', arguments: {} }), (err: any) => {
      assert.equal(err.message, `MCP error -32080: target "plain" is unavailable: backend 127.0.0.1:${plain.port} did not answer within 500 ms`);
      return true;
    });
    assert.ok(Date.now() - started < 3500, `failed after ${Date.now() - started} ms, before the target's 4 s answer`);
    assert.equal(text(await client.callTool({ name: 'whoami', arguments: {} })), 'Bearer slow-token', 'the session keeps serving');
  });
});

describe('remote MCP targets across a reload', () => {
  let pki: TestPki;
  let secure: McpTestServer;
  let gw: TestGateway;
  let client: Client | undefined;
  const config = (token: string, extra: Record<string, unknown> = {}) =>
    simpleConfig(
      [
        {
          ...mcpRoute([{ name: 'secure', mcp: { host: '127.0.0.1', port: secure.port, path: '/mcp' } }], {}, 'reloaded'),
          policies: { backendTLS: { root: pki.ca, cert: pki.clientCert, key: pki.clientKey, sni: 'backend.test' }, backendAuth: { credential: { secret: token }, prefix: 'Bearer ' }, ...extra },
        },
      ],
      MCP_TEST_EXTRA,
    );
  before(async () => {
    pki = createTestPki(['backend.test']);
    secure = await startMcpTestServer({
      tls: { cert: pki.read(pki.serverCert), key: pki.read(pki.serverKey), ca: pki.read(pki.ca) },
      credentials: ['Bearer route-a-token', 'Bearer route-b-token'],
    });
    gw = await startTestGateway(config('route-a-token'));
  });
  after(async () => {
    await client?.close().catch(() => {});
    await gw?.close();
    await secure?.close();
  });

  it('an open session calls through the newest config: a rotated credential applies, a failed reload changes nothing', async () => {
    client = await connectClient(`${gw.url()}/mcp`);
    assert.equal(text(await client.callTool({ name: 'whoami', arguments: {} })), 'Bearer route-a-token');
    await gw.write(config('route-b-token'));
    assert.equal((await gw.running.reload()).ok, true);
    assert.equal(text(await client.callTool({ name: 'whoami', arguments: {} })), 'Bearer route-b-token');
    await gw.write(config('route-c-token', { backendTLS: { root: '/nonexistent/ca.crt' } }));
    assert.equal((await gw.running.reload()).ok, false);
    assert.equal(text(await client.callTool({ name: 'whoami', arguments: {} })), 'Bearer route-b-token');
  });
});

describe('backendAuth passthrough on an MCP route', () => {
  let target: McpTestServer;
  let gw: TestGateway;
  before(async () => {
    target = await startMcpTestServer({ credentials: ['Bearer alice-1', 'Bearer alice-2'] });
    gw = await startTestGateway(
      simpleConfig([{ ...mcpRoute([{ name: 'remote', mcp: { url: target.url('mcp') } }], {}, 'passthrough'), policies: { backendAuth: { passthrough: true } } }], MCP_TEST_EXTRA),
    );
  });
  after(async () => {
    await gw?.close();
    await target?.close();
  });

  const post = async (body: unknown, headers: Record<string, string>) => {
    const res = await fetch(`${gw.url()}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, session: res.headers.get('mcp-session-id'), json: res.status === 202 ? undefined : ((await res.json()) as any) };
  };
  const whoami = async (session: string, authorization: string) =>
    (await post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'whoami', arguments: {} } }, { 'mcp-session-id': session, authorization })).json.result.content[0].text;

  it("sends each call with the credential of the client request it serves, so a refreshed token takes over at once", async () => {
    const init = await post(JSON.parse(INITIALIZE), { authorization: 'Bearer alice-1' });
    assert.equal(init.status, 200);
    const session = init.session!;
    assert.equal((await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': session, authorization: 'Bearer alice-1' })).status, 202);
    assert.equal(await whoami(session, 'Bearer alice-1'), 'Bearer alice-1');
    assert.equal(await whoami(session, 'Bearer alice-2'), 'Bearer alice-2');
  });

  it('a client without the credential the target wants cannot open a session through the gateway', async () => {
    for (const headers of [{}, { authorization: 'Bearer mallory' }] as Array<Record<string, string>>) {
      const init = await post(JSON.parse(INITIALIZE), headers);
      assert.equal(init.status, 502);
      assert.equal(init.json.error.code, 'PCL_ERR_MCP_UPSTREAM_FAILED');
    }
  });
});
