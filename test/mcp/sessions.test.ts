import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, countTagged, fixtureStdio, MCP_TEST_EXTRA, mcpRoute, startHttpFixture, text, tinyStdio, waitUntil, type RunningServer } from '../helpers/mcp.ts';
import { PROXY_CA_ENV } from '../../core/backends/mcp/upstream/stdio.ts';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('MCP sessions', () => {
  const tag = `sess-${randomUUID()}`;
  let gw: TestGateway;
  let http: RunningServer;

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${gw.url()}${path}`, { method: 'POST', headers: { ...HEADERS, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  async function open(path: string): Promise<string> {
    const res = await post(path, INIT);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    return res.headers.get('mcp-session-id')!;
  }

  before(async () => {
    http = await startHttpFixture('remote');
    gw = await startTestGateway(
      simpleConfig(
        [
          { ...mcpRoute([fixtureStdio('a', tag, { warmPool: 0 })], {}, 'plain'), matches: [{ path: { pathPrefix: '/plain' } }] },
          // Each counting test has its route and tag: processes of other tests' sessions may still be exiting. They
          // call only echo and ping: the bare stdio server, whose processes start for a fraction of the CPU.
          { ...mcpRoute([tinyStdio('del', `${tag}-del`, { warmPool: 0 })], {}, 'del'), matches: [{ path: { pathPrefix: '/del' } }] },
          { ...mcpRoute([tinyStdio('idle', `${tag}-idle`, { warmPool: 0 })], { sessionIdleTimeoutMs: 300 }, 'idle'), matches: [{ path: { pathPrefix: '/idle' } }] },
          { ...mcpRoute([tinyStdio('st', `${tag}-st`, { warmPool: 0 })], { statefulMode: 'stateless' }, 'stateless'), matches: [{ path: { pathPrefix: '/stateless' } }] },
          { ...mcpRoute([fixtureStdio('pooled', tag, { warmPool: 1 })], {}, 'pooled'), matches: [{ path: { pathPrefix: '/pooled' } }] },
          { ...mcpRoute([{ name: 'remote', mcp: { url: http.url, headers: { 'x-target-key': 'k-123' } } }], {}, 'remote'), matches: [{ path: { pathPrefix: '/remote' } }] },
        ],
        MCP_TEST_EXTRA,
      ),
    );
  });
  after(async () => {
    await gw?.close();
    await http?.close();
    await waitUntil(() => countTagged(tag) === 0, 5000, 'every tagged process to exit');
  });

  it('rejects bad input with exact codes and messages, and keeps serving', async () => {
    const cases: Array<[Promise<Response>, number, unknown]> = [
      [post('/plain/mcp', { jsonrpc: '2.0', id: 2, method: 'tools/list' }), 400, { error: { code: 'PCL_ERR_MCP_SESSION_REQUIRED', message: 'missing Mcp-Session-Id header: send initialize first and echo the session id it returns' } }],
      [post('/plain/mcp', { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'mcp-session-id': 'nope' }), 404, { error: { code: 'PCL_ERR_MCP_SESSION_NOT_FOUND', message: 'MCP session "nope" does not exist: it expired or was closed; initialize a new one' } }],
      [post('/plain/mcp', INIT, { 'mcp-protocol-version': '2023-01-01' }), 400, { error: { code: 'PCL_ERR_MCP_PROTOCOL_VERSION', message: 'unsupported MCP-Protocol-Version "2023-01-01": this gateway speaks 2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05' } }],
      [post('/plain/mcp', '{not json'), 400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: `Parse error: Expected property name or '}' in JSON at position 1 (line 1 column 2)` } }],
      [post('/plain/mcp', { hello: 'world' }), 400, { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: expected a JSON-RPC 2.0 message or a batch of them' } }],
      [post('/plain/mcp', [INIT, { jsonrpc: '2.0', method: 'notifications/initialized' }]), 400, { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: initialize must be sent alone, not in a batch' } }],
      [fetch(`${gw.url()}/plain/mcp`, { method: 'PUT', body: '{}' }), 405, { error: { code: 'PCL_ERR_MCP_METHOD_NOT_ALLOWED', message: 'method PUT is not allowed on an MCP endpoint: use POST, GET or DELETE' } }],
      [fetch(`${gw.url()}/plain/mcp`, { headers: { accept: 'text/event-stream' } }), 400, { error: { code: 'PCL_ERR_MCP_SESSION_REQUIRED', message: 'missing Mcp-Session-Id header: send initialize first and echo the session id it returns' } }],
      [fetch(`${gw.url()}/plain/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': 'gone' } }), 404, { error: { code: 'PCL_ERR_MCP_SESSION_NOT_FOUND', message: 'MCP session "gone" does not exist: it expired or was closed; initialize a new one' } }],
      [post('/plain/message?sessionId=zzz', INIT), 404, { error: { code: 'PCL_ERR_MCP_SESSION_NOT_FOUND', message: 'MCP session "zzz" does not exist: it expired or was closed; initialize a new one' } }],
      [fetch(`${gw.url()}/stateless/mcp`, { headers: { accept: 'text/event-stream' } }), 405, { error: { code: 'PCL_ERR_MCP_METHOD_NOT_ALLOWED', message: 'GET is not served in stateless mode: there is no session to stream' } }],
    ];
    for (const [pending, status, body] of cases) {
      const res = await pending;
      assert.equal(res.status, status, JSON.stringify(body));
      assert.deepEqual(await res.json(), body);
    }
    const client = await connectClient(`${gw.url()}/plain/mcp`);
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'fine' } })), 'a: fine');
    await client.close();
  });

  it('answers a batch with an array, and notifications alone with 202', async () => {
    const id = await open('/plain/mcp');
    const h = { 'mcp-session-id': id };
    const note = await post('/plain/mcp', { jsonrpc: '2.0', method: 'notifications/initialized' }, h);
    assert.equal(note.status, 202);
    const res = await post('/plain/mcp', [{ jsonrpc: '2.0', id: 'p', method: 'ping' }, { jsonrpc: '2.0', id: 'e', method: 'tools/call', params: { name: 'echo', arguments: { text: 'b' } } }], h);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Array<{ id: string; result: any }>;
    assert.deepEqual(body.map((r) => r.id), ['p', 'e']);
    assert.equal(body[1].result.content[0].text, 'a: b');
    assert.equal((await fetch(`${gw.url()}/plain/mcp`, { method: 'DELETE', headers: h })).status, 200);
  });

  it('DELETE closes the upstream session and stops its process', async () => {
    const tagOf = () => countTagged(`${tag}-del`);
    assert.equal(tagOf(), 0);
    const id = await open('/del/mcp');
    assert.equal(tagOf(), 1);
    const del = await fetch(`${gw.url()}/del/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': id } });
    assert.equal(del.status, 200);
    await waitUntil(() => tagOf() === 0, 5000, 'the session process to exit');
    const again = await post('/del/mcp', { jsonrpc: '2.0', id: 3, method: 'ping' }, { 'mcp-session-id': id });
    assert.equal(again.status, 404);
    await again.arrayBuffer();
  });

  it('idle expiry closes the session and stops its process', async () => {
    const id = await open('/idle/mcp');
    assert.equal(countTagged(`${tag}-idle`), 1);
    await waitUntil(() => countTagged(`${tag}-idle`) === 0, 5000, 'the idle session process to exit');
    const res = await post('/idle/mcp', { jsonrpc: '2.0', id: 3, method: 'ping' }, { 'mcp-session-id': id });
    assert.equal(res.status, 404);
    await res.arrayBuffer();
  });

  it('stateless: no session id, every request served and its processes stopped', async () => {
    const init = await post('/stateless/mcp', INIT);
    assert.equal(init.status, 200);
    assert.equal(init.headers.get('mcp-session-id'), null);
    await init.arrayBuffer();
    for (let i = 0; i < 3; i++) {
      const res = await post('/stateless/mcp', { jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'echo', arguments: { text: `s${i}` } } });
      const body = (await res.json()) as { result: { content: Array<{ text: string }> } };
      assert.equal(body.result.content[0].text, `st: s${i}`);
    }
    await waitUntil(() => countTagged(`${tag}-st`) === 0, 5000, 'stateless processes to exit');
  });

  it('a new session takes a warm, initialized process from the pool', async () => {
    await waitUntil(() => countTagged(`pooled\u0000stdio\u0000--tag=${tag}`) === 1, 10_000, 'the pool to fill');
    const started = performance.now();
    const client = await connectClient(`${gw.url()}/pooled/mcp`);
    const pid = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} }))).pid;
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1000, `session start took ${elapsed} ms`);
    // The pool refills in the background and stays bounded.
    await waitUntil(() => countTagged(`pooled\u0000stdio\u0000--tag=${tag}`) === 2, 10_000, 'the pool to refill');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(countTagged(`pooled\u0000stdio\u0000--tag=${tag}`), 2);
    assert.ok(pid > 0);
    await client.close();
  });

  it('re-initializes an upstream that forgot the session (404), transparently', async () => {
    const client = await connectClient(`${gw.url()}/remote/mcp`);
    try {
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: '1' } })), 'remote: 1');
      await (await fetch(`http://127.0.0.1:${http.port}/forget`)).arrayBuffer();
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: '2' } })), 'remote: 2');
      // Per-target headers go with every request, the re-initialized session's included.
      assert.equal(JSON.parse(text(await client.callTool({ name: 'headers', arguments: {} })))['x-target-key'], 'k-123');
    } finally {
      await client.close();
    }
  });

  it('legacy SSE: the endpoint event names the message URL, and the session ends with the stream', async () => {
    const controller = new AbortController();
    const res = await fetch(`${gw.url()}/plain/sse`, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    const m = /^event: endpoint\ndata: (\/plain\/sse\?sessionId=[A-Za-z0-9_-]+)\n\n$/.exec(first);
    assert.ok(m, first);
    const ok = await post(m[1], INIT);
    assert.equal(ok.status, 202);
    assert.equal(await ok.text(), 'Accepted');
    const answer = new TextDecoder().decode((await reader.read()).value);
    assert.match(answer, /^event: message\ndata: \{"jsonrpc":"2.0","id":1,"result":\{"protocolVersion":"2025-06-18"/);
    controller.abort();
    await waitUntil(async () => {
      const r = await post(m[1], { jsonrpc: '2.0', id: 2, method: 'ping' });
      await r.arrayBuffer();
      return r.status === 404;
    }, 5000, 'the legacy session to end');
  });

  it('a reload keeps open sessions and their upstream processes', async () => {
    const client = await connectClient(`${gw.url()}/plain/mcp`);
    try {
      const before = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} }))).pid;
      const result = await gw.running.reload();
      assert.equal(result.ok, true, String(result.error));
      const afterPid = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} }))).pid;
      assert.equal(afterPid, before);
    } finally {
      await client.close();
    }
  });

  it('the child gets only its env plus a safe default set', async () => {
    process.env.PCL_TEST_SECRET = 'do-not-leak';
    try {
      const client = await connectClient(`${gw.url()}/plain/mcp`);
      const keys = JSON.parse(text(await client.callTool({ name: 'env', arguments: {} }))) as string[];
      assert.ok(!keys.includes('PCL_TEST_SECRET'));
      assert.ok(keys.includes('PATH'));
      // The safe default set, plus the proxy and CA settings a server needs to reach anything (documented list).
      const allowed = new Set(['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER', 'LANG', 'TMPDIR', ...PROXY_CA_ENV]);
      assert.ok(keys.every((k) => allowed.has(k)), keys.join(','));
      await client.close();
    } finally {
      delete process.env.PCL_TEST_SECRET;
    }
  });
});
