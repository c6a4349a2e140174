import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { s } from '../../core/config/index.ts';
import { readRequestBody, type PolicyDefinition } from '../../core/pipeline/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { send, simpleConfig, startTestGateway, startUpstream, type TestGateway, type Upstream } from '../helpers/gateway.ts';

/** Answers with the length and hash of the body read whole (`readRequestBody`), as the MCP and A2A backends read it. */
const wholeEcho: PolicyDefinition<Record<string, never>> = {
  name: 'wholeEcho',
  phase: 'directResponse',
  terminal: true,
  schema: s.object({}),
  create() {
    return {
      async step(ctx) {
        const body = await readRequestBody(ctx);
        // A second read finds the body spent, not the client's bytes again.
        const again = await readRequestBody(ctx);
        const text = JSON.stringify({ length: body.length, sha256: createHash('sha256').update(body).digest('hex'), again: again.length });
        ctx.respond({ status: 200, headers: { 'content-type': 'application/json' }, body: text });
      },
    };
  },
};

/** Puts its own body in place of the client's, as a body-rewriting filter does. */
const rewriteBody: PolicyDefinition<Record<string, never>> = {
  name: 'rewriteBody',
  phase: 'requestRewrite',
  schema: s.object({}),
  create() {
    return {
      async step(ctx, next) {
        const chunks: Buffer[] = [];
        for await (const c of ctx.body ?? []) chunks.push(c as Buffer);
        ctx.body = Readable.from([Buffer.from(`rewritten:${Buffer.concat(chunks).length}`)]);
        await next();
      },
    };
  },
};

/** Writes `head` and `body` (sent once `100 Continue` arrived when `waitContinue`); resolves with all read until close. */
function raw(port: number, head: string, body: Buffer[], waitContinue = false): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    let sent = false;
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(head);
      if (!waitContinue) {
        sent = true;
        for (const b of body) socket.write(b);
      }
    });
    socket.on('data', (d) => {
      text += d.toString('latin1');
      if (!sent && text.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
        sent = true;
        for (const b of body) socket.write(b);
      }
    });
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error(`raw request timed out; read so far: ${JSON.stringify(text.slice(0, 300))}`)));
  });
}

const chunk = (size: number) => `${size.toString(16)}\r\n${'x'.repeat(size)}\r\n`;

describe('request bodies read whole (readRequestBody) and streamed through', () => {
  let gw: TestGateway;
  let up: Upstream;
  before(async () => {
    up = await startUpstream((req, res) => {
      let length = 0;
      req.on('data', (c: Buffer) => (length += c.length));
      req.on('end', () => res.end(JSON.stringify({ length })));
    });
    gw = await startTestGateway(
      simpleConfig(
        [
          { name: 'whole', matches: [{ path: { exact: '/whole' } }], policies: { wholeEcho: {} } },
          { name: 'rewritten', matches: [{ path: { exact: '/rewritten' } }], policies: { rewriteBody: {}, wholeEcho: {} } },
          { name: 'proxied', matches: [{ path: { exact: '/proxied' } }], backends: [{ host: up.host }] },
        ] as any,
        { limits: { maxRequestBodyBytes: 4096 } },
      ),
      { policies: [...builtinPolicies, wholeEcho, rewriteBody] },
    );
  });
  after(async () => {
    await gw.close();
    await up.close();
  });

  it('collects a chunked body of many chunks into one buffer, counted in the access log', async () => {
    const text = await raw(gw.port(), 'POST /whole HTTP/1.1\r\nHost: x\r\nx-request-id: whole-1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n', [
      Buffer.from(chunk(1000)),
      Buffer.from(chunk(1000)),
      Buffer.from(chunk(500) + '0\r\n\r\n'),
    ]);
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
    assert.deepEqual(body, { length: 2500, sha256: createHash('sha256').update('x'.repeat(2500)).digest('hex'), again: 0 });
    const line = await gw.logs.waitFor((l) => l.request_id === 'whole-1');
    assert.equal(line.bytesIn, 2500);
  });

  it('an empty and a missing body both read as empty', async () => {
    assert.equal((await send(`${gw.url()}/whole`, { method: 'POST' })).json().length, 0);
    assert.equal((await send(`${gw.url()}/whole`, { method: 'POST', body: '' })).json().length, 0);
  });

  it('over the limit without a content-length: 413 PCL_ERR_BODY_TOO_LARGE, as for a streamed body', async () => {
    const text = await raw(gw.port(), 'POST /whole HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n', [Buffer.from(chunk(3000)), Buffer.from(chunk(3000))]);
    assert.match(text, /^HTTP\/1\.1 413 /);
    assert.ok(text.endsWith('{"error":{"code":"PCL_ERR_BODY_TOO_LARGE","message":"request body exceeds limits.maxRequestBodyBytes (4096 bytes)"}}'), text);
  });

  it('Expect: 100-continue: 100 goes out when the body is read whole, then the answer', async () => {
    const text = await raw(gw.port(), 'POST /whole HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\nConnection: close\r\n\r\n', [Buffer.from('0123456789')], true);
    assert.ok(text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 '), text);
    assert.equal(JSON.parse(text.slice(text.lastIndexOf('\r\n\r\n') + 4)).length, 10);
  });

  it('a body a policy put in place of the client one is the one read whole', async () => {
    const res = await send(`${gw.url()}/rewritten`, { method: 'POST', body: 'abcdef' });
    assert.equal(res.json().length, 'rewritten:6'.length);
    assert.equal(res.json().sha256, createHash('sha256').update('rewritten:6').digest('hex'));
  });

  it('a client that leaves in the middle of a body read whole does not stop the gateway', async () => {
    await new Promise<void>((resolve) => {
      const socket = connect(gw.port(), '127.0.0.1', () => {
        socket.write('POST /whole HTTP/1.1\r\nHost: x\r\nx-request-id: left-1\r\nContent-Length: 2000\r\n\r\n' + 'x'.repeat(100));
        setTimeout(() => socket.destroy(), 50);
      });
      socket.on('close', () => resolve());
      socket.on('error', () => {});
    });
    const line = await gw.logs.waitFor((l) => l.request_id === 'left-1');
    assert.equal(line.errorCode, 'PCL_ERR_CLIENT_CLOSED');
    assert.equal((await send(`${gw.url()}/whole`, { method: 'POST', body: 'ok' })).json().length, 2);
  });

  it('a proxied body still streams through whole, and over the limit is refused', async () => {
    assert.deepEqual((await send(`${gw.url()}/proxied`, { method: 'POST', body: 'y'.repeat(4000) })).json(), { length: 4000 });
    const text = await raw(gw.port(), 'POST /proxied HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n', [Buffer.from(chunk(3000)), Buffer.from(chunk(3000))]);
    assert.match(text, /^HTTP\/1\.1 413 /);
  });
});
