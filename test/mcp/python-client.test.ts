import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { EVERYTHING, MCP_TEST_EXTRA, mcpRoute } from '../helpers/mcp.ts';

const CLIENT = fileURLToPath(new URL('../fixtures/mcp/python-client.py', import.meta.url));
/** The project-local venv that `npm run setup:test` provides (scripts/install-python.mjs); PORTCULLIS_PYTHON overrides it. */
const PYTHON = process.env.PORTCULLIS_PYTHON ?? fileURLToPath(new URL('../../.tools/python/bin/python3', import.meta.url));

/** Runs the Python client asynchronously: the gateway under test shares this event loop. */
async function python(url: string, transport: 'streamable' | 'sse' | 'modern'): Promise<Record<string, any>> {
  assert.ok(existsSync(PYTHON), `no Python MCP client at ${PYTHON}: run "npm run setup:test"`);
  const child = spawn(PYTHON, [CLIENT, url, transport], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise((r) => child.once('close', r));
  clearTimeout(timer);
  // The Python SDK is installed by `npm run setup:test` into the venv; say so when it is missing.
  assert.ok(!/No module named 'mcp'/.test(err), `the Python MCP SDK is missing from ${PYTHON}: run "npm run setup:test"`);
  assert.equal(code, 0, err.slice(-3000));
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('independent client: the official Python MCP SDK through the gateway', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway(simpleConfig([mcpRoute([{ name: 'everything', stdio: { cmd: 'node', args: [EVERYTHING, 'stdio'], warmPool: 0 } }])], MCP_TEST_EXTRA));
  });
  after(async () => {
    await gw?.close();
  });

  for (const transport of ['streamable', 'sse'] as const) {
    it(`runs a session over ${transport === 'sse' ? 'legacy SSE' : 'streamable HTTP'}`, async () => {
      const r = await python(`${gw.url()}/${transport === 'sse' ? 'sse' : 'mcp'}`, transport);
      assert.equal(r.server, 'portcullis');
      assert.ok(r.tools.includes('echo') && r.tools.includes('get-sum'), r.tools.join(','));
      assert.equal(r.echo, 'Echo: from python');
      assert.ok(r.resources > 0);
    });
  }

  it('the SDK 2.x Client in auto mode discovers the gateway and speaks 2026-07-28, without a session', async () => {
    const r = await python(`${gw.url()}/mcp`, 'modern');
    assert.equal(r.protocolVersion, '2026-07-28');
    assert.equal(r.server, 'portcullis');
    assert.ok(r.tools.includes('echo') && r.tools.includes('get-sum'), r.tools.join(','));
    assert.equal(r.echo, 'Echo: from python');
    assert.ok(r.resources > 0);
  });
});
