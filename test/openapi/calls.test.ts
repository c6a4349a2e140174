import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { portBelowEphemeralRange } from '../helpers/held-ports.ts';
import { connectClient, MCP_TEST_EXTRA, mcpRoute, text } from '../helpers/mcp.ts';
import { PNG, startStylesServer, type StylesServer } from '../fixtures/openapi/styles-server.ts';

const SPEC = fileURLToPath(new URL('../fixtures/openapi/styles.yaml', import.meta.url));

describe('OpenAPI target (3.1): parameter styles, body kinds, answer kinds, failures', () => {
  let server: StylesServer;
  let gw: TestGateway;
  let deadPort: number;
  const clients: Client[] = [];

  before(async () => {
    server = await startStylesServer();
    deadPort = await portBelowEphemeralRange(); // nothing listens there, and no port-0 listener is handed it
    const route = (name: string, openapi: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
      ...mcpRoute([{ name: 'styles', openapi: { schema: { file: SPEC }, ...openapi }, ...extra }], {}, name),
      matches: [{ path: { pathPrefix: `/${name}` } }],
    });
    gw = await startTestGateway(
      simpleConfig(
        [
          // The spec's server URL has variables: the port comes from serverVariables.
          route('vars', { serverVariables: { port: String(server.port) }, headers: { 'x-static': 'yes' }, maxResponseBytes: 4096 }, { requestTimeoutMs: 1000 }),
          route('dead', { host: `127.0.0.1:${deadPort}`, path: '/api' }),
          route('only', { url: `http://127.0.0.1:${server.port}/api`, include: [{ tags: ['read'] }, { paths: ['/label/*'] }] }),
        ],
        MCP_TEST_EXTRA,
      ),
    );
  });
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gw?.close();
    await server?.close();
  });

  const connect = async (name: string) => {
    const client = await connectClient(`${gw.url()}/${name}`);
    clients.push(client);
    return client;
  };
  const call = async (client: Client, name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as any;
  const echo = async (client: Client, name: string, args: Record<string, unknown>) => {
    const r = await call(client, name, args);
    assert.equal(r.isError, undefined, text(r));
    return r.structuredContent as { method: string; url: string; headers: Record<string, string>; body: string };
  };

  it('names tools from sanitized operationIds or method and path, and leaves out operations it cannot serve, with a warning each', async () => {
    const client = await connect('vars');
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.deepEqual(names, ['label_array', 'matrix_object', 'get_simple_pair', 'queryStyles', 'sendForm', 'upload', 'putText', 'postTree', 'status', 'slow', 'big', 'image', 'bytes', 'list', 'elsewhere']);
    const warnings = gw.logs.lines.filter((l) => l.msg === 'OpenAPI operation left out: it uses a feature the gateway does not support' && l.route === 'vars');
    assert.deepEqual(
      warnings.map((w) => `${w.operation}: ${w.reason}`).sort(),
      [
        'deepArray (GET /deep-array): parameter "ids" has style deepObject but is not an object',
        'textParam (GET /text-param): parameter "q" has content text/plain; only JSON content parameters are supported',
        'xmlOnly (POST /xml-only): request body types application/xml are not supported (JSON, form, multipart, text or binary)',
      ],
    );
  });

  it('serializes path parameters by style: label, matrix, simple', async () => {
    const client = await connect('vars');
    assert.equal((await echo(client, 'label_array', { ids: [3, 4, 5] })).url, '/api/label/.3,4,5');
    assert.equal((await echo(client, 'matrix_object', { point: { x: 1, y: 2 } })).url, '/api/matrix/;x=1;y=2');
    assert.equal((await echo(client, 'get_simple_pair', { pair: { a: 'x y', b: '1/2' } })).url, '/api/simple/a,x%20y,b,1%2F2');
  });

  it("an operation's own server (path-level servers) is used, with the configured variables", async () => {
    const client = await connect('vars');
    assert.equal((await echo(client, 'elsewhere', {})).url, '/other/elsewhere');
  });

  it('serializes query, header and cookie parameters by style and explode', async () => {
    const client = await connect('vars');
    const e = await echo(client, 'queryStyles', {
      filter: { color: 'red', size: 2 },
      pipes: ['a', 'b'],
      spaces: ['c', 'd'],
      csv: ['e', 'f'],
      many: ['g', 'h'],
      raw: 'a/b?c',
      enc: 'a/b?c&d',
      when: '2026-01-02T03:04:05Z',
      limit: null,
      json: { q: 'x' },
      'X-Trace': ['t1', 't2'],
      session: 's 1',
      prefs: ['dark', 'compact'],
    });
    assert.equal(
      e.url,
      '/api/query?filter%5Bcolor%5D=red&filter%5Bsize%5D=2&pipes=a%7Cb&spaces=c%20d&csv=e,f&many=g&many=h&raw=a/b?c&enc=a%2Fb%3Fc%26d&when=2026-01-02T03%3A04%3A05Z&limit=&json=%7B%22q%22%3A%22x%22%7D',
    );
    assert.equal(e.headers['x-trace'], 't1,t2');
    assert.equal(e.headers.cookie, 'session=s%201; prefs=dark,compact');
    assert.equal(e.headers['x-static'], 'yes');
  });

  it('sends form-urlencoded, multipart, text and recursive JSON bodies', async () => {
    const client = await connect('vars');
    let e = await echo(client, 'sendForm', { body: { name: 'n m', tags: ['a', 'b'] } });
    assert.equal(e.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(e.body, 'name=n%20m&tags=a&tags=b');
    e = await echo(client, 'upload', { body: { file: PNG.toString('base64'), meta: { title: 't' }, note: 'hello' } });
    assert.match(e.headers['content-type'], /^multipart\/form-data; boundary=/);
    const body = Buffer.from(e.body, 'latin1');
    assert.ok(body.includes(PNG), 'the PNG bytes are in the multipart body');
    assert.match(e.body, /name="file"; filename="file"\r\nContent-Type: image\/png/);
    assert.match(e.body, /name="meta"[^]*Content-Type: application\/json\r\n\r\n\{"title":"t"\}/);
    assert.match(e.body, /name="note"\r\n\r\nhello/);
    e = await echo(client, 'putText', { body: 'plain words' });
    assert.equal(e.headers['content-type'], 'text/plain');
    assert.equal(e.body, 'plain words');
    const tree = { name: 'root', children: [{ name: 'a', children: [{ name: 'b' }] }] };
    e = await echo(client, 'postTree', { body: tree });
    assert.deepEqual(JSON.parse(e.body), tree);
    const r = await call(client, 'postTree', { body: { name: 'root', children: [{ children: [] }] } });
    assert.equal(text(r), 'invalid arguments: body.children.0.name: is required');
  });

  it('turns answers into results by content type: JSON (wrapped when not an object), text, image, binary blob, no content', async () => {
    const client = await connect('vars');
    let r = await call(client, 'list', {});
    assert.deepEqual(r.structuredContent, { result: [1, 2, 3] });
    assert.equal(text(r), '[1,2,3]');
    r = await call(client, 'image', {});
    assert.deepEqual(r.content, [{ type: 'image', data: PNG.toString('base64'), mimeType: 'image/png' }]);
    r = await call(client, 'bytes', {});
    assert.deepEqual(r.content, [{ type: 'resource', resource: { uri: 'openapi://styles/bytes', mimeType: 'application/octet-stream', blob: Buffer.from([0, 1, 2, 255]).toString('base64') } }]);
    r = await call(client, 'big', { bytes: 10 });
    assert.equal(text(r), 'y'.repeat(10));
    r = await call(client, 'status', { code: 204 });
    assert.equal(text(r), 'HTTP 204, no content');
  });

  it('an error status is an error result with a bounded excerpt; a response over maxResponseBytes is refused', async () => {
    const client = await connect('vars');
    let r = await call(client, 'status', { code: 503 });
    assert.equal(r.isError, true);
    const t = text(r);
    assert.ok(t.startsWith('HTTP 503: status 503: xxx'), t.slice(0, 40));
    assert.ok(t.endsWith(' ... (3012 bytes)'), t.slice(-40));
    assert.equal(t.length, 'HTTP 503: '.length + 1024 + ' ... (3012 bytes)'.length);
    r = await call(client, 'big', { bytes: 5000 });
    assert.equal(r.isError, true);
    assert.equal(text(r), 'HTTP 200: the response is larger than 4096 bytes (maxResponseBytes); it was not read');
  });

  it('an upstream that does not answer in time fails the call with a timeout; the session goes on', async () => {
    const client = await connect('vars');
    await assert.rejects(client.callTool({ name: 'slow', arguments: { ms: 5000 } }), /did not answer tools\/call within 1000 ms/);
    const r = await call(client, 'slow', { ms: 10 });
    assert.deepEqual(r.structuredContent, { slow: true });
  });

  it('an unreachable API is an error result with PCL_ERR_BACKEND_UNREACHABLE', async () => {
    const client = await connect('dead');
    const r = await call(client, 'list', {});
    assert.equal(r.isError, true);
    assert.match(text(r), /^PCL_ERR_BACKEND_UNREACHABLE: backend 127\.0\.0\.1:\d+ unreachable \(ECONNREFUSED\)$/);
  });

  it('include keeps only the operations selected by tag or path glob; url overrides the spec servers', async () => {
    const client = await connect('only');
    assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ['label_array', 'list']);
    assert.deepEqual((await call(client, 'list', {})).structuredContent, { result: [1, 2, 3] });
  });
});
