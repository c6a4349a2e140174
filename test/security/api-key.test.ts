import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { echoUpstream, simpleConfig, startTestGateway, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { sha256Hex } from '../../policies/api-key/index.ts';

const KEY = 'agent-key-42';

describe('apiKey: modes, passthrough and configuration errors', () => {
  let up: Upstream;
  let gw: TestGateway;
  before(async () => {
    up = await echoUpstream();
    const route = (name: string, extra: Record<string, unknown>) => ({
      name,
      matches: [{ path: { pathPrefix: `/${name}` } }],
      policies: { apiKey: { header: 'x-api-key', keys: [{ name: 'agent', sha256: sha256Hex(KEY), roles: ['r'] }], ...extra } },
      backends: [{ host: up.host }],
    });
    gw = await startTestGateway(simpleConfig([route('optional', { mode: 'optional' }), route('permissive', { mode: 'permissive' }), route('passthrough', { passthrough: true })]));
  });
  after(async () => {
    await gw?.close();
    await up?.close();
  });
  const get = async (path: string, key?: string) => {
    const r = await fetch(`${gw.url()}${path}`, { headers: key === undefined ? {} : { 'x-api-key': key } });
    return { status: r.status, json: (await r.json()) as any };
  };

  it('optional: no key passes, a wrong key is refused', async () => {
    assert.equal((await get('/optional')).status, 200);
    const bad = await get('/optional', 'wrong');
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.json, { error: { code: 'PCL_ERR_UNAUTHENTICATED', message: 'unknown API key' } });
    const ok = await get('/optional', KEY);
    assert.equal(ok.status, 200);
    assert.equal(ok.json.headers['x-api-key'], undefined);
  });

  it('permissive: a wrong key passes as anonymous', async () => {
    assert.equal((await get('/permissive', 'wrong')).status, 200);
  });

  it('passthrough: the key reaches the backend', async () => {
    assert.equal((await get('/passthrough', KEY)).json.headers['x-api-key'], KEY);
    const missing = await get('/passthrough');
    assert.equal(missing.status, 401);
    assert.deepEqual(missing.json, { error: { code: 'PCL_ERR_UNAUTHENTICATED', message: 'missing API key (expected in the x-api-key header)' } });
    assert.equal((await get('/passthrough', KEY)).status, 200, 'still serves');
  });

  const start = (apiKey: Record<string, unknown>, files?: Record<string, string>) =>
    startTestGateway(simpleConfig([{ name: 'r', policies: { apiKey: apiKey as any }, backends: [{ host: up.host }] }]), { files });

  it('refuses the same key given to two identities', async () => {
    await assert.rejects(start({ keys: [{ name: 'a', sha256: sha256Hex('k') }, { name: 'b', sha256: sha256Hex('k').toUpperCase() }] }), (err: any) => {
      assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
      assert.equal(err.message, 'binds[0].listeners[0].routes[0].policies.apiKey.keys[1]: the same key is already given to "a"');
      return true;
    });
  });

  it('refuses a malformed hash, a missing source and an invalid keys file, with their paths', async () => {
    await assert.rejects(start({ keys: [{ name: 'a', sha256: 'abc' }, { name: 'b' }] }), (err: any) => {
      assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
      assert.match(err.message, /apiKey\.keys\[0\]\.sha256: expected a hex SHA-256 \(64 hex digits\), got "abc"/);
      assert.match(err.message, /apiKey\.keys\[1\]: expected exactly one of sha256, env, file, got none/);
      return true;
    });
    await assert.rejects(start({ keysFile: './keys.yaml' }, { 'keys.yaml': '- name: a\n  roles: admin\n' }), (err: any) => {
      assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
      assert.match(err.message, /^binds\[0\]\.listeners\[0\]\.routes\[0\]\.policies\.apiKey\.keysFile: invalid keys file:\n/);
      assert.match(err.message, /keys\.yaml\[0\]\.roles: expected array, got string/);
      return true;
    });
  });
});
