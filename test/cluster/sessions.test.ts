import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { withHeldPortRetry } from '../helpers/held-ports.ts';
import { fixtureStdio } from '../helpers/mcp.ts';
import { startCli, type Replica } from '../helpers/replica.ts';

// MCP sessions with `workers: 2`: a session lives in the worker that opened it; requests for it that land on the
// other worker (every request here comes on a new connection) are handed to the owner over the local channel.
// The port is given in advance: each worker opens its own SO_REUSEPORT socket on it.

/** One JSON-RPC POST on a new connection; the answer whether it came as JSON or as one SSE event. */
async function rpc(url: string, body: unknown, session?: string): Promise<{ status: number; session?: string; message: any }> {
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
  const text = await res.body.text();
  const data = text.startsWith('{') ? text : text.split('\n').find((l) => l.startsWith('data: '))?.slice(6);
  return { status: res.statusCode, session: res.headers['mcp-session-id'] as string | undefined, message: data ? JSON.parse(data) : undefined };
}

describe('MCP sessions across workers', () => {
  let dir: string;
  let gw: Replica;
  let port: number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcl-sessions-'));
    gw = await withHeldPortRetry(
      async (held) => {
        port = held;
        const config = {
          workers: 2,
          admin: { address: false },
          readiness: { address: false },
          stats: { address: false },
          logging: { level: 'debug' },
          shutdown: { drainTimeoutMs: 1000 },
          binds: [{ port, address: '127.0.0.1', listeners: [{ routes: [{ name: 'mcp', matches: [{ path: { pathPrefix: '/mcp' } }], backends: [{ mcp: { targets: [fixtureStdio('a')] } }] }] }] }],
        };
        await writeFile(join(dir, 'gateway.config.ts'), `export default ${JSON.stringify(config)};\n`);
        return startCli(['start', '--no-watch', '-c', join(dir, 'gateway.config.ts')], { ready: (l) => l.msg === 'workers serving', readyTimeoutMs: 90_000 });
      }
    );
  });

  after(async () => {
    await gw?.stop('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  });

  it('serves every request of a session in the worker that owns it, wherever the request lands', async () => {
    const url = `http://127.0.0.1:${port}/mcp`;
    const init = await rpc(url, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    assert.equal(init.status, 200);
    assert.match(init.session!, /^w[01]\.[A-Za-z0-9_-]{60,}$/, 'the session id names its worker');
    assert.equal((await rpc(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, init.session)).status, 202);
    for (let i = 0; i < 16; i++) {
      const call = await rpc(url, { jsonrpc: '2.0', id: 10 + i, method: 'tools/call', params: { name: 'echo', arguments: { text: `n${i}` } } }, init.session);
      assert.equal(call.status, 200, JSON.stringify(call.message));
      assert.equal(call.message.result.content[0].text, `a: n${i}`);
    }
    // Which worker served what: new connections reached both workers, yet the session's requests ran in one.
    const output = gw.output();
    const access = output
      .split('\n')
      .filter((l) => l.includes('"type":"access"'))
      .map((l) => JSON.parse(l));
    const servedBy = new Set(access.map((l) => l.pid));
    assert.equal(servedBy.size, 1, `one worker served the session: ${[...servedBy].join(', ')}`);
    const received = new Set(output.split('\n').filter((l) => l.includes('"handed to owner"')).map((l) => JSON.parse(l).pid));
    assert.ok(received.size === 1 && !servedBy.has([...received][0]), `the other worker handed requests over:\n${output.slice(-3000)}`);
    // An unknown session id naming a worker is answered by that worker as unknown (404), not served elsewhere.
    const stale = await rpc(url, { jsonrpc: '2.0', id: 99, method: 'tools/list' }, init.session!.slice(0, -12) + 'AAAAAAAAAAAA');
    assert.equal(stale.status, 404);
  });
});
