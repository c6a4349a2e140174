import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { createTestPki, type TestPki } from '../helpers/certs.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

describe('TLS', () => {
  let pki: TestPki;
  let other: TestPki;
  let upstream: Server;
  let upstreamPort: number;
  let gw: TestGateway;
  let client: Agent;

  before(async () => {
    pki = createTestPki(['gateway.test', 'backend.test']);
    other = createTestPki(['gateway.test']);
    // A backend that requires a client certificate signed by the test CA and reports what it saw.
    upstream = createServer({ cert: pki.read(pki.serverCert), key: pki.read(pki.serverKey), ca: pki.read(pki.ca), requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const socket = req.socket as TLSSocket;
      res.end(JSON.stringify({ sni: socket.servername, clientCN: socket.getPeerCertificate().subject?.CN }));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamPort = (upstream.address() as AddressInfo).port;
    client = new Agent({ connect: { ca: pki.read(pki.ca), servername: 'gateway.test' } });
    gw = await startTestGateway({
      binds: [
        {
          port: 0,
          address: '127.0.0.1',
          listeners: [
            {
              protocol: 'HTTPS',
              tls: { cert: pki.serverCert, key: pki.serverKey },
              routes: [
                {
                  name: 'mtls',
                  matches: [{ path: { pathPrefix: '/mtls' } }],
                  policies: { backendTLS: { root: pki.ca, cert: pki.clientCert, key: pki.clientKey, sni: 'backend.test' } },
                  backends: [{ host: `127.0.0.1:${upstreamPort}` }],
                },
                {
                  name: 'no-client-cert',
                  matches: [{ path: { pathPrefix: '/nocert' } }],
                  policies: { backendTLS: { root: pki.ca, sni: 'backend.test' } },
                  backends: [{ host: `127.0.0.1:${upstreamPort}` }],
                },
                {
                  name: 'wrong-ca',
                  matches: [{ path: { pathPrefix: '/wrongca' } }],
                  policies: { backendTLS: { root: other.ca, cert: pki.clientCert, key: pki.clientKey, sni: 'backend.test' } },
                  backends: [{ host: `127.0.0.1:${upstreamPort}` }],
                },
              ],
            },
          ],
        },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await client.close();
    await new Promise((r) => upstream.close(r));
  });

  it('serves HTTPS with the listener certificate and reaches a backend over mutual TLS with SNI', async () => {
    const res = await request(`https://127.0.0.1:${gw.port()}/mtls`, { dispatcher: client });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(await res.body.json(), { sni: 'backend.test', clientCN: 'agent-client' });
  });
  it('502 with the TLS cause when the backend rejects us or its certificate is not trusted', async () => {
    const nocert = await request(`https://127.0.0.1:${gw.port()}/nocert`, { dispatcher: client });
    assert.equal(nocert.statusCode, 502);
    assert.equal(((await nocert.body.json()) as any).error.code, 'PCL_ERR_BACKEND_UNREACHABLE');
    const wrong = await request(`https://127.0.0.1:${gw.port()}/wrongca`, { dispatcher: client });
    assert.equal(wrong.statusCode, 502);
    const body = (await wrong.body.json()) as any;
    assert.equal(body.error.code, 'PCL_ERR_BACKEND_UNREACHABLE');
    assert.match(body.error.message, /TLS failed \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)|TLS failed/);
  });
  it('a client that does not trust the gateway certificate cannot connect; plain HTTP gets nothing', async () => {
    const untrusting = new Agent({ connect: { ca: other.read(other.ca), servername: 'gateway.test' } });
    await assert.rejects(request(`https://127.0.0.1:${gw.port()}/mtls`, { dispatcher: untrusting }), /certificate|verify/i);
    await untrusting.close();
    await assert.rejects(request(`http://127.0.0.1:${gw.port()}/mtls`, { headersTimeout: 2000 }));
  });
  it('refuses a backendTLS file that is not a certificate, with its config path, and keeps serving', async () => {
    const { writeFileSync } = await import('node:fs');
    const bogus = `${pki.dir}/bogus.crt`;
    writeFileSync(bogus, 'not a certificate\n');
    await assert.rejects(
      startTestGateway({ binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ policies: { backendTLS: { root: pki.ca, cert: bogus, key: pki.clientKey } }, backends: [{ host: '127.0.0.1:1' }] }] }] }] }),
      (e: any) => {
        assert.equal(e.code, 'PCL_ERR_CONFIG_INVALID');
        assert.match(e.message, /^binds\[0\]\.listeners\[0\]\.routes\[0\]\.policies\.backendTLS: invalid CA, certificate or key: /);
        return true;
      },
    );
    const res = await request(`https://127.0.0.1:${gw.port()}/mtls`, { dispatcher: client });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
  });
  it('reports a missing certificate file with its config path', async () => {
    await assert.rejects(
      startTestGateway({ binds: [{ port: 0, address: '127.0.0.1', listeners: [{ protocol: 'HTTPS', tls: { cert: '/nonexistent.crt', key: pki.serverKey }, routes: [{ policies: { directResponse: { status: 200 } } }] }] }] }),
      (e: any) => e.code === 'PCL_ERR_CONFIG_INVALID' && /^binds\[0\]\.listeners\[0\]\.tls\.cert: cannot read \/nonexistent\.crt/.test(e.message),
    );
  });
});
