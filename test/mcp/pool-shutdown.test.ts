import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { simpleConfig, startTestGateway } from '../helpers/gateway.ts';
import { countTagged, fixtureStdio, MCP_TEST_EXTRA, mcpRoute, waitUntil } from '../helpers/mcp.ts';

// A gateway closed while its warm pool is still starting, initializing or warming processes must leave none behind:
// a process that finished starting after close() began used to be pushed into the closed pool and run on forever.
describe('MCP warm pool and gateway shutdown', () => {
  it('closing at any moment of the pool filling leaves no process behind', async () => {
    const delays = [0, 5, 15, 30, 60, 100, 150, 250, 400, 700];
    for (const delay of delays) {
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
});
