import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { upstreamChannel, type UpstreamAttemptEvent } from '../../core/telemetry/events.ts';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { MCP_TEST_EXTRA, mcpRoute, postModern, startHttpFixture, type RunningServer } from '../helpers/mcp.ts';

// A 2026-07-28 tools/call checks its Mcp-Param-* headers against the tool as listed. A tool that is not in the
// list must not make every call naming it fan tools/list out to the targets again: the list is asked once (and
// again only after a target says its tools changed). Counted on the upstream attempt events of the route.
describe('MCP 2026-07-28 tools/call naming an unknown tool', () => {
  let target: RunningServer;
  let gw: TestGateway;
  const posts: string[] = [];
  const onStart = (m: unknown) => {
    const e = m as UpstreamAttemptEvent;
    if (e.route === 'unknown-tool' && e.method === 'POST') posts.push(e.path);
  };

  before(async () => {
    target = await startHttpFixture('beta');
    gw = await startTestGateway(simpleConfig([mcpRoute([{ name: 'beta', mcp: { url: target.url } }], {}, 'unknown-tool')], MCP_TEST_EXTRA));
    upstreamChannel.start.subscribe(onStart);
  });
  after(async () => {
    upstreamChannel.start.unsubscribe(onStart);
    await gw?.close();
    await target?.close();
  });

  it('lists the tools once, then sends each call alone', async () => {
    const call = () => postModern(`${gw.url()}/mcp`, { id: 1, method: 'tools/call', params: { name: 'no-such-tool', arguments: {} } });
    const first = await call();
    assert.equal(first.status, 200);
    assert.ok(first.body.error || first.body.result?.isError, `the target refuses the unknown tool: ${JSON.stringify(first.body)}`);
    const afterFirst = posts.length;
    assert.ok(afterFirst >= 2, `the first call opened the internal session and listed (${afterFirst} POSTs)`);
    for (let i = 0; i < 3; i++) assert.equal((await call()).status, 200);
    assert.equal(posts.length - afterFirst, 3, 'one upstream POST per call, no tools/list');
  });
});
