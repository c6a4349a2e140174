import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RequestContext } from '../../core/pipeline/index.ts';
import { RequestVars, StateStore } from '../../core/state/index.ts';
import { toCelValue } from '../../policies/authorization/cel/index.ts';
import { createLogger } from '../../core/telemetry/index.ts';
import { compileRuleSet, ruleSetAllows } from '../../policies/authorization/cel.ts';
import { mcpAuthorization } from '../../policies/authorization/mcp-authorization.ts';
import type { CelRule } from '../../sdk-types/index.ts';
import { echoUpstream, send, simpleConfig, startTestGateway } from '../helpers/gateway.ts';
import { connectClient, fixtureStdio, MCP_TEST_EXTRA, mcpRoute } from '../helpers/mcp.ts';

const allows = (rules: CelRule[], vars: Record<string, unknown>) => ruleSetAllows(compileRuleSet(rules, 'rules'), vars);

describe('CEL rules decide as agentgateway does', () => {
  const tool = (name: string, claims?: Record<string, unknown>) => ({ mcp: { tool: { name, target: 't' } }, ...(claims ? { jwt: claims } : {}) });

  it('allow rules are an allowlist: one match allows, none denies', () => {
    const rules = ['mcp.tool.name == "echo"', 'jwt.sub == "test-user" && mcp.tool.name == "add"'];
    assert.equal(allows(rules, tool('echo')), true);
    assert.equal(allows(rules, tool('add', { sub: 'test-user' })), true);
    assert.equal(allows(rules, tool('add', { sub: 'other' })), false);
    // No JWT: `jwt.sub` cannot be evaluated, so the rule does not match (agentgateway's test of the same case).
    assert.equal(allows(rules, tool('add')), false);
  });

  it('a deny wins over any allow; deny rules alone are a denylist; every require must match', () => {
    assert.equal(allows(['true', { deny: 'mcp.tool.name == "rm"' }], tool('rm')), false);
    assert.equal(allows([{ deny: 'mcp.tool.name == "rm"' }], tool('ls')), true);
    assert.equal(allows([{ deny: 'mcp.tool.name == "rm"' }], tool('rm')), false);
    assert.equal(allows([{ require: 'jwt.tier == "gold"' }], tool('ls', { tier: 'gold' })), true);
    assert.equal(allows([{ require: 'jwt.tier == "gold"' }], tool('ls', { tier: 'free' })), false);
    assert.equal(allows([{ require: 'jwt.tier == "gold"' }, 'mcp.tool.name == "ls"'], tool('cat', { tier: 'gold' })), false);
    // A deny that cannot be evaluated does not deny (as in agentgateway); a require that cannot does not hold.
    assert.equal(allows([{ deny: 'jwt.banned == true' }], tool('ls', {})), true);
    assert.equal(allows([{ require: 'jwt.banned == false' }], tool('ls', {})), false);
    assert.equal(allows([], tool('ls')), true);
  });

  it('numbers in claims are CEL ints, lists and maps work with in and macros', () => {
    const vars = toCelValue(tool('x', { level: 2, roles: ['admin'], groups: ['dev', 'ops-eu'] })) as Record<string, unknown>;
    assert.equal(allows(['jwt.level + 1 == 3 && "admin" in jwt.roles && jwt.groups.exists(g, g.startsWith("ops"))'], vars), true);
  });

  it('a rule is compiled once at build, and a bad one names its path', () => {
    assert.throws(
      () => compileRuleSet(['ok == 1'] as CelRule[], 'binds[0].listeners[0].routes[0].policies.mcpAuthorization.rules'),
      (e: any) => e.code === 'PCL_ERR_CONFIG_INVALID' && e.message === 'binds[0].listeners[0].routes[0].policies.mcpAuthorization.rules[0]: invalid CEL rule "ok == 1": Unknown variable: ok (column 1)',
    );
  });

  it('mcpAuthorization sees names as the target knows them (without the multiplexing prefix) and leaves other messages alone', async () => {
    const instance = await mcpAuthorization.create({ rules: ['mcp.tool.target == "a" && mcp.tool.name == "echo"', 'mcp.prompt.name == "greet"', 'mcp.resource.name == "file:///x"'] }, {
      baseDir: '/',
      path: 'test',
      upstream: {} as any,
      logger: createLogger({ level: 'silent' }),
      state: new StateStore(),
      scope: 's',
    });
    const ctx = { vars: new RequestVars(), clientHeaders: {}, method: 'POST', path: '/mcp', search: '', scheme: 'http', authority: 'x', clientAddress: '127.0.0.1', routeName: 'r', log: createLogger({ level: 'silent' }) } as unknown as RequestContext;
    const hooks = instance.mcp!;
    assert.deepEqual(await hooks.onRequest!(ctx, { method: 'tools/call', params: {}, target: 'a', tool: 'a_echo' }), { action: 'continue' });
    assert.deepEqual(await hooks.onRequest!(ctx, { method: 'tools/call', params: {}, target: 'b', tool: 'b_echo' }), { action: 'deny', message: 'forbidden', asUnknown: true });
    assert.deepEqual(await hooks.onRequest!(ctx, { method: 'initialize', params: {} }), { action: 'continue' });
    assert.equal(await hooks.allowListItem!(ctx, { kind: 'prompt', name: 'a_greet', target: 'a', item: {} }), true);
    assert.equal(await hooks.allowListItem!(ctx, { kind: 'resource', uri: 'portcullis://a/file:///x', target: 'a', item: {} }), true);
    assert.equal(await hooks.allowListItem!(ctx, { kind: 'resource', uri: 'portcullis://a/file:///y', target: 'a', item: {} }), false);
  });
});

