import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { simpleConfig, startTestGateway, startUpstream, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { connectClient, MCP_TEST_EXTRA, mcpRoute, text } from '../helpers/mcp.ts';
import { GITHUB_QUERIES } from '../fixtures/tools/github-queries.ts';

const require = createRequire(import.meta.url);
/** GitHub's REST API description (1,100+ operations), from @octokit/openapi: one tool per operation. */
const GITHUB = require.resolve('@octokit/openapi/generated/api.github.com.json');

/** Floors of the measurement (the figures themselves are in docs/tool-governance.md). */
const MIN_TOP5_HIT_RATE = 0.85;
const MIN_TOP1_HIT_RATE = 0.5;
const MAX_PINNED_LIST_BYTES = 16 * 1024;
/** The pinned list is at least this many times smaller than the whole one. */
const MIN_SHRINK = 500;

/** A rough token count for JSON as a model's tokenizer cuts it (about four bytes a token). */
const tokens = (bytes: number) => Math.round(bytes / 4);

describe('tool search on a route with the GitHub API (1,000+ tools, an OpenAPI target)', () => {
  let api: Upstream;
  let gw: TestGateway;
  const clients: Client[] = [];
  const connect = async (path: string) => {
    const c = await connectClient(`${gw.url()}${path}`);
    clients.push(c);
    return c;
  };

  before(async () => {
    api = await startUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url, login: 'octocat' }));
    });
    const github = {
      name: 'github',
      openapi: { schema: { file: GITHUB }, url: `http://${api.host}` },
      tools: { exclude: ['codespaces_*'], overrides: { repos_get: { name: 'get_our_repo', description: 'Get the acme/web repository', fixedArguments: { owner: 'acme', repo: 'web' } } } },
    };
    gw = await startTestGateway(
      simpleConfig(
        [
          { ...mcpRoute([github], { toolSearch: {} }, 'all'), matches: [{ path: { pathPrefix: '/all' } }] },
          { ...mcpRoute([github], { toolSearch: { list: 'pinned', pinned: ['users_get-authenticated'], maxResults: 5 } }, 'pinned'), matches: [{ path: { pathPrefix: '/pinned' } }] },
        ],
        MCP_TEST_EXTRA,
      ),
    );
  });
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gw?.close();
    await api?.close();
  });

  it('pinned mode shrinks the list a client loads from megabytes to a few kilobytes', async (t) => {
    const all = (await (await connect('/all/mcp')).listTools()).tools;
    const pinned = (await (await connect('/pinned/mcp')).listTools()).tools;
    const allBytes = Buffer.byteLength(JSON.stringify(all));
    const pinnedBytes = Buffer.byteLength(JSON.stringify(pinned));
    t.diagnostic(`tools/list: all ${all.length} tools ${allBytes} bytes (~${tokens(allBytes)} tokens); pinned ${pinned.length} tools ${pinnedBytes} bytes (~${tokens(pinnedBytes)} tokens)`);
    assert.ok(all.length > 1000, `${all.length} tools`);
    assert.ok(!all.some((x) => x.name.startsWith('codespaces_')), 'the exclude glob holds on 1,000+ tools');
    assert.deepEqual(pinned.map((x) => x.name), ['search_tools', 'call_tool', 'users_get-authenticated']);
    assert.ok(pinnedBytes <= MAX_PINNED_LIST_BYTES, `${pinnedBytes} bytes`);
    assert.ok(allBytes / pinnedBytes >= MIN_SHRINK, `${allBytes} / ${pinnedBytes}`);
  });

  it(`finds the right tool in the top 5 for at least ${MIN_TOP5_HIT_RATE * 100}% of ${GITHUB_QUERIES.length} hand-written tasks`, async (t) => {
    const client = await connect('/pinned/mcp');
    let top1 = 0;
    let top5 = 0;
    let answerBytes = 0;
    const misses: string[] = [];
    const started = performance.now();
    for (const q of GITHUB_QUERIES) {
      const res = await client.callTool({ name: 'search_tools', arguments: { query: q.query, limit: 5 } });
      answerBytes += Buffer.byteLength(JSON.stringify(res));
      const names = (res.structuredContent as { tools: Array<{ name: string }> }).tools.map((x) => x.name);
      assert.ok(names.length <= 5);
      if (q.answers.includes(names[0])) top1++;
      if (names.some((n) => q.answers.includes(n))) top5++;
      else misses.push(`${q.query} → ${names.join(', ')}`);
    }
    const ms = performance.now() - started;
    t.diagnostic(`search: top-1 ${top1}/${GITHUB_QUERIES.length}, top-5 ${top5}/${GITHUB_QUERIES.length}; mean answer ${Math.round(answerBytes / GITHUB_QUERIES.length)} bytes; ${Math.round(ms / GITHUB_QUERIES.length)} ms a search (the first builds the index)`);
    for (const m of misses) t.diagnostic(`miss: ${m}`);
    assert.ok(top5 / GITHUB_QUERIES.length >= MIN_TOP5_HIT_RATE, `top-5 ${top5}/${GITHUB_QUERIES.length}`);
    assert.ok(top1 / GITHUB_QUERIES.length >= MIN_TOP1_HIT_RATE, `top-1 ${top1}/${GITHUB_QUERIES.length}`);
  });

  it('finds a renamed tool by its new name and calls it through call_tool, fixed arguments injected into the REST call', async () => {
    const client = await connect('/pinned/mcp');
    const found = await client.callTool({ name: 'search_tools', arguments: { query: 'get our repo' } });
    const first = (found.structuredContent as any).tools[0];
    assert.equal(first.name, 'get_our_repo');
    assert.deepEqual(first.inputSchema.required ?? [], [], 'owner and repo are fixed: the client sees neither');
    const res = await client.callTool({ name: 'call_tool', arguments: { name: 'get_our_repo', arguments: { owner: 'evil' } } });
    assert.equal(JSON.parse(text(res)).url, '/repos/acme/web');
    // An excluded tool is neither found nor callable.
    const codespaces = await client.callTool({ name: 'search_tools', arguments: { query: 'create a codespace' } });
    assert.ok(!(codespaces.structuredContent as any).tools.some((x: any) => x.name.startsWith('codespaces_')));
    await assert.rejects(client.callTool({ name: 'call_tool', arguments: { name: 'codespaces_create-for-authenticated-user', arguments: {} } }), (err: any) => err.code === -32602 && err.message.includes('Unknown tool: codespaces_create-for-authenticated-user'));
  });
});
