import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { readSessionKeys, sealSessionId, type SessionClaims } from '../../core/replica/index.ts';
import { portBelowEphemeralRange, withHeldPortRetry } from '../helpers/held-ports.ts';
import { fixtureStdio, startHttpFixture, type RunningServer } from '../helpers/mcp.ts';
import { callText, INIT, listenPort, openSession, rpc, startReplica, type Replica } from '../helpers/replica.ts';

// Two replicas of one deployment: separate gateway processes on loopback, one session key, no shared store. A
// session of remote targets opened on one is served by the other from its id alone; a session holding a stdio
// target is forwarded to its owner over the signed peer channel.
const KEY = randomBytes(32).toString('base64');

/**
 * A replica whose peer port is given in advance (the other replica learns it from session ids, so it is not port 0)
 * and held below the ephemeral range; `env(peer)` gives its environment. Returns it and its peer port.
 */
async function startWithPeer(cfg: Record<string, unknown>, env: (peer: number) => Record<string, string>, ready: (l: Record<string, any>) => boolean): Promise<[Replica, number]> {
  return withHeldPortRetry(async (peer) => [await startReplica(cfg, env(peer), ready), peer] as [Replica, number]);
}

function config(port: number, upstream: string) {
  return {
    admin: { address: false },
    readiness: { address: false },
    stats: { address: false },
    logging: { level: 'debug' },
    shutdown: { drainTimeoutMs: 2000 },
    binds: [
      {
        port,
        address: '127.0.0.1',
        listeners: [
          {
            routes: [
              { name: 'remote', matches: [{ path: { pathPrefix: '/remote' } }], backends: [{ mcp: { targets: [{ name: 'r', mcp: { url: upstream } }] } }] },
              { name: 'stdio', matches: [{ path: { pathPrefix: '/stdio' } }], backends: [{ mcp: { targets: [fixtureStdio('s', 'replicas-test', { warmPool: 0 })] } }] },
            ],
          },
        ],
      },
    ],
  };
}

