import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { createTestPki, type TestPki } from '../helpers/certs.ts';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, MCP_TEST_EXTRA, mcpRoute, text } from '../helpers/mcp.ts';
import { createPetstoreHandler, type SeenRequest } from '../fixtures/openapi/petstore-server.ts';

const SPEC = fileURLToPath(new URL('../fixtures/openapi/petstore.yaml', import.meta.url));

describe("OpenAPI target calls go through the route's upstream: backend TLS, credentials, time limits", () => {
  let pki: TestPki;
  let server: Server;
  let port: number;
  let gw: TestGateway;
  const seen: SeenRequest[] = [];
  const clients: Client[] = [];

  before(async () => {
    pki = createTestPki(['petstore.test']);
    const handler = createPetstoreHandler(seen);
    server = createServer({ cert: pki.read(pki.serverCert), key: pki.read(pki.serverKey), ca: pki.read(pki.ca), requestCert: true, rejectUnauthorized: true }, (req, res) => {
      // A slow answer for one pet, to exceed the route's backend time limit.
      // The gateway gives up first (500 ms) and closes the request: the answer is dropped with it, timer included.
      if (req.url === '/v3/pet/2') {
        const slow = setTimeout(() => handler(req, res), 3000);
        res.on('close', () => clearTimeout(slow));
        return;
      }
      handler(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    const tls = { root: pki.ca, cert: pki.clientCert, key: pki.clientKey, sni: 'petstore.test' };
    const route = (name: string, policies: Record<string, unknown>) => ({
      ...mcpRoute([{ name: 'petstore', openapi: { schema: { file: SPEC }, host: '127.0.0.1', port } }], {}, name),
      matches: [{ path: { pathPrefix: `/${name}` } }],
      policies,
    });
    gw = await startTestGateway(
      simpleConfig(
        [
          route('tls', { backendTLS: tls, backendAuth: { credential: { secret: 'petstore-key' }, header: 'api_key' }, timeout: { backendRequestTimeoutMs: 500 } }),
          route('untrusted', { backendTLS: { ...tls, root: createTestPki(['petstore.test']).ca } }),
        ],
        MCP_TEST_EXTRA,
      ),
    );
  });
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gw?.close();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  const connect = async (name: string) => {
    const client = await connectClient(`${gw.url()}/${name}`);
    clients.push(client);
    return client;
  };

  it('a host without a scheme is called over https with mutual TLS when the route has backend TLS, with the route credential', async () => {
    const client = await connect('tls');
    const r = (await client.callTool({ name: 'getPetById', arguments: { petId: 1 } })) as any;
    assert.equal(r.structuredContent.name, 'Rex');
    assert.equal(seen.at(-1)!.headers.api_key, 'petstore-key');
  });

  it("the route's backend time limit ends a slow call with an error result", async () => {
    const client = await connect('tls');
    const r = (await client.callTool({ name: 'getPetById', arguments: { petId: 2 } })) as any;
    assert.equal(r.isError, true);
    assert.match(text(r), /^PCL_ERR_UPSTREAM_TIMEOUT: /);
  });

  it('a certificate the route does not trust is an error result naming the TLS failure', async () => {
    const client = await connect('untrusted');
    const r = (await client.callTool({ name: 'getPetById', arguments: { petId: 1 } })) as any;
    assert.equal(r.isError, true);
    assert.match(text(r), /^PCL_ERR_BACKEND_UNREACHABLE: backend 127\.0\.0\.1:\d+ unreachable: TLS failed/);
  });
});
