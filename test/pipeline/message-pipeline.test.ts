import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CHANNELS, type MessageEvent, type PolicyDecisionEvent } from '../../core/telemetry/index.ts';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, fixtureStdio, text } from '../helpers/mcp.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/pipeline/${name}`, import.meta.url));

/** The JSON-RPC error a call ended with, as the SDK client reports it. */
async function rpcError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the call to fail');
}

// One MCP route: a filter that rewrites calls, then Rego authorization. Authorization must decide on the message as
// it is forwarded (after the filter, with URIs normalized), which is what the message pipeline guarantees.
describe('message pipeline: authorization sees the message as forwarded', () => {
  let gw: TestGateway;
  let client: Client;
  const messages: MessageEvent[] = [];
  const decisions: PolicyDecisionEvent[] = [];
  const onMessageEnd = (m: unknown) => messages.push(m as MessageEvent);
  const onDecision = (m: unknown) => decisions.push(m as PolicyDecisionEvent);

  before(async () => {
    gw = await startTestGateway(
      simpleConfig([
        {
          name: 'mcp',
          policies: {
            filters: [{ file: fixture('rename-tool.ts') }],
            authorization: { rego: './pipeline.rego', entrypoint: 'pipeline/allow' },
          },
          backends: [{ mcp: { targets: [fixtureStdio('fx', 'pipeline-test', { warmPool: 0 })] } }],
        },
      ]),
      { files: { 'pipeline.rego': await readFile(fixture('pipeline.rego'), 'utf8') } },
    );
    client = await connectClient(`${gw.url()}/mcp`);
    subscribe(`tracing:${CHANNELS.message}:asyncEnd`, onMessageEnd);
    subscribe(CHANNELS.policy, onDecision);
  });
  after(async () => {
    unsubscribe(`tracing:${CHANNELS.message}:asyncEnd`, onMessageEnd);
    unsubscribe(CHANNELS.policy, onDecision);
    await client?.close();
    await gw?.close();
  });

  it('serves an allowed call as the client sent it', async () => {
    assert.match(text(await client.callTool({ name: 'echo', arguments: { text: 'hello' } })), /hello/);
  });

  it('denies a call that a filter rewrote into a tool the caller may not call, as if the tool did not exist', async () => {
    assert.match(await rpcError(client.callTool({ name: 'echo', arguments: { text: 'escalate' } })), /Unknown tool: whoami/);
    // The same tool asked for directly is denied the same way, and the session goes on.
    assert.match(await rpcError(client.callTool({ name: 'whoami', arguments: {} })), /Unknown tool: whoami/);
    assert.match(text(await client.callTool({ name: 'echo', arguments: { text: 'still here' } })), /still here/);
  });

  it('refuses a rewrite to a tool no target serves', async () => {
    assert.match(await rpcError(client.callTool({ name: 'echo', arguments: { text: 'vanish' } })), /Unknown tool: no-such-tool/);
  });

  it('lists only what the caller may use', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name), ['echo']);
  });

  it('reads a resource under the allowed prefix, with dot segments removed before forwarding', async () => {
    const read = await client.readResource({ uri: 'fixture://fx/items/public/a/../1' });
    assert.equal((read.contents[0] as { text: string }).text, 'fx read fixture://fx/items/public/1');
  });

  it('never serves a resource URI that climbs out of the allowed prefix', async () => {
    for (const uri of ['fixture://fx/items/public/../secret/1', 'fixture://fx/items/public/%2e%2e/secret/1', 'fixture://fx/items/public/%2E%2e/secret/1']) {
      assert.equal(await rpcError(client.readResource({ uri })), 'MCP error -32602: Unknown resource: fixture://fx/items/secret/1', uri);
    }
    for (const uri of [
      'fixture://fx/items/public/..%2fsecret/1',
      'fixture://fx/items/public/%2F..%2Fsecret/1',
      'fixture://fx/items/public/..%5csecret/1',
      'fixture://fx/items/public/%252e%252e/secret/1',
      'fixture://fx/items/public/../../../../etc/passwd',
    ]) {
      assert.equal(await rpcError(client.readResource({ uri })), `MCP error -32602: Invalid resource URI: ${uri} cannot be normalized safely`, uri);
    }
    assert.equal((await client.readResource({ uri: 'fixture://fx/items/public/2' })).contents.length, 1);
  });

  it('publishes each message with its outcome, and each policy decision', async () => {
    messages.length = 0;
    decisions.length = 0;
    await rpcError(client.callTool({ name: 'echo', arguments: { text: 'escalate' } }));
    const call = messages.find((m) => m.method === 'tools/call');
    assert.ok(call, 'a tools/call message event');
    assert.equal(call.protocol, 'mcp');
    assert.equal(call.route, 'mcp');
    assert.equal(call.tool, 'whoami');
    assert.equal(call.target, 'fx');
    assert.equal(call.outcome, 'error');
    assert.equal(call.rpcErrorCode, -32602);
    const denied = decisions.find((d) => d.level === 'message' && d.policy === 'authorization');
    assert.deepEqual(denied && { outcome: denied.outcome, method: denied.method }, { outcome: 'deny', method: 'tools/call' });
    assert.ok(decisions.some((d) => d.level === 'http' && d.policy === 'authorization' && d.outcome === 'allow'), 'the HTTP-level decision is published too');
  });
});
