import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { readWhole } from '../../core/protocol/read-body.ts';
import { callPushed, callWhole, createRouteUpstream, readPushed, type UpstreamDispatchOptions } from '../../core/upstream/index.ts';
import { startUpstream, type Upstream } from '../helpers/gateway.ts';

describe('callWhole: one call whose answer is read whole by the dispatch handler', () => {
  let upstream: Upstream;
  let origin: string;
  const agent = new Agent();
  const dispatcher = createRouteUpstream({ contributions: [], connectTimeoutMs: 2000, keepAliveTimeoutMs: 1000, bodyIdleTimeoutMs: 1000, path: 'routes[0]' }).compose({ shared: agent });
  const tooLarge = () => new Error('too large');

  before(async () => {
    upstream = await startUpstream((req, res) => {
      if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('x'.repeat(1000));
        res.end('y'.repeat(1000));
        return;
      }
      if (req.url === '/never') {
        res.writeHead(200);
        res.write('partial'); // and never ends
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
        res.writeHead(201, { 'content-type': 'application/json', 'x-seen': req.method ?? '' });
        res.write('{"echo":');
        res.end(JSON.stringify(Buffer.concat(chunks).toString()) + '}');
      });
    });
    origin = `http://${upstream.host}`;
  });
  after(async () => {
    await upstream.close();
    await agent.close();
  });

  it('gives the status, the headers and the whole body, through the route composed interceptors', async () => {
    const res = await callWhole(dispatcher, { origin, path: '/echo', method: 'POST', body: 'hello' }, { limit: 1024, tooLarge });
    assert.equal(res.status, 201);
    assert.equal(res.headers['x-seen'], 'POST');
    assert.deepEqual(JSON.parse(res.body.toString()), { echo: 'hello' });
  });

  it('fails with tooLarge() past the limit and closes the upstream', async () => {
    await assert.rejects(callWhole(dispatcher, { origin, path: '/big', method: 'GET' }, { limit: 1500, tooLarge }), { message: 'too large' });
    const ok = await callWhole(dispatcher, { origin, path: '/big', method: 'GET' }, { limit: 2000, tooLarge });
    assert.equal(ok.body.length, 2000);
  });

  it('an abort ends the call with its reason, before or while the answer arrives, through a signal or an onAbort callback', async () => {
    const before = AbortSignal.abort(new Error('gone before'));
    await assert.rejects(callWhole(dispatcher, { origin, path: '/echo', method: 'GET' }, { limit: 1024, tooLarge, abort: before }), { message: 'gone before' });
    const controller = new AbortController();
    const pending = callWhole(dispatcher, { origin, path: '/never', method: 'GET' }, { limit: 1024, tooLarge, abort: controller.signal });
    setImmediate(() => controller.abort(new Error('gone while reading')));
    await assert.rejects(pending, { message: 'gone while reading' });
    let listener: ((reason: Error) => void) | undefined;
    const viaCallback = callWhole(dispatcher, { origin, path: '/never', method: 'GET' }, { limit: 1024, tooLarge, abort: { onAbort: (l) => (listener = l) } });
    setImmediate(() => listener!(new Error('client gone')));
    await assert.rejects(viaCallback, { message: 'client gone' });
  });

  it('maps an unreachable upstream through the route error mapping', async () => {
    await assert.rejects(callWhole(dispatcher, { origin: 'http://127.0.0.1:1', path: '/', method: 'POST', body: 'x', backend: 'gone' } as UpstreamDispatchOptions, { limit: 1024, tooLarge }), { code: 'PCL_ERR_BACKEND_UNREACHABLE' });
  });
});

describe('callPushed: a body pushed by the dispatch handler to one sink', () => {
  let upstream: Upstream;
  let origin: string;
  const agent = new Agent();
  const tooLarge = () => new Error('too large');
  before(async () => {
    upstream = await startUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (req.url === '/broken') {
        res.write('data: 1\n\n');
        setTimeout(() => res.destroy(), 20);
        return;
      }
      res.write('data: 1\n\n');
      setTimeout(() => res.end('data: 2\n\n'), 20);
    });
    origin = `http://${upstream.host}`;
  });
  after(async () => {
    await upstream.close();
    await agent.close();
  });

  it('hands over what arrived before the pipe first, then the rest and the end', async () => {
    const res = await callPushed(agent, { origin, path: '/', method: 'GET' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/event-stream');
    await new Promise((resolve) => setTimeout(resolve, 5)); // the first event arrives before anyone pipes
    assert.equal((await readPushed(res.body, 1024, tooLarge)).toString(), 'data: 1\n\ndata: 2\n\n');
  });

  it('a body broken after its head reaches the sink as an error; past the bound, the read fails with tooLarge()', async () => {
    const broken = await callPushed(agent, { origin, path: '/broken', method: 'GET' });
    await assert.rejects(readPushed(broken.body, 1024, tooLarge));
    const big = await callPushed(agent, { origin, path: '/', method: 'GET' });
    await assert.rejects(readPushed(big.body, 4, tooLarge), { message: 'too large' });
  });

  it('an abort of the signal fails the call before its head, and the body after it', async () => {
    await assert.rejects(callPushed(agent, { origin, path: '/', method: 'GET' }, AbortSignal.abort(new Error('closed'))), { message: 'closed' });
    const controller = new AbortController();
    const res = await callPushed(agent, { origin, path: '/', method: 'GET' }, controller.signal);
    const read = readPushed(res.body, 1024, tooLarge);
    controller.abort(new Error('transport closed'));
    await assert.rejects(read, { message: 'transport closed' });
  });
});

describe('readWhole: a body read on its data events', () => {
  it('reads every chunk, an empty or absent body as empty', async () => {
    const s = new PassThrough();
    const read = readWhole(s);
    s.write('a');
    s.write(Buffer.from('b'));
    s.end('c');
    assert.equal((await read).toString(), 'abc');
    assert.equal((await readWhole(undefined)).length, 0);
    const empty = new PassThrough();
    empty.end();
    assert.equal((await readWhole(empty)).length, 0);
  });

  it('fails with the stream error, and when the stream closes before its end', async () => {
    const failing = new PassThrough();
    const read = readWhole(failing);
    failing.write('a');
    failing.destroy(new Error('over the limit'));
    await assert.rejects(read, { message: 'over the limit' });
    const closed = new PassThrough();
    const read2 = readWhole(closed);
    closed.destroy();
    await assert.rejects(read2, { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    await assert.rejects(readWhole(closed), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
  });
});
