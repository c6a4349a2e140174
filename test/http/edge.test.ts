import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { s } from '../../core/config/index.ts';
import type { GatewayResponse, PolicyDefinition } from '../../core/pipeline/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { send, simpleConfig, startTestGateway, startUpstream, type TestGateway, type Upstream } from '../helpers/gateway.ts';

/** A policy that answers with whatever response a test names: the gateway must write it with valid framing. */
const cannedResponse: PolicyDefinition<{ kind: string }> = {
  name: 'cannedResponse',
  phase: 'directResponse',
  terminal: true,
  schema: s.object({ kind: s.string() }, { required: ['kind'] }),
  create(config) {
    const make = (): GatewayResponse => {
      switch (config.kind) {
        case 'framing':
          return { status: 200, headers: { 'content-length': '999', 'transfer-encoding': 'chunked', connection: 'keep-alive', 'x-ok': '1' }, body: 'hello' };
        case 'length-without-body':
          return { status: 200, headers: { 'content-length': '10' } };
        case 'no-content-with-body':
          return { status: 204, headers: { 'content-length': '5' }, body: 'hello' };
        case 'stream-too-long':
          return { status: 200, headers: { 'content-length': '3' }, body: Readable.from([Buffer.from('abcdef')]) };
        case 'bad-header':
          return { status: 200, headers: { 'x-bad': 'a\u0001b', 'content-type': 'text/plain' }, body: 'never sent' };
        case 'bad-status':
          return { status: 42, headers: {}, body: 'never sent' };
        default:
          throw new Error(`unknown kind ${config.kind}`);
      }
    };
    return { step: (ctx) => ctx.respond(make()) };
  },
};

/** Writes `head`, then (when given) the body once `100 Continue` arrived; resolves with everything read until close. */
function rawExchange(port: number, head: string, body?: Buffer): Promise<{ text: string; sentBody: boolean }> {
  return new Promise((resolve, reject) => {
    let text = '';
    let sentBody = false;
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
    socket.on('data', (d) => {
      text += d.toString('latin1');
      if (body && !sentBody && text.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
        sentBody = true;
        socket.write(body);
      }
    });
    socket.on('close', () => resolve({ text, sentBody }));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error(`raw request timed out; read so far: ${JSON.stringify(text.slice(0, 300))}`)));
  });
}

/** Splits what a keep-alive connection carried into responses, by their content-length (chunked is a failure here). */
function splitResponses(text: string): Array<{ head: string; body: string }> {
  const out: Array<{ head: string; body: string }> = [];
  let rest = text;
  for (let i = 0; i < 10 && rest.length > 0; i++) {
    const end = rest.indexOf('\r\n\r\n');
    assert.ok(end > 0, `incomplete response head: ${JSON.stringify(rest)}`);
    const head = rest.slice(0, end);
    assert.doesNotMatch(head, /transfer-encoding/i, 'a policy-made response is framed by content-length only');
    const length = / 204 /.test(head.slice(0, 14)) ? 0 : Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 'NaN');
    assert.ok(Number.isInteger(length), `no content-length in ${JSON.stringify(head)}`);
    out.push({ head, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}

function curl(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('curl', args, { timeout: 60_000, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(Object.assign(err, { stderr })) : resolve({ stdout, stderr })));
  });
}

