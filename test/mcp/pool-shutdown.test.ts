import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { simpleConfig, startTestGateway } from '../helpers/gateway.ts';
import { countTagged, MCP_TEST_EXTRA, mcpRoute, TINY, tinyStdio, waitUntil } from '../helpers/mcp.ts';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };

// A gateway closed while MCP processes are still starting must leave none behind: no child outlives the gateway.
// The targets are the bare stdio server: the subject is which processes start and stop, and each is a Node start.
describe('MCP processes and gateway shutdown', () => {
  it('closing at any moment of the warm pool filling leaves no process behind', async () => {
    const tags = new Map<number, string>();
    for (const delay of [0, 5, 15, 30, 60, 100, 150, 250, 400, 700]) {
      const tag = `pool-close-${randomUUID()}`;
      tags.set(delay, tag);
      const gw = await startTestGateway(simpleConfig([mcpRoute([tinyStdio('pooled', tag, { warmPool: 3 })])], MCP_TEST_EXTRA));
      // The moment of closing is the subject: this wait is not for something to happen.
      await new Promise((r) => setTimeout(r, delay));
      await gw.close();
      await waitUntil(() => countTagged(tag) === 0, 5000, `every pooled process to exit (closed after ${delay} ms)`);
    }
    // And none appears later from a refill that was still pending (one such timer is 250 ms): nothing can signal
    // that something did not happen, so this looks once, a while after the last close, for any gateway's process.
    await new Promise((r) => setTimeout(r, 300));
    for (const [delay, tag] of tags) assert.equal(countTagged(tag), 0, `a pooled process started after close (closed after ${delay} ms)`);
  });

  it('a session that finishes starting after the gateway closed is closed with its process', async () => {
    const tag = `late-session-${randomUUID()}`;
    // The target takes a second to start: longer than the drain deadline, so the session completes after close.
    const slow = { name: 'slow', stdio: { cmd: 'sh', args: ['-c', `sleep 1; exec "${process.execPath}" "${TINY}" slow --tag=${tag}`], warmPool: 0 } };
    const gw = await startTestGateway(simpleConfig([mcpRoute([slow])], MCP_TEST_EXTRA));
    const pending = fetch(`${gw.url()}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(INIT),
    }).then(
      async (r) => r.status,
      () => 'connection closed',
    );
    // Close once the session's process is starting (its shell, which carries the tag, is running).
    await waitUntil(() => countTagged(`--tag=${tag}`) === 1, 5000, 'the session\'s target process to be starting');
    await gw.close();
    await pending;
    await waitUntil(() => countTagged(`--tag=${tag}`) === 1, 5000, 'the late target process to start');
    await waitUntil(() => countTagged(`--tag=${tag}`) === 0, 5000, 'the late session process to exit');
  });
});
