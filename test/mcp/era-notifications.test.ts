import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { MCP_TEST_EXTRA, mcpRoute, startHttpFixture, type RunningServer } from '../helpers/mcp.ts';

// 2026-07-28 defines no client notification over HTTP, yet clients of that era still send some: the Go SDK cancels a
// call with notifications/cancelled (no _meta envelope: envelopes are for requests). Refusing it with 400 made the Go
// client fail the very call it was cancelling.
describe('MCP 2026-07-28: a client notification', () => {
  let gw: TestGateway;
  let fixture: RunningServer;
  before(async () => {
    fixture = await startHttpFixture('era-notifications');
    gw = await startTestGateway(simpleConfig([mcpRoute([{ name: 'remote', mcp: { url: fixture.url } }])], MCP_TEST_EXTRA));
  });
  after(async () => {
    await gw?.close();
    await fixture?.close();
  });

  it('is acknowledged with 202 with or without an envelope, and a request without one is still refused', async () => {
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${gw.url()}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', ...headers }, body: JSON.stringify(body) });
    const cancelled = await post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7, reason: 'context canceled' } }, { 'mcp-method': 'notifications/cancelled' });
    assert.equal(cancelled.status, 202);
    assert.equal(await cancelled.text(), '');
    const progress = await post({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1, _meta: {} } });
    assert.equal(progress.status, 202);
    await progress.text();
    const request = await post({ jsonrpc: '2.0', id: 3, method: 'tools/list', params: {} }, { 'mcp-method': 'tools/list' });
    assert.equal(request.status, 400);
    const body = (await request.json()) as { id: number; error: { code: number } };
    assert.equal(body.id, 3);
    assert.equal(body.error.code, -32602);
  });
});
