import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, MCP_TEST_EXTRA, mcpRoute, spawnListening, text } from '../helpers/mcp.ts';

const UNICODE_SERVER = fileURLToPath(new URL('../fixtures/mcp/unicode-server.ts', import.meta.url));
const PYTHON_SERVER = fileURLToPath(new URL('../fixtures/mcp/python-upstream.py', import.meta.url));
/** The project-local venv that `npm run setup:test` provides (scripts/install-python.mjs); PORTCULLIS_PYTHON overrides it. */
const PYTHON = process.env.PORTCULLIS_PYTHON ?? fileURLToPath(new URL('../../.tools/python/bin/python3', import.meta.url));

/** 2-, 3- and 4-byte UTF-8 characters, a combining mark and ASCII: 30 code points, repeated 10,000 times. */
const PATTERN = 'àéîõü ßçñ 中文字符 日本語 한국어 😀🧪🚀 e\u0301 ';
const TIMES = 10_000;

/** A Python MCP server, started like the Python client test starts its client; waits for its port. */
async function startPython(mode: 'sse' | 'json'): Promise<{ child: ChildProcess; port: number }> {
  assert.ok(existsSync(PYTHON), `no Python MCP SDK at ${PYTHON}: run "npm run setup:test"`);
  const child = spawn(PYTHON, [PYTHON_SERVER, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c) => (err = (err + c).slice(-4000)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`the Python server exited with ${code}: ${err}`)));
    setTimeout(() => reject(new Error(`the Python server did not report its port within 30 s: ${err}`)), 30_000).unref();
  });
  return { child, port };
}

describe('real MCP servers behind the gateway: results byte for byte, Python acknowledgements, resumption', () => {
  let gw: TestGateway;
  let client: Client;
  const children: ChildProcess[] = [];

  before(async () => {
    const [ts, pySse, pyJson] = await Promise.all([spawnListening([UNICODE_SERVER], 'TS SDK server'), startPython('sse'), startPython('json')]);
    children.push(ts.child, pySse.child, pyJson.child);
    gw = await startTestGateway(
      simpleConfig(
        [
          mcpRoute(
            [
              { name: 'ts-http', mcp: { url: `http://127.0.0.1:${ts.port}/mcp` } },
              { name: 'ts-sse', sse: { url: `http://127.0.0.1:${ts.port}/sse` } },
              { name: 'py-sse', mcp: { url: `http://127.0.0.1:${pySse.port}/mcp` } },
              { name: 'py-json', mcp: { url: `http://127.0.0.1:${pyJson.port}/mcp` } },
            ],
            { requestTimeoutMs: 20_000 },
          ),
        ],
        MCP_TEST_EXTRA,
      ),
    );
    client = await connectClient(`${gw.url()}/mcp`);
  });
  after(async () => {
    await client?.close().catch(() => {});
    await gw?.close();
    for (const c of children) c.kill('SIGKILL');
  });

  it('opens a session with Python servers, which acknowledge notifications with 202, application/json and no body', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    for (const target of ['ts-http', 'ts-sse', 'py-sse', 'py-json']) assert.ok(names.includes(`${target}_repeat`), names.join(','));
    assert.ok(names.includes('py-sse_poll'));
    // Every target took part: none failed to initialize (a failed one would be missing from the list).
    assert.equal(gw.logs.find((l) => l.msg === 'MCP target failed to start'), undefined);
  });

  for (const target of ['ts-http', 'ts-sse', 'py-sse', 'py-json']) {
    it(`${target}: a result of 300,000 non-ASCII characters arrives byte for byte`, async () => {
      const want = PATTERN.repeat(TIMES);
      assert.equal([...want].length, 300_000);
      const got = text(await client.callTool({ name: `${target}_repeat`, arguments: { pattern: PATTERN, times: TIMES } }));
      assert.ok(!got.includes('\ufffd'), 'a replacement character: a multi-byte character was split and decoded apart');
      assert.equal(Buffer.compare(Buffer.from(got, 'utf8'), Buffer.from(want, 'utf8')), 0, `${got.length} chars, want ${want.length}`);
    });
  }

  it('py-sse: an answer stream the server closes mid-call (2025-11-25 polling) is resumed with Last-Event-ID', async () => {
    assert.equal(text(await client.callTool({ name: 'py-sse_poll' })), 'answered after the client resumed');
  });
});
