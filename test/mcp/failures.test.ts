import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, countTagged, FIXTURE, fixtureStdio, MCP_TEST_EXTRA, mcpRoute, text, tinyStdio, waitUntil } from '../helpers/mcp.ts';

const ghost = { name: 'ghost', stdio: { cmd: '/nonexistent/mcp-server-binary', warmPool: 0 } };

describe('MCP failure isolation', () => {
  const tag = `fail-${randomUUID()}`;
  let gw: TestGateway;

  before(async () => {
    gw = await startTestGateway(
      simpleConfig(
        [
          // Beside the missing target, one that only echoes: the bare stdio server, a fraction of the fixture's start-up CPU.
          { ...mcpRoute([tinyStdio('a', tag), ghost], { failureMode: 'failOpen' }, 'open-missing'), matches: [{ path: { pathPrefix: '/open-missing' } }] },
          { ...mcpRoute([tinyStdio('a', tag), ghost], {}, 'closed-missing'), matches: [{ path: { pathPrefix: '/closed-missing' } }] },
          {
            ...mcpRoute([fixtureStdio('a', tag, { warmPool: 0 }), fixtureStdio('b', tag, { warmPool: 0 })], { failureMode: 'failOpen' }, 'crash'),
            matches: [{ path: { pathPrefix: '/crash' } }],
          },
          {
            ...mcpRoute([tinyStdio('a', tag), { name: 'hang', stdio: { cmd: process.execPath, args: [FIXTURE, 'hang', 'hang', `--tag=${tag}`], warmPool: 0 }, requestTimeoutMs: 400 }], {
              failureMode: 'failOpen',
            }, 'hang'),
            matches: [{ path: { pathPrefix: '/hang' } }],
          },
          { ...mcpRoute([{ ...fixtureStdio('a', tag), requestTimeoutMs: 300 }], {}, 'timeout'), matches: [{ path: { pathPrefix: '/timeout' } }] },
        ],
        MCP_TEST_EXTRA,
      ),
    );
  });
  after(async () => {
    await gw?.close();
    // No child process outlives the gateway.
    await waitUntil(() => countTagged(tag) === 0, 5000, 'every tagged process to exit');
  });

  it('failOpen: a target whose binary is missing is left out, logged by name, and the others serve', async () => {
    const client = await connectClient(`${gw.url()}/open-missing/mcp`);
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.length > 0 && tools.every((t) => t.name.startsWith('a_')), tools.map((t) => t.name).join(','));
      assert.equal(text(await client.callTool({ name: 'a_echo', arguments: { text: 'ok' } })), 'a: ok');
      await assert.rejects(client.callTool({ name: 'ghost_echo', arguments: {} }), /target "ghost" is unavailable/);
      const line = await gw.logs.waitFor((l) => l.msg === 'MCP target failed to start' && l.target === 'ghost');
      assert.match(line.err, /ENOENT/);
    } finally {
      await client.close();
    }
  });

  it('failClosed: the session does not start, with a 502 naming the target; the gateway keeps serving', async () => {
    const res = await fetch(`${gw.url()}/closed-missing/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
    });
    assert.equal(res.status, 502);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'PCL_ERR_MCP_UPSTREAM_FAILED');
    assert.match(body.error.message, /^route "closed-missing": the MCP session could not start: target "ghost": spawn \/nonexistent\/mcp-server-binary ENOENT$/);
    const client = await connectClient(`${gw.url()}/open-missing/mcp`);
    assert.equal(text(await client.callTool({ name: 'a_echo', arguments: { text: 'still' } })), 'a: still');
    await client.close();
  });

  it('failClosed over legacy SSE: initialize is answered on the stream with a JSON-RPC error naming the target', async () => {
    // The session used to end its stream before the answer was written: the client waited until its own timeout.
    const started = Date.now();
    await assert.rejects(
      connectClient(`${gw.url()}/closed-missing/sse`, { sse: true }),
      (err: Error) => {
        assert.equal(err.message, 'MCP error -32603: route "closed-missing": the MCP session could not start: target "ghost": spawn /nonexistent/mcp-server-binary ENOENT');
        return true;
      },
    );
    assert.ok(Date.now() - started < 10_000, `answered after ${Date.now() - started} ms`);
    const client = await connectClient(`${gw.url()}/open-missing/sse`, { sse: true });
    assert.equal(text(await client.callTool({ name: 'a_echo', arguments: { text: 'still' } })), 'a: still');
    await client.close();
  });

  it('failOpen: a crash fails the call in flight, leaves other calls alone, drops the target from lists and restarts it', async () => {
    const client = await connectClient(`${gw.url()}/crash/mcp`);
    try {
      let changed = 0;
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
      const slowB = client.callTool({ name: 'b_slow', arguments: { ms: 400 } });
      const before = JSON.parse(text(await client.callTool({ name: 'a_whoami', arguments: {} }))).pid;
      await assert.rejects(client.callTool({ name: 'a_crash', arguments: {} }), /target "a" is unavailable/);
      assert.equal(text(await slowB), 'slept');
      await waitUntil(() => changed > 0, 5000, 'list_changed after the crash');
      await gw.logs.waitFor((l) => l.msg === 'MCP target connection lost' && l.target === 'a' && l.route === 'crash');
      assert.equal(text(await client.callTool({ name: 'b_echo', arguments: { text: 'b' } })), 'b: b');
      await gw.logs.waitFor((l) => l.msg === 'MCP target restarted' && l.target === 'a' && l.route === 'crash', 5000);
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'a_echo'));
      const afterPid = JSON.parse(text(await client.callTool({ name: 'a_whoami', arguments: {} }))).pid;
      assert.notEqual(afterPid, before);
      assert.ok(changed >= 2, 'list_changed again once the target is back');
    } finally {
      await client.close();
    }
  });

  it('failOpen: a target that hangs in initialize is left out after its timeout', async () => {
    const started = Date.now();
    const client = await connectClient(`${gw.url()}/hang/mcp`);
    try {
      assert.ok(Date.now() - started < 4000);
      const { tools } = await client.listTools();
      assert.ok(tools.length > 0 && tools.every((t) => t.name.startsWith('a_')));
      const line = await gw.logs.waitFor((l) => l.msg === 'MCP target failed to start' && l.target === 'hang');
      assert.equal(line.err, 'no answer to initialize within 2000 ms');
    } finally {
      await client.close();
    }
  });

  it('a call that outlives the target request timeout gets a JSON-RPC error; the next call works', async () => {
    const client = await connectClient(`${gw.url()}/timeout/mcp`);
    try {
      await assert.rejects(client.callTool({ name: 'slow', arguments: { ms: 3000 } }), /target "a" did not answer tools\/call within 300 ms/);
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'next' } })), 'a: next');
    } finally {
      await client.close();
    }
  });
});
