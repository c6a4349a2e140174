import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { ConfigValidationError, validateConfig } from '../../core/config/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, MCP_TEST_EXTRA, mcpRoute, spawnListening, text } from '../helpers/mcp.ts';
import type { ChildProcess } from 'node:child_process';

const BAD_UPSTREAM = fileURLToPath(new URL('../fixtures/mcp/bad-upstream.ts', import.meta.url));
const TIMEOUT_MS = 8000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('an upstream that sends what is not MCP: the call fails with a JSON-RPC error naming the target, nothing else does', () => {
  let gw: TestGateway;
  let client: Client;
  let small: Client;
  const children: ChildProcess[] = [];
  let badPort = 0;

  before(async () => {
    const bad = await spawnListening([BAD_UPSTREAM], 'bad upstream');
    const good = await spawnListening([BAD_UPSTREAM], 'good upstream');
    children.push(bad.child, good.child);
    badPort = bad.port;
    gw = await startTestGateway(
      simpleConfig(
        [
          mcpRoute(
            [
              { name: 'bad', mcp: { url: `http://127.0.0.1:${bad.port}/mcp` } },
              { name: 'good', mcp: { url: `http://127.0.0.1:${good.port}/mcp` } },
            ],
            { requestTimeoutMs: TIMEOUT_MS },
          ),
          {
            ...mcpRoute([{ name: 'small', mcp: { url: `http://127.0.0.1:${bad.port}/mcp` } }], { requestTimeoutMs: TIMEOUT_MS, maxUpstreamMessageBytes: 4096 }, 'small'),
            matches: [{ path: { pathPrefix: '/small' } }],
          },
        ],
        MCP_TEST_EXTRA,
      ),
    );
    client = await connectClient(`${gw.url()}/mcp`);
    small = await connectClient(`${gw.url()}/small/mcp`);
  });
  after(async () => {
    await client?.close().catch(() => {});
    await small?.close().catch(() => {});
    await gw?.close();
    for (const c of children) c.kill('SIGKILL');
  });

  /** Calls a tool and returns the JSON-RPC error it failed with, and how long it took. */
  const failure = async (name: string): Promise<{ err: McpError; ms: number }> => {
    const start = Date.now();
    const err = await client.callTool({ name }).then(
      () => assert.fail(`${name} should have failed`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof McpError, `${name}: ${String(err)}`);
    return { err, ms: Date.now() - start };
  };

  /** The session and both targets still answer. */
  const stillWorks = async () => {
    assert.equal(text(await client.callTool({ name: 'bad_ok' })), 'ok');
    assert.equal(text(await client.callTool({ name: 'good_ok' })), 'ok');
    assert.equal(text(await client.callTool({ name: 'good_ok-json' })), 'ok-json');
  };

  it('answers a notification acknowledged with 202, application/json and no body (the Python SDK) as accepted', async () => {
    // The session opened, which needed notifications/initialized to be accepted by both targets.
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'bad_ok') && tools.some((t) => t.name === 'good_ok'));
    await stillWorks();
  });

  const cases: Array<[tool: string, code: string, message: RegExp]> = [
    ['html', 'PCL_ERR_MCP_UPSTREAM_INVALID', /^MCP error -32080: target "bad" answered HTTP 200 with content-type "text\/html; charset=utf-8", not JSON or an event stream: <!doctype html><html><head><title>502 Bad Gateway/],
    ['invalid-utf8', 'PCL_ERR_MCP_UPSTREAM_INVALID', /^MCP error -32080: target "bad" sent an event stream that is not valid UTF-8$/],
    ['endless', 'PCL_ERR_MCP_UPSTREAM_INVALID', /^MCP error -32080: target "bad" sent an event of more than 16777216 bytes \(no blank line ended it within the bound\)$/],
    ['huge', 'PCL_ERR_MCP_UPSTREAM_INVALID', /^MCP error -32080: target "bad" sent an event of more than 16777216 bytes/],
    ['close-mid-event', 'PCL_ERR_MCP_UPSTREAM_STREAM_ENDED', /^MCP error -32080: target "bad" ended its event stream before the answer to tools\/call \(.+\) and gave no event id to resume from$/],
    ['resume-refused', 'PCL_ERR_MCP_UPSTREAM_STREAM_ENDED', /^MCP error -32080: target "bad" ended its event stream before the answer to tools\/call and refused to resume after event "gone-\d+" \(HTTP 405\)$/],
    ['no-id-break', 'PCL_ERR_MCP_UPSTREAM_STREAM_ENDED', /^MCP error -32080: target "bad" ended its event stream before the answer to tools\/call/],
    ['garbage-json', 'PCL_ERR_MCP_UPSTREAM_INVALID', /^MCP error -32080: target "bad" sent a message that is not JSON \(.+\): \{"jsonrpc":"2\.0","id":$/],
    ['not-jsonrpc', 'PCL_ERR_MCP_UPSTREAM_INVALID', /^MCP error -32080: target "bad" sent JSON that is not a JSON-RPC message: \{"hello":"world"\}$/],
  ];

  for (const [tool, code, message] of cases) {
    it(`${tool}: the client gets a JSON-RPC error naming the target within the route timeout; the session and the other target go on`, async () => {
      const { err, ms } = await failure(`bad_${tool}`);
      assert.equal(err.code, -32080);
      assert.match(err.message, message);
      assert.deepEqual(err.data, { target: 'bad', code });
      assert.ok(ms < TIMEOUT_MS, `answered in ${ms} ms`);
      await stillWorks();
      // Logged with the route and the target's name.
      await gw.logs.waitFor((l) => l.msg === 'MCP target sent what is not MCP' && l.target === 'bad' && l.code === code && l.err.includes(`target "bad"`));
    });
  }

  it('an answer stream broken after an event id is resumed with GET + Last-Event-ID after the server retry', async () => {
    const result = await client.callTool({ name: 'bad_resumable' });
    assert.match(text(result), /^resumed after r-\d+$/);
    const stats = (await (await fetch(`http://127.0.0.1:${badPort}/stats`)).json()) as { resumed: number };
    assert.equal(stats.resumed, 1);
    await stillWorks();
  });

  it('maxUpstreamMessageBytes sets the bound, for events and JSON bodies alike; under it, answers pass', async () => {
    const fails = (name: string) => small.callTool({ name }).then(() => assert.fail('should fail'), (e: unknown) => e as McpError);
    const event = await fails('endless');
    assert.equal(event.message, 'MCP error -32080: target "small" sent an event of more than 4096 bytes (no blank line ended it within the bound)');
    assert.deepEqual(event.data, { target: 'small', code: 'PCL_ERR_MCP_UPSTREAM_INVALID' });
    const body = await fails('big-json');
    assert.equal(body.message, 'MCP error -32080: target "small" answered with a body over 4096 bytes');
    assert.deepEqual(body.data, { target: 'small', code: 'PCL_ERR_MCP_UPSTREAM_INVALID' });
    assert.equal(text(await small.callTool({ name: 'ok-json' })), 'ok-json');
    // The route without the setting takes the 16 KiB answer.
    assert.equal(text(await client.callTool({ name: 'bad_big-json' })), 'é'.repeat(8192));
    const schema = (value: unknown) => {
      try {
        validateConfig({ binds: [{ port: 1, listeners: [{ routes: [{ backends: [{ mcp: { targets: [{ name: 'a', mcp: { url: 'http://h/mcp' } }], maxUpstreamMessageBytes: value } }] }] }] }] }, builtinPolicies, builtinBackends);
        return [];
      } catch (err) {
        assert.ok(err instanceof ConfigValidationError);
        return err.issues.map((i) => `${i.path}: ${i.message}`);
      }
    };
    assert.deepEqual(schema(64 * 1024 * 1024), []);
    assert.deepEqual(schema(10), ['binds[0].listeners[0].routes[0].backends[0].mcp.maxUpstreamMessageBytes: must be >= 1024, got 10']);
  });

  it('memory stays bounded: 50 MB and endless events, repeated, grow neither the heap nor the process', async (t) => {
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      for (let i = 0; i < 3; i++) {
        for (const tool of ['huge', 'endless', 'invalid-utf8', 'html', 'close-mid-event']) await failure(`bad_${tool}`);
      }
    } finally {
      clearInterval(sampler);
    }
    await stillWorks();
    gc();
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    t.diagnostic(`peak RSS +${((peak - rssBefore) / 2 ** 20).toFixed(1)} MiB, heap after GC +${(heapGrowth / 2 ** 20).toFixed(1)} MiB`);
    // One event is refused at 16 MiB: a copy or two of it may exist at a time, never the 50 MB or the endless one.
    assert.ok(peak - rssBefore < 256 * 1024 * 1024, `peak RSS grew by ${((peak - rssBefore) / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(heapGrowth < 16 * 1024 * 1024, `heap grew by ${(heapGrowth / 2 ** 20).toFixed(1)} MiB`);
  });
});