describe('HTTP edge: Expect: 100-continue, response framing, invalid headers', () => {
  let gw: TestGateway;
  let up: Upstream;
  let badUpstream: Server;
  before(async () => {
    // Answers with what it received: length, hash, and whether `expect` reached it.
    up = await startUpstream((req, res) => {
      const hash = createHash('sha256');
      let length = 0;
      req.on('data', (c: Buffer) => {
        length += c.length;
        hash.update(c);
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ length, sha256: hash.digest('hex'), expect: req.headers.expect ?? null }));
      });
    });
    // A backend whose response header holds a control character.
    badUpstream = createServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nx-bad: a\u0001b\r\ncontent-length: 2\r\n\r\nok'));
    });
    await new Promise<void>((r) => badUpstream.listen(0, '127.0.0.1', r));
    const badPort = (badUpstream.address() as AddressInfo).port;
    const canned = (kind: string) => ({ name: kind, matches: [{ path: { exact: `/${kind}` } }], policies: { cannedResponse: { kind } } });
    gw = await startTestGateway(
      simpleConfig(
        [
          { name: 'upload', matches: [{ path: { pathPrefix: '/upload' } }], backends: [{ host: up.host }] },
          { name: 'direct', matches: [{ path: { exact: '/direct' } }], policies: { directResponse: { status: 200, body: 'direct' } } },
          {
            name: 'guarded',
            matches: [{ path: { pathPrefix: '/guarded' } }],
            policies: { apiKey: { header: 'x-api-key', keys: [{ name: 'uploader', sha256: createHash('sha256').update('good-key').digest('hex') }] } },
            backends: [{ host: up.host }],
          },
          { name: 'bad-backend', matches: [{ path: { exact: '/bad-backend' } }], backends: [{ host: `127.0.0.1:${badPort}` }] },
          canned('framing'),
          canned('length-without-body'),
          canned('no-content-with-body'),
          canned('stream-too-long'),
          canned('bad-header'),
          canned('bad-status'),
        ] as any,
        { limits: { maxRequestBodyBytes: 2 * 1024 * 1024 } },
      ),
      { policies: [...builtinPolicies, cannedResponse] },
    );
  });
  after(async () => {
    await gw.close();
    await up.close();
    await new Promise((r) => badUpstream.close(r));
  });

  it('curl with Expect: 100-continue uploads 1 MiB through a proxied route; expect is not forwarded', async () => {
    const payload = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) % 251;
    const file = join(gw.dir, 'upload.bin');
    await writeFile(file, payload);
    const started = Date.now();
    // A long expect timeout: had the gateway not sent 100 Continue, curl would sit for 30 s before sending.
    const { stdout, stderr } = await curl(['-sS', '-v', '--expect100-timeout', '30', '-H', 'Expect: 100-continue', '-H', 'content-type: application/octet-stream', '--data-binary', `@${file}`, `${gw.url()}/upload`]);
    assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
    assert.match(stderr, /> Expect: 100-continue/);
    assert.match(stderr, /< HTTP\/1\.1 100 Continue/);
    const body = JSON.parse(stdout);
    assert.deepEqual(body, { length: payload.length, sha256: createHash('sha256').update(payload).digest('hex'), expect: null });
  });

  it('raw Expect: 100-continue: 100 first, then the body, then the backend answer', async () => {
    const payload = Buffer.alloc(50_000, 'z');
    const { text, sentBody } = await rawExchange(
      gw.port(),
      `POST /upload/raw HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: ${payload.length}\r\nConnection: close\r\n\r\n`,
      payload,
    );
    assert.equal(sentBody, true);
    assert.match(text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    assert.equal(JSON.parse(/\{.*\}/s.exec(text)![0]).length, payload.length);
  });

  it('Expect with a content-length over the limit: 413 at once, no 100, the body never sent', async () => {
    const { text, sentBody } = await rawExchange(
      gw.port(),
      `POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: ${3 * 1024 * 1024}\r\n\r\n`,
      Buffer.alloc(10),
    );
    assert.equal(sentBody, false);
    assert.match(text, /^HTTP\/1\.1 413 Payload Too Large\r\n/);
    assert.match(text, /\r\nconnection: close\r\n/i);
    assert.ok(text.endsWith('{"error":{"code":"PCL_ERR_BODY_TOO_LARGE","message":"request body exceeds limits.maxRequestBodyBytes (2097152 bytes)"}}'), text);
    assert.equal((await send(`${gw.url()}/direct`)).text, 'direct');
  });

  it('Expect on no route, or on a route that answers without reading the body: the answer without 100', async () => {
    const none = await rawExchange(gw.port(), 'POST /nowhere HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n', Buffer.alloc(10));
    assert.equal(none.sentBody, false);
    assert.match(none.text, /^HTTP\/1\.1 404 Not Found\r\n/);
    assert.match(none.text, /PCL_ERR_NO_ROUTE/);
    const direct = await rawExchange(gw.port(), 'POST /direct HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n', Buffer.alloc(10));
    assert.equal(direct.sentBody, false);
    assert.match(direct.text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(direct.text, /\r\nconnection: close\r\n/i);
    assert.ok(direct.text.endsWith('\r\n\r\ndirect'));
  });

  it('Expect through authentication: refused without the body, accepted with 100 Continue first', async () => {
    const head = (key: string) => `PUT /guarded HTTP/1.1\r\nHost: x\r\nx-api-key: ${key}\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n`;
    const refused = await rawExchange(gw.port(), head('bad-key'), Buffer.from('hello'));
    assert.equal(refused.sentBody, false);
    assert.match(refused.text, /^HTTP\/1\.1 401 Unauthorized\r\n/);
    assert.match(refused.text, /PCL_ERR_UNAUTHENTICATED/);
    const accepted = await rawExchange(gw.port(), head('good-key'), Buffer.from('hello'));
    assert.equal(accepted.sentBody, true);
    assert.match(accepted.text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    assert.equal(JSON.parse(/\{.*\}/s.exec(accepted.text)![0]).length, 5);
  });

  it('a policy response with contradictory framing is sent with one valid content-length, and keep-alive survives', async () => {
    const { text } = await rawExchange(gw.port(), 'GET /framing HTTP/1.1\r\nHost: x\r\n\r\nGET /length-without-body HTTP/1.1\r\nHost: x\r\n\r\nGET /no-content-with-body HTTP/1.1\r\nHost: x\r\n\r\nGET /framing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const responses = splitResponses(text);
    assert.equal(responses.length, 4, text);
    assert.match(responses[0].head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(responses[0].head, /\r\ncontent-length: 5\r\n/);
    assert.match(responses[0].head, /\r\nx-ok: 1\r\n/);
    assert.doesNotMatch(responses[0].head, /keep-alive\r\n.*keep-alive/s);
    assert.equal(responses[0].body, 'hello');
    assert.match(responses[1].head, /\r\ncontent-length: 0(\r\n|$)/);
    assert.equal(responses[1].body, '');
    assert.match(responses[2].head, /^HTTP\/1\.1 204 No Content/);
    assert.doesNotMatch(responses[2].head, /content-length/i);
    assert.equal(responses[3].body, 'hello');
  });

  it('HEAD of a policy-made response: its length, no body, and the connection stays usable', async () => {
    const { text } = await rawExchange(gw.port(), 'HEAD /framing HTTP/1.1\r\nHost: x\r\n\r\nGET /framing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const [head, rest] = [text.slice(0, text.indexOf('\r\n\r\n')), text.slice(text.indexOf('\r\n\r\n') + 4)];
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, /\r\ncontent-length: 5\r\n/);
    assert.match(rest, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(rest.endsWith('\r\n\r\nhello'), rest);
  });

  it('a stream longer than its stated content-length cuts the connection instead of desynchronizing it', async () => {
    const { text } = await rawExchange(gw.port(), 'GET /stream-too-long HTTP/1.1\r\nHost: x\r\n\r\nGET /framing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.doesNotMatch(text, /abcdef/);
    assert.doesNotMatch(text, /hello/, 'the second request is never answered on a connection whose framing broke');
    assert.equal((await send(`${gw.url()}/framing`)).text, 'hello');
  });

  it('an invalid header or status from a policy is a 500 PCL_ERR_INTERNAL; the gateway keeps serving', async () => {
    const header = await send(`${gw.url()}/bad-header`);
    assert.equal(header.status, 500);
    assert.deepEqual(header.json(), { error: { code: 'PCL_ERR_INTERNAL', message: 'a policy set an invalid response header: "x-bad"' } });
    const status = await send(`${gw.url()}/bad-status`);
    assert.equal(status.status, 500);
    assert.deepEqual(status.json(), { error: { code: 'PCL_ERR_INTERNAL', message: 'a policy set an invalid response status: 42' } });
    const line = await gw.logs.waitFor((l) => l.type === 'access' && l.route === 'bad-header');
    assert.equal(line.status, 500);
    assert.equal(line.errorCode, 'PCL_ERR_INTERNAL');
    assert.equal((await send(`${gw.url()}/framing`)).text, 'hello');
  });

  it('an invalid header from the backend stays a 502', async () => {
    const res = await send(`${gw.url()}/bad-backend`);
    assert.equal(res.status, 502);
    assert.equal(res.json().error.code, 'PCL_ERR_BACKEND_UNREACHABLE');
    assert.equal((await send(`${gw.url()}/framing`)).text, 'hello');
  });
});
