import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startExample } from '../helpers/examples.ts';

const READONLY_KEY = 'ro-demo-6f1c2a9e4b7d';
const INGEST_KEY = 'ingest-demo-3b8e5d1f0a2c';

describe("examples/authorization: per-agent MCP rules through a real MCP client", () => {
  let ex: Awaited<ReturnType<typeof startExample>>;
  const clients: Client[] = [];
  before(async () => {
    ex = await startExample('authorization', { noWarmPool: true });
  });
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await ex?.running.close();
  });

  async function connect(key?: string): Promise<Client> {
    const client = new Client({ name: 'security-test', version: '1.0.0' });
    const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
    await client.connect(new StreamableHTTPClientTransport(new URL(`${ex.url()}/mcp`), { requestInit: { headers } }));
    clients.push(client);
    return client;
  }
  const names = (items: Array<{ name: string }>) => items.map((i) => i.name).sort();

  it('the read-only agent lists only its tools, prompts and resources', async () => {
    const client = await connect(READONLY_KEY);
    assert.deepEqual(names((await client.listTools()).tools), ['echo', 'get-annotated-message', 'get-sum', 'get-tiny-image']);
    assert.deepEqual(names((await client.listPrompts()).prompts), ['simple-prompt']);
    const resources = (await client.listResources()).resources;
    assert.ok(resources.length > 0);
    assert.ok(resources.every((r) => r.uri.startsWith('demo://resource/static/')));
    assert.deepEqual((await client.listResourceTemplates()).resourceTemplates, []);
    const sum = await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } });
    assert.match(JSON.stringify(sum.content), /5/);
  });

  it('the read-only agent is refused the write tool exactly as if it did not exist', async () => {
    const client = await connect(READONLY_KEY);
    const refused = await client.callTool({ name: 'gzip-file-as-resource', arguments: {} }).then(
      () => assert.fail('the call should be refused'),
      (err) => err,
    );
    const unknown = await client.callTool({ name: 'no-such-tool', arguments: {} }).then(
      () => assert.fail('the call should fail'),
      (err) => err,
    );
    assert.equal(refused.code, unknown.code);
    assert.equal(refused.code, -32602);
    assert.equal(refused.message, unknown.message.replace('no-such-tool', 'gzip-file-as-resource'));
    await assert.rejects(client.getPrompt({ name: 'args-prompt', arguments: { city: 'x' } }), /Unknown prompt: args-prompt/);
  });

  it('the ingest agent sees and calls only the write tool', async () => {
    const client = await connect(INGEST_KEY);
    assert.deepEqual(names((await client.listTools()).tools), ['gzip-file-as-resource']);
    assert.deepEqual((await client.listPrompts()).prompts, []);
    await assert.rejects(client.callTool({ name: 'echo', arguments: { message: 'hi' } }), /Unknown tool: echo/);
    const result = await client.callTool({
      name: 'gzip-file-as-resource',
      arguments: { name: 'hello.gz', data: `data:text/plain;base64,${Buffer.from('hello').toString('base64')}`, outputType: 'resourceLink' },
    });
    assert.notEqual(result.isError, true, JSON.stringify(result));
  });

  for (const [label, key, message] of [
    ['no credential', undefined, 'missing API key (expected in the authorization header)'],
    ['a bad credential', 'not-a-real-key', 'unknown API key'],
  ] as const) {
    it(`an agent with ${label} gets 401 before any MCP server is contacted`, async () => {
      const before = ex.logs.lines.length;
      const res = await fetch(`${ex.url()}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
      });
      assert.equal(res.status, 401);
      assert.deepEqual(await res.json(), { error: { code: 'PCL_ERR_UNAUTHENTICATED', message } });
      const access = await ex.logs.waitFor((l) => ex.logs.lines.indexOf(l) >= before && l.type === 'access');
      assert.equal(access.errorCode, 'PCL_ERR_UNAUTHENTICATED');
      assert.equal(access.backend, undefined, 'the MCP backend never ran');
      // The SDK client sees the same refusal.
      await assert.rejects(connect(key), /401|Unauthorized|PCL_ERR_UNAUTHENTICATED/);
    });
  }

  it('still serves authorized agents afterwards', async () => {
    const client = await connect(READONLY_KEY);
    const r = await client.callTool({ name: 'echo', arguments: { message: 'still here' } });
    assert.match(JSON.stringify(r.content), /still here/);
  });
});
