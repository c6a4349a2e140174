import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, EVERYTHING, MCP_TEST_EXTRA, mcpRoute, startEverything, text, type RunningServer } from '../helpers/mcp.ts';

// The official TypeScript SDK client, through the gateway, to server-everything over each target transport.
describe('MCP targets: server-everything over stdio, SSE and streamable HTTP', () => {
  let sse: RunningServer;
  let http: RunningServer;
  let gw: TestGateway;

  before(async () => {
    [sse, http] = await Promise.all([startEverything('sse'), startEverything('streamableHttp')]);
    gw = await startTestGateway(
      simpleConfig([
        { ...mcpRoute([{ name: 'everything', stdio: { cmd: 'node', args: [EVERYTHING, 'stdio'], warmPool: 0 } }], {}, 'stdio'), matches: [{ path: { pathPrefix: '/stdio' } }] },
        { ...mcpRoute([{ name: 'everything', sse: { url: sse.url } }], {}, 'sse'), matches: [{ path: { pathPrefix: '/over-sse' } }] },
        { ...mcpRoute([{ name: 'everything', mcp: { host: '127.0.0.1', port: http.port, path: '/mcp' } }], {}, 'http'), matches: [{ path: { pathPrefix: '/over-http' } }] },
      ], MCP_TEST_EXTRA),
    );
  });
  after(async () => {
    await gw?.close();
    await Promise.all([sse?.close(), http?.close()]);
  });

  for (const prefix of ['/stdio', '/over-sse', '/over-http']) {
    for (const served of ['streamable HTTP', 'legacy SSE'] as const) {
      it(`${prefix} target, served over ${served}: lists and calls tools, reads resources, gets prompts`, async () => {
        const legacy = served === 'legacy SSE';
        const client = await connectClient(`${gw.url()}${prefix}/${legacy ? 'sse' : 'mcp'}`, { sse: legacy });
        try {
          assert.equal(client.getServerVersion()?.name, 'portcullis');
          const { tools } = await client.listTools();
          const names = tools.map((t) => t.name);
          assert.ok(names.includes('echo') && names.includes('get-sum'), names.join(','));
          assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: `via ${prefix}` } })), `Echo: via ${prefix}`);
          assert.equal(text(await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 40 } })), 'The sum of 2 and 40 is 42.');
          const { resources } = await client.listResources();
          assert.ok(resources.length > 0);
          const read = await client.readResource({ uri: resources[0].uri });
          assert.equal(read.contents[0].uri, resources[0].uri);
          const { prompts } = await client.listPrompts();
          const simple = prompts.find((p) => p.name === 'simple-prompt');
          assert.ok(simple, prompts.map((p) => p.name).join(','));
          const got = await client.getPrompt({ name: 'simple-prompt' });
          assert.ok(got.messages.length > 0);
          await client.ping();
        } finally {
          await client.close();
        }
      });
    }
  }

  it('negotiates every protocol version from 2024-11-05 to 2025-11-25 and falls back to the latest for others', async () => {
    for (const version of ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25', '1999-01-01']) {
      const res = await fetch(`${gw.url()}/over-http/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
      });
      assert.equal(res.status, 200);
      const id = res.headers.get('mcp-session-id');
      assert.ok(id);
      const body = (await res.json()) as { result: { protocolVersion: string; capabilities: Record<string, unknown> } };
      assert.equal(body.result.protocolVersion, version === '1999-01-01' ? '2025-11-25' : version);
      assert.deepEqual(body.result.capabilities.tools, { listChanged: true });
      const del = await fetch(`${gw.url()}/over-http/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': id } });
      assert.equal(del.status, 200);
      await del.arrayBuffer();
    }
  });
});
