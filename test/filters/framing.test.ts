import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { echoUpstream, send, simpleConfig, startTestGateway, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { filterFixture, filterRoute } from '../helpers/filters.ts';

const fixture = filterFixture;
const route = filterRoute;

/** One HTTP/1.1 exchange on a raw socket, so the response head is seen exactly as sent (a client would refuse bad framing). */
async function raw(port: number, head: string, payload = ''): Promise<{ status: number; headers: Array<[string, string]>; body: string }> {
  const socket = connect(port, '127.0.0.1');
  socket.write(`${head}\r\nhost: x\r\nconnection: close\r\n${payload ? `content-length: ${Buffer.byteLength(payload)}\r\n` : ''}\r\n${payload}`);
  const chunks: Buffer[] = [];
  for await (const c of socket) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers = lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as [string, string]);
  let body = text.slice(end + 4);
  if (headers.some(([k, v]) => k === 'transfer-encoding' && v === 'chunked')) {
    let decoded = '';
    for (let at = 0; ; ) {
      const eol = body.indexOf('\r\n', at);
      const size = parseInt(body.slice(at, eol), 16);
      if (!(size > 0)) break;
      decoded += body.slice(eol + 2, eol + 2 + size);
      at = eol + 2 + size + 2;
    }
    body = decoded;
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

const names = (r: { headers: Array<[string, string]> }) => r.headers.map(([k]) => k);
const header = (r: { headers: Array<[string, string]> }, name: string) => r.headers.filter(([k]) => k === name).map(([, v]) => v);

describe('what a filter returns never breaks HTTP framing', () => {
  let gw: TestGateway;
  let up: Upstream;
  before(async () => {
    up = await echoUpstream();
    gw = await startTestGateway(
      simpleConfig([
        // The log flood does real work (1000 calls with 15 KB each): time enough on a loaded machine.
        route('lab', '/lab', [{ file: fixture('lab.ts'), config: { tag: 'F' }, timeoutMs: 3000 }], up.host),
        route('resp', '/resp', [{ file: fixture('framing-response.ts') }], up.host),
        route('plain', '/', undefined, up.host),
      ]),
    );
  });
  after(async () => {
    await gw.close();
    await up.close();
  });

  it('drops transfer-encoding, content-length and hop-by-hop headers of a respond decision and frames the body itself', async () => {
    const res = await raw(gw.port(), 'GET /lab HTTP/1.1\r\nx-mode: respond-framing');
    assert.equal(res.status, 200);
    assert.deepEqual(header(res, 'content-length'), ['5']);
    assert.deepEqual(header(res, 'transfer-encoding'), []);
    assert.deepEqual(header(res, 'keep-alive'), []);
    assert.deepEqual(header(res, 'upgrade'), []);
    assert.deepEqual(header(res, 'x-kept'), ['yes']);
    assert.equal(res.body, 'hello');
  });

  it('sends 204 without a body or a length', async () => {
    const res = await raw(gw.port(), 'GET /lab HTTP/1.1\r\nx-mode: respond-204');
    assert.equal(res.status, 204);
    assert.ok(!names(res).includes('content-length') && !names(res).includes('transfer-encoding'), JSON.stringify(res.headers));
    assert.deepEqual(header(res, 'x-kept'), ['yes']);
    assert.equal(res.body, '');
  });

  it('ignores framing headers a filter sets or removes on a request: the upstream gets the body with its own length', async () => {
    const res = await send(`${gw.url()}/lab`, { method: 'POST', headers: { 'x-mode': 'continue-framing', 'content-type': 'text/plain' }, body: 'twelve bytes' });
    assert.equal(res.status, 200);
    const seen = res.json();
    assert.equal(seen.body, 'twelve bytes');
    assert.equal(seen.headers['content-length'], '12');
    assert.equal(seen.headers['transfer-encoding'], undefined);
    assert.equal(seen.headers['x-kept'], 'yes');
  });

  it('frames a response body a response filter replaced, whatever framing headers it set', async () => {
    for (const mode of ['continue', 'headers-only', 'respond']) {
      const res = await raw(gw.port(), `GET /resp/${mode} HTTP/1.1\r\nx-frame: ${mode}`);
      const te = header(res, 'transfer-encoding');
      const cl = header(res, 'content-length');
      assert.ok(!(te.length > 0 && cl.length > 0), `${mode}: both transfer-encoding and content-length: ${JSON.stringify(res.headers)}`);
      assert.deepEqual(header(res, 'connection'), ['close'], mode);
      if (mode === 'continue') {
        assert.deepEqual(JSON.parse(res.body), { framed: true });
        assert.deepEqual(cl, [String(res.body.length)]);
        assert.deepEqual(header(res, 'x-resp'), ['yes']);
      }
      if (mode === 'respond') {
        assert.equal(res.status, 202);
        assert.equal(res.body, 'replaced');
        assert.deepEqual(cl, ['8']);
      }
      if (mode === 'headers-only') assert.equal(JSON.parse(res.body).upstream, 'echo');
    }
  });

  it('answers a header a filter cannot send with 500 PCL_ERR_FILTER_FAILED naming the header, then keeps serving', async () => {
    const cases: Array<[string, string]> = [
      ['bad-value-control', 'filter "lab" onRequest returned an invalid decision: headers.x-ctl must be a string without CR, LF, NUL or other control characters, or characters above U+00FF'],
      ['bad-value-unicode', 'filter "lab" onRequest returned an invalid decision: headers.x-euro must be a string without CR, LF, NUL or other control characters, or characters above U+00FF'],
      ['bad-name', 'filter "lab" onRequest returned an invalid decision: headers: invalid header name "bad name"'],
    ];
    for (const [mode, message] of cases) {
      const res = await send(`${gw.url()}/lab`, { headers: { 'x-mode': mode } });
      assert.equal(res.status, 500, mode);
      assert.deepEqual(res.json(), { error: { code: 'PCL_ERR_FILTER_FAILED', message } });
    }
    assert.equal((await send(`${gw.url()}/plain`)).status, 200);
    assert.equal((await send(`${gw.url()}/lab`)).status, 200);
  });

  it('caps ctx.log: 100 lines a call, messages at 1000 characters, fields at 4096 characters of JSON, 32 KiB in all', async () => {
    const res = await send(`${gw.url()}/lab/flood`, { headers: { 'x-mode': 'log-flood' } });
    assert.equal(res.status, 200);
    const dropped = await gw.logs.waitFor((l) => l.filter === 'lab' && /more log lines dropped/.test(l.msg));
    // Each line counts 1003 characters of message and 80 for its replaced fields: the 32 KiB budget ends the call's
    // log after 31 lines, before the 100-line cap.
    assert.equal(dropped.msg, '969 more log lines dropped: at most 100 lines and 32768 characters per call');
    const lines = gw.logs.lines.filter((l) => l.filter === 'lab' && l.requestId === dropped.requestId);
    assert.equal(lines.length, 32);
    for (const l of lines.slice(0, -1)) {
      assert.equal(l.msg, `${'m'.repeat(1000)}...`);
      assert.equal(l.fields.truncated, 'fields over 4096 characters of JSON');
      assert.ok(l.fields.length > 10_000);
    }
    await send(`${gw.url()}/lab/fields`, { headers: { 'x-mode': 'log-fields' } });
    const huge = await gw.logs.waitFor((l) => l.msg === 'huge fields');
    assert.deepEqual(huge.fields, { truncated: 'fields over 4096 characters of JSON', length: 2_000_011 });
    assert.deepEqual(gw.logs.find((l) => l.msg === 'small')?.fields, { i: 1 });
    assert.ok(gw.logs.raw().length < 200_000);
    assert.equal((await send(`${gw.url()}/plain`)).status, 200);
  });
});
