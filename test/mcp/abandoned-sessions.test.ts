// Sessions whose client never sends DELETE, as the Inspector CLI does: each run connects with the MCP SDK client
// (initialize, the GET stream), makes one call and exits, leaving its session and its stdio process behind. They
// are reclaimed once idle for sessionIdleTimeoutMs (60 s by default); a client still listening on its GET stream
// keeps its session.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { MCP_DEFAULTS } from '../../core/backends/mcp/index.ts';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { countTagged, MCP_TEST_EXTRA, mcpRoute, text, tinyStdio, waitUntil } from '../helpers/mcp.ts';

const IDLE_MS = 4000;

describe('abandoned MCP sessions (clients that never send DELETE)', () => {
  const tag = `abandon-${randomUUID()}`;
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway(simpleConfig([mcpRoute([tinyStdio('a', tag, { warmPool: 0 })], { sessionIdleTimeoutMs: IDLE_MS })], MCP_TEST_EXTRA));
  });
  after(async () => {
    await gw?.close();
    await waitUntil(() => countTagged(tag) === 0, 5000, 'every tagged process to exit');
  });

  /** One Inspector CLI run: connect, one call, exit without DELETE (the SDK client's close ends its streams only). */
  async function inspectorCliRun(): Promise<void> {
    const client = new Client({ name: 'inspector-cli', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url()}/mcp`)));
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'hi' } })), 'a: hi');
    await client.close();
  }

  it('the default idle timeout is 60 s', () => {
    assert.equal(MCP_DEFAULTS.sessionIdleTimeoutMs, 60_000);
  });

  it('three runs leave three processes; they are reclaimed once idle, while a listening client keeps its own', async () => {
    const listening = new Client({ name: 'listening', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL(`${gw.url()}/mcp`));
    await listening.connect(transport);
    try {
      for (let i = 0; i < 3; i++) await inspectorCliRun();
      const left = performance.now();
      assert.equal(countTagged(tag), 4, 'one process per session: three abandoned, one listening');
      await waitUntil(() => countTagged(tag) === 1, IDLE_MS + 5000, 'the abandoned sessions\' processes to exit');
      const reclaimedMs = Math.round(performance.now() - left);
      process.stdout.write(`# three abandoned sessions' processes reclaimed ${reclaimedMs} ms after the last run (idle timeout ${IDLE_MS} ms)\n`);
      assert.ok(reclaimedMs >= IDLE_MS - 50, `reclaimed after ${reclaimedMs} ms, before the idle timeout`);
      // The listening client's session is alive: its GET stream kept it from being idle.
      assert.equal(text(await listening.callTool({ name: 'echo', arguments: { text: 'still here' } })), 'a: still here');
    } finally {
      await transport.terminateSession();
      await listening.close();
    }
    await waitUntil(() => countTagged(tag) === 0, 5000, 'the listening session\'s process to exit after DELETE');
  });
});
