import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { echoUpstream, simpleConfig, startUpstream, type Upstream } from '../helpers/gateway.ts';
import { buildTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const PII = 'write to jane.doe@example.com or call (415) 555-0100; card 5555 5555 5555 4444; ni AB 12 34 56 C';
const REDACTED = 'write to [REDACTED:email] or call [REDACTED:phone]; card [REDACTED:paymentCard]; ni [REDACTED:nationalId]';

describe('ready-made filters on HTTP', () => {
  let gw: TestRuntime;
  let echo: Upstream;
  let pii: Upstream;
  before(async () => {
    echo = await echoUpstream();
    pii = await startUpstream((req, res) => {
      if (req.url === '/json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ note: PII, nested: [{ email: 'a@b.io' }], count: 4111111111111111 }));
      } else if (req.url === '/text') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(PII);
      } else if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`${'z'.repeat(2000)} ${PII}`);
      } else {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(PII);
      }
    });
    gw = await buildTestRuntime(
      simpleConfig([
        { name: 'pii', matches: [{ path: { pathPrefix: '/pii' } }], policies: { piiRedaction: { maxBodyBytes: 1024, oversized: 'pass' }, urlRewrite: { path: { prefix: '/' } } }, backends: [{ host: pii.host }] },
        {
          name: 'pii-custom',
          matches: [{ path: { pathPrefix: '/custom' } }],
          policies: { piiRedaction: { kinds: ['email'], custom: [{ name: 'order', regex: 'ORD-\\d+' }], replacement: '<{kind}>' }, directResponse: { status: 200, body: 'ORD-123 by x@y.org tel (415) 555-0100', headers: { 'content-type': 'text/plain' } } },
        },
        {
          name: 'inject',
          matches: [{ path: { pathPrefix: '/inject' } }],
          policies: {
            apiKey: { header: 'x-api-key', mode: 'optional', keys: [{ name: 'agent-1', sha256: sha256('key-1'), roles: ['reader', 'writer'], metadata: { tenant: 'acme' } }] },
            headerInjection: {
              request: { 'x-user': '{identity.subject}', 'x-tenant': 'tenant={identity.claims.tenant}', 'x-roles': '{identity.roles}', 'x-gateway': 'portcullis', 'x-route': '{route}' },
              response: { 'x-served-for': '{identity.subject}' },
            },
          },
          backends: [{ host: echo.host }],
        },
        { name: 'plain', backends: [{ host: echo.host }] },
      ]),
    );
  });
  after(async () => {
    await gw.close();
    await Promise.all([echo.close(), pii.close()]);
  });

  it('piiRedaction redacts JSON response strings and fixes content-length', async () => {
    const res = await gw.send(`/pii/json`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { note: REDACTED, nested: [{ email: '[REDACTED:email]' }], count: 4111111111111111 });
    assert.equal(res.headers['content-length'], String(Buffer.byteLength(res.text)));
  });

  it('piiRedaction redacts text bodies, leaves binary and over-cap bodies untouched', async () => {
    assert.equal((await gw.send(`/pii/text`)).text, REDACTED);
    assert.equal((await gw.send(`/pii/bin`)).text, PII);
    const big = await gw.send(`/pii/big`);
    assert.ok(big.text.endsWith(PII));
  });

  it('piiRedaction takes custom patterns, kinds and replacement', async () => {
    assert.equal((await gw.send(`/custom`)).text, '<order> by <email> tel (415) 555-0100');
  });

  it('headerInjection sets headers from the identity and replaces forged ones', async () => {
    const res = await gw.send(`/inject`, { headers: { 'x-api-key': 'key-1', 'x-user': 'forged' } });
    assert.equal(res.status, 200);
    const h = res.json().headers;
    assert.equal(h['x-user'], 'agent-1');
    assert.equal(h['x-tenant'], 'tenant=acme');
    assert.equal(h['x-roles'], 'reader,writer');
    assert.equal(h['x-gateway'], 'portcullis');
    assert.equal(h['x-route'], 'inject');
    assert.equal(res.headers['x-served-for'], 'agent-1');
  });

  it('headerInjection removes a header whose identity value is missing, so an anonymous caller cannot forge it', async () => {
    const res = await gw.send(`/inject`, { headers: { 'x-user': 'forged', 'x-tenant': 'forged' } });
    const h = res.json().headers;
    assert.equal(h['x-user'], undefined);
    assert.equal(h['x-tenant'], undefined);
    assert.equal(h['x-gateway'], 'portcullis');
  });

  it('does not leak to sibling routes', async () => {
    const res = await gw.send(`/plain`, { headers: { 'x-user': 'mine' } });
    assert.equal(res.json().headers['x-user'], 'mine');
    assert.equal(res.json().headers['x-gateway'], undefined);
  });

  it('rejects bad ready-made filter config with the path of each error', async () => {
    await assert.rejects(
      buildTestRuntime(
        simpleConfig([
          {
            policies: {
              piiRedaction: { kinds: ['email', 'dna'] as any, custom: [{ name: 'x', regex: '(' }] },
              headerInjection: { request: { 'x-a': '{identity.password}', 'bad name': 'v' } },
              toolArgumentRules: { rules: [{ tool: 'x', deny: ['['], schema: { type: 'strng' as any } }] },
              toolPinning: { mode: 'maybe' as any, pins: { echo: 'abc' } },
            },
            backends: [{ host: echo.host }],
          },
        ]),
      ),
      (err: any) => {
        assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
        const p = 'binds[0].listeners[0].routes[0].policies';
        for (const m of [
          `${p}.piiRedaction.kinds[1]: expected "email" | "paymentCard" | "nationalId" | "phone", got "dna"`,
          `${p}.piiRedaction.custom[0].regex: invalid regular expression "("`,
          `${p}.headerInjection.request.x-a: unknown placeholder {identity.password}`,
          `${p}.headerInjection.request.bad name:`,
          `${p}.toolArgumentRules.rules[0].deny[0]: invalid regular expression "["`,
          `${p}.toolArgumentRules.rules[0].schema.type: expected "object" | "array" | "string" | "number" | "integer" | "boolean" | "null", got "strng"`,
          `${p}.toolPinning.mode: expected "block" | "flag", got "maybe"`,
          `${p}.toolPinning.pins.echo: expected a hex SHA-256, got "abc"`,
        ]) {
          assert.ok(err.message.includes(m), `missing: ${m}\nin: ${err.message}`);
        }
        return true;
      },
    );
    assert.equal((await gw.send(`/plain`)).status, 200);
  });
});
