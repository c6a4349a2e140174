import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Client, request } from 'undici';
import { SessionStore } from '../../core/backends/mcp/store.ts';
import type { GatewayError } from '../../core/errors.ts';
import { createLogger } from '../../core/telemetry/logger.ts';
import { fixtureStdio } from '../helpers/mcp.ts';
import { INIT, openSession, rpc, startReplica, type Replica } from '../helpers/replica.ts';

// Graceful drain on SIGTERM, on a real gateway process: readiness fails at once, new sessions go elsewhere,
// requests in flight finish within the grace period, SSE streams end with a `retry` hint, and the process exits 0.

async function readiness(port: number): Promise<number | 'refused'> {
  try {
    const res = await request(`http://127.0.0.1:${port}/healthz/ready`, { reset: true });
    await res.body.dump();
    return res.statusCode;
  } catch {
    return 'refused';
  }
}

/** Starts a gateway on port 0 for data and readiness; the ports are read back from its log lines. */
async function startDraining(drainTimeoutMs: number): Promise<{ gw: Replica; port: number; readyPort: number }> {
  const gw = await startReplica(config(0, 0, drainTimeoutMs), {}, (l) => l.msg === 'readiness server listening');
  const lines = gw.lines();
  return { gw, port: lines.find((l) => l.msg === 'listening')!.port, readyPort: lines.find((l) => l.msg === 'readiness server listening')!.port };
}

function config(port: number, readyPort: number, drainTimeoutMs: number) {
  return {
    admin: { address: false },
    readiness: { address: `127.0.0.1:${readyPort}` },
    stats: { address: false },
    logging: { level: 'info' },
    shutdown: { drainTimeoutMs },
    binds: [{ port, address: '127.0.0.1', listeners: [{ routes: [{ name: 'mcp', matches: [{ path: { pathPrefix: '/mcp' } }], backends: [{ mcp: { targets: [fixtureStdio('d', 'drain-test', { warmPool: 0 })] } }] }] }] }],
  };
}

describe('an MCP session store while draining', () => {
  it('refuses new sessions with 503 PCL_ERR_SHUTTING_DOWN, and still takes sessions resumed from their ids', () => {
    const store = new SessionStore(60_000, { maxSessions: 10, maxSessionsPerIdentity: 10, maxRequestsPerSession: 100, maxRequestsPerIdentity: 1000 });
    const logger = createLogger({ level: 'silent' });
    store.reserve('anonymous', 'mcp', logger).cancel();
    store.refusing = true;
    assert.throws(
      () => store.reserve('anonymous', 'mcp', logger),
      (err: GatewayError) => err.code === 'PCL_ERR_SHUTTING_DOWN' && err.status === 503 && /route "mcp": this gateway is shutting down and opens no new MCP session/.test(err.message),
    );
    store.reserve('anonymous', 'mcp', logger, true).cancel();
    assert.equal(store.countOf('anonymous'), 0, 'nothing leaked');
  });
});

describe('graceful drain on SIGTERM', () => {
  const started: Replica[] = [];
  after(async () => {
    await Promise.all(started.map((r) => r.cleanup()));
  });

  it('fails readiness at once, finishes requests in flight, ends SSE streams with a retry hint, refuses new sessions, exits 0', async () => {
    const { gw, port, readyPort } = await startDraining(10_000);
    started.push(gw);
    const url = `http://127.0.0.1:${port}/mcp`;
    assert.equal(await readiness(readyPort), 200);
    const session = await openSession(url);
    // A GET stream, open until the drain ends it. Its head comes at once, not with the first keepalive 15 s later.
    const asked = Date.now();
    const stream = await request(url, { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' } });
    assert.equal(stream.statusCode, 200);
    assert.ok(Date.now() - asked < 5_000, `the GET stream's head took ${Date.now() - asked} ms`);
    const streamText = stream.body.text();
    // A call in flight when the signal comes: progress notifications switch its answer to SSE, so its head
    // arriving proves the gateway is serving it; 150 steps of 10 ms keep it running through the signal.
    const call = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'progress', arguments: { steps: 150 }, _meta: { progressToken: 'p' } } }),
    });
    assert.equal(call.headers['content-type'], 'text/event-stream');
    const callText = call.body.text();
    const fresh = new Client(`http://127.0.0.1:${port}`);
    const signalledAt = Date.now();
    gw.child.kill('SIGTERM');
    await gw.waitFor((l) => l.msg === 'shutting down: draining in-flight requests', 5000);
    assert.equal(await readiness(readyPort), 503, 'readiness fails as soon as the drain starts');
    const text = await streamText;
    assert.match(text, /retry: \d+\n\n$/, 'the SSE stream ends with a retry hint');
    // New sessions: the data port no longer accepts connections (idle keep-alive ones are closed too), so the
    // load balancer's next try goes to another replica.
    await assert.rejects(request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(INIT), dispatcher: fresh }), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
    const events = (await callText).split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
    assert.equal(events.at(-1).result.content[0].text, 'done 150', 'the call in flight finished');
    assert.equal(await gw.exited, 0);
    assert.ok(Date.now() - signalledAt < 10_000, 'exited before the grace period ran out');
    await fresh.destroy();
  });

  it('cuts what is still running when the grace period ends, and still exits 0', async () => {
    const { gw, port, readyPort } = await startDraining(800);
    started.push(gw);
    const url = `http://127.0.0.1:${port}/mcp`;
    const session = await openSession(url);
    // In flight (its SSE head arrived) and far longer than the grace period: 3000 steps of 10 ms.
    const call = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'progress', arguments: { steps: 3000 }, _meta: { progressToken: 'p' } } }),
    });
    assert.equal(call.headers['content-type'], 'text/event-stream');
    const slow = call.body.text().catch((err: Error) => err);
    const signalledAt = Date.now();
    gw.child.kill('SIGTERM');
    assert.equal(await gw.exited, 0);
    const elapsed = Date.now() - signalledAt;
    assert.ok(elapsed < 6000, `exited ${elapsed} ms after SIGTERM, within the 800 ms grace period plus shutdown`);
    await gw.waitFor((l) => l.msg === 'drain deadline passed: closing remaining connections', 1000);
    const cut = await slow;
    assert.ok(cut instanceof Error || !cut.includes('done 3000'), 'the unfinished call was cut');
  });
});
