import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decisionInput } from '../../core/admin/observer.ts';

// The policy playground shows (and re-evaluates) the input a decision was made on: secrets in it are redacted by key
// and by value with the gateway's one set of rules, other values and request headers stay as the policy saw them.
describe('a decision input kept for the admin UI', () => {
  it('redacts by key and by value, and keeps everything else', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
    const input = {
      mcp: { method: 'tools/call', tool: 'fetch', arguments: { url: 'https://user:hunter2@example.com/x', note: jwt, pwd: 'p', count: 3 } },
      request: { headers: { 'x-tenant': 'acme' } },
    };
    const out = decisionInput(JSON.stringify(input)) as typeof input;
    assert.equal(out.mcp.arguments.pwd, '[redacted]');
    assert.doesNotMatch(out.mcp.arguments.url, /hunter2/);
    assert.doesNotMatch(out.mcp.arguments.note, /eyJhbGciOiJIUzI1NiJ9\.eyJzdWIiOiJhIn0/);
    assert.equal(out.mcp.arguments.count, 3);
    assert.equal(out.mcp.tool, 'fetch');
    assert.deepEqual(out.request.headers, { 'x-tenant': 'acme' });
    assert.equal(decisionInput('{not json'), undefined);
  });
});
