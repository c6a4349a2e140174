import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, MCP_TEST_EXTRA, mcpRoute, spawnListening, text, waitUntil } from '../helpers/mcp.ts';

const BAD_UPSTREAM = fileURLToPath(new URL('../fixtures/mcp/bad-upstream.ts', import.meta.url));
const TIMEOUT_MS = 1500;

describe('upstream event streams: the GET stream reconnects with Last-Event-ID; legacy SSE targets on the same codec', () => {
  let gw: TestGateway;
  const clients: Client[] = [];
  const children: ChildProcess[] = [];
  let standalonePort = 0;
  let legacyPort = 0;

  before(async () => {
    const [standalone, legacy, textAck] = await Promise.all([
      spawnListening([BAD_UPSTREAM, 'standalone'], 'standalone upstream'),
      spawnListening([BAD_UPSTREAM], 'legacy upstream'),
      spawnListening([BAD_UPSTREAM, 'text-ack'], 'text-ack upstream'),
    ]);
    children.push(standalone.child, legacy.child, textAck.child);
    standalonePort = standalone.port;
    legacyPort = legacy.port;
    const route = (name: string, targets: unknown[]) => ({ ...mcpRoute(targets, { requestTimeoutMs: TIMEOUT_MS }, name), matches: [{ path: { pathPrefix: `/${name}` } }] });
    gw = await startTestGateway(
      simpleConfig(
        [
          route('events', [{ name: 'events', mcp: { url: `http://127.0.0.1:${standalone.port}/mcp` } }]),
          route('legacy', [
            { name: 'legacy', sse: { url: `http://127.0.0.1:${legacy.port}/sse` } },
            { name: 'good', mcp: { url: `http://127.0.0.1:${legacy.port}/mcp` } },
          ]),
          route('textack', [{ name: 'textack', mcp: { url: `http://127.0.0.1:${textAck.port}/mcp` } }]),
          route('foreign', [{ name: 'foreign', sse: { url: `http://127.0.0.1:${legacy.port}/sse?endpoint=foreign` } }]),
        ],
        MCP_TEST_EXTRA,
      ),
    );
  });
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gw?.close();
    for (const c of children) c.kill('SIGKILL');
  });

  const connect = async (path: string) => {
    const client = await connectClient(`${gw.url()}${path}`);
    clients.push(client);
    return client;
  };

  it('the GET stream reconnects after the server drops it, sending the Last-Event-ID it got, and stops at 405', async () => {
    await connect('/events/mcp');
    const stats = async () => (await (await fetch(`http://127.0.0.1:${standalonePort}/stats`)).json()) as { getLastEventIds: Array<string | null> };
    await waitUntil(async () => (await stats()).getLastEventIds.length >= 4, 10_000, 'four GETs');
    assert.deepEqual((await stats()).getLastEventIds, [null, 'g1', 'g2', 'g3']);
  });

  it('a notification acknowledged with 200, text/plain and a body is accepted: only a request\'s answer is read', async () => {
    const client = await connect('/textack/mcp');
    assert.equal(text(await client.callTool({ name: 'ok' })), 'ok');
  });

  it('legacy SSE: the endpoint is resolved against the stream URL, and calls are answered on the stream', async () => {
    const client = await connect('/legacy/mcp');
    assert.equal(text(await client.callTool({ name: 'legacy_ok' })), 'ok');
    assert.equal(text(await client.callTool({ name: 'good_ok' })), 'ok');
  });

  it('legacy SSE: an event that is not JSON-RPC is logged with the target; its call times out with an error naming the target', async () => {
    const client = await connect('/legacy/mcp');
    const started = Date.now();
    const err = await client.callTool({ name: 'legacy_not-jsonrpc' }).then(() => assert.fail('should fail'), (e: unknown) => e);
    assert.ok(err instanceof McpError);
    assert.equal(err.message, `MCP error -32081: target "legacy" did not answer tools/call within ${TIMEOUT_MS} ms`);
    assert.ok(Date.now() - started < TIMEOUT_MS + 1000);
    await gw.logs.waitFor((l) => l.msg === 'MCP target sent what is not MCP' && l.target === 'legacy' && l.err === 'target "legacy" sent JSON that is not a JSON-RPC message: {"hello":"world"}');
    assert.equal(text(await client.callTool({ name: 'legacy_ok' })), 'ok');
  });

  it('legacy SSE: a stream that is not UTF-8 fails the waiting call naming the target; the target comes back, the other never left', async () => {
    const client = await connect('/legacy/mcp');
    const err = await client.callTool({ name: 'legacy_invalid-utf8' }).then(() => assert.fail('should fail'), (e: unknown) => e);
    assert.ok(err instanceof McpError);
    assert.equal(err.message, 'MCP error -32080: target "legacy" is unavailable: sent an event stream that is not valid UTF-8');
    assert.deepEqual(err.data, { target: 'legacy', code: 'PCL_ERR_MCP_UPSTREAM_INVALID' });
    assert.equal(text(await client.callTool({ name: 'good_ok' })), 'ok');
    await gw.logs.waitFor((l) => l.msg === 'MCP target sent what is not MCP' && l.target === 'legacy' && l.code === 'PCL_ERR_MCP_UPSTREAM_INVALID');
    // The session reconnects the target on its own (a new stream).
    await gw.logs.waitFor((l) => l.msg === 'MCP target restarted' && l.target === 'legacy');
    assert.equal(text(await client.callTool({ name: 'legacy_ok' })), 'ok');
  });

  it('legacy SSE: an endpoint on another origin is refused, so no message (nor credential) goes there', async () => {
    const res = await fetch(`${gw.url()}/foreign/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
    });
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(res.status, 502);
    assert.equal(body.error.code, 'PCL_ERR_MCP_UPSTREAM_FAILED');
    assert.equal(
      body.error.message,
      `route "foreign": the MCP session could not start: target "foreign": the target named an endpoint on another origin (http://other.invalid, the stream is on http://127.0.0.1:${legacyPort})`,
    );
  });
});
