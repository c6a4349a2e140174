import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, fixtureStdio, MCP_TEST_EXTRA, mcpRoute, startEverything, startHttpFixture, text, waitUntil, type RunningServer } from '../helpers/mcp.ts';
import { startStylesServer, type StylesServer } from '../fixtures/openapi/styles-server.ts';

const STYLES = fileURLToPath(new URL('../fixtures/openapi/styles.yaml', import.meta.url));

const V = '2026-07-28';
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': V,
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

async function connectV2(url: string, mode: 'auto' | { pin: string }): Promise<ClientV2> {
  const client = new ClientV2({ name: 'portcullis-test-v2', version: '1.0.0' }, { versionNegotiation: { mode } });
  await client.connect(new HttpV2(new URL(url)));
  return client;
}

/** One raw 2026-07-28 POST; headers mirror the body unless `headers` replaces them. */
async function post(url: string, body: Record<string, any>, headers: Record<string, string> = {}) {
  const mirrored: Record<string, string> = { 'mcp-protocol-version': V, 'mcp-method': String(body.method) };
  const name = body.params?.name ?? body.params?.uri;
  if (typeof name === 'string') mirrored['mcp-name'] = name;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...mirrored, ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', ...body }),
  });
  const raw = await res.text();
  return { status: res.status, body: raw ? JSON.parse(raw) : undefined, headers: res.headers };
}

