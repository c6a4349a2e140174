import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { simpleConfig, startTestGateway, startUpstream, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { connectClient, fixtureStdio, MCP_TEST_EXTRA, mcpRoute, postModern, spawnListening, text } from '../helpers/mcp.ts';
import type { ChildProcess } from 'node:child_process';

const MODERN = fileURLToPath(new URL('../fixtures/mcp/modern-server.ts', import.meta.url));
const V = '2026-07-28';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

const post = (url: string, key: string, body: Record<string, any>) => postModern(url, body, { key, capabilities: { elicitation: {} } });

// Any client era in front of any server era: one route mixes a 2025 stdio target with 2026-07-28-only targets
// (the SDK v2 server with `legacy: 'reject'`) over streamable HTTP and stdio.
describe('MCP eras: 2025 clients on 2026-07-28-only targets, mixed targets on one route', () => {
  let upstream: ChildProcess;
  let gw: TestGateway;
  let url: string;

  before(async () => {
    const started = await spawnListening([MODERN, 'web', 'http', '0', '--reject'], 'modern-only HTTP server');
    upstream = started.child;
    gw = await startTestGateway(
      simpleConfig(
        [
          {
            ...mcpRoute([
              fixtureStdio('alpha', 'eras-bridge'),
              { name: 'web', mcp: { url: `http://127.0.0.1:${started.port}/mcp` } },
              { name: 'pipe', stdio: { cmd: process.execPath, args: [MODERN, 'pipe', 'stdio', '--reject'], warmPool: 0 } },
            ]),
            policies: { apiKey: { keys: [{ name: 'agent-a', sha256: sha('key-a') }, { name: 'agent-b', sha256: sha('key-b') }] } },
          },
        ],
        MCP_TEST_EXTRA,
      ),
    );
    url = `${gw.url()}/mcp`;
  });
  after(async () => {
    await gw?.close();
    upstream?.kill('SIGKILL');
  });

  const auth = (key: string) => ({ requestInit: { headers: { authorization: `Bearer ${key}` } } });

  it('an SDK v1 client: the gateway answers initialize, and lists, calls, reads and prompts every target of both eras', async () => {
    const client = await connectClient(url, { headers: { authorization: 'Bearer key-a' } });
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      for (const n of ['alpha_echo', 'web_echo', 'pipe_echo']) assert.ok(names.includes(n), names.join(','));
      assert.equal(text(await client.callTool({ name: 'web_echo', arguments: { text: 'v1' } })), 'web: v1');
      assert.equal(text(await client.callTool({ name: 'pipe_echo', arguments: { text: 'v1' } })), 'pipe: v1');
      assert.equal(text(await client.callTool({ name: 'alpha_echo', arguments: { text: 'v1' } })), 'alpha: v1');
      const uris = (await client.listResources()).resources.map((r) => r.uri);
      assert.ok(uris.includes('portcullis://web/modern://web/info'), uris.join(','));
      const read = await client.readResource({ uri: 'portcullis://web/modern://web/info' });
      assert.equal((read.contents[0] as { text: string }).text, 'web read modern://web/info');
      const prompt = await client.getPrompt({ name: 'pipe_greet', arguments: { who: 'v1' } });
      assert.equal((prompt.messages[0].content as { text: string }).text, 'pipe greets v1');
      await client.ping();
    } finally {
      await client.close();
    }
  });

  it('an SDK v1 client is asked a 2026-07-28 target\'s input-required question as an elicitation request, and the call completes', async () => {
    const client = await connectClient(url, { headers: { authorization: 'Bearer key-a' }, capabilities: { elicitation: {} } });
    const asked: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked.push(req.params.message);
      return { action: 'accept', content: { yes: true } };
    });
    try {
      for (const t of ['web', 'pipe']) {
        const r = await client.callTool({ name: `${t}_confirm`, arguments: { what: 'deploy' } });
        assert.equal(text(r), `${t} accept {"yes":true} state=state-of-${t}-deploy`);
      }
      assert.deepEqual(asked, ['confirm deploy?', 'confirm deploy?']);
    } finally {
      await client.close();
    }
  });

  it('an SDK v2 client pinned to 2026-07-28 on the same mixed route', async () => {
    const client = new ClientV2({ name: 'v2', version: '1' }, { versionNegotiation: { mode: { pin: V } } });
    await client.connect(new HttpV2(new URL(url), auth('key-b')));
    try {
      assert.equal(text(await client.callTool({ name: 'web_echo', arguments: { text: 'v2' } })), 'web: v2');
      assert.equal(text(await client.callTool({ name: 'alpha_echo', arguments: { text: 'v2' } })), 'alpha: v2');
      assert.equal(text(await client.callTool({ name: 'pipe_echo', arguments: { text: 'v2' } })), 'pipe: v2');
    } finally {
      await client.close();
    }
  });

  it('tools/list caching hint: the most conservative of the targets\' (a 2025 target gives none)', async () => {
    const r = await post(url, 'key-a', { id: 1, method: 'tools/list', params: {} });
    assert.equal(r.body.result.ttlMs, 0);
    assert.equal(r.body.result.cacheScope, 'private');
  });

  describe('input-required results for 2026-07-28 clients: sealed request state', () => {
    it('the target\'s state comes back sealed by the gateway, and the retry with it completes with the target\'s own state', async () => {
      const first = await post(url, 'key-a', { id: 2, method: 'tools/call', params: { name: 'web_confirm', arguments: { what: 'x' } } });
      assert.equal(first.body.result.resultType, 'input_required');
      assert.equal(first.body.result.inputRequests.ok.method, 'elicitation/create');
      const state = first.body.result.requestState as string;
      assert.match(state, /^pcl1\./);
      assert.ok(!state.includes('state-of-web'));
      const retry = await post(url, 'key-a', {
        id: 3,
        method: 'tools/call',
        params: { name: 'web_confirm', arguments: { what: 'x' }, inputResponses: { ok: { action: 'accept', content: { yes: true } } }, requestState: state },
      });
      assert.equal(retry.status, 200);
      assert.equal(retry.body.result.content[0].text, 'web accept {"yes":true} state=state-of-web-x');
    });

    it('forged, another caller\'s, or another request\'s state: 400, -32602, logged; the caller\'s next call works', async () => {
      const first = await post(url, 'key-a', { id: 4, method: 'tools/call', params: { name: 'web_confirm', arguments: { what: 'y' } } });
      const state = first.body.result.requestState as string;
      const answers = { ok: { action: 'accept', content: { yes: true } } };
      const tampered = state.slice(0, 10) + (state[10] === 'A' ? 'B' : 'A') + state.slice(11);
      const cases: Array<[string, string, string, string]> = [
        ['key-a', 'web_confirm', tampered, 'Invalid params: requestState refused: its integrity check failed'],
        ['key-a', 'web_confirm', 'state-of-web-y', 'Invalid params: requestState refused: it was not issued by this gateway'],
        ['key-b', 'web_confirm', state, 'Invalid params: requestState refused: it was issued to another caller'],
        ['key-a', 'pipe_confirm', state, 'Invalid params: requestState refused: it was issued for another request'],
      ];
      for (const [key, name, requestState, message] of cases) {
        const r = await post(url, key, { id: 5, method: 'tools/call', params: { name, arguments: { what: 'y' }, inputResponses: answers, requestState } });
        assert.equal(r.status, 400, message);
        assert.deepEqual(r.body.error, { code: -32602, message });
      }
      const line = await gw.logs.waitFor((l) => l.code === 'PCL_ERR_MCP_REQUEST_STATE_INVALID' && l.reason === 'it was issued to another caller');
      assert.equal(line.method, 'tools/call');
      const ok = await post(url, 'key-a', { id: 6, method: 'tools/call', params: { name: 'web_confirm', arguments: { what: 'y' }, inputResponses: answers, requestState: state } });
      assert.equal(ok.body.result.content[0].text, 'web accept {"yes":true} state=state-of-web-y');
    });
  });
});

