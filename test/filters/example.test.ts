import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { testFilter } from 'portcullis/testing';
import { send } from '../helpers/gateway.ts';
import { examplePath, startExample } from '../helpers/examples.ts';
import { connectClient, text } from '../helpers/mcp.ts';

describe("examples/filters: custom filters and the PII filter, as the README runs them", () => {
  let gw: Awaited<ReturnType<typeof startExample>>;
  let client: Client;
  before(async () => {
    gw = await startExample('filters', { noWarmPool: true });
    client = await connectClient(`${gw.url()}/mcp`);
  });
  after(async () => {
    await client?.close();
    await gw?.running.close();
  });

  it('require-tenant denies a request without an allowed tenant and lets the others through', async () => {
    const denied = await send(`${gw.url()}/api`);
    assert.equal(denied.status, 403);
    assert.deepEqual(denied.json(), { error: 'unknown tenant', allowed: ['acme', 'globex'] });
    await gw.logs.waitFor((l) => l.msg === 'request without an allowed tenant' && l.filter === 'require-tenant');
    const ok = await send(`${gw.url()}/api`, { headers: { 'x-tenant': 'acme' } });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json(), { ok: true });
  });

  it('annotate-echo rewrites the tool result and the PII filter redacts it', async () => {
    const out = text(await client.callTool({ name: 'echo', arguments: { message: 'mail me at jane@example.com' } }));
    assert.equal(out, 'Echo: mail me at [REDACTED:email] (checked by Portcullis)');
    await assert.rejects(client.callTool({ name: 'echo', arguments: { message: '' } }), /echo needs a message/);
    await assert.rejects(client.callTool({ name: 'echo', arguments: { message: '../../etc/passwd' } }), /PCL_ERR_FILTER_DENIED/);
  });

  it('the example filters run in the test harness', async () => {
    const f = await testFilter(examplePath('filters', 'filters/require-tenant.ts'), { config: { tenants: ['acme'] } });
    try {
      assert.equal((await f.request({ headers: { 'x-tenant': 'nope' } })).decision.action, 'respond');
      assert.deepEqual((await f.request({ headers: { 'x-tenant': 'acme' } })).decision, {
        action: 'continue',
        headers: { set: { 'x-tenant-verified': 'acme' }, remove: ['x-internal-user'] },
      });
    } finally {
      await f.close();
    }
  });
});