// 2026-07-28 clients (SDK v2 pinned and auto) and 2025 clients (SDK v1) on one route of 2025-era targets: a
// stdio fixture and a streamable HTTP fixture, multiplexed with prefixes.
describe('MCP eras: 2026-07-28 and 2025 clients on 2025-era targets', () => {
  let beta: RunningServer;
  let gw: TestGateway;
  let url: string;

  before(async () => {
    beta = await startHttpFixture('beta');
    gw = await startTestGateway(simpleConfig([mcpRoute([fixtureStdio('alpha'), { name: 'beta', mcp: { url: beta.url } }])], MCP_TEST_EXTRA));
    url = `${gw.url()}/mcp`;
  });
  after(async () => {
    await gw?.close();
    await beta?.close();
  });

  for (const mode of [{ pin: V }, 'auto'] as const) {
    it(`SDK v2 client (${typeof mode === 'string' ? mode : `pinned to ${mode.pin}`}): discovers, lists, calls, reads, gets prompts across both targets without a session`, async () => {
      const client = await connectV2(url, mode);
      try {
        assert.equal(client.getNegotiatedProtocolVersion(), V);
        const { tools } = await client.listTools();
        const names = tools.map((t) => t.name);
        assert.ok(names.includes('alpha_echo') && names.includes('beta_echo'), names.join(','));
        assert.equal(text(await client.callTool({ name: 'alpha_echo', arguments: { text: 'hi' } })), 'alpha: hi');
        assert.equal(text(await client.callTool({ name: 'beta_echo', arguments: { text: 'yo' } })), 'beta: yo');
        const { resources } = await client.listResources();
        const info = resources.find((r) => r.uri === 'portcullis://beta/fixture://beta/info');
        assert.ok(info, resources.map((r) => r.uri).join(','));
        const read = await client.readResource({ uri: info.uri });
        assert.equal((read.contents[0] as { text: string }).text, 'beta read fixture://beta/info');
        const prompt = await client.getPrompt({ name: 'alpha_greet', arguments: { who: 'v2' } });
        assert.equal((prompt.messages[0].content as { text: string }).text, 'alpha greets v2');
      } finally {
        await client.close();
      }
    });
  }

  it('SDK v1 client on the same route still gets a 2025 session', async () => {
    const client = await connectClient(url);
    try {
      assert.ok(client.getServerVersion()?.name === 'portcullis');
      assert.equal(text(await client.callTool({ name: 'beta_echo', arguments: { text: 'v1' } })), 'beta: v1');
      await client.ping();
    } finally {
      await client.close();
    }
  });

  it('server/discover: every version the gateway speaks, the targets\' capabilities, caching hints, no session id', async () => {
    const r = await post(url, { id: 1, method: 'server/discover', params: { _meta: ENVELOPE } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('mcp-session-id'), null);
    assert.deepEqual(r.body.result.supportedVersions, ['2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05']);
    assert.equal(r.body.result.resultType, 'complete');
    assert.deepEqual(r.body.result._meta['io.modelcontextprotocol/serverInfo'], { name: 'portcullis', version: '0.1.0' });
    for (const key of ['tools', 'prompts', 'resources', 'completions']) assert.ok(key in r.body.result.capabilities, key);
    // 2025-era targets give no hints: the most conservative one stands.
    assert.equal(r.body.result.ttlMs, 0);
    assert.equal(r.body.result.cacheScope, 'private');
    assert.match(r.body.result.instructions, /\[alpha\] fixture alpha/);
  });

  it('list and read results carry resultType, serverInfo and the most conservative caching hint of the targets', async () => {
    const list = await post(url, { id: 2, method: 'tools/list', params: { _meta: ENVELOPE } });
    assert.equal(list.status, 200);
    assert.equal(list.body.result.resultType, 'complete');
    assert.equal(list.body.result.ttlMs, 0);
    assert.equal(list.body.result.cacheScope, 'private');
    assert.equal(list.body.result.nextCursor, undefined);
    const read = await post(url, { id: 3, method: 'resources/read', params: { _meta: ENVELOPE, uri: 'portcullis://alpha/fixture://alpha/info' } });
    assert.equal(read.body.result.contents[0].text, 'alpha read fixture://alpha/info');
    assert.equal(read.body.result.ttlMs, 0);
    const call = await post(url, { id: 4, method: 'tools/call', params: { _meta: ENVELOPE, name: 'alpha_echo', arguments: { text: 'raw' } } });
    assert.equal(call.body.result.content[0].text, 'alpha: raw');
    assert.equal(call.body.result.resultType, 'complete');
    assert.equal(call.body.result.ttlMs, undefined);
  });

  it('progress notifications of a 2026-07-28 request stream on its own response', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': V, 'mcp-method': 'tools/call', 'mcp-name': 'alpha_progress' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { _meta: { ...ENVELOPE, progressToken: 'p1' }, name: 'alpha_progress', arguments: { steps: 2 } } }),
    });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const events = (await res.text()).split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
    assert.deepEqual(events.filter((e) => e.method === 'notifications/progress').map((e) => e.params.progress), [1, 2]);
    assert.equal(events.at(-1).result.content[0].text, 'done 2');
  });

  /** Opens a subscriptions/listen stream; `next()` resolves with each SSE message in turn. */
  async function listen(id: number, notifications: Record<string, unknown>) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': V, 'mcp-method': 'subscriptions/listen' },
      body: JSON.stringify({ jsonrpc: '2.0', id, method: 'subscriptions/listen', params: { _meta: ENVELOPE, notifications } }),
    });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    const next = async (): Promise<any> => {
      for (;;) {
        const m = /^data: (.*)$/m.exec(buffered);
        if (m) {
          buffered = buffered.slice(buffered.indexOf(m[0]) + m[0].length);
          return JSON.parse(m[1]);
        }
        const { value, done } = await reader.read();
        if (done) return undefined;
        buffered += decoder.decode(value, { stream: true });
      }
    };
    return { res, next, close: () => reader.cancel() };
  }

  it('subscriptions/listen: acknowledged first, then the resource updates and list changes it asked for, tagged with its id', async () => {
    const info = 'portcullis://alpha/fixture://alpha/info';
    const l = await listen(41, { toolsListChanged: true, resourceSubscriptions: [info], promptsListChanged: false });
    assert.equal(l.res.headers.get('content-type'), 'text/event-stream');
    const ack = await l.next();
    assert.deepEqual(ack, {
      jsonrpc: '2.0',
      method: 'notifications/subscriptions/acknowledged',
      params: { _meta: { 'io.modelcontextprotocol/subscriptionId': 41 }, notifications: { toolsListChanged: true, resourceSubscriptions: [info] } },
    });
    // The 2025 target was subscribed to the resource upstream; the fixture announces an update right after.
    const updated = await l.next();
    assert.deepEqual(updated, { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: info, _meta: { 'io.modelcontextprotocol/subscriptionId': 41 } } });
    const call = await post(url, { id: 42, method: 'tools/call', params: { _meta: ENVELOPE, name: 'alpha_add-tool', arguments: {} } });
    assert.equal(call.body.result.content[0].text, 'added');
    const changed = await l.next();
    assert.equal(changed.method, 'notifications/tools/list_changed');
    assert.equal(changed.params._meta['io.modelcontextprotocol/subscriptionId'], 41);
    await l.close();
  });

  describe('bad input: refused as the spec says, logged, nothing else disturbed', () => {
    it('Mcp-Name contradicting the body: 400, -32020, logged with its code', async () => {
      const r = await post(url, { id: 10, method: 'tools/call', params: { _meta: ENVELOPE, name: 'alpha_echo', arguments: { text: 'x' } } }, { 'mcp-name': 'beta_echo' });
      assert.equal(r.status, 400);
      assert.equal(r.body.id, 10);
      assert.equal(r.body.error.code, -32020);
      assert.equal(r.body.error.message, 'Header mismatch: Mcp-Name header names "beta_echo" but the body carries params.name="alpha_echo"');
      const line = await gw.logs.waitFor((l) => l.code === 'PCL_ERR_MCP_HEADER_MISMATCH' && l.rpcCode === -32020);
      assert.equal(line.method, 'tools/call');
    });

    it('Mcp-Method contradicting the body, a missing Mcp-Name, a bad Base64 sentinel: 400, -32020', async () => {
      const method = await post(url, { id: 11, method: 'tools/list', params: { _meta: ENVELOPE } }, { 'mcp-method': 'tools/call' });
      assert.equal(method.status, 400);
      assert.equal(method.body.error.code, -32020);
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'mcp-protocol-version': V, 'mcp-method': 'tools/call' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 12, method: 'tools/call', params: { _meta: ENVELOPE, name: 'alpha_echo' } }),
      });
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as any).error.message, 'Header mismatch: the required Mcp-Name header is missing (the body carries params.name)');
      const bad = await post(url, { id: 13, method: 'tools/call', params: { _meta: ENVELOPE, name: 'alpha_echo' } }, { 'mcp-name': '=?base64?not base64!?=' });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, -32020);
      // A Base64-encoded name that decodes to the body's is accepted.
      const ok = await post(url, { id: 14, method: 'tools/call', params: { _meta: ENVELOPE, name: 'alpha_echo', arguments: { text: 'b64' } } }, {
        'mcp-name': `=?base64?${Buffer.from('alpha_echo').toString('base64')}?=`,
      });
      assert.equal(ok.body.result.content[0].text, 'alpha: b64');
    });

    it('MCP-Protocol-Version header contradicting _meta: 400, -32020', async () => {
      const r = await post(url, { id: 15, method: 'tools/list', params: { _meta: { ...ENVELOPE, 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } } }, { 'mcp-protocol-version': '2099-01-01' });
      assert.equal(r.status, 400);
      assert.equal(r.body.error.code, -32020);
    });

    it('an unknown version in _meta: 400, -32022 with the supported versions', async () => {
      const r = await post(url, { id: 16, method: 'tools/list', params: { _meta: { ...ENVELOPE, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } } }, { 'mcp-protocol-version': '2099-01-01' });
      assert.equal(r.status, 400);
      assert.deepEqual(r.body.error, {
        code: -32022,
        message: 'Unsupported protocol version',
        data: { supported: ['2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'], requested: '2099-01-01' },
      });
      await gw.logs.waitFor((l) => l.code === 'PCL_ERR_MCP_PROTOCOL_VERSION' && l.rpcCode === -32022);
    });

    it('a modern header without the version in _meta, or without client capabilities: 400, -32602', async () => {
      const none = await post(url, { id: 17, method: 'tools/list', params: {} });
      assert.equal(none.status, 400);
      assert.equal(none.body.error.code, -32602);
      assert.deepEqual(none.body.error.data, { envelope: { missing: ['io.modelcontextprotocol/protocolVersion', 'io.modelcontextprotocol/clientCapabilities'] } });
      const noCaps = await post(url, { id: 18, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': V } } });
      assert.equal(noCaps.status, 400);
      assert.equal(noCaps.body.error.message, 'Invalid params: the request is missing the required _meta key(s) io.modelcontextprotocol/clientCapabilities');
      await gw.logs.waitFor((l) => l.code === 'PCL_ERR_MCP_ENVELOPE_INVALID');
    });

    it('2025-only methods, a modern batch, GET and DELETE with a modern header: refused', async () => {
      for (const method of ['ping', 'initialize', 'logging/setLevel', 'resources/subscribe']) {
        const r = await post(url, { id: 19, method, params: { _meta: ENVELOPE } });
        assert.equal(r.status, 404, method);
        assert.equal(r.body.error.code, -32601, method);
      }
      const batch = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: ENVELOPE } }]),
      });
      assert.equal(batch.status, 400);
      assert.equal(((await batch.json()) as any).error.code, -32600);
      for (const method of ['GET', 'DELETE']) {
        const r = await fetch(url, { method, headers: { 'mcp-protocol-version': V, accept: 'text/event-stream' } });
        assert.equal(r.status, 405, method);
        await r.arrayBuffer();
      }
    });

    it('a subscriptions/listen flood: past 16 open streams per caller refused in-band (-32603), logged; other requests served', async () => {
      const open = [];
      for (let i = 0; i < 16; i++) {
        const l = await listen(100 + i, { toolsListChanged: true });
        await l.next();
        open.push(l);
      }
      const refused = await post(url, { id: 200, method: 'subscriptions/listen', params: { _meta: ENVELOPE, notifications: { toolsListChanged: true } } });
      assert.equal(refused.status, 200);
      assert.equal(refused.body.error.code, -32603);
      assert.equal(refused.body.error.data.code, 'PCL_ERR_MCP_LISTEN_LIMIT');
      await gw.logs.waitFor((l) => l.code === 'PCL_ERR_MCP_LISTEN_LIMIT');
      const call = await post(url, { id: 201, method: 'tools/call', params: { _meta: ENVELOPE, name: 'beta_echo', arguments: { text: 'still' } } });
      assert.equal(call.body.result.content[0].text, 'beta: still');
      for (const l of open) await l.close();
      // Closed streams free their places.
      await waitUntil(async () => {
        const again = await listen(300, { toolsListChanged: true });
        const first = await again.next();
        await again.close();
        return first?.method === 'notifications/subscriptions/acknowledged';
      }, 10_000, 'a listen place to free');
    });

    it('a concurrent subscriptions/listen flood is held to the same 16 (places are counted before the first await)', async () => {
      const all = await Promise.all(Array.from({ length: 40 }, (_, i) => listen(400 + i, { toolsListChanged: true })));
      const streams = all.filter((l) => String(l.res.headers.get('content-type')).includes('text/event-stream'));
      const refused = all.filter((l) => !streams.includes(l));
      assert.equal(streams.length, 16);
      assert.equal(refused.length, 24);
      for (const l of refused) assert.equal(l.res.status, 200); // refused in-band, as the sequential flood above checks
      await gw.logs.waitFor((l) => l.code === 'PCL_ERR_MCP_LISTEN_LIMIT');
      for (const l of refused) await l.close();
      for (const l of streams) await l.close();
    });

    it('after all of it, a 2025 session and a 2026-07-28 client on the route work as before', async () => {
      const [v1, v2] = await Promise.all([connectClient(url), connectV2(url, { pin: V })]);
      try {
        const [a, b] = await Promise.all([v1.callTool({ name: 'alpha_echo', arguments: { text: 1 } }), v2.callTool({ name: 'beta_echo', arguments: { text: 2 } })]);
        assert.equal(text(a), 'alpha: 1');
        assert.equal(text(b), 'beta: 2');
      } finally {
        await Promise.all([v1.close(), v2.close()]);
      }
    });
  });
});

