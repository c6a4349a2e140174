import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigValidationError, resolveConfig, validateConfig } from '../../core/config/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';

function issues(raw: unknown): string[] {
  try {
    validateConfig(raw, builtinPolicies, builtinBackends);
  } catch (err) {
    assert.ok(err instanceof ConfigValidationError);
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}

const host = { backends: [{ host: '127.0.0.1:1' }] };
const mcp = { backends: [{ mcp: { targets: [{ name: 'a', stdio: { cmd: 'x' } }] } }] };
const direct = { policies: { directResponse: { status: 204 } } };
const listeners = (...ls: object[]) => ({ binds: [{ port: 1, listeners: ls }] });

describe('route and listener names are identities', () => {
  it('a duplicate route name in one listener is an error with its path; the same name on another listener is fine', () => {
    assert.deepEqual(issues(listeners({ name: 'a', hostname: 'a.test', routes: [{ name: 'x', ...host }, { name: 'x', ...host }] })), [
      'binds[0].listeners[0].routes[1].name: duplicate route name "x" is already used by routes[0] of this listener',
    ]);
    assert.deepEqual(issues(listeners({ name: 'a', hostname: 'a.test', routes: [{ name: 'x', ...host }] }, { name: 'b', hostname: 'b.test', routes: [{ name: 'x', ...host }] })), []);
  });

  it('an unnamed route gets a name from its position, which may not collide with a named one', () => {
    assert.deepEqual(issues(listeners({ routes: [{ ...host }, { name: 'route0', ...host }] })), [
      'binds[0].listeners[0].routes[1].name: duplicate route name "route0" is already used by routes[0] of this listener',
    ]);
    assert.deepEqual(issues(listeners({ routes: [{ name: 'route1', ...host }, { ...host }] })), [
      'binds[0].listeners[0].routes[1].name: the name "route1" this unnamed route gets is already used by routes[0] of this listener',
    ]);
    const config = resolveConfig(validateConfig(listeners({ routes: [{ ...host }, { name: 'api', ...host }, { ...host }] }), builtinPolicies, builtinBackends), '/tmp', builtinBackends);
    assert.deepEqual(config.binds[0].listeners[0].routes.map((r) => r.name), ['route0', 'api', 'route2']);
  });

  it('a duplicate listener name in one bind is an error with its path', () => {
    assert.deepEqual(issues(listeners({ name: 'l', hostname: 'a.test', routes: [host] }, { name: 'l', hostname: 'b.test', routes: [host] })), [
      'binds[0].listeners[1].name: duplicate listener name "l" (already used by listeners[0])',
    ]);
  });
});

describe('policies require backend capabilities; backend kinds declare them', () => {
  it('a route policy that cannot act on its backend kind fails validation, naming the policy and the kind', () => {
    assert.deepEqual(issues(listeners({ routes: [{ ...host, policies: { toolArgumentRules: { rules: [] } } }] })), [
      'binds[0].listeners[0].routes[0].policies.toolArgumentRules: the toolArgumentRules policy cannot act on host backends (it acts on MCP backends)',
    ]);
    assert.deepEqual(issues(listeners({ routes: [{ ...mcp, policies: { urlRewrite: { path: { prefix: '/x' } }, requestHeaderModifier: { remove: ['x-a'] } } }] })), [
      'binds[0].listeners[0].routes[0].policies.urlRewrite: the urlRewrite policy cannot act on MCP backends (it acts on host backends)',
      'binds[0].listeners[0].routes[0].policies.requestHeaderModifier: the requestHeaderModifier policy cannot act on MCP backends (it acts on host backends)',
    ]);
    assert.deepEqual(issues(listeners({ routes: [{ ...direct, policies: { ...direct.policies, toolPinning: {} } }] })), [
      'binds[0].listeners[0].routes[0].policies.toolPinning: the toolPinning policy cannot act on routes without a backend (it acts on MCP backends)',
    ]);
  });

  it('a listener policy must act on every route that inherits it; a route that sets its own, or answers itself, does not inherit the check', () => {
    assert.deepEqual(issues(listeners({ policies: { toolPinning: {} }, routes: [{ name: 'tools', ...mcp }, { name: 'web', ...host }] })), [
      'binds[0].listeners[0].policies.toolPinning: the toolPinning policy cannot act on host backends of routes[1] (it acts on MCP backends)',
    ]);
    assert.deepEqual(issues(listeners({ policies: { urlRewrite: { path: { prefix: '/v2' } } }, routes: [{ name: 'api', ...host }, { name: 'gone', ...direct }] })), []);
  });

  it('the upstream policies (retries, backend TLS, backend credentials) act on every kind that calls HTTP upstreams, A2A included', () => {
    const a2a = { backends: [{ a2a: { url: 'http://127.0.0.1:1' } }] };
    const upstream = { retry: { attempts: 2 }, backendTLS: { insecure: true }, backendAuth: { credential: { secret: 'k' } } };
    assert.deepEqual(issues(listeners({ routes: [{ ...a2a, policies: upstream }] })), []);
    assert.deepEqual(issues(listeners({ routes: [{ ...direct, policies: { ...direct.policies, retry: { attempts: 2 } } }] })), [
      'binds[0].listeners[0].routes[0].policies.retry: the retry policy cannot act on routes without a backend (it acts on host backends, MCP backends, A2A backends)',
    ]);
    assert.deepEqual(issues(listeners({ routes: [{ ...a2a, policies: { toolPinning: {}, urlRewrite: { path: { prefix: '/x' } } } }] })), [
      'binds[0].listeners[0].routes[0].policies.toolPinning: the toolPinning policy cannot act on A2A backends (it acts on MCP backends)',
      'binds[0].listeners[0].routes[0].policies.urlRewrite: the urlRewrite policy cannot act on A2A backends (it acts on host backends)',
    ]);
  });

  it('every backend kind declares its capabilities, and every capability a built-in policy requires is declared by some kind', () => {
    assert.deepEqual(Object.fromEntries(builtinBackends.map((b) => [b.kind, [...b.capabilities]])), {
      host: ['http-upstream', 'http-forward'],
      mcp: ['http-upstream', 'message-protocol', 'mcp', 'sessions'],
      a2a: ['http-upstream', 'message-protocol', 'a2a'],
      direct: [],
    });
    const declared = new Set(builtinBackends.flatMap((b) => b.capabilities));
    assert.deepEqual(builtinPolicies.flatMap((p) => p.requires ?? []).filter((c) => !declared.has(c)), []);
  });

  it('policies that act on every kind go anywhere', () => {
    const everywhere = { cors: { allowOrigins: ['https://a.test'] }, timeout: { requestTimeoutMs: 1000 } };
    assert.deepEqual(issues(listeners({ policies: everywhere, routes: [{ name: 'a', ...mcp }, { name: 'b', ...host }, { name: 'c', ...direct }] })), []);
  });

  it('every registered backend kind is served; the config accepts exactly their keys', () => {
    assert.deepEqual(builtinBackends.map((b) => b.kind), ['host', 'mcp', 'a2a', 'direct']);
    assert.deepEqual(issues(listeners({ routes: [{ backends: [{ grpc: {} }] }] })), [
      'binds[0].listeners[0].routes[0].backends[0].grpc: unknown key (expected one of: host, mcp, a2a, weight)',
      'binds[0].listeners[0].routes[0].backends[0]: expected exactly one of host, mcp, a2a, got none',
    ]);
  });
});
