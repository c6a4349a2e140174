import assert from 'node:assert/strict';
import { messageChannel } from '../../core/telemetry/events.ts';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { parseExposition, sample } from '../telemetry/tools.ts';
import { connectClient, EVERYTHING, MCP_TEST_EXTRA, mcpRoute, postModern, text } from '../helpers/mcp.ts';

const PAGED = fileURLToPath(new URL('../fixtures/mcp/paged-server.ts', import.meta.url));
const FILTER = fileURLToPath(new URL('../fixtures/tools/upstream-name-filter.ts', import.meta.url));

/** Allows every tool call whose exposed and upstream names are a known pair: the policy sees both. */
const REGO = `package tools
import rego.v1
default allow := false
allow if not input.mcp
allow if input.mcp.method != "tools/call"
pairs := {"add": "get-sum", "echo": "echo", "tiny-image": "get-tiny-image"}
allow if pairs[input.mcp.tool] == input.mcp.upstreamTool
`;

const everything = {
  name: 'everything',
  stdio: { cmd: process.execPath, args: [EVERYTHING, 'stdio'], warmPool: 0 },
  tools: {
    exclude: ['trigger-*', 'toggle-*', 'simulate-*', 'gzip-*'],
    overrides: {
      'get-sum': { name: 'add', description: 'Adds a to ten', annotations: { title: 'Add ten' }, fixedArguments: { b: 10 } },
      echo: { defaultArguments: { message: 'hello' } },
      'get-tiny-image': { name: 'tiny-image' },
    },
  },
};