// One policy surface: the era reaches authorization input and telemetry, and nothing else differs.
describe('MCP eras: policies and telemetry see the era, not a different message', () => {
  let gw: TestGateway;
  let url: string;

  before(async () => {
    const rule = 'mcp.tool.name == "whoami" || (mcp.tool.name == "echo" && has(mcp.protocolVersion) && mcp.protocolVersion == "2026-07-28")';
    gw = await startTestGateway(simpleConfig([{ ...mcpRoute([fixtureStdio('solo', 'eras-policy')], { prefixMode: 'never' }), policies: { mcpAuthorization: { rules: [rule] } } }], MCP_TEST_EXTRA));
    url = `${gw.url()}/mcp`;
  });
  after(async () => {
    await gw?.close();
  });

  it('a CEL rule on mcp.protocolVersion lets the 2026-07-28 client call echo and refuses the 2025 session the same call', async () => {
    const [v1, v2] = await Promise.all([connectClient(url), connectV2(url, { pin: V })]);
    try {
      assert.equal(text(await v2.callTool({ name: 'echo', arguments: { text: 'modern' } })), 'solo: modern');
      const refused = await v1.callTool({ name: 'echo', arguments: { text: 'legacy' } }).then((r) => JSON.stringify(r), (e: Error) => e.message);
      assert.match(refused, /Unknown tool: echo/);
      // Both eras are refused the same way for a tool no rule allows.
      for (const client of [v1, v2] as Array<{ callTool(p: unknown): Promise<unknown> }>) {
        const r = await client.callTool({ name: 'slow', arguments: {} }).then((x) => JSON.stringify(x), (e: Error) => e.message);
        assert.match(r, /Unknown tool: slow/);
      }
    } finally {
      await Promise.all([v1.close(), v2.close()]);
    }
  });

  it('the access log names the protocol version of each era, and a 2026-07-28 line has no session id', async () => {
    const r = await post(url, { id: 1, method: 'tools/call', params: { _meta: ENVELOPE, name: 'whoami', arguments: {} } });
    assert.equal(r.status, 200);
    const line = await gw.logs.waitFor((l) => l.type === 'access' && l['mcp.protocol.version'] === V);
    assert.equal(line['mcp.method.name'], 'tools/call');
    assert.equal(line['mcp.session.id'], undefined);
    const v1 = await connectClient(url);
    await v1.callTool({ name: 'whoami', arguments: {} });
    await v1.close();
    const legacy = await gw.logs.waitFor((l) => l.type === 'access' && l['mcp.protocol.version'] === '2025-11-25' && l['mcp.method.name'] === 'tools/call');
    assert.ok(legacy['mcp.session.id']);
  });
});

