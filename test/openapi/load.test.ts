import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { buildTestRuntime } from '../helpers/runtime.ts';
import { simpleConfig } from '../helpers/gateway.ts';
import { mcpRoute } from '../helpers/mcp.ts';
import { loadSpec } from '../../core/backends/mcp/upstream/openapi/index.ts';

const PETSTORE = fileURLToPath(new URL('../fixtures/openapi/petstore.yaml', import.meta.url));
const WHERE = 'binds[0].listeners[0].routes[0].backends[0].mcp.targets[0].openapi';

const config = (openapi: Record<string, unknown>) => simpleConfig([mcpRoute([{ name: 'api', openapi }])]);

/** Builds a runtime for the config and returns the error it fails with. */
async function failure(openapi: Record<string, unknown>): Promise<{ code: string; message: string }> {
  try {
    const rt = await buildTestRuntime(config(openapi));
    await rt.close();
  } catch (err) {
    return err as { code: string; message: string };
  }
  assert.fail('the runtime was built');
}

const MINIMAL = (paths: string) => `openapi: 3.0.3\ninfo: { title: t, version: '1' }\nservers: [{ url: 'http://127.0.0.1:1' }]\npaths:\n${paths}`;

describe('OpenAPI target: loading specs, and every way a spec or its config can be wrong', () => {
  let dir: string;
  let server: Server;
  let base: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcl-openapi-'));
    server = createServer((req, res) => {
      if (req.url === '/hang') return; // never answers
      if (req.url === '/petstore.json') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ openapi: '3.0.0', info: { title: 'remote', version: '1' }, servers: [{ url: '/api' }], paths: { '/ping': { get: { operationId: 'ping', responses: { '200': { description: 'ok' } } } } } }));
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  const file = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };

  it('a spec that does not parse is a config error naming the target and the line', async () => {
    const err = await failure({ schema: { file: await file('broken.yaml', 'openapi: 3.0.3\ninfo: [unclosed\n') }, host: 'localhost:1' });
    assert.equal(err.code, 'PCL_ERR_OPENAPI_SPEC_INVALID');
    assert.ok(err.message.startsWith(`${WHERE}.schema: cannot parse `), err.message);
    assert.match(err.message, /line 3/);
  });

  it('a spec that breaks the OpenAPI schema is reported with the spec path of the problem', async () => {
    const err = await failure({ schema: { file: await file('invalid.yaml', MINIMAL('  /pets:\n    get:\n      operationId: x\n')) } });
    assert.equal(err.code, 'PCL_ERR_OPENAPI_SPEC_INVALID');
    assert.match(err.message, /is not a valid OpenAPI 3\.0 document:\n {2}#\/paths\/~1pets\/get: must have required property 'responses'/);
  });

  it('dangling $refs are listed with where they are and what they point to', async () => {
    const spec = MINIMAL(`  /pets:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: { $ref: '#/components/schemas/Nope' }\n`);
    const err = await failure({ schema: { inline: spec } });
    assert.equal(
      err.message,
      `${WHERE}.schema: inline document has dangling $refs:\n  #/paths/~1pets/get/responses/200/content/application~1json/schema: $ref "#/components/schemas/Nope" points to nothing`,
    );
  });

  it('Swagger 2.0 is refused with how to convert it; an unknown version is named', async () => {
    let err = await failure({ schema: '{"swagger":"2.0","info":{"title":"t","version":"1"},"paths":{}}', host: 'localhost:1' });
    assert.equal(err.message, `${WHERE}.schema: inline document is Swagger 2.0, which is not supported: convert it to OpenAPI 3 first (for example with "npx swagger2openapi inline document -o openapi.yaml")`);
    err = await failure({ schema: { inline: { openapi: '4.0.0', info: {}, paths: {} } }, host: 'localhost:1' });
    assert.equal(err.message, `${WHERE}.schema: inline document: #/openapi: expected an OpenAPI version 3.0.x or 3.1.x, got "4.0.0"`);
  });

  it('a spec with no usable server and no url or host is refused', async () => {
    const noServer = { openapi: '3.0.3', info: { title: 't', version: '1' }, paths: {} };
    let err = await failure({ schema: { inline: noServer } });
    assert.equal(err.message, `${WHERE}.schema: #/servers: the spec names no server; set the target's url or host`);
    err = await failure({ schema: { file: PETSTORE } });
    assert.equal(err.message, `${WHERE}.schema: #/servers/0/url: "/v3" is relative; set the target's url or host`);
  });

  it('a missing file, an unreachable or hanging URL are config errors; timeoutMs bounds the fetch', async () => {
    let err = await failure({ schema: { file: join(dir, 'nope.yaml') }, host: 'localhost:1' });
    assert.match(err.message, /\.schema: cannot read .*nope\.yaml: ENOENT/);
    const started = Date.now();
    err = await failure({ schema: { url: `${base}/hang`, timeoutMs: 300 } });
    assert.equal(err.message, `${WHERE}.schema: cannot fetch ${base}/hang: no answer within 300 ms (schema.timeoutMs)`);
    assert.ok(Date.now() - started < 5000);
    err = await failure({ schema: { url: `${base}/missing` } });
    assert.equal(err.message, `${WHERE}.schema: cannot fetch ${base}/missing: HTTP 404`);
  });

  it('a spec fetched from a URL resolves its relative server against that URL', async () => {
    const rt = await buildTestRuntime(config({ schema: { url: `${base}/petstore.json` } }));
    try {
      const init = await rt.fetch('/mcp', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
      });
      assert.equal(init.status, 200);
      const session = init.headers.get('mcp-session-id')!;
      const call = await rt.fetch('/mcp', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'ping', arguments: {} } }),
      });
      const text = await call.text();
      // The server answers /api/ping with 404: the call went to the spec's origin under its relative server path.
      assert.match(text, /HTTP 404/);
    } finally {
      await rt.close();
    }
  });

  it('a spec split over files is resolved, and every file it reads is watched', async () => {
    const schemas = await file('schemas.yaml', 'Pet:\n  type: object\n  required: [name]\n  properties:\n    name: { type: string }\n');
    const main = await file(
      'main.yaml',
      MINIMAL(`  /pets:\n    post:\n      operationId: addPet\n      requestBody:\n        content:\n          application/json:\n            schema: { $ref: './schemas.yaml#/Pet' }\n      responses: { '200': { description: ok } }\n`),
    );
    const spec = await loadSpec({ file: 'main.yaml' }, { baseDir: dir, where: WHERE });
    assert.deepEqual(spec.files.sort(), [main, schemas].sort());
    const rt = await buildTestRuntime(config({ schema: { file: main } }));
    try {
      assert.deepEqual([...rt.runtime.files].sort(), [main, schemas].sort());
    } finally {
      await rt.close();
    }
    await writeFile(schemas, 'Pet: { $ref: "#/Nope" }\n');
    const err = await failure({ schema: { file: main } });
    assert.match(err.message, /main\.yaml: cannot resolve a \$ref: .*Nope/);
  });

  it('config mistakes are reported with their paths', async () => {
    const err = (await buildTestRuntime(
      simpleConfig([
        mcpRoute([
          { name: 'a', openapi: { host: 'h' } },
          { name: 'b', openapi: { schema: { file: 'x', url: 'http://y' }, url: 'ftp://z' } },
          { name: 'c', openapi: { schema: 'x', url: 'http://a', host: 'b' } },
          { name: 'd', openapi: { schema: 'x', port: 80, include: [{ methods: ['FETCH'] }], overrides: { op: { name: 'bad name' } } } },
        ]),
      ]),
    ).catch((e) => e)) as { code: string; message: string };
    assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
    const t = 'binds[0].listeners[0].routes[0].backends[0].mcp.targets';
    for (const line of [
      `${t}[0].openapi.schema: is required (string (inline document) or object with file, url or inline)`,
      `${t}[1].openapi.schema: expected exactly one of file, url, inline, got file, url`,
      `${t}[1].openapi.url: expected an http(s) URL, got "ftp://z"`,
      `${t}[2].openapi: set url, or host (with port and path), not both`,
      `${t}[3].openapi.include[0].methods[0]: expected GET, PUT, POST, DELETE, OPTIONS, HEAD, PATCH, TRACE, got "FETCH"`,
      `${t}[3].openapi.overrides.op.name: expected letters, digits, "_" or "-", at most 64, got "bad name"`,
    ]) {
      assert.ok(err.message.includes(line), `missing: ${line}\n${err.message}`);
    }
  });

  it('agentgateway\'s shape (schema.file and host: "name:port") is accepted unchanged', async () => {
    const rt = await buildTestRuntime(config({ schema: { file: PETSTORE }, host: 'localhost:8080' }));
    await rt.close();
  });
});
