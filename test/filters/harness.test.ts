import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testFilter } from 'portcullis/testing';
import type { FilterHarness } from '../../sdk-types/index.ts';
import { filterFixture } from '../helpers/filters.ts';

const fixture = filterFixture;

describe('filter test harness (portcullis/testing)', () => {
  let tenant: FilterHarness;
  before(async () => {
    tenant = await testFilter(fixture('tenant.ts'), { config: { tenants: ['acme'] } });
  });
  after(() => tenant.close());

  it('names the filter and its hooks', () => {
    assert.equal(tenant.name, 'tenant');
    assert.deepEqual(tenant.hooks, ['onRequest', 'onResponse', 'onMcpRequest', 'onMcpResponse']);
  });

  it('runs onRequest on a synthetic request and returns the decision and log lines', async () => {
    const denied = await tenant.request({ headers: { 'X-Tenant': 'other' } });
    assert.deepEqual(denied.decision, { action: 'respond', status: 403, headers: {}, body: { error: 'tenant other not allowed' } });
    assert.deepEqual(denied.logs, [{ message: 'tenant refused', fields: { tenant: 'other' } }]);
    const allowed = await tenant.request({ headers: { 'x-tenant': 'acme' } });
    assert.deepEqual(allowed.decision, { action: 'continue', headers: { set: { 'x-tenant-checked': 'acme' }, remove: [] } });
  });

  it('runs onResponse; nothing returned reads as continue', async () => {
    assert.deepEqual((await tenant.response({ status: 200, body: { ok: true } })).decision, { action: 'continue' });
    assert.equal((await tenant.response({ status: 503 })).decision.action, 'respond');
  });

  it('runs the MCP hooks with identity', async () => {
    const identity = { kind: 'jwt' as const, subject: 'agent-7', roles: [], claims: {} };
    const req = await tenant.mcpRequest({ method: 'tools/call', tool: 'everything_echo', arguments: { message: 'hi' } }, { identity });
    assert.deepEqual(req.decision, { action: 'continue', arguments: { message: '[agent-7] hi' }, params: undefined });
    assert.deepEqual((await tenant.mcpRequest({ method: 'tools/call', tool: 'forbidden' })).decision, { action: 'deny', message: 'forbidden tool', code: undefined });
    const res = await tenant.mcpResponse({ method: 'tools/call', tool: 'x' }, { content: [] });
    assert.deepEqual(res.decision, { action: 'continue', result: { tagged: true, original: { content: [] } } });
  });

  it('applies the same limits as the gateway: a loop rejects with PCL_ERR_FILTER_TIMEOUT', async () => {
    const loop = await testFilter(fixture('loop.ts'), { timeoutMs: 20 });
    try {
      await assert.rejects(loop.request({ headers: { 'x-loop': '1' } }), (err: any) => err.code === 'PCL_ERR_FILTER_TIMEOUT');
      assert.equal((await loop.request()).decision.action, 'continue');
    } finally {
      await loop.close();
    }
  });

  it('rejects a filter that does not bundle with PCL_ERR_FILTER_BUILD', async () => {
    await assert.rejects(testFilter(fixture('uses-fs.ts')), (err: any) => err.code === 'PCL_ERR_FILTER_BUILD' && /"node:fs" is a Node\.js built-in/.test(err.message));
  });
});
