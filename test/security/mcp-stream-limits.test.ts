import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { messageChannel, type MessageEvent } from '../../core/telemetry/events.ts';
import { simpleConfig, startTestGateway, until, type TestGateway } from '../helpers/gateway.ts';
import { fixtureStdio, MCP_TEST_EXTRA, mcpRoute } from '../helpers/mcp.ts';

describe('MCP requests (pending answers and SSE streams) in flight are capped per session and per identity (issue 25, finding 6)', () => {
  let gw: TestGateway;
  const dispatcher = new Agent({ connections: 64 });
  const post = async (body: unknown, session?: string) => {
    const res = await request(`${gw.url()}/mcp`, {
      method: 'POST',
      dispatcher,
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(session ? { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' } : {}) },
    });
    return { status: res.statusCode, session: res.headers['mcp-session-id'] as string | undefined, text: await res.body.text() };
  };
  const open = async () => {
    const init = await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, init.session);
    return init.session!;
  };
  const slow = (session: string, id: number) => post({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'slow', arguments: { ms: 1500 } } }, session);

  // tools/call messages the gateway has started handling (published once the request is admitted and in flight).
  const started = new Set<string | number | null | undefined>();
  const onStart = (e: unknown) => {
    if ((e as MessageEvent).method === 'tools/call') started.add((e as MessageEvent).rpcId);
  };
  /** Resolves once the calls with these JSON-RPC ids are in flight, then asks (every 10 ms, bounded) until refused. */
  const refusedOnce = async (ids: number[], ask: () => ReturnType<typeof post>, settled: () => boolean) => {
    await until(() => ids.every((id) => started.has(id)) || settled(), { what: `calls ${ids.join(', ')} in flight` });
    let refused = await ask();
    for (let i = 0; i < 100 && refused.status !== 429 && !settled(); i++) {
      await new Promise((r) => setTimeout(r, 10));
      refused = await ask();
    }
    return refused;
  };

  before(async () => {
    messageChannel.start.subscribe(onStart);
    gw = await startTestGateway(simpleConfig([{ ...mcpRoute([fixtureStdio('a', 'untagged', { warmPool: 0 })], { maxRequestsPerSession: 3, maxRequestsPerIdentity: 5 }), matches: [{ path: { pathPrefix: '/mcp' } }] }], MCP_TEST_EXTRA));
  });
  after(async () => {
    messageChannel.start.unsubscribe(onStart);
    await gw?.close();
    await dispatcher.close();
  });

  it('refuses the request past maxRequestsPerSession with 429 at once, and admits again once answers come', async () => {
    const s = await open();
    const pending = [slow(s, 10), slow(s, 11), slow(s, 12)];
    let settled = false;
    void Promise.all(pending).then(() => (settled = true));
    // Once the three are in flight (a loaded machine may take a moment to dispatch them), the next is refused.
    const refused = await refusedOnce([10, 11, 12], () => post({ jsonrpc: '2.0', id: 13, method: 'tools/list' }, s), () => settled);
    assert.equal(refused.status, 429, refused.text);
    assert.deepEqual(JSON.parse(refused.text), { error: { code: 'PCL_ERR_MCP_STREAM_LIMIT', message: 'route "mcp": this session already has 3 requests in flight (maxRequestsPerSession); wait for an answer before sending more' } });
    for (const r of await Promise.all(pending)) assert.equal(r.status, 200, r.text);
    assert.equal((await post({ jsonrpc: '2.0', id: 14, method: 'tools/list' }, s)).status, 200);
  });

  it('refuses past maxRequestsPerIdentity across the sessions of one identity', async () => {
    const [a, b] = [await open(), await open()];
    const pending = [slow(a, 20), slow(a, 21), slow(a, 22), slow(b, 23), slow(b, 24)];
    let settled = false;
    void Promise.all(pending).then(() => (settled = true));
    const refused = await refusedOnce([20, 21, 22, 23, 24], () => post({ jsonrpc: '2.0', id: 25, method: 'tools/list' }, b), () => settled);
    assert.equal(refused.status, 429, refused.text);
    assert.match(JSON.parse(refused.text).error.message, /this identity already has 5 requests in flight across its sessions \(maxRequestsPerIdentity\)/);
    for (const r of await Promise.all(pending)) assert.equal(r.status, 200, r.text);
  });
});
