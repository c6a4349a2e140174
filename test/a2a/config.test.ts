import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigValidationError, validateConfig } from '../../core/config/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';

function issues(a2a: unknown, extra: object = {}): string[] {
  try {
    validateConfig({ binds: [{ port: 1, listeners: [{ routes: [{ backends: [{ a2a }], ...extra }] }] }] }, builtinPolicies, builtinBackends);
  } catch (err) {
    assert.ok(err instanceof ConfigValidationError);
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}

const at = 'binds[0].listeners[0].routes[0].backends[0].a2a';

describe('a2a backend config', () => {
  it('accepts one agent or several', () => {
    assert.deepEqual(issues({ url: 'http://127.0.0.1:3601' }), []);
    assert.deepEqual(issues({ agents: [{ name: 'a', url: 'http://127.0.0.1:1' }, { name: 'b', url: 'https://b.example/agent' }], cardTtlMs: 0, pushNotifications: { allowedUrls: ['https://hooks.example.com/'] } }), []);
  });

  it('reports bad settings with their path', () => {
    assert.deepEqual(issues({}), [`${at}: expected exactly one of url, agents, got none`]);
    assert.deepEqual(issues({ url: 'http://a:1', agents: [{ name: 'a', url: 'http://a:1' }] }), [`${at}: expected exactly one of url, agents, got url, agents`]);
    assert.deepEqual(issues({ url: 'ftp://a' }), [`${at}.url: expected an http(s) URL, got "ftp://a"`]);
    assert.deepEqual(issues({ agents: [{ name: 'a b', url: 'http://a:1' }] }), [`${at}.agents[0].name: expected letters, digits, "_" or "-", got "a b"`]);
    assert.deepEqual(issues({ agents: [{ name: 'a', url: 'http://a:1' }, { name: 'a', url: 'http://b:1' }] }), [`${at}.agents[1].name: duplicate agent name "a"`]);
    assert.deepEqual(issues({ url: 'http://a:1', pushNotifications: { allowedUrls: ['*'] } }), [`${at}.pushNotifications.allowedUrls[0]: expected an http(s) URL, got "*"`]);
    assert.deepEqual(issues({ url: 'http://a:1', cardTtl: 5 }), [`${at}.cardTtl: unknown key (expected one of: url, agents, cardTtlMs, pushNotifications, cardVisibility)`]);
  });

  it('allows no other backend beside it', () => {
    const got = issues({ url: 'http://a:1' }, { backends: [{ a2a: { url: 'http://a:1' } }, { host: '127.0.0.1:1' }] });
    assert.deepEqual(got, ['binds[0].listeners[0].routes[0].backends: a route cannot mix host and a2a backends']);
  });
});
