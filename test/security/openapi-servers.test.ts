import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { buildTestRuntime } from '../helpers/runtime.ts';
import { simpleConfig } from '../helpers/gateway.ts';
import { mcpRoute } from '../helpers/mcp.ts';

const WHERE = 'binds[0].listeners[0].routes[0].backends[0].mcp.targets[0].openapi';
const spec = (servers: string[]) => JSON.stringify({ openapi: '3.0.0', info: { title: 'remote', version: '1' }, servers: servers.map((url) => ({ url })), paths: { '/ping': { get: { operationId: 'ping', responses: { '200': { description: 'ok' } } } } } });

describe('OpenAPI server URLs from a fetched spec go through the outbound-URL guard (issue 25)', () => {
  let server: Server;
  let base: string;

  before(async () => {
    server = createServer((req, res) => {
      const bodies: Record<string, string> = {
        '/metadata.json': spec(['http://169.254.169.254/latest']),
        '/loopback.json': spec(['http://localhost:6379/']),
        '/mapped.json': spec(['http://[::ffff:10.0.0.1]/']),
        '/userinfo.json': spec(['https://user:pw@api.example.com/']),
      };
      const body = req.url === '/own.json' ? spec([`${base}/api`]) : bodies[req.url ?? ''];
      if (body) res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const build = async (path: string) => {
    const rt = await buildTestRuntime(simpleConfig([mcpRoute([{ name: 'api', openapi: { schema: { url: `${base}${path}` } } }])]));
    await rt.close();
  };

  it('refuses a server on a non-public address, localhost, or with credentials', async () => {
    for (const [path, url, why] of [
      ['/metadata.json', 'http://169.254.169.254/latest', 'names a non-public address (169.254.169.254)'],
      ['/loopback.json', 'http://localhost:6379/', 'names localhost'],
      ['/mapped.json', 'http://[::ffff:a00:1]/', 'names a non-public address (::ffff:a00:1)'],
      ['/userinfo.json', 'https://[redacted]@api.example.com/', 'carries credentials'],
    ]) {
      await assert.rejects(build(path), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'PCL_ERR_OPENAPI_SPEC_INVALID');
        assert.equal(err.message, `${WHERE}.schema: #/servers/0/url: "${url}" in a spec fetched from ${base}${path} ${why}; set the target's url or host to call it`);
        return true;
      });
    }
  });

  it("accepts a server on the spec's own origin (loopback included), and an operator's explicit url", async () => {
    await build('/own.json');
    const rt = await buildTestRuntime(simpleConfig([mcpRoute([{ name: 'api', openapi: { schema: { url: `${base}/metadata.json` }, url: `${base}/api` } }])]));
    await rt.close();
  });
});
