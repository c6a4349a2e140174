import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, text } from '../helpers/mcp.ts';
import { toolHash } from '../../policies/tool-pinning/index.ts';
import { everythingRoute, filterFixture } from '../helpers/filters.ts';

const fixture = filterFixture;
const mcp = everythingRoute;

// The official TypeScript SDK client, through the gateway, to server-everything over stdio.
describe('filters on MCP messages', () => {
  let gw: TestGateway;
  const clients = new Map<string, Promise<Client>>();
  // One session per route, shared by the tests: each session starts its own server-everything process.
  const connect = (route: string) => {
    if (!clients.has(route)) clients.set(route, connectClient(`${gw.url()}/${route}/mcp`));
    return clients.get(route)!;
  };

  before(async () => {
    gw = await startTestGateway(
      simpleConfig(
        [
          mcp('custom', { filters: [{ file: fixture('mcp-rewrite.ts'), timeoutMs: 50 }] }),
          mcp('open', { filters: [{ file: fixture('mcp-rewrite.ts'), timeoutMs: 50, failureMode: 'failOpen' }] }),
          mcp('pii', { piiRedaction: {} }),
          mcp('rules', {
            toolArgumentRules: {
              rules: [
                { tool: 'ech*', deny: ['[Dd][Rr][Oo][Pp] [Tt][Aa][Bb][Ll][Ee]'], schema: { type: 'object', properties: { message: { type: 'string', maxLength: 20 } }, required: ['message'] } },
                { tool: 'get-sum', forbidArguments: ['sudo'] },
              ],
            },
          }),
          mcp('pinned', { toolPinning: { mode: 'block', pins: { echo: '0'.repeat(64) } } }),
          mcp('flagged', { toolPinning: { mode: 'flag', pins: { echo: '0'.repeat(64) } } }),
          mcp('tofu', { toolPinning: {} }),
        ],
        { shutdown: { drainTimeoutMs: 2000 } },
      ),
    );
  });
  after(async () => {
    await Promise.allSettled([...clients.values()].map(async (c) => (await c).close()));
    await gw?.close();
  });

  it('a custom filter rewrites tool arguments and the tool result', async () => {
    const client = await connect('custom');
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'hello' } })), 'ECHO: HELLO (FROM ANONYMOUS)');
    assert.equal(text(await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } })), 'The sum of 2 and 3 is 5.');
  });

  it('a custom filter denies a tool call with a JSON-RPC error', async () => {
    const client = await connect('custom');
    await assert.rejects(client.callTool({ name: 'get-sum', arguments: { a: 101, b: 1 } }), /sums over 100 are not allowed here/);
    assert.equal(text(await client.callTool({ name: 'get-sum', arguments: { a: 1, b: 1 } })), 'The sum of 1 and 1 is 2.');
  });

  it('a looping MCP filter fails closed with PCL_ERR_FILTER_TIMEOUT, or open when configured; the session goes on', async () => {
    const client = await connect('custom');
    await assert.rejects(client.callTool({ name: 'echo', arguments: { message: 'loop' } }), /PCL_ERR_FILTER_TIMEOUT: filter "mcp-rewrite" failed: onMcpRequest ran longer than timeoutMs \(50 ms\)/);
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'after' } })), 'ECHO: AFTER (FROM ANONYMOUS)');
    const open = await connect('open');
    assert.equal(text(await open.callTool({ name: 'echo', arguments: { message: 'loop' } })), 'ECHO: LOOP');
  });

  it('piiRedaction redacts emails, cards, ids and phone numbers in tool results', async () => {
    const client = await connect('pii');
    const out = text(await client.callTool({ name: 'echo', arguments: { message: 'mail jane@example.com card 4111 1111 1111 1111 ssn 123-45-6789 tel +1 415 555 0100' } }));
    assert.equal(out, 'Echo: mail [REDACTED:email] card [REDACTED:paymentCard] ssn [REDACTED:nationalId] tel [REDACTED:phone]');
  });

  it('toolArgumentRules denies by pattern, schema and forbidden argument, with PCL_ERR_FILTER_DENIED', async () => {
    const client = await connect('rules');
    await assert.rejects(client.callTool({ name: 'echo', arguments: { message: 'x; DROP TABLE users' } }), /PCL_ERR_FILTER_DENIED: tool "echo": an argument matches deny pattern/);
    await assert.rejects(client.callTool({ name: 'echo', arguments: { message: 'this message is far too long' } }), /PCL_ERR_FILTER_DENIED: tool "echo": arguments\.message: longer than 20 \(rule "ech\*"\)/);
    await assert.rejects(client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2, sudo: true } }), /PCL_ERR_FILTER_DENIED: tool "get-sum": argument "sudo" is not allowed/);
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'fine' } })), 'Echo: fine');
  });

  it('toolPinning hides and denies a tool whose definition differs from its pin (block)', async () => {
    const client = await connect('pinned');
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(!names.includes('echo') && names.includes('get-sum'), names.join(','));
    await assert.rejects(client.callTool({ name: 'echo', arguments: { message: 'x' } }), /PCL_ERR_FILTER_DENIED: tool "echo" changed since it was pinned/);
    const line = await gw.logs.waitFor((l) => l.msg === 'tool definition changed since it was pinned' && l.tool === 'echo' && l.action === 'blocked');
    assert.equal(line.pinned, '0'.repeat(64));
  });

  it('toolPinning in flag mode logs the change and lets the tool through; first sight pins', async () => {
    const flagged = await connect('flagged');
    const tools = (await flagged.listTools()).tools;
    const echo = tools.find((t) => t.name === 'echo')!;
    assert.ok(echo);
    await gw.logs.waitFor((l) => l.msg === 'tool definition changed since it was pinned' && l.action === 'flagged');
    const tofu = await connect('tofu');
    await tofu.listTools();
    const pinned = await gw.logs.waitFor((l) => l.msg === 'tool pinned' && l.tool === 'echo');
    assert.equal(pinned.hash, toolHash(echo as Record<string, unknown>));
    assert.equal(text(await tofu.callTool({ name: 'echo', arguments: { message: 'ok' } })), 'Echo: ok');
  });
});
