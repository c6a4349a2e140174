import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startPortcullis, type RunningGateway } from '../../core/server/index.ts';
import { createLogger } from '../../core/telemetry/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import { DEMO_AGENTS, startAuthServer, type AuthServer } from '../../examples/mcp-authentication/auth-server.ts';
import { examplePath } from '../helpers/examples.ts';
import { LogCapture, withoutWarmPool } from '../helpers/gateway.ts';
import { withHeldPortRetry } from '../helpers/held-ports.ts';

const OTHER_RESOURCE = 'http://other.invalid/mcp';

describe('examples/mcp-authentication/: OAuth resource server with a real oidc-provider and the SDK client auth flow', () => {
  let auth: AuthServer;
  let running: RunningGateway;
  const logs = new LogCapture();
  let base: string;
  let resource: string;
  const clients: Client[] = [];

  before(async () => {
    // The example reads its port from PORT at load time: it is chosen before the gateway starts.
    running = await withHeldPortRetry(async (port) => {
      base = `http://127.0.0.1:${port}`;
      resource = `${base}/mcp`;
      await auth?.close();
      auth = await startAuthServer({ port: 0, resource, otherResources: [OTHER_RESOURCE] });
      // The example reads these at load time, as a deployment would set them.
      process.env.PORT = String(port);
      process.env.ISSUER = auth.issuer;
      return startPortcullis({
        configFile: examplePath('mcp-authentication'),
        policies: builtinPolicies,
        backends: builtinBackends,
        watch: false,
        logger: createLogger({ level: 'debug', destination: logs.stream }),
        transform: (loaded) => withoutWarmPool({ ...loaded, config: { ...loaded.config, admin: { address: false }, readiness: { address: false }, telemetry: { ...loaded.config.telemetry, stats: { address: false } } } }),
      });
    });
  });
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await running?.close();
    await auth?.close();
    delete process.env.PORT;
    delete process.env.ISSUER;
  });

  async function connect(agent: (typeof DEMO_AGENTS)[number]): Promise<Client> {
    const provider = new ClientCredentialsProvider({ clientId: agent.clientId, clientSecret: agent.clientSecret, scope: agent.scope, expectedIssuer: auth.issuer });
    const client = new Client({ name: agent.clientId, version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider }));
    clients.push(client);
    return client;
  }

  it('serves Protected Resource Metadata at the well-known URL and its path-suffixed form', async () => {
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 200, path);
      assert.deepEqual(await res.json(), {
        resource,
        authorization_servers: [auth.issuer],
        bearer_methods_supported: ['header'],
        scopes_supported: ['mcp:read', 'mcp:write'],
        resource_name: 'Portcullis example MCP server',
      });
    }
  });

  it('answers 401 with a WWW-Authenticate challenge pointing at the metadata', async () => {
    const res = await fetch(resource, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp", scope="mcp:read mcp:write"`);
    assert.deepEqual(await res.json(), { error: { code: 'PCL_ERR_UNAUTHENTICATED', message: 'missing bearer token' } });
  });

  it('the SDK client discovers the authorization server, gets a token and reaches its tools', async () => {
    const client = await connect(DEMO_AGENTS[0]);
    assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), ['echo', 'get-sum', 'get-tiny-image']);
    const r = await client.callTool({ name: 'echo', arguments: { message: 'via oauth' } });
    assert.match(JSON.stringify(r.content), /via oauth/);
    await assert.rejects(client.callTool({ name: 'gzip-file-as-resource', arguments: {} }), /Unknown tool: gzip-file-as-resource/);
  });

  it('the ingest agent gets its own scope and only the write tool', async () => {
    const client = await connect(DEMO_AGENTS[1]);
    assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ['gzip-file-as-resource']);
  });

  async function tokenFor(res: string): Promise<string> {
    const agent = DEMO_AGENTS[0];
    const r = await fetch(`${auth.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${agent.clientId}:${agent.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: res, scope: agent.scope }),
    });
    assert.equal(r.status, 200);
    return ((await r.json()) as { access_token: string }).access_token;
  }

  it('refuses a token minted for another resource (audience binding)', async () => {
    const token = await tokenFor(OTHER_RESOURCE);
    const res = await fetch(resource, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { error: { code: 'PCL_ERR_UNAUTHENTICATED', message: 'token audience is not accepted' } });
    assert.equal(
      res.headers.get('www-authenticate'),
      `Bearer error="invalid_token", error_description="token audience is not accepted", resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`,
    );
  });

  it('refuses a malformed bearer token and still serves afterwards', async () => {
    const res = await fetch(resource, { method: 'POST', headers: { authorization: 'Bearer x.y.z', 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { error: { code: 'PCL_ERR_UNAUTHENTICATED', message: 'malformed token' } });
    const token = await tokenFor(resource);
    const ok = await fetch(resource, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  });
});
