// mcpAuthentication settings that cannot work are refused when the config loads or the runtime builds, with the
// setting's path and what to do; a secret's value is never in the message.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../core/config/index.ts';
import { buildRuntime } from '../../core/server/index.ts';
import { createLogger } from '../../core/telemetry/index.ts';
import { redactSecrets } from '../../core/telemetry/redact.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import { configSource, simpleConfig } from '../helpers/gateway.ts';

const at = 'binds[0].listeners[0].routes[0].policies.mcpAuthentication';
const dirs: string[] = [];

async function write(auth: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pcl-mcp-auth-config-'));
  dirs.push(dir);
  const file = join(dir, 'gateway.config.ts');
  const config = simpleConfig([{ name: 'r', policies: { mcpAuthentication: { issuer: 'https://idp.test', resource: 'https://gw.test/mcp', ...auth } as never }, backends: [{ host: '127.0.0.1:1' }] }]);
  await writeFile(file, configSource({ admin: { address: false }, readiness: { address: false }, ...config }));
  return file;
}

async function loadErrors(auth: Record<string, unknown>): Promise<string[]> {
  try {
    await loadConfig(await write(auth), builtinPolicies, builtinBackends);
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'PCL_ERR_CONFIG_INVALID', (err as Error).message);
    return (err as Error).message.split('\n').slice(1).map((l) => l.trim());
  }
  assert.fail('the config loaded, but errors were expected');
}

describe('mcpAuthentication: settings refused at load and build', () => {
  after(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('an unknown provider, mode or bearer method is named with its path', async () => {
    assert.deepEqual(await loadErrors({ provider: 'ping', mode: 'lenient', bearerMethodsSupported: ['cookie'] }), [
      `${at}.provider: expected "keycloak" | "auth0" | "okta" | "entra" | "descope" | "authentik", got "ping"`,
      `${at}.mode: expected "strict" | "optional" | "permissive", got "lenient"`,
      `${at}.bearerMethodsSupported[0]: expected "header" | "body" | "query", got "cookie"`,
    ]);
  });

  it('clientSecret without clientId, or with a provider other than entra, is refused without showing the secret', async () => {
    const errors = await loadErrors({ provider: 'keycloak', clientSecret: { secret: 'do-not-print-me' } });
    assert.ok(errors.includes(`${at}.clientSecret: is the secret of \`clientId\`: set clientId too`), errors.join('\n'));
    assert.ok(errors.includes(`${at}.clientSecret: is only used with provider "entra" (its token endpoint is the only one the gateway proxies)`), errors.join('\n'));
    assert.ok(!errors.join('\n').includes('do-not-print-me'));
  });

  it('an entra issuer without a tenant fails the build, naming the issuer setting (jwks given or derived)', async () => {
    const { config } = await loadConfig(await write({ provider: 'entra', issuer: 'https://login.microsoftonline.com/', clientId: 'app', jwks: { url: 'https://login.microsoftonline.com/common/discovery/v2.0/keys' } }), builtinPolicies, builtinBackends);
    await assert.rejects(buildRuntime(config, builtinPolicies, builtinBackends, createLogger({ level: 'silent' })), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
      assert.match(err.message, /policies\.mcpAuthentication\.issuer: the Entra issuer "https:\/\/login\.microsoftonline\.com\/" has no tenant path segment/);
      return true;
    });
  });

  it('an entra clientSecret from an unset environment variable fails the build with the variable name', async () => {
    delete process.env.PCL_TEST_ENTRA_SECRET;
    const { config } = await loadConfig(await write({ provider: 'entra', issuer: 'https://login.microsoftonline.com/t1/v2.0', clientId: 'app', clientSecret: { env: 'PCL_TEST_ENTRA_SECRET' } }), builtinPolicies, builtinBackends);
    await assert.rejects(buildRuntime(config, builtinPolicies, builtinBackends, createLogger({ level: 'silent' })), /clientSecret\.env: environment variable PCL_TEST_ENTRA_SECRET is not set/);
  });

  it('/config_dump shows an entra clientSecret as redacted (the dump is redactSecrets of the resolved config)', async () => {
    const { config } = await loadConfig(await write({ provider: 'entra', issuer: 'https://login.microsoftonline.com/t1/v2.0', clientId: 'app', clientSecret: { secret: 'dump-must-not-show-this' } }), builtinPolicies, builtinBackends);
    const dumped = JSON.stringify(redactSecrets(config));
    assert.ok(dumped.includes('"clientId":"app"'));
    assert.ok(!dumped.includes('dump-must-not-show-this'));
  });
});
