import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { openSessionId, sealSessionId, type SessionClaims, readSessionKeys } from '../../core/replica/index.ts';

// Sealed session ids (AES-256-GCM): every change to an id, anywhere, makes it name no session.
const keys = readSessionKeys({ PORTCULLIS_SESSION_KEY: randomBytes(32).toString('base64') });
const claims: SessionClaims = {
  f: 1,
  r: 'binds[0].listeners[0].routes[0] mcp',
  o: 'apiKey\u0000alice',
  v: '2025-06-18',
  c: { capabilities: { sampling: {} }, clientInfo: { name: 'c', version: '1' } },
  u: { a: { s: 'upstream-session', v: '2025-06-18', k: ['tools', 'prompts'] } },
  t: 1_700_000_000_000,
  n: 'nonce',
};

describe('sealed session ids', () => {
  it('open to the claims they were sealed with, and differ every time (random IV)', () => {
    const one = sealSessionId(claims, keys);
    const two = sealSessionId(claims, keys);
    assert.notEqual(one, two);
    assert.deepEqual(openSessionId(one, keys), { claims });
    assert.deepEqual(openSessionId(two, keys), { claims });
    assert.match(one, /^[A-Za-z0-9_-]+$/, 'header- and URL-safe');
  });

  it('name no session after any single character is changed, or when truncated at any length', () => {
    const id = sealSessionId(claims, keys);
    for (let i = 0; i < id.length; i++) {
      const flipped = id.slice(0, i) + (id[i] === 'A' ? 'B' : 'A') + id.slice(i + 1);
      assert.ok('failure' in openSessionId(flipped, keys), `changed at ${i}`);
    }
    for (let n = 0; n < id.length; n++) assert.ok('failure' in openSessionId(id.slice(0, n), keys), `truncated to ${n}`);
    assert.ok('failure' in openSessionId(id + 'A', keys), 'extended');
  });

  it('bind the worker prefix: the same token under another worker\'s prefix names no session', () => {
    const id = sealSessionId(claims, keys, 'w1.');
    assert.ok(id.startsWith('w1.'));
    assert.deepEqual(openSessionId(id, keys), { claims });
    assert.deepEqual(openSessionId(`w2.${id.slice(3)}`, keys), { failure: 'unauthentic' });
    assert.deepEqual(openSessionId(id.slice(3), keys), { failure: 'unauthentic' });
  });

  it('refuse ids of another key, and garbage of every shape, without throwing', () => {
    const other = readSessionKeys({ PORTCULLIS_SESSION_KEY: randomBytes(32).toString('base64') });
    assert.deepEqual(openSessionId(sealSessionId(claims, other), keys), { failure: 'unauthentic' });
    for (const junk of ['', 'x', '0b7e3c2a-1111-4222-8333-944445555666', 'w1.', '%%%', 'A'.repeat(100), 'A'.repeat(20_000), '../../etc/passwd']) {
      assert.ok('failure' in openSessionId(junk, keys), junk.slice(0, 20));
    }
  });
});
