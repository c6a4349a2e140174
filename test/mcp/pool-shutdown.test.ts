import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { simpleConfig, startTestGateway } from '../helpers/gateway.ts';
import { countTagged, FIXTURE, fixtureStdio, MCP_TEST_EXTRA, mcpRoute, waitUntil } from '../helpers/mcp.ts';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };

// A gateway closed while MCP processes are still starting must leave none behind: no child outlives the gateway.
describe('MCP processes and gateway shutdown', () => {
  it('closing at any moment of the warm pool filling leaves no process behind', async () => {
    for (const delay of [0, 5, 15, 30, 60, 100, 150, 250, 400, 700]) {
      const tag = `pool-close-${randomUUID()}`;
      const gw = await startTestGateway(simpleConfig([mcpRoute([fixtureStdio('pooled', tag, { warmPool: 3 })])], MCP_TEST_EXTRA));
      await new Promise((r) => setTimeout(r, delay));
      await gw.close();
      await waitUntil(() => countTagged(tag) === 0, 5000, `every pooled process to exit (closed after ${delay} ms)`);
      // And none appears later from a refill that was still pending.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(countTagged(tag), 0, `a pooled process started after close (closed after ${delay} ms)`);
    }
  });

  it('a session that finishes starting after the gateway closed is closed with its process', async () => {
    const tag = `late-session-${randomUUID()}`;
    // The target takes a second to start: longer than the drain deadline, so the session completes after close.
    const slow = { name: 'slow', stdio: { cmd: 'sh', args: ['-c', `sleep 1; exec "${process.execPath}" "${FIXTURE}" slow stdio --tag=${tag}`], warmPool: 0 } };
    const gw = await startTestGateway(simpleConfig([mcpRoute([slow])], MCP_TEST_EXTRA));
    const pending = fetch(`${gw.url()}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(INIT),
    }).then(
      async (r) => r.status,
      () => 'connection closed',
    );
    await new Promise((r) => setTimeout(r, 200));
    await gw.close();
    await pending;
    await waitUntil(() => countTagged(`--tag=${tag}`) === 1, 5000, 'the late target process to start');
    await waitUntil(() => countTagged(`--tag=${tag}`) === 0, 5000, 'the late session process to exit');
  });
});