describe('MCP sessions across replicas', () => {
  let upstream: RunningServer;
  let a: Replica;
  let b: Replica;
  let urlA: string;
  let urlB: string;
  let peerA: number;
  let peerB: number;
  const peerReady = (l: Record<string, any>) => l.msg === 'listening for peer replicas';

  before(async () => {
    upstream = await startHttpFixture('up');
    const env = (peer: number) => ({ PORTCULLIS_SESSION_KEY: KEY, PORTCULLIS_PEER_ADDRESS: `127.0.0.1:${peer}`, PORTCULLIS_PEER_TIMEOUT_MS: '1500' });
    [[a, peerA], [b, peerB]] = await Promise.all([startWithPeer(config(0, upstream.url), env, peerReady), startWithPeer(config(0, upstream.url), env, peerReady)]);
    urlA = `http://127.0.0.1:${await listenPort(a)}`;
    urlB = `http://127.0.0.1:${await listenPort(b)}`;
  });

  after(async () => {
    await Promise.all([a?.cleanup(), b?.cleanup()]);
    await upstream?.close();
  });

  it('a session of remote targets opened on A continues on B, on the same upstream session (no new initialize)', async () => {
    const session = await openSession(`${urlA}/remote`);
    const onA = JSON.parse(await callText(`${urlA}/remote`, session, 'headers'));
    assert.equal(await callText(`${urlB}/remote`, session, 'echo', { text: 'hi' }), 'up: hi');
    const onB = JSON.parse(await callText(`${urlB}/remote`, session, 'headers'));
    assert.ok(onA['mcp-session-id'], 'the upstream keeps a session');
    assert.equal(onB['mcp-session-id'], onA['mcp-session-id'], 'B resumed the upstream session A opened');
    await b.waitFor((l) => l.msg === 'MCP session resumed from its id', 5000);
    // tools/list on B: the catalog works from the capabilities carried in the id.
    const list = await rpc(`${urlB}/remote`, { jsonrpc: '2.0', id: 5, method: 'tools/list' }, session);
    assert.ok(list.message.result.tools.some((t: { name: string }) => t.name === 'echo'));
  });

  it('a session holding a stdio target opened on A is forwarded to A when its requests reach B', async () => {
    const session = await openSession(`${urlA}/stdio`);
    const onA = JSON.parse(await callText(`${urlA}/stdio`, session, 'whoami'));
    const onB = JSON.parse(await callText(`${urlB}/stdio`, session, 'whoami'));
    assert.equal(onB.pid, onA.pid, 'the same stdio process answered: B forwarded to A');
    // The GET stream and DELETE go the same way.
    const del = await request(`${urlB}/stdio`, { method: 'DELETE', headers: { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' } });
    await del.body.dump();
    assert.equal(del.statusCode, 200);
    const gone = await rpc(`${urlA}/stdio`, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, session);
    assert.equal(gone.status, 404);
  });

  it('a legacy SSE session opened on A takes its message POSTs through B (forwarded), answering on its stream', async () => {
    const controller = new AbortController();
    const res = await fetch(`${urlA}/remote/sse`, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const next = async (pred: (t: string) => boolean) => {
      while (!pred(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended:\n${text}`);
        text += decoder.decode(value);
      }
    };
    await next((t) => /data: (\S+)\n\n/.test(t));
    const endpoint = /data: (\S+)\n\n/.exec(text)![1];
    const post = (body: unknown) => request(`${urlB}${endpoint}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const init = await post(INIT);
    assert.equal(init.statusCode, 202);
    await init.body.dump();
    await next((t) => t.includes('"id":1'));
    const call = await post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'legacy' } } });
    assert.equal(call.statusCode, 202);
    await call.body.dump();
    await next((t) => t.includes('up: legacy'));
    controller.abort();
  });

  it('answers a tampered, truncated, foreign-key or other-route id as an unknown session, logs why, and disturbs nothing', async () => {
    const session = await openSession(`${urlA}/remote`);
    const flipped = session.slice(0, 30) + (session[30] === 'A' ? 'B' : 'A') + session.slice(31);
    const foreignKeys = readSessionKeys({ PORTCULLIS_SESSION_KEY: randomBytes(32).toString('base64') });
    const claims: SessionClaims = { f: 1, r: 'binds[0].listeners[0].routes[0] remote', o: 'anonymous', v: '2025-06-18', c: { capabilities: {}, clientInfo: { name: 'x', version: '1' } }, u: { r: { v: '2025-06-18', k: ['tools'] } }, t: Date.now(), n: 'x' };
    const foreign = sealSessionId(claims, foreignKeys);
    const cases = { flipped, truncated: session.slice(0, -5), foreign, garbage: 'not-a-session' };
    for (const [what, id] of Object.entries(cases)) {
      for (const url of [urlA, urlB]) {
        const r = await rpc(`${url}/remote`, { jsonrpc: '2.0', id: 9, method: 'tools/list' }, id);
        assert.equal(r.status, 404, `${what} on ${url}`);
        assert.equal(r.message?.error?.code ?? JSON.parse(JSON.stringify(r.message)).error.code, 'PCL_ERR_MCP_SESSION_NOT_FOUND', what);
      }
    }
    // Replayed on another route of the same deployment.
    const replay = await rpc(`${urlB}/stdio`, { jsonrpc: '2.0', id: 9, method: 'tools/list' }, session);
    assert.equal(replay.status, 404);
    await b.waitFor((l) => l.msg === 'MCP session id names no session here' && l.reason === 'other-route', 5000, 'the other-route log line');
    await b.waitFor((l) => l.msg === 'MCP session id names no session here' && l.reason === 'unauthentic', 5000, 'the unauthentic log line');
    // The real session is untouched, on both replicas.
    assert.equal(await callText(`${urlA}/remote`, session, 'echo', { text: 'still' }), 'up: still');
    assert.equal(await callText(`${urlB}/remote`, session, 'echo', { text: 'still' }), 'up: still');
  });

  it('refuses peer requests that are not signed with the session key, and logs them', async () => {
    const session = await openSession(`${urlA}/stdio`);
    const unsigned = await request(`http://127.0.0.1:${peerA}/stdio`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(unsigned.statusCode, 401);
    assert.equal(((await unsigned.body.json()) as any).error.code, 'PCL_ERR_UNAUTHENTICATED');
    const forged = await request(`http://127.0.0.1:${peerA}/stdio`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'mcp-session-id': session, 'x-portcullis-peer': `${Date.now()} 0 http 1.2.3.4 ${'ab'.repeat(32)}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(forged.statusCode, 401);
    await forged.body.dump();
    await a.waitFor((l) => l.msg === 'peer request refused' && l.reason === 'bad signature', 5000);
    assert.ok(JSON.parse(await callText(`${urlB}/stdio`, session, 'whoami')).pid > 0, 'the session still works through B');
  });

  it('bounds a forward to an owner that accepts but never answers (502), and answers 404 for an owner that is gone', async () => {
    const hung: Socket[] = [];
    const silent: Server = createServer((s) => void hung.push(s));
    const silentPort = await new Promise<number>((r) => silent.listen(0, '127.0.0.1', () => r((silent.address() as { port: number }).port)));
    const keys = readSessionKeys({ PORTCULLIS_SESSION_KEY: KEY });
    const bound = (peer: string) => sealSessionId({ f: 1, r: 'binds[0].listeners[0].routes[1] stdio', o: 'anonymous', v: '2025-06-18', p: peer, t: Date.now(), n: 'y' }, keys);
    const started = Date.now();
    const r = await rpc(`${urlB}/stdio`, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, bound(`127.0.0.1:${silentPort}`));
    assert.equal(r.status, 502);
    assert.equal(r.message.error.code, 'PCL_ERR_PEER_FORWARD_FAILED');
    assert.ok(Date.now() - started < 10_000, 'bounded by PORTCULLIS_PEER_TIMEOUT_MS');
    for (const s of hung) s.destroy();
    await new Promise((r) => silent.close(r));
    const gone = await rpc(`${urlB}/stdio`, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, bound(`127.0.0.1:${await portBelowEphemeralRange()}`));
    assert.equal(gone.status, 404);
    assert.equal(gone.message.error.code, 'PCL_ERR_MCP_SESSION_NOT_FOUND');
    // B still serves its own traffic.
    assert.equal(await callText(`${urlB}/stdio`, await openSession(`${urlB}/stdio`), 'echo', { text: 'ok' }), 's: ok');
  });

  it('after A is killed, B keeps serving A\'s remote-target session, and answers 404 for its stdio session', async () => {
    const remote = await openSession(`${urlA}/remote`);
    const stdio = await openSession(`${urlA}/stdio`);
    assert.equal(await callText(`${urlA}/remote`, remote, 'echo', { text: 'before' }), 'up: before');
    await a.stop('SIGKILL');
    assert.equal(await callText(`${urlB}/remote`, remote, 'echo', { text: 'after' }), 'up: after');
    const r = await rpc(`${urlB}/stdio`, { jsonrpc: '2.0', id: 4, method: 'tools/list' }, stdio);
    assert.equal(r.status, 404, 'the owner is gone: the client initializes again');
    assert.equal(r.message.error.code, 'PCL_ERR_MCP_SESSION_NOT_FOUND');
  });
});

describe('a replica with workers behind the peer channel', () => {
  let upstream: RunningServer;
  let a: Replica;
  let b: Replica;
  let urlA: string;
  let urlB: string;

  before(async () => {
    upstream = await startHttpFixture('up2');
    const env = (peer: number) => ({ PORTCULLIS_SESSION_KEY: KEY, PORTCULLIS_PEER_ADDRESS: `127.0.0.1:${peer}` });
    // A runs two workers: a forward reaches either one on the shared peer port, which hands it to the owner worker.
    // Its data port is given in advance too: each worker opens its own SO_REUSEPORT socket on it.
    let portA = 0;
    [a, b] = await Promise.all([
      withHeldPortRetry(
        async (peer) => {
          portA = await portBelowEphemeralRange();
          return startReplica({ ...config(portA, upstream.url), workers: 2 }, env(peer), (l) => l.msg === 'workers serving');
        },
      ),
      startWithPeer(config(0, upstream.url), env, (l) => l.msg === 'listening for peer replicas').then(([r]) => r),
    ]);
    urlA = `http://127.0.0.1:${portA}`;
    urlB = `http://127.0.0.1:${await listenPort(b)}`;
  });

  after(async () => {
    await Promise.all([a?.cleanup(), b?.cleanup()]);
    await upstream?.close();
  });

  it('serves a stdio session of a worker of A through B, and a remote session of A on B', async () => {
    const stdio = await openSession(`${urlA}/stdio`);
    assert.match(stdio, /^w[01]\./, 'the id names its worker');
    const pid = JSON.parse(await callText(`${urlA}/stdio`, stdio, 'whoami')).pid;
    for (let i = 0; i < 6; i++) assert.equal(JSON.parse(await callText(`${urlB}/stdio`, stdio, 'whoami', {}, 10 + i)).pid, pid, `forward ${i}`);
    const remote = await openSession(`${urlA}/remote`);
    assert.equal(await callText(`${urlB}/remote`, remote, 'echo', { text: 'w' }), 'up2: w');
  });
});

describe('session key and peer settings', () => {
  const bad: Array<[string, Record<string, string>, RegExp]> = [
    ['a short key', { PORTCULLIS_SESSION_KEY: Buffer.alloc(16).toString('base64') }, /^portcullis: PCL_ERR_SESSION_KEY_INVALID: PORTCULLIS_SESSION_KEY: expected base64 of 32 bytes, got 16 bytes/m],
    ['a key that is not base64', { PORTCULLIS_SESSION_KEY: 'not base64!' }, /PCL_ERR_SESSION_KEY_INVALID: PORTCULLIS_SESSION_KEY: not base64/],
    ['a missing key file', { PORTCULLIS_SESSION_KEY_FILE: '/nonexistent/key' }, /PCL_ERR_SESSION_KEY_INVALID: PORTCULLIS_SESSION_KEY_FILE: cannot read \/nonexistent\/key: ENOENT/],
    ['a bad previous key', { PORTCULLIS_SESSION_KEY: KEY, PORTCULLIS_SESSION_KEY_PREVIOUS: 'AAAA' }, /PCL_ERR_SESSION_KEY_INVALID: PORTCULLIS_SESSION_KEY_PREVIOUS: expected base64 of 32 bytes, got 3 bytes/],
    ['a peer address without a shared key', { PORTCULLIS_PEER_ADDRESS: '127.0.0.1:1234' }, /PCL_ERR_PEER_ADDRESS_INVALID: PORTCULLIS_PEER_ADDRESS is set but no shared session key is/],
    ['a peer address that is not host:port', { PORTCULLIS_SESSION_KEY: KEY, PORTCULLIS_PEER_ADDRESS: 'http://x' }, /PCL_ERR_PEER_ADDRESS_INVALID: PORTCULLIS_PEER_ADDRESS: expected host:port/],
  ];
  for (const [what, env, message] of bad) {
    it(`refuses to start with ${what}, with a stable code`, async () => {
      const cfg = { admin: { address: false }, readiness: { address: false }, stats: { address: false }, binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ name: 'x', backends: [{ host: '127.0.0.1:9' }] }] }] }] };
      const replica = startReplica(cfg, { ...env }, () => false);
      await assert.rejects(replica, (err: Error) => {
        assert.match(err.message, message);
        return true;
      });
    });
  }
  it('accepts ids sealed with the previous key during a rotation', () => {
    const oldKey = randomBytes(32).toString('base64');
    const before = readSessionKeys({ PORTCULLIS_SESSION_KEY: oldKey });
    const during = readSessionKeys({ PORTCULLIS_SESSION_KEY: KEY, PORTCULLIS_SESSION_KEY_PREVIOUS: oldKey });
    const after = readSessionKeys({ PORTCULLIS_SESSION_KEY: KEY });
    const claims: SessionClaims = { f: 1, r: 'x', o: 'anonymous', v: '2025-06-18', p: '', t: 1, n: 'z' };
    const id = sealSessionId(claims, before);
    return import('../../core/replica/index.ts').then(({ openSessionId }) => {
      assert.deepEqual(openSessionId(id, during), { claims });
      assert.deepEqual(openSessionId(id, after), { failure: 'unauthentic' });
      assert.ok('claims' in openSessionId(sealSessionId(claims, during), after), 'new ids use the current key');
    });
  });
});
