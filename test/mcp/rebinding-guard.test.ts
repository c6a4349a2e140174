import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RequestContext } from '../../core/pipeline/types.ts';
import { createRebindingGuard, ownerOf } from '../../core/backends/mcp/serve/guard.ts';

/** The guard reads only the client's headers and address. */
const ctx = (headers: Record<string, string>, clientAddress = '203.0.113.9') => ({ clientHeaders: headers, clientAddress }) as unknown as RequestContext;
const verdict = (guard: ReturnType<typeof createRebindingGuard>, c: RequestContext): string => {
  try {
    guard!(c);
    return 'ok';
  } catch (err) {
    return (err as { code: string }).code;
  }
};

describe('MCP DNS-rebinding guard (bind addresses the integration tests cannot use)', () => {
  it('a listener on every interface accepts any Host, but still checks Origin', () => {
    const guard = createRebindingGuard({ config: undefined, corsOrigins: undefined, bindAddress: '0.0.0.0' });
    assert.equal(verdict(guard, ctx({ host: 'mcp.example.com' })), 'ok');
    assert.equal(verdict(guard, ctx({ host: 'mcp.example.com', origin: 'https://mcp.example.com' })), 'ok');
    assert.equal(verdict(guard, ctx({ host: 'mcp.example.com', origin: 'https://evil.example.com' })), 'PCL_ERR_MCP_ORIGIN_FORBIDDEN');
  });

  it('allowedHosts restricts Host on any bind; loopback binds include IPv6 and 127/8', () => {
    const listed = createRebindingGuard({ config: { allowedHosts: ['mcp.example.com', 'other.example.com:8443'] }, corsOrigins: undefined, bindAddress: '0.0.0.0' });
    assert.equal(verdict(listed, ctx({ host: 'mcp.example.com:443' })), 'ok');
    assert.equal(verdict(listed, ctx({ host: 'other.example.com:8443' })), 'ok');
    assert.equal(verdict(listed, ctx({ host: 'other.example.com:9' })), 'PCL_ERR_MCP_HOST_FORBIDDEN');
    assert.equal(verdict(listed, ctx({ host: 'evil.example.com' })), 'PCL_ERR_MCP_HOST_FORBIDDEN');
    for (const bindAddress of ['::1', '0:0:0:0:0:0:0:1', '127.0.0.2', 'localhost']) {
      const loop = createRebindingGuard({ config: undefined, corsOrigins: undefined, bindAddress });
      assert.equal(verdict(loop, ctx({ host: '[::1]:3000' })), 'ok', bindAddress);
      assert.equal(verdict(loop, ctx({ host: '127.0.0.1' })), 'ok', bindAddress);
      assert.equal(verdict(loop, ctx({ host: 'localhost:3000' })), 'ok', bindAddress);
      assert.equal(verdict(loop, ctx({ host: '127.evil.example.com' })), 'PCL_ERR_MCP_HOST_FORBIDDEN', bindAddress);
      assert.equal(verdict(loop, ctx({ host: '10.0.0.1:3000' })), 'PCL_ERR_MCP_HOST_FORBIDDEN', bindAddress);
      assert.equal(verdict(loop, ctx({ host: 'evil.example.com:3000' })), 'PCL_ERR_MCP_HOST_FORBIDDEN', bindAddress);
    }
  });

  it('without a bind address, a connection from loopback stands for a loopback listener', () => {
    const guard = createRebindingGuard({ config: undefined, corsOrigins: undefined, bindAddress: undefined });
    assert.equal(verdict(guard, ctx({ host: 'evil.example.com' }, '::ffff:127.0.0.1')), 'PCL_ERR_MCP_HOST_FORBIDDEN');
    assert.equal(verdict(guard, ctx({ host: 'mcp.example.com' }, '198.51.100.7')), 'ok');
  });

  it('CORS "*" allows any Origin; turned off, nothing is checked', () => {
    const any = createRebindingGuard({ config: undefined, corsOrigins: ['*'], bindAddress: '127.0.0.1' });
    assert.equal(verdict(any, ctx({ host: '127.0.0.1:1', origin: 'https://anything.example' })), 'ok');
    assert.equal(verdict(any, ctx({ host: 'evil.example.com', origin: 'https://anything.example' })), 'PCL_ERR_MCP_HOST_FORBIDDEN');
    assert.equal(createRebindingGuard({ config: { enabled: false }, corsOrigins: undefined, bindAddress: '127.0.0.1' }), undefined);
  });

  it('session owners: JWTs by issuer and subject, API keys by name, everyone else anonymous', () => {
    const jwt = (iss: string, sub: string) => ownerOf({ kind: 'jwt', subject: sub, roles: [], claims: { iss, sub } });
    assert.notEqual(jwt('https://a', 'u'), jwt('https://b', 'u'));
    assert.notEqual(jwt('https://a', 'u'), ownerOf({ kind: 'apiKey', subject: 'u', roles: [], claims: {} }));
    assert.equal(ownerOf(undefined), 'anonymous');
    assert.equal(ownerOf({ kind: 'anonymous', subject: 'anonymous', roles: [], claims: {} }), 'anonymous');
  });
});