// The other target kinds behind a 2026-07-28 client: legacy SSE (server-everything) and OpenAPI. A call gets the
// same answer in both eras.
describe('MCP eras: 2026-07-28 clients on legacy SSE and OpenAPI targets', () => {
  let sse: RunningServer;
  let styles: StylesServer;
  let gw: TestGateway;

  before(async () => {
    [sse, styles] = await Promise.all([startEverything('sse'), startStylesServer()]);
    gw = await startTestGateway(
      simpleConfig(
        [
          { ...mcpRoute([{ name: 'everything', sse: { url: sse.url } }], {}, 'sse'), matches: [{ path: { pathPrefix: '/over-sse' } }] },
          { ...mcpRoute([{ name: 'styles', openapi: { schema: { file: STYLES }, url: `http://127.0.0.1:${styles.port}/api` } }], {}, 'openapi'), matches: [{ path: { pathPrefix: '/openapi' } }] },
        ],
        MCP_TEST_EXTRA,
      ),
    );
  });
  after(async () => {
    await gw?.close();
    await Promise.all([sse?.close(), styles?.close()]);
  });

  for (const [prefix, tool, args] of [
    ['/over-sse', 'echo', { message: 'both eras' }],
    ['/openapi', 'status', { code: 200 }],
  ] as const) {
    it(`${prefix}: the same tools and the same answer for an SDK v1 and an SDK v2 (2026-07-28) client`, async () => {
      const [v1, v2] = await Promise.all([connectClient(`${gw.url()}${prefix}/mcp`), connectV2(`${gw.url()}${prefix}/mcp`, { pin: V })]);
      try {
        assert.equal(v2.getNegotiatedProtocolVersion(), V);
        const [t1, t2] = await Promise.all([v1.listTools(), v2.listTools()]);
        assert.deepEqual(t2.tools.map((t) => t.name), t1.tools.map((t) => t.name));
        const [r1, r2] = await Promise.all([v1.callTool({ name: tool, arguments: args }), v2.callTool({ name: tool, arguments: args })]);
        assert.deepEqual((r2 as { content: unknown }).content, (r1 as { content: unknown }).content);
      } finally {
        await Promise.all([v1.close(), v2.close()]);
      }
    });
  }
});
