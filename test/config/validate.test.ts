import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigValidationError, loadConfig, validateConfig } from '../../core/config/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';

const fixture = (name: string) => new URL(`../fixtures/config/${name}`, import.meta.url).pathname;

function issues(raw: unknown): string[] {
  try {
    validateConfig(raw, builtinPolicies, builtinBackends);
  } catch (err) {
    assert.ok(err instanceof ConfigValidationError);
    assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}

const route = (extra: object = {}) => ({ backends: [{ host: '127.0.0.1:1' }], ...extra });
const withRoutes = (routes: object[]) => ({ binds: [{ port: 1, listeners: [{ routes }] }] });

describe('config validation', () => {
  it('loads the seed basic YAML unchanged into the model', async () => {
    const { config } = await loadConfig(fixture('seed-basic.yaml'), builtinPolicies, builtinBackends);
    const r = config.binds[0].listeners[0].routes[0];
    assert.equal(config.binds[0].port, 3000);
    assert.deepEqual(r.policies.cors?.exposeHeaders, ['Mcp-Session-Id']);
    assert.equal(r.backends[0].kind, 'mcp');
    assert.ok(Object.isFrozen(config) && Object.isFrozen(r) && Object.isFrozen(r.policies));
  });

  it('reports a wrong type with its path and what was expected', () => {
    assert.deepEqual(issues({ binds: [{ port: '80', listeners: [{ routes: [route()] }] }] }), ['binds[0].port: expected integer, got string']);
  });

  it('reports an invalid regular expression with its full path', () => {
    const got = issues(withRoutes([route(), route({ matches: [{ path: { regex: '(' } }] })]));
    assert.equal(got.length, 1);
    assert.match(got[0], /^binds\[0\]\.listeners\[0\]\.routes\[1\]\.matches\[0\]\.path\.regex: invalid regular expression "\(": /);
  });

  it('rejects unknown keys, listing the known ones', () => {
    assert.deepEqual(issues(withRoutes([route({ polices: {} })])), [
      'binds[0].listeners[0].routes[0].polices: unknown key (expected one of: name, hostnames, matches, policies, backends)',
    ]);
  });

  it('reports every error at once, not only the first', () => {
    const got = issues({
      binds: [{ port: 70000, listeners: [{ routes: [{ backends: [{ host: 'nohostport' }], policies: { cors: { maxAge: -1 } } }] }] }],
      logging: { level: 'loud' },
    });
    assert.deepEqual(got.sort(), [
      'binds[0].listeners[0].routes[0].backends[0].host: expected "host:port", got "nohostport"',
      'binds[0].listeners[0].routes[0].policies.cors.maxAge: must be >= 0, got -1',
      'binds[0].port: must be <= 65535, got 70000',
      'logging.level: expected "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent", got "loud"',
    ]);
  });

  it('requires a backend or an answering policy on every route', () => {
    const answering = builtinPolicies.filter((p) => p.terminal).map((p) => p.name);
    assert.ok(answering.includes('directResponse') && answering.includes('requestRedirect'));
    assert.deepEqual(issues(withRoutes([{ name: 'empty' }])), [
      `binds[0].listeners[0].routes[0].backends: a route needs at least one backend, or a policy that answers itself (${answering.join(', ')})`,
    ]);
    assert.deepEqual(issues(withRoutes([{ policies: { directResponse: { status: 204 } } }])), []);
  });

  it('checks one-of shapes, TLS needs, duplicate ports and MCP target names', () => {
    assert.deepEqual(issues(withRoutes([route({ matches: [{ path: { exact: '/a', pathPrefix: '/b' } }] })])), [
      'binds[0].listeners[0].routes[0].matches[0].path: expected exactly one of exact, pathPrefix, regex, got exact, pathPrefix',
    ]);
    assert.deepEqual(issues({ binds: [{ port: 1, listeners: [{ protocol: 'HTTPS', routes: [route()] }] }] }), [
      'binds[0].listeners[0].tls: is required when protocol is "HTTPS"',
    ]);
    assert.deepEqual(issues({ binds: [{ port: 8, listeners: [{ routes: [route()] }] }, { port: 8, listeners: [{ routes: [route()] }] }] }), [
      'binds[1].port: port 8 is already bound by binds[0]',
    ]);
    const dup = { mcp: { targets: [{ name: 'a', stdio: { cmd: 'x' } }, { name: 'a', stdio: { cmd: 'y' } }] } };
    assert.deepEqual(issues(withRoutes([{ backends: [dup] }])), ['binds[0].listeners[0].routes[0].backends[0].mcp.targets[1].name: duplicate target name "a"']);
  });

  it('rejects a non-object config and a missing binds list', () => {
    assert.deepEqual(issues(null), ['(root): expected object, got null'.replace('(root)', '')]);
    assert.deepEqual(issues({}), ['binds: is required (array of object)']);
  });
});

describe('config loading', () => {
  async function tmp(files: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'pcl-cfg-'));
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return dir;
  }
  const body = `{ binds: [{ port: 0, listeners: [{ routes: [{ policies: { directResponse: { status: 200 } } }] }] }] }`;

  it('accepts an object, a function and an async function, and records imported files', async () => {
    for (const exp of [body, `() => (${body})`, `async () => (${body})`]) {
      const dir = await tmp({
        'shared.ts': `export const port: number = 0;`,
        'gateway.config.ts': `import { defineConfig } from 'portcullis';\nimport { port } from './shared.ts';\nvoid port;\nexport default defineConfig(${exp});`,
      });
      const { config, files } = await loadConfig(join(dir, 'gateway.config.ts'), builtinPolicies, builtinBackends);
      assert.equal(config.binds[0].port, 0);
      assert.deepEqual(files.sort(), [join(dir, 'gateway.config.ts'), join(dir, 'shared.ts')]);
    }
  });

  it('says what is wrong with a file that does not bundle, has no default export, or throws', async () => {
    const dir = await tmp({
      'syntax.config.ts': 'export default {',
      'nodefault.config.ts': 'export const x = 1;',
      'throws.config.ts': 'export default () => { throw new Error("no env") };',
    });
    await assert.rejects(loadConfig(join(dir, 'syntax.config.ts'), builtinPolicies, builtinBackends), (e: any) => e.code === 'PCL_ERR_CONFIG_LOAD' && /syntax\.config\.ts:1:\d+: Expected identifier but found end of file/.test(e.message));
    await assert.rejects(loadConfig(join(dir, 'nodefault.config.ts'), builtinPolicies, builtinBackends), (e: any) => e.code === 'PCL_ERR_CONFIG_LOAD' && /has no default export/.test(e.message));
    await assert.rejects(loadConfig(join(dir, 'throws.config.ts'), builtinPolicies, builtinBackends), (e: any) => /the config function in .* threw: no env/.test(e.message));
    await assert.rejects(loadConfig(join(dir, 'missing.yaml'), builtinPolicies, builtinBackends), (e: any) => e.code === 'PCL_ERR_CONFIG_LOAD' && /cannot read/.test(e.message));
    await assert.rejects(loadConfig(join(dir, 'x.toml'), builtinPolicies, builtinBackends), (e: any) => /unknown extension ".toml"/.test(e.message));
  });

  it('reads JSON too, reports YAML/JSON syntax errors with line numbers, and maps agentgateway durations', async () => {
    const dir = await tmp({
      'bad.yaml': 'binds:\n  - port: [1\n',
      'ag.json': JSON.stringify({ binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ host: '127.0.0.1:2' }] }] }] }] }),
      'bad.json': '{ "binds": [ }',
      'ag.yaml': 'config:\n  adminAddr: 127.0.0.1:0\nbinds:\n- port: 0\n  listeners:\n  - routes:\n    - policies:\n        timeout: { requestTimeout: 1.5s }\n      backends: [{ host: "127.0.0.1:1" }]\n',
    });
    await assert.rejects(loadConfig(join(dir, 'bad.yaml'), builtinPolicies, builtinBackends), (e: any) => e.code === 'PCL_ERR_CONFIG_LOAD' && /at line 3, column 1/.test(e.message));
    const json = await loadConfig(join(dir, 'ag.json'), builtinPolicies, builtinBackends);
    assert.equal(json.config.binds[0].listeners[0].routes[0].backends[0].name, '127.0.0.1:2');
    await assert.rejects(loadConfig(join(dir, 'bad.json'), builtinPolicies, builtinBackends), (e: any) => e.code === 'PCL_ERR_CONFIG_LOAD' && /bad\.json/.test(e.message));
    const { config } = await loadConfig(join(dir, 'ag.yaml'), builtinPolicies, builtinBackends);
    assert.equal(config.admin.address, '127.0.0.1:0');
    assert.deepEqual(config.binds[0].listeners[0].routes[0].policies.timeout, { requestTimeoutMs: 1500 });
  });
});