describe('CEL and Rego on one route: both must allow', () => {
  const rego = 'package authz\nimport rego.v1\ndefault allow := false\nallow if not input.mcp.tool == "whoami"\n';

  it('authorization.rules and rego together on an HTTP route', async () => {
    const up = await echoUpstream();
    const gw = await startTestGateway(
      simpleConfig([
        {
          name: 'r',
          policies: {
            authorization: { rego: './authz.rego', rules: ['request.headers["x-team"] == "blue"', { deny: 'request.method == "DELETE"' }] },
          },
          backends: [{ host: up.host }],
        },
      ]),
      { files: { 'authz.rego': 'package authz\nimport rego.v1\ndefault allow := false\nallow if not startswith(input.request.path, "/private")\n' } },
    );
    try {
      const h = { 'x-team': 'blue' };
      assert.equal((await send(`${gw.url()}/open`, { headers: h })).status, 200);
      assert.equal((await send(`${gw.url()}/private/x`, { headers: h })).status, 403, 'Rego denies');
      const celDenied = await send(`${gw.url()}/open`);
      assert.equal(celDenied.status, 403, 'CEL denies');
      assert.deepEqual(celDenied.json(), { error: { code: 'PCL_ERR_FORBIDDEN', message: 'forbidden by the authorization rules' } });
      assert.equal((await send(`${gw.url()}/open`, { method: 'DELETE', headers: h })).status, 403, 'CEL deny rule');
    } finally {
      await gw.close();
      await up.close();
    }
  });

  it('mcpAuthorization beside Rego authorization: lists filtered by both, calls denied by either', async () => {
    const gw = await startTestGateway(
      simpleConfig(
        [{ ...mcpRoute([fixtureStdio('a', 'cel-both')], { prefixMode: 'never' }), policies: { authorization: { rego: './authz.rego' }, mcpAuthorization: { rules: ['mcp.tool.name in ["echo", "whoami", "headers"]'] } } }],
        MCP_TEST_EXTRA,
      ),
      { files: { 'authz.rego': rego } },
    );
    try {
      const client = await connectClient(`${gw.url()}/mcp`);
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), ['echo', 'headers']);
      for (const name of ['whoami', 'slow']) {
        const r = await client.callTool({ name, arguments: {} }).then((x) => JSON.stringify(x), (e: Error) => e.message);
        assert.match(r, /Unknown tool|not found/i, name);
      }
      await client.close();
    } finally {
      await gw.close();
    }
  });
});
