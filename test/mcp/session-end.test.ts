import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { MCP_TEST_EXTRA, mcpRoute, startHttpFixture, type RunningServer } from '../helpers/mcp.ts';

// A sealed session id stays cryptographically valid after its session ends, and a replica rebuilds sessions of
// remote targets from their ids: a session its client ended with DELETE must not come back from its id.
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'end', version: '1' } } };

describe('MCP session ended by its client (remote target, sealed id)', () => {
  let gw: TestGateway;
  let fixture: RunningServer;

  before(async () => {
    fixture = await startHttpFixture('session-end');
    gw = await startTestGateway(simpleConfig([mcpRoute([{ name: 'remote', mcp: { url: fixture.url } }])], MCP_TEST_EXTRA));
  });
  after(async () => {
    await gw?.close();
    await fixture?.close();
  });

  const post = (body: unknown, sid?: string) =>
    fetch(`${gw.url()}/mcp`, { method: 'POST', headers: { ...HEADERS, ...(sid ? { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' } : {}) }, body: JSON.stringify(body) });

  it('answers 404 after DELETE (the spec: a terminated session id gets 404), and the route keeps serving new sessions', async () => {
    const init = await post(INIT);
    assert.equal(init.status, 200);
    await init.text();
    const sid = init.headers.get('mcp-session-id')!;
    assert.ok(sid);
    assert.equal((await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, sid)).status, 202);
    const list = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, sid);
    assert.equal(list.status, 200);
    await list.text();

    const del = await fetch(`${gw.url()}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' } });
    assert.equal(del.status, 200);
    await del.text();

    for (let i = 0; i < 2; i++) {
      const again = await post({ jsonrpc: '2.0', id: 3 + i, method: 'tools/list' }, sid);
      assert.equal(again.status, 404);
      const body = await again.text();
      assert.match(body, /PCL_ERR_MCP_SESSION_NOT_FOUND/, body);
    }
    assert.equal(gw.logs.find((l) => l.msg === 'MCP session id names a session its client ended')?.reason, 'terminated');

    const fresh = await post(INIT);
    assert.equal(fresh.status, 200);
    await fresh.text();
    assert.notEqual(fresh.headers.get('mcp-session-id'), sid);
  });
});
