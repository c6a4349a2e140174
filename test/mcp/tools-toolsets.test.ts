import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, MCP_TEST_EXTRA, mcpRoute, postModern, startHttpFixture, text, type RunningServer } from '../helpers/mcp.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const READER = 'reader-key-0123456789';
const ADMIN = 'admin-key-0123456789';
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

// Toolsets and tool search on a streamable-HTTP target (the TS SDK fixture server), callers told apart by API key:
// the reader's key carries the claim team=search, the admin's the role admin.
describe('toolsets granted by claim and role, and tool search over each caller’s set (streamable HTTP target)', () => {
  let fixture: RunningServer;
  let gw: TestGateway;
  const clients: Client[] = [];
  const client = async (path: string, key: string) => {
    const c = await connectClient(`${gw.url()}${path}`, { headers: auth(key) });
    clients.push(c);
    return c;
  };

  before(async () => {
    fixture = await startHttpFixture('fx');
    const target = { name: 'fx', mcp: { url: fixture.url } };
    const toolsets = {
      readers: { tools: ['echo', 'who*'], grant: { claims: { team: 'search' } } },
      admins: { tools: ['*'], grant: { roles: ['admin'] } },
    };
    const keys = [
      { name: 'reader', sha256: sha(READER), roles: ['reader'], metadata: { team: 'search' } },
      { name: 'admin', sha256: sha(ADMIN), roles: ['admin'] },
    ];
    gw = await startTestGateway({
      ...MCP_TEST_EXTRA,
      binds: [
        {
          port: 0,
          address: '127.0.0.1',
          listeners: [
            {
              policies: { apiKey: { keys } },
              routes: [
                { ...mcpRoute([target], { toolsets, toolSearch: {} }), matches: [{ path: { pathPrefix: '/mcp' } }] },
                { ...mcpRoute([target], { toolsets, toolSearch: { list: 'pinned', pinned: ['whoami'], maxResults: 3 } }, 'pinned'), matches: [{ path: { pathPrefix: '/pinned' } }] },
              ],
            },
          ],
        },
      ],
    });
  });
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gw?.close();
    await fixture?.close();
  });

  it('lists each caller its own set, with the search tools first', async () => {
    const reader = await client('/mcp', READER);
    assert.deepEqual((await reader.listTools()).tools.map((t) => t.name), ['search_tools', 'call_tool', 'echo', 'whoami']);
    const admin = await client('/mcp', ADMIN);
    const names = (await admin.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes('slow') && names.includes('crash') && names.length > 10, names.join());
  });

  it('refuses a call outside the caller’s set as an unknown tool, and serves one inside it', async () => {
    const reader = await client('/mcp', READER);
    await assert.rejects(reader.callTool({ name: 'slow', arguments: { ms: 1 } }), (err: any) => err.code === -32602 && err.message.includes('Unknown tool: slow'));
    assert.equal(text(await reader.callTool({ name: 'echo', arguments: { text: 'hi' } })), 'fx: hi');
    const admin = await client('/mcp', ADMIN);
    assert.equal(text(await admin.callTool({ name: 'slow', arguments: { ms: 1 } })), 'slept');
  });

  it('searches only the caller’s visible tools', async () => {
    const reader = await client('/mcp', READER);
    const found = await reader.callTool({ name: 'search_tools', arguments: { query: 'echo text back' } });
    assert.equal((found.structuredContent as any).tools[0].name, 'echo');
    assert.deepEqual((found.structuredContent as any).tools[0].inputSchema.properties, { text: { type: 'string' } });
    const none = await reader.callTool({ name: 'search_tools', arguments: { query: 'slow' } });
    assert.deepEqual((none.structuredContent as any).tools, []);
    assert.equal(text(none), 'No tool matches "slow". Try other words.');
    const admin = await client('/mcp', ADMIN);
    const slow = await admin.callTool({ name: 'search_tools', arguments: { query: 'slow' } });
    assert.equal((slow.structuredContent as any).tools[0].name, 'slow');
  });

  it('in pinned mode lists only the search tools and the pinned ones, and call_tool reaches any visible tool', async () => {
    const reader = await client('/pinned/mcp', READER);
    assert.deepEqual((await reader.listTools()).tools.map((t) => t.name), ['search_tools', 'call_tool', 'whoami']);
    assert.equal(text(await reader.callTool({ name: 'call_tool', arguments: { name: 'echo', arguments: { text: 'via call_tool' } } })), 'fx: via call_tool');
    assert.equal(text(await reader.callTool({ name: 'echo', arguments: { text: 'direct' } })), 'fx: direct');
    await assert.rejects(reader.callTool({ name: 'call_tool', arguments: { name: 'slow', arguments: { ms: 1 } } }), (err: any) => err.code === -32602 && err.message.includes('Unknown tool: slow'));
    await assert.rejects(reader.callTool({ name: 'call_tool', arguments: {} }), (err: any) => err.code === -32602 && err.message.includes('call_tool: arguments.name must be the name of a tool'));
    // maxResults bounds a search, whatever limit the call asks for.
    const admin = await client('/pinned/mcp', ADMIN);
    const many = await admin.callTool({ name: 'search_tools', arguments: { query: 'echo slow crash progress ask elicit roots env', limit: 50 } });
    assert.equal((many.structuredContent as any).tools.length, 3);
  });

  it('answers a 1 MB query with a bounded, clear tool error', async () => {
    const reader = await client('/mcp', READER);
    const res = await reader.callTool({ name: 'search_tools', arguments: { query: 'x'.repeat(1024 * 1024) } });
    assert.equal(res.isError, true);
    assert.equal((res.structuredContent as any).error.code, 'PCL_ERR_MCP_TOOL_SEARCH_INVALID');
    assert.equal(text(res), 'search_tools: the query is 1048576 characters long; at most 1000 are accepted: send a few words (PCL_ERR_MCP_TOOL_SEARCH_INVALID)');
    assert.ok(JSON.stringify(res).length < 1000, 'the answer does not echo the query');
    const empty = await reader.callTool({ name: 'search_tools', arguments: { query: '  ' } });
    assert.equal(empty.isError, true);
    const wrong = await reader.callTool({ name: 'search_tools', arguments: { query: ['a'] } });
    assert.equal(text(wrong), 'search_tools: "query" must be a string, got an array (PCL_ERR_MCP_TOOL_SEARCH_INVALID)');
  });

  it('gives a 2026-07-28 client the same view', async () => {
    const url = `${gw.url()}/pinned/mcp`;
    const list = await postModern(url, { id: 1, method: 'tools/list', params: {} }, { key: READER });
    assert.deepEqual(list.body.result.tools.map((t: any) => t.name), ['search_tools', 'call_tool', 'whoami']);
    const found = await postModern(url, { id: 2, method: 'tools/call', params: { name: 'search_tools', arguments: { query: 'echo' } } }, { key: READER });
    assert.equal(found.body.result.structuredContent.tools[0].name, 'echo');
    const refused = await postModern(url, { id: 3, method: 'tools/call', params: { name: 'crash', arguments: {} } }, { key: READER });
    assert.equal(refused.body.error.code, -32602);
  });
});
