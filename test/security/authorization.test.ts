import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { GatewayConfig } from '../../sdk-types/index.ts';
import { echoUpstream, simpleConfig, startTestGateway, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { sha256Hex } from '../../policies/api-key/index.ts';

const FIXTURES = new URL('../fixtures/security/', import.meta.url).pathname;
const ADMIN_KEY = 'admin-key-0123456789';
const READER_KEY = 'reader-key-0123456789';
const FILE_KEY = 'file-key-0123456789';

const fixture = (name: string) => readFile(join(FIXTURES, name), 'utf8');

function config(upstream: string, authz: Record<string, unknown> = {}): GatewayConfig {
  const route = (name: string, entrypoint: string) => ({
    name,
    matches: [{ headers: [{ name: 'x-ep', value: { exact: name } }] }],
    policies: { authorization: { rego: './authz.rego', data: './data.yaml', entrypoint, ...authz } },
    backends: [{ host: upstream }],
  });
  const cfg = simpleConfig([route('decision', 'authz/decision'), route('echo', 'authz/echo'), route('broken', 'authz/broken'), route('timed', 'authz/timed')]);
  cfg.binds[0].listeners[0].policies = {
    apiKey: {
      keys: [
        { name: 'admin-agent', env: 'PCL_TEST_ADMIN_KEY', roles: ['admin'] },
        { name: 'reader-agent', sha256: sha256Hex(READER_KEY), roles: ['reader'], metadata: { team: 'search' } },
      ],
      keysFile: './keys.yaml',
    },
  };
  return cfg;
}

async function call(gw: TestGateway, ep: string, init: { method?: string; path?: string; key?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { 'x-ep': ep, ...init.headers };
  if (init.key) headers.authorization = `Bearer ${init.key}`;
  const res = await fetch(`${gw.url()}${init.path ?? '/public/doc'}`, { method: init.method ?? 'GET', headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text.startsWith('{') ? JSON.parse(text) : undefined };
}

describe('authorization (Rego → WebAssembly) with API keys, HTTP level', () => {
  let up: Upstream;
  let gw: TestGateway;
  before(async () => {
    process.env.PCL_TEST_ADMIN_KEY = ADMIN_KEY;
    up = await echoUpstream();
    gw = await startTestGateway(config(up.host), {
      files: {
        'authz.rego': await fixture('http-authz.rego'),
        'data.yaml': await fixture('http-data.yaml'),
        'keys.yaml': `- name: file-agent\n  sha256: ${sha256Hex(FILE_KEY)}\n  roles: [admin]\n`,
      },
    });
  });
  after(async () => {
    await gw?.close();
    await up?.close();
  });

  it('refuses a request without a key with 401 before the upstream is contacted', async () => {
    const before = up.seen.length;
    const r = await call(gw, 'decision');
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, { error: { code: 'PCL_ERR_UNAUTHENTICATED', message: 'missing API key (expected in the authorization header)' } });
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    assert.equal(up.seen.length, before);
  });

  it('refuses an unknown key and a malformed authorization header with 401', async () => {
    const unknown = await call(gw, 'decision', { key: 'not-a-key' });
    assert.equal(unknown.status, 401);
    assert.deepEqual(unknown.json, { error: { code: 'PCL_ERR_UNAUTHENTICATED', message: 'unknown API key' } });
    const basic = await call(gw, 'decision', { headers: { authorization: 'Basic YTpi' } });
    assert.equal(basic.status, 401);
    assert.deepEqual(basic.json, { error: { code: 'PCL_ERR_UNAUTHENTICATED', message: 'the authorization header must be "Bearer <token>"' } });
    assert.ok(!gw.logs.raw().includes('not-a-key'), 'the presented key is never logged');
  });

  it('lets an allowed caller through and removes its key before forwarding', async () => {
    const r = await call(gw, 'decision', { key: ADMIN_KEY, method: 'POST', path: '/anything' });
    assert.equal(r.status, 200);
    assert.equal(r.json.headers.authorization, undefined);
    assert.ok(!gw.logs.raw().includes(ADMIN_KEY));
  });

  it('accepts keys from the config hash, the environment and a keys file', async () => {
    assert.equal((await call(gw, 'decision', { key: READER_KEY })).status, 200);
    assert.equal((await call(gw, 'decision', { key: FILE_KEY, method: 'DELETE', path: '/x' })).status, 200);
  });

  it('denies with 403 and the policy reason', async () => {
    const r = await call(gw, 'decision', { key: READER_KEY, method: 'POST', path: '/public/doc' });
    assert.equal(r.status, 403);
    assert.deepEqual(r.json, { error: { code: 'PCL_ERR_FORBIDDEN', message: 'forbidden: reader-agent may not POST /public/doc' } });
    const other = await call(gw, 'decision', { key: READER_KEY, path: '/private' });
    assert.equal(other.status, 403);
    assert.equal(other.json.error.code, 'PCL_ERR_FORBIDDEN');
  });

  it('gives the policy the documented input, without credentials', async () => {
    const r = await call(gw, 'echo', { key: READER_KEY, path: '/public/a?x=1', headers: { cookie: 'sid=secret', 'x-tenant': 'acme' } });
    assert.equal(r.status, 403);
    const input = JSON.parse(r.json.error.message.replace(/^forbidden: /, ''));
    assert.deepEqual(input.identity, { kind: 'apiKey', subject: 'reader-agent', roles: ['reader'], claims: { team: 'search' } });
    assert.equal(input.request.method, 'GET');
    assert.equal(input.request.path, '/public/a');
    assert.equal(input.request.query, 'x=1');
    assert.equal(input.request.clientAddress, '127.0.0.1');
    assert.equal(input.request.headers['x-tenant'], 'acme');
    assert.equal(input.request.headers.authorization, undefined);
    assert.equal(input.request.headers.cookie, undefined);
    assert.equal(input.route, 'echo');
    assert.equal(input.listener, 'bind0');
    assert.equal(input.mcp, undefined);
  });

  it('fails closed when evaluation errors, and logs why', async () => {
    const r = await call(gw, 'broken', { key: ADMIN_KEY });
    assert.equal(r.status, 403);
    assert.deepEqual(r.json, { error: { code: 'PCL_ERR_POLICY_EVAL', message: 'denied: the authorization policy could not be evaluated (the gateway log has the cause)' } });
    const line = await gw.logs.waitFor((l) => l.msg === 'authorization policy failed: denied (fail closed)');
    assert.equal(line.entrypoint, 'authz/broken');
    assert.match(line.err, /evaluation of authz\/broken failed/);
  });

  it('provides host builtins such as time.now_ns', async () => {
    assert.equal((await call(gw, 'timed', { key: ADMIN_KEY })).status, 200);
  });

  it('still serves after every refusal', async () => {
    assert.equal((await call(gw, 'decision', { key: ADMIN_KEY })).status, 200);
  });
});

describe('authorization: compile-time failures', () => {
  let up: Upstream;
  before(async () => {
    up = await echoUpstream();
  });
  after(async () => {
    await up.close();
  });

  const start = (rego: string, authz: Record<string, unknown> = {}) =>
    startTestGateway(simpleConfig([{ name: 'r', policies: { authorization: { rego: './authz.rego', ...authz } }, backends: [{ host: up.host }] }]), {
      files: { 'authz.rego': rego },
    });

  it('reports a Rego syntax error with file and line', async () => {
    await assert.rejects(start('package authz\n\nallow if {\n  input.x ==\n}\n'), (err: any) => {
      assert.equal(err.code, 'PCL_ERR_POLICY_COMPILE');
      assert.match(err.message, /^binds\[0\]\.listeners\[0\]\.routes\[0\]\.policies\.authorization: Rego does not compile \(opa build\):\n/);
      assert.match(err.message, /authz\.rego:5: rego_parse_error/);
      return true;
    });
  });

  it('rejects a builtin the WebAssembly host does not provide, naming where it is used', async () => {
    await assert.rejects(start(await fixture('unsupported-builtin.rego')), (err: any) => {
      assert.equal(err.code, 'PCL_ERR_POLICY_COMPILE');
      assert.match(err.message, /uses builtin\(s\) that OPA's WebAssembly target leaves to the host and the gateway does not provide: http\.send \(\S*authz\.rego:6\)/);
      return true;
    });
  });

  it('rejects an entrypoint that names no rule', async () => {
    await assert.rejects(start('package authz\n\nallow := true\n', { entrypoint: 'authz/nope' }), (err: any) => {
      assert.equal(err.code, 'PCL_ERR_POLICY_COMPILE');
      assert.match(err.message, /entrypoint "authz\/nope" does not refer to a rule or policy decision/);
      return true;
    });
  });

  it('says how to install OPA when the compiler is missing', async () => {
    await assert.rejects(start('package authz\n\nallow := true\n', { opaPath: './no-such-opa' }), (err: any) => {
      assert.equal(err.code, 'PCL_ERR_OPA_MISSING');
      assert.match(err.message, /the OPA compiler is not at \S+no-such-opa \(not found or not executable\): install it with "node scripts\/install-tools.mjs"/);
      return true;
    });
  });

  it('rejects a config whose policy has no rego file', async () => {
    await assert.rejects(
      startTestGateway(simpleConfig([{ name: 'r', policies: { authorization: {} as any }, backends: [{ host: up.host }] }])),
      (err: any) => {
        assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
        assert.match(err.message, /binds\[0\]\.listeners\[0\]\.routes\[0\]\.policies\.authorization\.rego: is required/);
        return true;
      },
    );
  });
});

describe('authorization: hot reload of Rego, data and keys', () => {
  let up: Upstream;
  let gw: TestGateway;
  const rego = (role: string) => `package authz\n\nimport rego.v1\n\ndefault allow := false\n\nallow if data.open == true\n\nallow if "${role}" in input.identity.roles\n`;
  before(async () => {
    up = await echoUpstream();
    gw = await startTestGateway(
      simpleConfig([
        {
          name: 'r',
          policies: {
            apiKey: { keysFile: './keys.yaml', header: 'x-api-key' },
            authorization: { rego: './authz.rego', data: './data.json' },
          },
          backends: [{ host: up.host }],
        },
      ]),
      {
        watch: true,
        files: {
          'authz.rego': rego('writer'),
          'data.json': '{"open": false}',
          'keys.yaml': `- { name: a, sha256: ${sha256Hex('key-a')}, roles: [writer] }\n- { name: b, sha256: ${sha256Hex('key-b')}, roles: [reader] }\n`,
        },
      },
    );
  });
  after(async () => {
    await gw?.close();
    await up?.close();
  });
  const get = (key: string) => fetch(`${gw.url()}/`, { headers: { 'x-api-key': key } }).then(async (r) => ({ status: r.status, body: await r.text() }));
  async function until(pred: () => Promise<boolean>, what: string) {
    const deadline = Date.now() + 10_000;
    for (let i = 0; i < 200 && Date.now() < deadline; i++) {
      if (await pred()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`timed out waiting for ${what}; last log lines:\n${gw.logs.lines.slice(-6).map((l) => JSON.stringify(l)).join('\n')}`);
  }

  it('applies an edited .rego file on save', async () => {
    assert.equal((await get('key-a')).status, 200);
    assert.equal((await get('key-b')).status, 403);
    await writeFile(join(gw.dir, 'authz.rego'), rego('reader'));
    await until(async () => (await get('key-b')).status === 200, 'the new policy');
    assert.equal((await get('key-a')).status, 403);
  });

  it('keeps the previous policy when the edit does not compile, and logs file and line', async () => {
    const reloads = gw.logs.lines.length;
    await writeFile(join(gw.dir, 'authz.rego'), 'package authz\n\nallow if {\n');
    const line = await gw.logs.waitFor((l, i = gw.logs.lines.indexOf(l)) => i >= reloads && l.msg === 'reload failed: still serving the previous config');
    assert.equal(line.code, 'PCL_ERR_POLICY_COMPILE');
    assert.match(line.err, /authz\.rego:4: rego_parse_error/);
    assert.equal((await get('key-b')).status, 200);
    assert.equal((await get('key-a')).status, 403);
    await writeFile(join(gw.dir, 'authz.rego'), rego('reader'));
  });

  it('applies an edited data file', async () => {
    await writeFile(join(gw.dir, 'data.json'), '{"open": true}');
    await until(async () => (await get('key-a')).status === 200, 'the new data');
  });

  it('revokes a key removed from the keys file', async () => {
    assert.equal((await get('key-b')).status, 200);
    await writeFile(join(gw.dir, 'keys.yaml'), `- { name: a, sha256: ${sha256Hex('key-a')}, roles: [writer] }\n`);
    await until(async () => (await get('key-b')).status === 401, 'the revocation');
    const r = await get('key-b');
    assert.deepEqual(JSON.parse(r.body), { error: { code: 'PCL_ERR_UNAUTHENTICATED', message: 'unknown API key' } });
    assert.equal((await get('key-a')).status, 200);
  });
});