// A target that refuses initialize as a 2026-07-28-only server does, then answers server/discover with something
// that is not a DiscoverResult: no session starts on it, and the client is told why.
describe('MCP eras: a 2026-07-28 target with an invalid server/discover answer', () => {
  let up: Upstream;
  let gw: TestGateway;

  before(async () => {
    up = await startUpstream((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const m = JSON.parse(body || '{}');
        res.writeHead(m.method === 'initialize' ? 400 : 200, { 'content-type': 'application/json' });
        if (m.method === 'initialize') {
          res.end(JSON.stringify({ jsonrpc: '2.0', id: m.id, error: { code: -32022, message: 'Unsupported protocol version', data: { supported: ['2026-07-28'], requested: m.params?.protocolVersion } } }));
        } else res.end(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { capabilities: 'none' } }));
      });
    });
    gw = await startTestGateway(simpleConfig([mcpRoute([{ name: 'odd', mcp: { url: `http://${up.host}/mcp` } }])], MCP_TEST_EXTRA));
  });
  after(async () => {
    await gw?.close();
    await up?.close();
  });

  it('initialize fails with 502 naming the target and the schema violation; the gateway keeps serving', async () => {
    const init = await fetch(`${gw.url()}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
    });
    assert.equal(init.status, 502);
    const body = (await init.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'PCL_ERR_MCP_UPSTREAM_FAILED');
    assert.match(body.error.message, /target "odd": .*the target answered server\/discover with an invalid result: /);
    const again = await fetch(`${gw.url()}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    assert.equal(again.status, 400);
    await again.arrayBuffer();
  });
});