describe('tool overrides on a stdio target (server-everything)', () => {
  let gw: TestGateway;
  let client: Client;
  const events: any[] = [];
  const onMessage = (e: any) => events.push(e);

  before(async () => {
    messageChannel.asyncEnd.subscribe(onMessage);
    gw = await startTestGateway(
      simpleConfig(
        [
          { ...mcpRoute([everything]), policies: { authorization: { rego: './tools.rego', entrypoint: 'tools/allow' } } },
          {
            ...mcpRoute([{ name: 'p', stdio: { cmd: process.execPath, args: [PAGED, 'p', '5', '2'], warmPool: 0 }, tools: { exclude: ['t1'], overrides: { t3: { name: 'third', description: 'renamed' } } } }], {}, 'paged'),
            matches: [{ path: { pathPrefix: '/paged' } }],
          },
          {
            ...mcpRoute([{ name: 'p', stdio: { cmd: process.execPath, args: [PAGED, 'p', '5', '2'], warmPool: 0 }, tools: { overrides: { t3: { name: 'third' } } } }], {}, 'cel'),
            matches: [{ path: { pathPrefix: '/cel' } }],
            policies: { mcpAuthorization: { rules: ['mcp.tool.upstreamName == "t3" && mcp.tool.name == "third"'] } },
          },
          {
            ...mcpRoute([{ ...everything, tools: { overrides: { 'get-sum': { fixedArguments: { c: 1 } }, echo: { name: 'get-env' } } } }], {}, 'unfit'),
            matches: [{ path: { pathPrefix: '/unfit' } }],
          },
          {
            ...mcpRoute([everything], {}, 'filtered'),
            matches: [{ path: { pathPrefix: '/filtered' } }],
            policies: { filters: [{ file: FILTER }] },
          },
        ],
        { ...MCP_TEST_EXTRA, stats: { address: '127.0.0.1:0' } } as any,
      ),
      { files: { 'tools.rego': REGO } },
    );
    client = await connectClient(`${gw.url()}/mcp`);
  });
  after(async () => {
    messageChannel.asyncEnd.unsubscribe(onMessage);
    await client?.close();
    await gw?.close();
  });

  it('lists tools renamed, described, annotated, filtered, with fixed arguments gone and defaults shown (2025 session)', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    assert.ok(names.includes('add') && names.includes('echo') && names.includes('tiny-image'), names.join());
    for (const gone of ['get-sum', 'get-tiny-image', 'trigger-long-running-operation', 'toggle-simulated-logging']) assert.ok(!names.includes(gone), `${gone} is listed`);
    // The policy allows only the three pairs it knows: everything else is hidden by it, as a call would be refused.
    assert.deepEqual(names, ['add', 'echo', 'tiny-image']);
    const add = tools.find((t) => t.name === 'add')!;
    assert.equal(add.description, 'Adds a to ten');
    assert.equal(add.annotations?.title, 'Add ten');
    assert.equal(add.annotations?.readOnlyHint, true, 'the target annotations are kept under the override');
    assert.deepEqual(Object.keys(add.inputSchema.properties ?? {}), ['a']);
    assert.deepEqual(add.inputSchema.required, ['a']);
    const echo = tools.find((t) => t.name === 'echo')!;
    assert.equal((echo.inputSchema.properties as any).message.default, 'hello');
    assert.ok(!(echo.inputSchema.required ?? []).includes('message'));
  });

  it('calls by the new name with fixed arguments injected (a client value is replaced) and defaults filled', async () => {
    assert.equal(text(await client.callTool({ name: 'add', arguments: { a: 5 } })), 'The sum of 5 and 10 is 15.');
    assert.equal(text(await client.callTool({ name: 'add', arguments: { a: 5, b: 1000 } })), 'The sum of 5 and 10 is 15.');
    assert.equal(text(await client.callTool({ name: 'echo', arguments: {} })), 'Echo: hello');
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'mine' } })), 'Echo: mine');
    const img = await client.callTool({ name: 'tiny-image', arguments: {} });
    assert.ok((img.content as any[]).some((c) => c.type === 'image'));
  });

  it('refuses the old name of a renamed tool and excluded tools as unknown tools', async () => {
    for (const name of ['get-sum', 'get-tiny-image', 'trigger-long-running-operation']) {
      await assert.rejects(client.callTool({ name, arguments: { a: 1, b: 2 } }), (err: any) => err.code === -32602 && err.message.includes(`Unknown tool: ${name}`), name);
    }
  });

  it('telemetry shows the exposed name and the upstream one: message events, access log, metrics', async () => {
    const call = events.find((e) => e.method === 'tools/call' && e.tool === 'add');
    assert.ok(call, 'a message event for add');
    assert.equal(call.upstreamTool, 'get-sum');
    assert.deepEqual(call.arguments, { a: 5, b: 10 }, 'the arguments as forwarded');
    const line = await gw.logs.waitFor((l) => l.type === 'access' && l['gen_ai.tool.name'] === 'add');
    assert.equal(line['portcullis.mcp.upstream_tool'], 'get-sum');
    const res = await fetch(`http://127.0.0.1:${gw.running.telemetry.statsPort}/metrics`);
    const metrics = parseExposition(await res.text(), res.headers.get('content-type')!);
    assert.equal(sample(metrics, 'portcullis_mcp_messages_total', { route: 'mcp', method: 'tools/call', tool: 'add', upstream_tool: 'get-sum', outcome: 'ok' }), 2);
    assert.equal(sample(metrics, 'portcullis_mcp_messages_total', { route: 'mcp', method: 'tools/call', tool: 'echo', upstream_tool: '', outcome: 'ok' }), 2);
  });

  it('serves the same view to a 2026-07-28 client, list and call', async () => {
    const url = `${gw.url()}/mcp`;
    const list = await postModern(url, { id: 1, method: 'tools/list', params: {} });
    assert.deepEqual(list.body.result.tools.map((t: any) => t.name).sort(), ['add', 'echo', 'tiny-image']);
    const call = await postModern(url, { id: 2, method: 'tools/call', params: { name: 'add', arguments: { a: 1 } } });
    assert.equal(call.body.result.content[0].text, 'The sum of 1 and 10 is 11.');
    const old = await postModern(url, { id: 3, method: 'tools/call', params: { name: 'get-sum', arguments: { a: 1, b: 1 } } });
    assert.equal(old.body.error.code, -32602);
  });

  it('applies overrides page by page when a 2026-07-28 client pages', async () => {
    const url = `${gw.url()}/paged/mcp`;
    const seen: any[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await postModern(url, { id: i, method: 'tools/list', params: cursor ? { cursor } : {} });
      seen.push(...page.body.result.tools);
      cursor = page.body.result.nextCursor;
      if (!cursor) break;
    }
    assert.deepEqual(seen.map((t) => t.name), ['t0', 't2', 'third', 't4']);
    assert.equal(seen.find((t) => t.name === 'third').description, 'renamed');
    const call = await postModern(url, { id: 20, method: 'tools/call', params: { name: 'third', arguments: {} } });
    assert.ok(call.body.result, JSON.stringify(call.body));
    const hidden = await postModern(url, { id: 21, method: 'tools/call', params: { name: 't1', arguments: {} } });
    assert.equal(hidden.body.error.code, -32602);
  });

  it('gives agentgateway CEL rules both names: mcp.tool.name and mcp.tool.upstreamName', async () => {
    const c = await connectClient(`${gw.url()}/cel/mcp`);
    try {
      assert.deepEqual((await c.listTools()).tools.map((t) => t.name), ['third']);
      assert.ok(await c.callTool({ name: 'third', arguments: {} }));
      await assert.rejects(c.callTool({ name: 't0', arguments: {} }), (err: any) => err.code === -32602);
    } finally {
      await c.close();
    }
  });

  it('gives filters both names', async () => {
    const c = await connectClient(`${gw.url()}/filtered/mcp`);
    try {
      await assert.rejects(c.callTool({ name: 'add', arguments: { a: 1 } }), (err: any) => err.message.includes('add is get-sum upstream: refused'));
      assert.equal(text(await c.callTool({ name: 'echo', arguments: {} })), 'Echo: hello');
    } finally {
      await c.close();
    }
  });

  it('leaves out, with a warning naming the setting, tools whose overrides do not fit what the target lists', async () => {
    const c = await connectClient(`${gw.url()}/unfit/mcp`);
    try {
      const names = (await c.listTools()).tools.map((t) => t.name);
      assert.ok(!names.includes('get-sum'), 'a tool with a fixed argument its schema lacks is left out');
      assert.ok(!names.includes('get-env') && !names.includes('echo'), 'two tools shown under one name are both left out');
      assert.ok(names.includes('get-annotated-message'), 'the other tools are served');
      await assert.rejects(c.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } }), (err: any) => err.code === -32602);
      const warnings = gw.logs.lines.filter((l: any) => l.code === 'PCL_ERR_MCP_TOOLS_CONFIG_INVALID');
      const byPath = new Map(warnings.map((w: any) => [w.path, w.msg]));
      assert.equal(
        byPath.get('binds[0].listeners[0].routes[3].backends[0].mcp.targets[0].tools.overrides.get-sum.fixedArguments.c'),
        'MCP tool settings do not fit the target\'s tools: binds[0].listeners[0].routes[3].backends[0].mcp.targets[0].tools.overrides.get-sum.fixedArguments.c: tool "get-sum" of target "everything" has no argument "c" (its arguments: a, b): the tool is left out',
      );
      assert.match(String(byPath.get('binds[0].listeners[0].routes[3].backends[0].mcp.targets[0].tools.overrides.echo.name')), /tools "echo" and "get-env" of target "everything" would both be shown as "get-env": both are left out/);
      // Once per load, not once per session or list.
      await c.listTools();
      assert.equal(gw.logs.lines.filter((l: any) => l.code === 'PCL_ERR_MCP_TOOLS_CONFIG_INVALID').length, warnings.length);
    } finally {
      await c.close();
    }
  });
});
