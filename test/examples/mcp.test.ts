import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startExample } from '../helpers/examples.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { connectClient, text } from '../helpers/mcp.ts';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Started = Awaited<ReturnType<typeof startExample>>;

async function exercise(base: string, tool: string): Promise<void> {
  for (const [path, sse] of [['/mcp', false], ['/sse', true]] as const) {
    const client = await connectClient(`${base}${path}`, { sse });
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === tool), tools.map((t) => t.name).join(','));
      assert.equal(text(await client.callTool({ name: tool, arguments: { message: 'hello' } })), 'Echo: hello');
    } finally {
      await client.close();
    }
  }
}

describe('MCP examples', () => {
  const started: Started[] = [];
  after(async () => {
    for (const s of started) await s.running.close();
  });

  it("examples/basic (TypeScript) serves server-everything at /mcp and /sse, with CORS for browsers", async () => {
    const ex = await startExample('basic');
    started.push(ex);
    await exercise(ex.url(), 'echo');
    const pre = await fetch(`${ex.url()}/mcp`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:6274', 'access-control-request-method': 'POST', 'access-control-request-headers': 'mcp-protocol-version,content-type' },
    });
    assert.ok(pre.status === 204 || pre.status === 200, String(pre.status));
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    await pre.arrayBuffer();
  });

  it('examples/basic/config.yaml (the seed format, stdio via npx) serves the same', async () => {
    const ex = await startExample('basic', { file: 'config.yaml' });
    started.push(ex);
    await exercise(ex.url(), 'echo');
  });

  it('examples/multiplex merges two servers with target prefixes', async () => {
    const ex = await startExample('multiplex');
    started.push(ex);
    const client = await connectClient(`${ex.url()}/mcp`);
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes('everything_echo') && names.includes('second_echo'), names.join(','));
      assert.equal(text(await client.callTool({ name: 'second_echo', arguments: { message: 'two' } })), 'Echo: two');
      const { resources } = await client.listResources();
      const uri = resources.find((r) => r.uri.startsWith('portcullis://second/'))!.uri;
      assert.equal((await client.readResource({ uri })).contents[0].uri, uri);
    } finally {
      await client.close();
    }
  });

  it('the default gateway.config.ts serves server-everything on /mcp', async () => {
    // The repository's own config, moved to port 0 so the test never collides with a running gateway.
    const source = readFileSync(fileURLToPath(new URL('../../gateway.config.ts', import.meta.url)), 'utf8')
      .replace('port: 3000,', 'port: 0,')
      .replace("'node_modules/@modelcontextprotocol", `'${fileURLToPath(new URL('../../node_modules/@modelcontextprotocol', import.meta.url))}`);
    const gw = await startTestGateway(source);
    try {
      await exercise(gw.url(), 'echo');
      const res = await fetch(`${gw.url()}/`);
      assert.equal(((await res.json()) as { mcp: string }).mcp, '/mcp');
      // Safe by default: loopback only, and a web page from elsewhere cannot drive the local MCP servers.
      assert.equal(gw.running.gateway.config.binds[0].address, '127.0.0.1');
      const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
      const post = (origin: string) =>
        fetch(`${gw.url()}/mcp`, { method: 'POST', headers: { origin, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(init) });
      const foreign = await post('https://evil.example');
      assert.equal(foreign.status, 403);
      assert.equal(((await foreign.json()) as { error: { code: string } }).error.code, 'PCL_ERR_MCP_ORIGIN_FORBIDDEN');
      const local = await post('http://localhost:6274');
      assert.equal(local.status, 200);
      await local.body?.cancel();
    } finally {
      await gw.close();
    }
  });
});
