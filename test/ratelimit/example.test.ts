import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startExample } from '../helpers/examples.ts';

type Started = Awaited<ReturnType<typeof startExample>>;

const ALPHA = 'agent-alpha-demo-7d41';
const BETA = 'agent-beta-demo-2c9e';

/** One JSON-RPC POST as the README's curl sends it; the answer as JSON whether it came as JSON or as SSE. */
async function rpc(url: string, key: string, body: object, session?: string): Promise<{ status: number; session: string | null; json: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(session ? { 'mcp-session-id': session } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const data = (res.headers.get('content-type') ?? '').includes('text/event-stream')
    ? text.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).find((l) => l.startsWith('{'))
    : text;
  return { status: res.status, session: res.headers.get('mcp-session-id'), json: data ? JSON.parse(data) : undefined };
}

describe('examples/ratelimiting', () => {
  let ex: Started;
  after(async () => {
    await ex?.running.close();
  });

  it('gives each agent 100 requests per minute: the 101st is answered 429 with Retry-After and RateLimit headers', async () => {
    ex = await startExample('ratelimiting', { noWarmPool: true });
    const hello = (key?: string) => fetch(`${ex.url()}/hello`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    const anonymous = await hello();
    assert.equal(anonymous.status, 401);
    await anonymous.arrayBuffer();
    const first = await hello(ALPHA);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('ratelimit-policy'), '"per-agent";q=100;w=60');
    assert.equal(first.headers.get('ratelimit'), '"per-agent";r=99;t=1');
    await first.arrayBuffer();
    for (let i = 0; i < 99; i++) {
      const res = await hello(ALPHA);
      await res.arrayBuffer();
      assert.equal(res.status, 200);
    }
    // The bucket refills at 100 per minute (one per 600 ms) while the loop runs: allow for a few refills.
    let refused: Response | undefined;
    for (let i = 0; i < 50 && !refused; i++) {
      const res = await hello(ALPHA);
      if (res.status === 429) refused = res;
      else await res.arrayBuffer();
    }
    assert.ok(refused, 'agent-alpha was refused after its 100 requests');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.match(refused.headers.get('ratelimit')!, /^"per-agent";r=0;t=\d+$/);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'PCL_ERR_RATE_LIMITED');
    const beta = await hello(BETA);
    assert.equal(beta.status, 200, 'agent-beta has its own budget');
    await beta.arrayBuffer();
  });

  it('limits tools/call of echo to 10 per minute per agent with a JSON-RPC error; the session goes on', async () => {
    const url = `${ex.url()}/mcp`;
    const init = await rpc(url, BETA, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } } });
    assert.equal(init.status, 200);
    const session = init.session!;
    assert.ok(session);
    assert.equal((await rpc(url, BETA, { jsonrpc: '2.0', method: 'notifications/initialized' }, session)).status, 202);
    for (let i = 1; i <= 10; i++) {
      const call = await rpc(url, BETA, { jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'echo', arguments: { message: `hi ${i}` } } }, session);
      assert.equal(call.json.result.content[0].text, `Echo: hi ${i}`);
    }
    const limited = await rpc(url, BETA, { jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'echo', arguments: { message: 'one too many' } } }, session);
    assert.equal(limited.status, 200, 'a limited message is a JSON-RPC error, not an HTTP error');
    assert.equal(limited.json.error.code, -32083);
    assert.match(limited.json.error.message, /^rate limit "echo-calls" reached: retry in \d+ s$/);
    assert.equal(limited.json.error.data.code, 'PCL_ERR_RATE_LIMITED');
    assert.equal(limited.json.error.data.limit, 'echo-calls');
    assert.ok(limited.json.error.data.retryAfterMs > 0 && limited.json.error.data.retryAfterMs <= 6000);
    const list = await rpc(url, BETA, { jsonrpc: '2.0', id: 12, method: 'tools/list' }, session);
    assert.ok(list.json.result.tools.some((t: { name: string }) => t.name === 'echo'), 'tools/list is not counted and the session is intact');
  });
});
