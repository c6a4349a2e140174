import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { fixtureStdio, freePort } from '../helpers/mcp.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'core/cli/bin.mjs');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rpc(url: string, body: unknown, session?: string): Promise<{ status: number; session?: string; text: string }> {
  const res = await request(url, {
    method: 'POST',
    reset: true,
    headers: {
      connection: 'close',
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(session ? { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, session: res.headers['mcp-session-id'] as string | undefined, text: await res.body.text() };
}

describe('a session whose worker died (issue 25, finding 6)', () => {
  let dir: string;
  let cli: ChildProcess;
  let port: number;
  let output = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcl-dead-owner-'));
    port = await freePort();
    const config = {
      workers: 2,
      admin: { address: false },
      readiness: { address: false },
      stats: { address: false },
      shutdown: { drainTimeoutMs: 1000 },
      binds: [{ port, address: '127.0.0.1', listeners: [{ routes: [{ name: 'mcp', matches: [{ path: { pathPrefix: '/mcp' } }], backends: [{ mcp: { targets: [fixtureStdio('a')] } }] }] }] }],
    };
    await writeFile(join(dir, 'gateway.config.ts'), `export default ${JSON.stringify(config)};\n`);
    cli = spawn(process.execPath, ['--no-node-snapshot', BIN, 'start', '--no-watch', '-c', join(dir, 'gateway.config.ts')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    cli.stdout!.on('data', (d) => (output += d));
    cli.stderr!.on('data', (d) => (output += d));
    const until = Date.now() + 90_000;
    while (!output.includes('"workers serving"')) {
      if (Date.now() > until || cli.exitCode !== null) throw new Error(`the gateway did not start:\n${output}`);
      await sleep(100);
    }
  });
  after(async () => {
    if (cli.exitCode === null) {
      cli.kill('SIGTERM');
      await Promise.race([new Promise((r) => cli.once('exit', r)), sleep(10_000)]);
    }
    if (cli.exitCode === null) cli.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('is answered 404 session-not-found, never 500 with the internal socket path', async () => {
    const url = `http://127.0.0.1:${port}/mcp`;
    const init = await rpc(url, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    assert.equal(init.status, 200);
    const owner = Number(/^w(\d+)\./.exec(init.session!)![1]);
    const serving = JSON.parse(output.split('\n').find((l) => l.includes('"workers serving"'))!);
    process.kill(serving.pids[owner], 'SIGKILL');
    // Until the supervisor has started a new worker in its place, every request lands on the survivor, which
    // hands it to the dead owner's socket; after, the new worker does not know the session. Either way: 404.
    const statuses = new Set<number>();
    for (let i = 0; i < 30; i++) {
      let call: Awaited<ReturnType<typeof rpc>>;
      try {
        call = await rpc(url, { jsonrpc: '2.0', id: 10 + i, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' } } }, init.session);
      } catch (err) {
        // A connection the supervisor gave the dying worker before it saw it die is reset: not an answer.
        if ((err as { code?: string }).code === 'ECONNRESET') continue;
        throw err;
      }
      statuses.add(call.status);
      assert.equal(call.status, 404, call.text);
      assert.equal(JSON.parse(call.text).error.code, 'PCL_ERR_MCP_SESSION_NOT_FOUND');
      assert.doesNotMatch(call.text, /\.sock|portcullis-\d+/);
    }
    assert.deepEqual([...statuses], [404]);
  });
});
