import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { echoUpstream, eventually, send, simpleConfig, startTestGateway, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { CHANNELS, type ConnectionEvent } from '../../core/telemetry/events.ts';

/** A TCP connection from `localAddress` that sends nothing (or `partial`): a slowloris client. */
function hold(port: number, localAddress: string, partial = ''): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let data = '';
    const socket = connect({ port, host: '127.0.0.1', localAddress }, () => {
      if (partial) socket.write(partial);
      resolve({ socket, received: () => data, closed });
    });
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('data', (d) => (data += d));
    socket.once('error', reject);
  });
}

describe('request-path caps: connections per bind and per client address, headers timeout (issue 25, finding 6)', () => {
  let upstream: Upstream;
  let gw: TestGateway;
  const held: Socket[] = [];
  const events: ConnectionEvent[] = [];
  const onEvent = (m: unknown) => events.push(m as ConnectionEvent);

  before(async () => {
    subscribe(CHANNELS.connection, onEvent);
    upstream = await echoUpstream();
    gw = await startTestGateway(simpleConfig([{ name: 'r', backends: [{ host: upstream.host }] }], { limits: { maxConnections: 8, maxConnectionsPerClient: 3, headersTimeoutMs: 600 } }));
  });
  after(async () => {
    unsubscribe(CHANNELS.connection, onEvent);
    for (const s of held) s.destroy();
    await gw?.close();
    await upstream?.close();
  });

  it('refuses a client past its own cap with 503 PCL_ERR_CONNECTION_LIMIT while other clients are served', async () => {
    for (let i = 0; i < 3; i++) held.push((await hold(gw.port(), '127.0.0.2')).socket);
    const over = await hold(gw.port(), '127.0.0.2');
    await over.closed;
    assert.match(over.received(), /^HTTP\/1\.1 503 /);
    assert.equal(JSON.parse(over.received().split('\r\n\r\n')[1]).error.code, 'PCL_ERR_CONNECTION_LIMIT');
    assert.match(over.received(), /this client address already holds 3 connections \(limits\.maxConnectionsPerClient\)/);
    // Another client is served as usual.
    assert.equal((await send(`${gw.url()}/x`)).status, 200);
    assert.deepEqual(events.at(-1), { kind: 'refused', bind: '127.0.0.1:0#0', reason: 'maxConnectionsPerClient' });
  });

  it('runs nothing for a refused connection, even a request it sent at once', async () => {
    for (let i = 0; i < 3; i++) held.push((await hold(gw.port(), '127.0.0.5')).socket);
    const over = await hold(gw.port(), '127.0.0.5', 'GET /sent-by-refused HTTP/1.1\r\nhost: x\r\n\r\n');
    await over.closed;
    assert.match(over.received(), /^HTTP\/1\.1 503 /);
    // A request from a served client goes through after it: had the refused one run, the upstream would have it first.
    assert.equal((await send(`${gw.url()}/after-refusal`)).status, 200);
    assert.deepEqual(upstream.seen.filter((r) => r.url === '/sent-by-refused').length, 0);
    assert.ok(upstream.seen.some((r) => r.url === '/after-refusal'));
    for (const s of held.splice(-3)) s.destroy();
  });

  it('refuses any client past the bind cap', async () => {
    for (let i = 0; i < 3; i++) held.push((await hold(gw.port(), '127.0.0.3')).socket);
    held.push((await hold(gw.port(), '127.0.0.4')).socket);
    held.push((await hold(gw.port(), '127.0.0.4')).socket);
    // 3 + 3 + 2 = 8 open: the next one, from a fresh address, is over the bind's cap.
    const over = await hold(gw.port(), '127.0.0.5');
    await over.closed;
    assert.match(over.received(), /this bind already holds 8 connections \(limits\.maxConnections\)/);
    assert.equal(events.at(-1)!.reason, 'maxConnections');
    for (const s of held.splice(0)) s.destroy();
    // Once the gateway has seen them close, their slots serve again.
    await eventually(async () => (await send(`${gw.url()}/x`).catch(() => ({ status: 0 }))).status === 200);
  });

  it('cuts a client that trickles its headers after headersTimeoutMs, and frees its slot', async () => {
    const started = performance.now();
    const slow = await hold(gw.port(), '127.0.0.6', 'GET /x HTTP/1.1\r\nHost: a\r\nX-Slow: ');
    await slow.closed;
    const took = performance.now() - started;
    assert.ok(took < 5000, `closed after ${Math.round(took)} ms`);
    assert.match(slow.received(), /^HTTP\/1\.1 408 /);
    assert.match(slow.received(), /the request headers did not arrive within limits\.headersTimeoutMs \(600 ms\)/);
    // Its slot is free again.
    for (let i = 0; i < 3; i++) held.push((await hold(gw.port(), '127.0.0.6')).socket);
    for (const s of held.splice(0)) s.destroy();
  });
});
