import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { simpleConfig, startTestGateway, startUpstream, type TestGateway, type Upstream } from '../helpers/gateway.ts';

/**
 * Response bodies through the HTTP backend's two ways of writing them: whole (the body had fully arrived when the
 * response was written: one write) and streamed (it was still arriving, or was larger than what is held before the
 * upstream is paused).
 */
describe('HTTP response bodies, whole and streamed', () => {
  let gw: TestGateway;
  let up: Upstream;
  const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'abcdefghij');
  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.url === '/small') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
        res.end('small');
      } else if (req.url === '/chunked') {
        // No content-length: the gateway frames what arrived whole with its exact length.
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('chunk-1,');
        res.end('chunk-2');
      } else if (req.url === '/big') {
        res.writeHead(200, { 'content-length': String(big.length) });
        res.end(big);
      } else {
        // Three parts 150 ms apart: each must reach the client before the next is sent.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        let n = 0;
        const tick = setInterval(() => {
          res.write(`data: ${n}\n\n`);
          if (++n === 3) {
            clearInterval(tick);
            res.end();
          }
        }, 150);
      }
    });
    gw = await startTestGateway(simpleConfig([{ name: 'all', backends: [{ host: up.host }] }]));
  });
  after(async () => {
    await gw.close();
    await up.close();
  });

  it('sends a small body with its length, and a chunked one that arrived whole with its exact length', async () => {
    const small = await fetch(`${gw.url()}/small`);
    assert.equal(small.headers.get('content-length'), '5');
    assert.equal(await small.text(), 'small');
    const chunked = await fetch(`${gw.url()}/chunked`);
    assert.equal(await chunked.text(), 'chunk-1,chunk-2');
  });

  it('streams a body larger than what is held before the upstream is paused, byte for byte', async () => {
    const res = await fetch(`${gw.url()}/big`);
    assert.equal(res.headers.get('content-length'), String(big.length));
    const got = Buffer.from(await res.arrayBuffer());
    assert.equal(got.length, big.length);
    assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(big).digest('hex'));
  });

  it('passes each part of a body still arriving as it comes', async () => {
    const res = await fetch(`${gw.url()}/events`);
    const reader = res.body!.getReader();
    // Held back until the end, the parts would come as one read.
    const first = Buffer.from((await reader.read()).value!).toString();
    assert.match(first, /^data: 0/);
    assert.doesNotMatch(first, /data: 2/);
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += Buffer.from(r.value).toString();
    assert.match(rest, /data: 1[\s\S]*data: 2/);
  });
});
