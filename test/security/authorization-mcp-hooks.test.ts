import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PolicyInstance, RequestContext } from '../../core/pipeline/index.ts';
import { createLogger } from '../../core/telemetry/index.ts';
import { RequestVars, StateStore } from '../../core/state/index.ts';
import { authorization } from '../../policies/authorization/index.ts';
import { LogCapture } from '../helpers/gateway.ts';

const FIXTURES = new URL('../fixtures/security/', import.meta.url).pathname;

/** The request context the MCP backend hands to the hooks: only what the policy reads is filled in. */
function context(roles: string[]): RequestContext {
  return {
    id: 'req-1',
    clientHeaders: { authorization: 'Bearer secret', 'x-tenant': 'acme' },
    vars: new RequestVars(),
    clientAddress: '127.0.0.1',
    listenerName: 'l',
    routeName: 'mcp',
    method: 'POST',
    path: '/mcp',
    search: '',
    backendName: 'mcp/mcp',
    identity: { kind: 'apiKey', subject: 'agent', roles, claims: {} },
    log: createLogger({ level: 'silent' }),
  } as unknown as RequestContext;
}

describe('authorization MCP hooks (called as the MCP backend calls them)', () => {
  const logs = new LogCapture();
  const instances: PolicyInstance[] = [];
  const build = (entrypoint: string) =>
    authorization.create(
      { rego: 'http-authz.rego', data: 'http-data.yaml', entrypoint },
      { baseDir: FIXTURES, path: 'test.authorization', upstream: {} as any, logger: createLogger({ level: 'debug', destination: logs.stream }), state: new StateStore(), scope: 'test' },
    ) as Promise<PolicyInstance>;
  let echo: PolicyInstance;
  let broken: PolicyInstance;
  let decision: PolicyInstance;
  before(async () => {
    instances.push((echo = await build('authz/echo')), (broken = await build('authz/broken')), (decision = await build('authz/decision')));
  });
  after(async () => {
    await Promise.all(instances.map((i) => i.close?.()));
  });

  it('gives Rego the MCP message: method, target, tool and arguments', async () => {
    const ctx = context(['reader']);
    // As in a real request: the HTTP step decides first (no backend chosen yet), then the MCP backend sets its name.
    (ctx as any).backendName = undefined;
    await assert.rejects(Promise.resolve().then(() => echo.step(ctx, async () => {})), (err: any) => err.code === 'PCL_ERR_FORBIDDEN');
    (ctx as any).backendName = 'mcp/mcp';
    const d = await echo.mcp!.onRequest!(ctx, { method: 'tools/call', params: {}, target: 'everything', tool: 'echo', arguments: { message: 'hi' } });
    assert.equal(d.action, 'deny');
    assert.equal((d as any).asUnknown, true, 'a denied tools/call answers as an unknown tool');
    const input = JSON.parse((d as any).message);
    assert.deepEqual(input.mcp, { method: 'tools/call', target: 'everything', tool: 'echo', arguments: { message: 'hi' }, listing: false });
    assert.equal(input.backend, 'mcp/mcp');
    assert.equal(input.request.headers.authorization, undefined);
    assert.equal(input.request.headers['x-tenant'], 'acme');
  });

  it('asks a listed item as the call it would allow, with listing: true', async () => {
    const ctx = context([]);
    const listing = await build('authz/listing_only');
    instances.push(listing);
    assert.equal(await listing.mcp!.allowListItem!(ctx, { kind: 'prompt', name: 'simple-prompt', target: 'everything', item: {} }), true);
    assert.equal(await listing.mcp!.allowListItem!(ctx, { kind: 'tool', name: 'simple-prompt', target: 'everything', item: {} }), false);
    const call = await listing.mcp!.onRequest!(ctx, { method: 'prompts/get', params: {}, target: 'everything', prompt: 'simple-prompt' });
    assert.equal(call.action, 'deny', 'the same prompt is refused outside a listing');
  });

  it('denies a non-call method with a forbidden message, not as unknown', async () => {
    const d = await decision.mcp!.onRequest!(context(['reader']), { method: 'tools/list', params: {} });
    assert.equal(d.action, 'deny');
    assert.equal((d as any).asUnknown, undefined);
    assert.equal((d as any).message, 'forbidden: agent may not POST /mcp');
  });

  it('lets an allowed role through every hook', async () => {
    const ctx = context(['admin']);
    assert.deepEqual(await decision.mcp!.onRequest!(ctx, { method: 'tools/call', params: {}, tool: 'x', target: 't' }), { action: 'continue' });
    assert.equal(await decision.mcp!.allowListItem!(ctx, { kind: 'tool', name: 'x', target: 't', item: {} }), true);
    assert.equal(await decision.mcp!.allowListItem!(ctx, { kind: 'resourceTemplate', uri: 'demo://{id}', target: 't', item: {} }), true);
  });

  it('fails closed on evaluation errors: calls denied, list items hidden, cause logged', async () => {
    const ctx = context(['admin']);
    const d = await broken.mcp!.onRequest!(ctx, { method: 'tools/call', params: {}, tool: 'echo', target: 'everything' });
    assert.deepEqual(d, { action: 'deny', message: 'denied: the authorization policy could not be evaluated', code: -32603 });
    assert.equal(await broken.mcp!.allowListItem!(ctx, { kind: 'tool', name: 'echo', target: 'everything', item: {} }), false);
    const line = await logs.waitFor((l) => l.msg === 'authorization policy failed: denied (fail closed)');
    assert.equal(line.route, 'mcp');
  });
});
