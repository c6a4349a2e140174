import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { withHeldPortRetry } from '../helpers/held-ports.ts';
import { fixtureStdio } from '../helpers/mcp.ts';
import { INIT, rpc, startReplica, type Replica } from '../helpers/replica.ts';

describe('a session whose worker died (issue 25, finding 6)', () => {
  let gw: Replica;
  let port: number;

  before(async () => {
    // Workers share the bind through SO_REUSEPORT, which a port-0 bind turns off: the port is chosen here.
    gw = await withHeldPortRetry(async (p) => {
      port = p;
      const config = {
        workers: 2,
        admin: { address: false },
        readiness: { address: false },
        stats: { address: false },
        shutdown: { drainTimeoutMs: 1000 },
        binds: [{ port, address: '127.0.0.1', listeners: [{ routes: [{ name: 'mcp', matches: [{ path: { pathPrefix: '/mcp' } }], backends: [{ mcp: { targets: [fixtureStdio('a')] } }] }] }] }],
      };
      return startReplica(config, {}, (l) => l.msg === 'workers serving');
    });
  });
  after(async () => {
    await gw?.cleanup();
  });

  it('is answered 404 session-not-found, never 500 with the internal socket path', async () => {
    const url = `http://127.0.0.1:${port}/mcp`;
    const init = await rpc(url, INIT);
    assert.equal(init.status, 200);
    const owner = Number(/^w(\d+)\./.exec(init.session!)![1]);
    const serving = gw.lines().find((l) => l.msg === 'workers serving')!;
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
      assert.equal(call.status, 404, JSON.stringify(call.message));
      assert.equal(call.message.error.code, 'PCL_ERR_MCP_SESSION_NOT_FOUND');
      assert.doesNotMatch(JSON.stringify(call.message), /\.sock|portcullis-\d+/);
    }
    assert.deepEqual([...statuses], [404]);
  });
});
