import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigValidationError, validateConfig } from '../../core/config/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import { simpleConfig, startTestGateway } from '../helpers/gateway.ts';
import { MCP_TEST_EXTRA } from '../helpers/mcp.ts';

function issues(mcp: unknown): string[] {
  try {
    validateConfig({ binds: [{ port: 1, listeners: [{ routes: [{ backends: [{ mcp }] }] }] }] }, builtinPolicies, builtinBackends);
  } catch (err) {
    assert.ok(err instanceof ConfigValidationError);
    assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}

const P = 'binds[0].listeners[0].routes[0].backends[0].mcp';
const stdio = { name: 'a', stdio: { cmd: 'x' } };

describe('MCP backend settings', () => {
  it('accepts every documented setting', () => {
    assert.deepEqual(
      issues({
        targets: [{ name: 'a', stdio: { cmd: 'x', args: ['y'], env: { K: 'v' }, cwd: '.', warmPool: 3, maxProcesses: 8 }, requestTimeoutMs: 5 }, { name: 'b', mcp: { host: 'h', port: 1, path: '/mcp', headers: { k: 'v' } } }],
        prefixMode: 'always',
        failureMode: 'failOpen',
        statefulMode: 'stateless',
        sessionIdleTimeoutMs: 1000,
        requestTimeoutMs: 2000,
        maxBatchSize: 10,
        maxSessions: 50,
        maxSessionsPerIdentity: 5,
        dnsRebindingProtection: { enabled: true, allowedOrigins: ['https://app.example.com'], allowedHosts: ['mcp.example.com'] },
      }),
      [],
    );
  });

  it('rejects bad values with their paths', () => {
    assert.deepEqual(issues({ targets: [stdio], prefixMode: 'sometimes' }), [`${P}.prefixMode: expected "conditional" | "always" | "never", got "sometimes"`]);
    assert.deepEqual(issues({ targets: [stdio], failureMode: 'open' }), [`${P}.failureMode: expected "failClosed" | "failOpen", got "open"`]);
    assert.deepEqual(issues({ targets: [stdio], statefulMode: true }), [`${P}.statefulMode: expected "stateful" | "stateless", got true`]);
    assert.deepEqual(issues({ targets: [stdio], sessionIdleTimeoutMs: 0 }), [`${P}.sessionIdleTimeoutMs: must be >= 1, got 0`]);
    assert.deepEqual(issues({ targets: [{ name: 'a', stdio: { cmd: 'x', warmPool: 100 } }] }), [`${P}.targets[0].stdio.warmPool: must be <= 64, got 100`]);
    assert.deepEqual(issues({ targets: [{ name: 'a', stdio: { cmd: 'x' }, requestTimeoutMs: -1 }] }), [`${P}.targets[0].requestTimeoutMs: must be >= 1, got -1`]);
    assert.deepEqual(issues({ targets: [stdio], maxBatchSize: 0 }), [`${P}.maxBatchSize: must be >= 1, got 0`]);
    assert.deepEqual(issues({ targets: [stdio], maxSessions: 1.5 }), [`${P}.maxSessions: expected integer, got number`]);
    assert.deepEqual(issues({ targets: [stdio], maxSessionsPerIdentity: '3' }), [`${P}.maxSessionsPerIdentity: expected integer, got string`]);
    assert.deepEqual(issues({ targets: [{ name: 'a', stdio: { cmd: 'x', maxProcesses: 0 } }] }), [`${P}.targets[0].stdio.maxProcesses: must be >= 1, got 0`]);
    assert.deepEqual(issues({ targets: [stdio], dnsRebindingProtection: { enabled: 'yes', allowedHosts: 'h', origins: [] } }), [
      `${P}.dnsRebindingProtection.origins: unknown key (expected one of: enabled, allowedOrigins, allowedHosts)`,
      `${P}.dnsRebindingProtection.enabled: expected boolean, got string`,
      `${P}.dnsRebindingProtection.allowedHosts: expected array, got string`,
    ]);
  });

  it('a route has one MCP backend (it holds every target) and no host backends beside it', async () => {
    const backends = (list: unknown[]) => ({ binds: [{ port: 1, listeners: [{ routes: [{ backends: list }] }] }] });
    const route = (list: unknown[]) => {
      try {
        validateConfig(backends(list), builtinPolicies, builtinBackends);
        return [];
      } catch (err) {
        return (err as ConfigValidationError).issues.map((i) => `${i.path}: ${i.message}`);
      }
    };
    const m = (name: string) => ({ mcp: { targets: [{ name, stdio: { cmd: 'x', warmPool: 0 } }] } });
    assert.deepEqual(route([m('a'), m('b')]), ['binds[0].listeners[0].routes[0].backends: a route serves one MCP backend (put every server in its targets), got 2']);
    assert.deepEqual(route([m('a'), { host: '127.0.0.1:1' }]), ['binds[0].listeners[0].routes[0].backends: a route cannot mix host and mcp backends']);
    // The gateway refuses such a config at start with the same message, and so keeps serving the old one on reload.
    await assert.rejects(startTestGateway(simpleConfig([{ backends: [m('a'), m('b')] }], MCP_TEST_EXTRA)), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
      assert.match(err.message, /routes\[0\]\.backends: a route serves one MCP backend \(put every server in its targets\), got 2/);
      return true;
    });
  });
});
