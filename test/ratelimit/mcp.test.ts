import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { rateLimitChannel, type RateLimitEvent } from '../../core/telemetry/events.ts';
import { simpleConfig, startTestGateway, until, type TestGateway } from '../helpers/gateway.ts';
import { fixtureStdio, MCP_TEST_EXTRA, text } from '../helpers/mcp.ts';

const sha = (t: string) => createHash('sha256').update(t).digest('hex');

async function agent(url: string, key: string): Promise<Client> {
  const client = new Client({ name: 'rl-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
  return client;
}

async function rpcError(call: Promise<unknown>): Promise<McpError> {
  try {
    await call;
  } catch (err) {
    assert.ok(err instanceof McpError, String(err));
    return err;
  }
  assert.fail('expected a JSON-RPC error');
}

describe('rateLimit on MCP messages', () => {
  let gw: TestGateway;
  const clients: Client[] = [];
  after(async () => {
    for (const c of clients) await c.close().catch(() => {});
    await gw?.close();
  });

  it('limits tools/call of one tool per agent with a JSON-RPC error, without counting tools/list or disturbing the session', async () => {
    gw = await startTestGateway(
      simpleConfig(
        [
          {
            name: 'mcp',
            policies: {
              apiKey: { keys: [{ name: 'agent-a', sha256: sha('key-a') }, { name: 'agent-b', sha256: sha('key-b') }] },
              rateLimit: {
                limits: [
                  { name: 'echo-calls', scope: 'message', methods: ['tools/call'], tools: ['echo'], key: ['subject'], rate: { limit: 3, windowMs: 3_600_000 } },
                  { name: 'slow-in-flight', scope: 'message', tools: ['slow'], key: ['subject', 'tool'], concurrency: { limit: 1 } },
                ],
              },
            },
            backends: [{ mcp: { targets: [fixtureStdio('a', 'rl-mcp', { warmPool: 0 })] } }],
          },
        ],
        MCP_TEST_EXTRA,
      ),
    );
    const events: RateLimitEvent[] = [];
    const listen = (e: unknown) => events.push(e as RateLimitEvent);
    rateLimitChannel.subscribe(listen);
    try {
      const a = await agent(`${gw.url()}/mcp`, 'key-a');
      clients.push(a);
      for (let i = 0; i < 3; i++) assert.equal(text(await a.callTool({ name: 'echo', arguments: { text: `hi ${i}` } })), `a: hi ${i}`);
      const err = await rpcError(a.callTool({ name: 'echo', arguments: { text: 'one too many' } }));
      assert.equal(err.code, -32083);
      assert.match(err.message, /rate limit "echo-calls" reached: retry in \d+ s/);
      const data = err.data as { code: string; limit: string; retryAfterMs: number };
      assert.equal(data.code, 'PCL_ERR_RATE_LIMITED');
      assert.equal(data.limit, 'echo-calls');
      assert.ok(data.retryAfterMs > 1_000_000 && data.retryAfterMs <= 1_200_000, String(data.retryAfterMs));
      // The session goes on: lists are not counted, other tools are not counted.
      for (let i = 0; i < 5; i++) assert.ok((await a.listTools()).tools.some((t) => t.name === 'echo'));
      assert.ok(text(await a.callTool({ name: 'whoami', arguments: {} })).length > 0);
      // Another agent has its own budget.
      const b = await agent(`${gw.url()}/mcp`, 'key-b');
      clients.push(b);
      for (let i = 0; i < 3; i++) await b.callTool({ name: 'echo', arguments: { text: 'b' } });
      assert.equal((await rpcError(b.callTool({ name: 'echo', arguments: { text: 'b' } }))).code, -32083);

      // One slow call in flight per agent: a second at the same time is refused, then the slot is free again.
      const admitted = events.length;
      const first = b.callTool({ name: 'slow', arguments: { ms: 400 } });
      // Wait for the limit to admit it (it then holds the slot until the call ends), not for a guessed delay.
      await until(() => events.slice(admitted).some((e) => e.kind === 'decision' && e.limit === 'slow-in-flight' && e.outcome === 'allowed'), { timeoutMs: 10_000 });
      const second = await rpcError(b.callTool({ name: 'slow', arguments: { ms: 1 } }));
      assert.equal(second.code, -32083);
      assert.match(second.message, /concurrency limit "slow-in-flight" reached/);
      await first;
      await b.callTool({ name: 'slow', arguments: { ms: 1 } });
    } finally {
      rateLimitChannel.unsubscribe(listen);
    }
    const limited = events.filter((e) => e.kind === 'decision' && e.outcome === 'limited');
    assert.deepEqual(
      limited.map((e) => [e.limit, e.level, e.store]),
      [
        ['echo-calls', 'message', 'local'],
        ['echo-calls', 'message', 'local'],
        ['slow-in-flight', 'message', 'local'],
      ],
    );
    assert.equal(events.filter((e) => e.limit === 'echo-calls' && e.outcome === 'allowed').length, 6, 'only tools/call of echo counted');
  });
});
