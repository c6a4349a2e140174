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

describe('a decision recorded by the admin observer', () => {
  it('keeps its input as published and parses and redacts it only when read', async () => {
    const { AdminObserver } = await import('../../core/admin/observer.ts');
    const { policyChannel, requestChannel } = await import('../../core/telemetry/events.ts');
    const observer = new AdminObserver('decision-input-test');
    try {
      const request = { id: 'r-lazy', gateway: 'decision-input-test', method: 'POST', path: '/mcp' };
      requestChannel.start.publish(request as never);
      policyChannel.publish({ requestId: 'r-lazy', route: 'r', policy: 'authorization', level: 'message', outcome: 'allow', input: JSON.stringify({ mcp: { arguments: { password: 'p', n: 1 } } }) });
      const [d] = observer.decisionsOf('r-lazy');
      const descriptor = Object.getOwnPropertyDescriptor(d, 'input')!;
      assert.equal(typeof descriptor.get, 'function', 'not parsed when recorded');
      assert.deepEqual(d.input, { mcp: { arguments: { password: '[redacted]', n: 1 } } });
      assert.equal(d.input, d.input, 'parsed once');
      assert.deepEqual(JSON.parse(JSON.stringify(d)).input, { mcp: { arguments: { password: '[redacted]', n: 1 } } }, 'serialized as parsed');
    } finally {
      observer.close();
    }
  });
});
