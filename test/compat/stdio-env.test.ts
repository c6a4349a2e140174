import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../core/config/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import { configSource, send, simpleConfig, startTestGateway } from '../helpers/gateway.ts';
import { connectClient, fixtureStdio, MCP_TEST_EXTRA, mcpRoute, text } from '../helpers/mcp.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('stdio targets: environment and early failures', () => {
  const saved: Record<string, string | undefined> = {};
  const set = { HTTPS_PROXY: 'http://proxy.corp.invalid:3128', NODE_EXTRA_CA_CERTS: '/etc/corp-ca.pem', npm_config_registry: 'https://registry.corp.invalid/', PCL_TEST_SECRET: 'not-for-children' };
  before(() => {
    for (const [k, v] of Object.entries(set)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });
  after(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  async function childEnv(extra: Record<string, unknown>): Promise<string[]> {
    const gw = await startTestGateway(simpleConfig([mcpRoute([fixtureStdio('a', 'env', { warmPool: 0, ...extra })])], MCP_TEST_EXTRA));
    try {
      const client = await connectClient(`${gw.url()}/mcp`);
      const names = JSON.parse(text(await client.callTool({ name: 'env', arguments: {} }))) as string[];
      await client.close();
      return names;
    } finally {
      await gw.close();
    }
  }

  it('proxy and CA variables are inherited by default; other variables are not', async () => {
    const names = await childEnv({});
    for (const k of ['HTTPS_PROXY', 'NODE_EXTRA_CA_CERTS', 'npm_config_registry', 'PATH']) assert.ok(names.includes(k), `${k} missing from ${names.join(', ')}`);
    assert.ok(!names.includes('PCL_TEST_SECRET'));
  });

  it('inheritEnv: a list adds those names, true passes the whole environment', async () => {
    assert.ok((await childEnv({ inheritEnv: ['PCL_TEST_SECRET'] })).includes('PCL_TEST_SECRET'));
    const all = await childEnv({ inheritEnv: true });
    assert.ok(all.includes('PCL_TEST_SECRET') && all.includes('HTTPS_PROXY'));
  });

  it('a target that exits before answering initialize fails at once, with its exit and last stderr lines in the error and the log', async () => {
    const script = 'console.error("npm ERR! network request to https://registry.npmjs.org failed"); console.error("npm ERR! code ECONNREFUSED"); process.exit(3)';
    const gw = await startTestGateway(simpleConfig([mcpRoute([{ name: 'dl', stdio: { cmd: 'node', args: ['-e', script], warmPool: 0 } }])], MCP_TEST_EXTRA));
    try {
      const started = Date.now();
      const res = await send(`${gw.url()}/mcp`, { method: 'POST', headers: MCP_HEADERS, body: JSON.stringify(INIT) });
      assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
      assert.equal(res.status, 502);
      const why = 'the process exited (code 3); its last stderr lines: npm ERR! network request to https://registry.npmjs.org failed | npm ERR! code ECONNREFUSED';
      assert.ok(res.text.includes(why), res.text);
      assert.ok(gw.logs.raw().includes(why), gw.logs.raw());
    } finally {
      await gw.close();
    }
  });

  it('a target that hangs before answering reports its stderr when initialize times out', async () => {
    const script = 'console.error("waiting for proxy.corp.invalid:3128"); setInterval(() => {}, 1000)';
    const gw = await startTestGateway(simpleConfig([mcpRoute([{ name: 'hang', stdio: { cmd: 'node', args: ['-e', script], warmPool: 0 }, requestTimeoutMs: 1500 }])], MCP_TEST_EXTRA));
    try {
      const res = await send(`${gw.url()}/mcp`, { method: 'POST', headers: MCP_HEADERS, body: JSON.stringify(INIT) });
      assert.equal(res.status, 502);
      assert.match(res.text, /no answer to initialize within 2000 ms; its last stderr lines: waiting for proxy\.corp\.invalid:3128/);
    } finally {
      await gw.close();
    }
  });

  it('inheritEnv that is neither a boolean nor a list of names is a config error with its path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pcl-env-'));
    try {
      const file = join(dir, 'gateway.config.ts');
      await writeFile(file, configSource(simpleConfig([mcpRoute([{ name: 'a', stdio: { cmd: 'node', inheritEnv: 'yes' } }, { name: 'b', stdio: { cmd: 'node', inheritEnv: ['OK', 'NOT OK'] } }])])));
      await assert.rejects(loadConfig(file, builtinPolicies, builtinBackends), (e: Error) => {
        assert.equal(
          e.message.split('\n').slice(1).join('\n'),
          [
            'binds[0].listeners[0].routes[0].backends[0].mcp.targets[0].stdio.inheritEnv: expected true, false or a list of variable names, got "yes"',
            'binds[0].listeners[0].routes[0].backends[0].mcp.targets[1].stdio.inheritEnv[1]: expected an environment variable name, got "NOT OK"',
          ].join('\n'),
        );
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
