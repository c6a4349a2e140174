import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { frameResponse, type WholeBody } from '../../core/server/framing.ts';

/** A body stream that arrived whole, as the HTTP backend's does when the response is small. */
function wholeBody(content: string): Readable & WholeBody {
  let taken = false;
  const body = Readable.from([Buffer.from(content)]) as Readable & WholeBody;
  body.takeWhole = () => {
    if (taken) return undefined;
    taken = true;
    return Buffer.from(content);
  };
  return body;
}

describe('response framing', () => {
  it('writes a response as it came when its framing is already valid, and never changes the headers object', () => {
    const headers = Object.freeze({ 'content-type': 'text/plain', 'content-length': '5' });
    const framed = frameResponse('GET', { status: 200, headers, body: 'hello' });
    assert.equal(framed.headers, headers);
    const fixed = frameResponse('GET', { status: 200, headers: Object.freeze({ 'content-length': '9', connection: 'close' }), body: 'hello' });
    assert.deepEqual(fixed.headers, { 'content-length': '5' });
  });

  it('sends a body that arrived whole as one buffer with its exact length, but keeps the stream for HEAD', () => {
    const headers = Object.freeze({ 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
    const framed = frameResponse('GET', { status: 200, headers, body: wholeBody('twelve bytes') });
    assert.ok(Buffer.isBuffer(framed.body));
    assert.equal(framed.body.toString(), 'twelve bytes');
    assert.deepEqual(framed.headers, { 'content-type': 'text/plain', 'content-length': '12' });
    const head = frameResponse('HEAD', { status: 200, headers: { 'content-length': '12' }, body: wholeBody('') });
    assert.ok(head.body instanceof Readable);
    assert.equal(head.headers['content-length'], '12');
  });
});
