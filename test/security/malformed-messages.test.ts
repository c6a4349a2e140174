import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleConfig } from '../helpers/gateway.ts';
import { buildTestRuntime, type TestRuntime } from '../helpers/runtime.ts';
import { fixtureStdio, MCP_TEST_EXTRA, mcpRoute } from '../helpers/mcp.ts';
import { startAgent, type RunningAgent } from '../fixtures/a2a/agent.ts';
import { MAX_MESSAGE_DEPTH } from '../../core/protocol/message-check.ts';

/** JSON text nested `depth` objects deep (written as text: JSON.stringify itself overflows on such values). */
const nested = (depth: number): string => `${'{"d":'.repeat(depth)}"bottom"${'}'.repeat(depth)}`;

describe('malformed messages are refused at the edge with the right JSON-RPC error (issue 25, finding 6)', () => {
  let gw: TestRuntime;
  let agent: RunningAgent;
  let session: string;
  const mcp = (body: unknown) =>
    gw.send(`/mcp`, {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
    });

  before(async () => {
    agent = await startAgent({ name: 'deep' });
    gw = await buildTestRuntime(
      simpleConfig(
        [
          { ...mcpRoute([fixtureStdio('a', 'untagged', { warmPool: 0 })], { requestTimeoutMs: 60_000 }), matches: [{ path: { pathPrefix: '/mcp' } }] },
          { name: 'a2a', matches: [{ path: { pathPrefix: '/a2a-agent' } }], backends: [{ a2a: { url: agent.url } }] },
        ],
        MCP_TEST_EXTRA,
      ),
    );
    const init = await gw.send(`/mcp`, {
      method: 'POST',
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    });
    session = init.headers['mcp-session-id'] as string;
    assert.ok(session, init.text);
    assert.equal((await mcp({ jsonrpc: '2.0', method: 'notifications/initialized' })).status, 202);
  });
  after(async () => {
    await gw?.close();
    await agent?.close();
  });

  it('MCP: array params and a non-scalar progressToken get -32602 with the request id at once, not a 60 s wait', async () => {
    const started = performance.now();
    const array = await mcp({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: ['echo', { text: 'x' }] });
    assert.equal(array.status, 400);
    assert.deepEqual(array.json(), { jsonrpc: '2.0', id: 5, error: { code: -32602, message: 'Invalid params: tools/call takes an object, not an array' } });
    const token = await mcp({ jsonrpc: '2.0', id: 'p', method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' }, _meta: { progressToken: { a: 1 } } } });
    assert.deepEqual(token.json(), { jsonrpc: '2.0', id: 'p', error: { code: -32602, message: 'Invalid params: _meta.progressToken must be a string or a number' } });
    const meta = await mcp({ jsonrpc: '2.0', id: 6, method: 'tools/list', params: { _meta: [1] } });
    assert.equal(meta.json().error.message, 'Invalid params: _meta must be an object');
    const deep = await mcp(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":${nested(5000)}}}`);
    assert.deepEqual(deep.json(), { jsonrpc: '2.0', id: 7, error: { code: -32600, message: `Invalid Request: the message nests deeper than ${MAX_MESSAGE_DEPTH} levels` } });
    // In a batch, the malformed message is named.
    const batch = await mcp([{ jsonrpc: '2.0', id: 8, method: 'tools/list' }, { jsonrpc: '2.0', id: 9, method: 'tools/call', params: [] }]);
    assert.equal(batch.json().id, 9);
    assert.ok(performance.now() - started < 5000, 'answered at once');
    // A well-formed call with a numeric progress token still works.
    const ok = await mcp({ jsonrpc: '2.0', id: 10, method: 'tools/call', params: { name: 'echo', arguments: { text: 'fine' }, _meta: { progressToken: 3 } } });
    assert.equal(ok.status, 200, ok.text);
    assert.match(ok.text, /fine/);
  });

  it('A2A: parts data nested 5,000 deep is refused (JSON-RPC -32602, REST 400), with no error logged', async () => {
    const hits = agent.hits.length;
    const params = `{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"data":${nested(5000)}}]}}`;
    const rpc = await gw.send(`/a2a-agent/a2a/jsonrpc`, { method: 'POST', body: `{"jsonrpc":"2.0","id":3,"method":"SendMessage","params":${params}}`, headers: { 'content-type': 'application/json', 'a2a-version': '1.0' } });
    assert.equal(rpc.status, 200);
    assert.deepEqual(rpc.json(), { jsonrpc: '2.0', id: 3, error: { code: -32602, message: `Invalid params: the message nests deeper than ${MAX_MESSAGE_DEPTH} levels` } });
    const rest = await gw.send(`/a2a-agent/a2a/rest/message:send`, { method: 'POST', body: params, headers: { 'content-type': 'application/json', 'a2a-version': '1.0' } });
    assert.equal(rest.status, 400);
    assert.deepEqual(rest.json(), { error: { code: 'PCL_ERR_BAD_REQUEST', message: `the request body nests deeper than ${MAX_MESSAGE_DEPTH} levels` } });
    assert.equal(agent.hits.length, hits);
    assert.equal(gw.logs.find((l) => l.level === 'error'), undefined);
  });

  it('A2A REST: a malformed percent-escape in the task id is a 400, not a 500', async () => {
    const res = await gw.send(`/a2a-agent/a2a/rest/tasks/%E0%A4%A`, { headers: { 'a2a-version': '1.0' } });
    assert.equal(res.status, 400, res.text);
    assert.deepEqual(res.json(), { error: { code: 'PCL_ERR_BAD_REQUEST', message: 'the task id "%E0%A4%A" in the path has a malformed percent-escape' } });
    assert.equal(gw.logs.find((l) => l.level === 'error'), undefined);
  });
});
