import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleConfig } from '../helpers/gateway.ts';
import { fixtureStdio } from '../helpers/mcp.ts';
import { buildTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

// MCP dispatch unit tests: the runtime answers web Requests in process (runtime.handle), no gateway socket; the
// target is a real MCP server over stdio.
describe('MCP dispatch through runtime.handle', () => {
  let rt: TestRuntime;
  let session = '';
  let nextId = 1;
  const post = async (body: unknown, headers: Record<string, string> = {}) => {
    const res = await rt.fetch('/mcp', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(session ? { 'mcp-session-id': session } : {}), ...headers },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
  };
  const rpc = (method: string, params: Record<string, unknown> = {}) => post({ jsonrpc: '2.0', id: nextId++, method, params });

  before(async () => {
    rt = await buildTestRuntime(
      simpleConfig([
        {
          name: 'mcp',
          policies: { toolArgumentRules: { rules: [{ tool: 'echo', deny: ['secret'] }] } },
          backends: [{ mcp: { targets: [fixtureStdio('fx', 'handle-dispatch', { warmPool: 0 })] } }],
        },
      ]),
    );
  });
  after(async () => {
    await rt?.close();
  });

  it('initializes a session and lists the target tools', async () => {
    const init = await rpc('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } });
    assert.equal(init.status, 200);
    assert.equal(init.json.result.serverInfo.name, 'portcullis');
    session = init.headers.get('mcp-session-id')!;
    assert.match(session, /^[A-Za-z0-9_-]{60,}$/, 'a sealed session id (base64url)');
    assert.equal((await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).status, 202);
    const list = await rpc('tools/list');
    assert.ok(list.json.result.tools.some((t: { name: string }) => t.name === 'echo'));
  });

  it('routes a call to its target and runs the message pipeline on it', async () => {
    const ok = await rpc('tools/call', { name: 'echo', arguments: { text: 'hi' } });
    assert.match(ok.json.result.content[0].text, /hi/);
    const denied = await rpc('tools/call', { name: 'echo', arguments: { text: 'my secret' } });
    assert.equal(denied.json.error.code, -32082);
    assert.match(denied.json.error.message, /secret/);
    const unknown = await rpc('tools/call', { name: 'nope', arguments: {} });
    // One target, no prefix: the name is the target's business, and its own answer comes back.
    assert.deepEqual(unknown.json.result, { content: [{ type: 'text', text: 'unknown tool nope' }], isError: true });
  });

  it('refuses a resource URI that cannot be normalized safely, and forwards a normalized one', async () => {
    const bad = await rpc('resources/read', { uri: 'fixture://fx/items/a/../../../x' });
    assert.deepEqual(bad.json.error, { code: -32602, message: 'Invalid resource URI: fixture://fx/items/a/../../../x cannot be normalized safely' });
    const good = await rpc('resources/read', { uri: 'fixture://fx/items/a/./../7' });
    assert.equal(good.json.result.contents[0].text, 'fx read fixture://fx/items/7');
  });

  it('DELETE ends the session; its id is then unknown', async () => {
    const del = await rt.fetch('/mcp', { method: 'DELETE', headers: { 'mcp-session-id': session } });
    assert.ok(del.status === 200 || del.status === 204, `DELETE answered ${del.status}`);
    await del.body?.cancel();
    const after = await rpc('tools/list');
    assert.equal(after.status, 404);
    assert.equal(after.json.error.code, 'PCL_ERR_MCP_SESSION_NOT_FOUND');
  });
});
