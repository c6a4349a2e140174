import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { send, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { configSource } from '../helpers/gateway.ts';
import { redactSecrets, redactString } from '../../core/telemetry/redact.ts';
import type { GatewayConfig } from '../../sdk-types/index.ts';

/** Every secret the config holds; none may show in a dump, a log line or an error. */
const SECRETS = ['hunter2-redis', 's3cr3t-userinfo', 's3cr3t-query', 's3cr3t-otlp-pw', 's3cr3t-otlp-header', 's3cr3t-array-header', 's3cr3t-map-header', 's3cr3t-inject', 'sk-ant-api03-s3cr3tTokenShape0123456789'];

function config(jwk: Record<string, unknown>): GatewayConfig {
  return {
    admin: { address: '127.0.0.1:0' },
    readiness: { address: false },
    stats: { address: false },
    tracing: { endpoint: 'http://otlpuser:s3cr3t-otlp-pw@127.0.0.1:9/v1/traces', headers: { 'x-honeycomb-team': 's3cr3t-otlp-header' } },
    binds: [
      {
        port: 0,
        address: '127.0.0.1',
        listeners: [
          {
            routes: [
              {
                name: 'mcp',
                matches: [{ path: { pathPrefix: '/mcp' } }],
                policies: {
                  rateLimit: { store: { redis: { url: 'redis://:hunter2-redis@127.0.0.1:9/0' } }, limits: [{ name: 'calls', rate: { limit: 10, windowMs: 60_000 } }] },
                  jwtAuth: { issuer: 'https://idp.example.com', jwks: { inline: { keys: [jwk] } } },
                  headerInjection: { request: { 'x-plain-name': 's3cr3t-inject' } },
                },
                backends: [{ mcp: { targets: [{ name: 'remote', mcp: { url: 'http://user:s3cr3t-userinfo@127.0.0.1:9/mcp?api_key=s3cr3t-query&page=2', headers: { 'x-note': 'sk-ant-api03-s3cr3tTokenShape0123456789' } } }] } }],
              },
              {
                name: 'http',
                matches: [{ path: { pathPrefix: '/http' } }],
                policies: { requestHeaderModifier: { set: [{ name: 'x-upstream-auth', value: 's3cr3t-array-header' }], add: { 'x-tenant-key': 's3cr3t-map-header' } } },
                backends: [{ host: '127.0.0.1:9' }],
              },
            ],
          },
        ],
      },
    ],
  } as GatewayConfig;
}

describe('secrets are redacted by value as well as by name, everywhere the gateway shows itself (issue 25, finding 3)', () => {
  let gw: TestGateway;
  let admin: string;
  let jwkX: string;

  before(async () => {
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
    jwkX = String(jwk.x);
    gw = await startTestGateway(configSource(config({ ...jwk, kid: 'k1', alg: 'ES256' })));
    admin = `http://127.0.0.1:${gw.running.admin!.port}`;
  });
  after(async () => {
    await gw?.close();
  });

  const assertClean = (where: string, text: string) => {
    for (const s of SECRETS) assert.equal(text.includes(s), false, `${where} shows ${s}:\n${text.slice(0, 4000)}`);
  };

  it('/config_dump, /api/config and /api/policies show none of them, nor the inline key set', async () => {
    for (const path of ['/config_dump', '/api/config', '/api/policies']) {
      const res = await send(`${admin}${path}`);
      assert.equal(res.status, 200, `${path}: ${res.text}`);
      assertClean(path, res.text);
      assert.equal(res.text.includes(jwkX), false, `${path} shows the inline JWKS`);
    }
    const dump = (await send(`${admin}/config_dump`)).text;
    // What is not a secret stays readable: the host, the path, the other query parameter.
    assert.match(dump, /http:\/\/\[redacted\]@127\.0\.0\.1:9\/mcp\?api_key=\[redacted\]&page=2/);
    assert.match(dump, /redis:\/\/\[redacted\]@127\.0\.0\.1:9\/0/);
  });

  it('log lines show none of them, the trace-export start-up line included', async () => {
    await gw.logs.waitFor((l) => l.msg === 'trace export on');
    assertClean('the log', gw.logs.raw());
    const line = gw.logs.find((l) => l.msg === 'trace export on')!;
    assert.equal(line.tracing.endpoint, 'http://[redacted]@127.0.0.1:9/v1/traces');
  });

  it('a malformed Redis URL is not echoed by validation, nor by a reload error', async () => {
    const bad = 'redis://:hunter2-redis@127.0.0.1:notaport/0';
    await assert.rejects(
      startTestGateway({ binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ name: 'r', policies: { rateLimit: { store: { redis: { url: bad } }, limits: [{ name: 'x', rate: { limit: 1, windowMs: 60_000 } }] }, directResponse: { status: 200 } } }] }] }] }),
      (err: Error) => {
        assert.match(err.message, /store\.redis\.url: expected a URL like "redis:\/\/127\.0\.0\.1:6379", got a value that is not a URL \(\d+ characters, not shown: it may hold a password\)/);
        assertClean('the validation error', err.message);
        return true;
      },
    );
    const reloadedBefore = (await send(`${admin}/api/reloads`)).json();
    await gw.write(configSource(config({ kty: 'EC' })).replace('redis://:hunter2-redis@127.0.0.1:9/0', bad));
    assert.equal((await gw.running.reload([gw.file])).ok, false);
    const reloads = (await send(`${admin}/api/reloads`)).text;
    assert.notEqual(reloads, JSON.stringify(reloadedBefore));
    assertClean('/api/reloads', reloads);
    assertClean('the log after the reload', gw.logs.raw());
  });

  it('the one function redacts by value: userinfo, secret query parameters, token shapes; header lists by value', () => {
    assert.equal(redactString('GET https://a:b@h.example/x?token=abc&q=1 Bearer abcdefghijkl'), 'GET https://[redacted]@h.example/x?token=[redacted]&q=1 Bearer [redacted]');
    assert.equal(redactString('key AKIAABCDEFGHIJKLMNOP and ghp_0123456789abcdefABCDEF'), 'key [redacted] and [redacted]');
    assert.deepEqual(redactSecrets({ tracing: { headers: { 'x-multi': ['k1', 'k2'] } } }), { tracing: { headers: { 'x-multi': ['[redacted]', '[redacted]'] } } });
    assert.deepEqual(redactSecrets({ headers: [{ name: 'x-any', value: 'v' }], env: { HOME: '/root' }, password: 'p', enabled: true, matches: [{ headers: [{ name: 'x', value: { exact: 'y' } }] }] }), {
      headers: [{ name: 'x-any', value: '[redacted]' }],
      env: { HOME: '[redacted]' },
      password: '[redacted]',
      enabled: true,
      matches: [{ headers: [{ name: 'x', value: { exact: 'y' } }] }],
    });
  });
});
