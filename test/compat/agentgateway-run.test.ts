import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { importJWK, SignJWT, type JWK } from 'jose';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import { startPortcullis, type RunningGateway } from '../../core/server/index.ts';
import { createLogger } from '../../core/telemetry/index.ts';
import { LogCapture, startUpstream, type Upstream } from '../helpers/gateway.ts';
import { connectClient, startHttpFixture, text, type RunningServer } from '../helpers/mcp.ts';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/agentgateway/', import.meta.url));

interface Started {
  running: RunningGateway;
  logs: LogCapture;
  url: string;
  close(): Promise<void>;
}

/**
 * Starts a fixture as written, except for the ports: binds listen on 127.0.0.1:0 and `localhost:<port>` backends
 * are replaced by the real local ones. The copy sits in a temp folder with the fixture's `jwt` folder (relative
 * paths), and the working directory stays the repository root (as agentgateway's examples expect).
 */
async function startFixture(name: string, backends: Record<number, number> = {}): Promise<Started> {
  let yaml = readFileSync(join(FIXTURES, name), 'utf8');
  yaml = yaml.replace(/^- port: \d+\n/m, '- port: 0\n  address: 127.0.0.1\n').replace(/^- listeners:\n/m, '- port: 0\n  address: 127.0.0.1\n  listeners:\n');
  for (const [from, to] of Object.entries(backends)) yaml = yaml.replaceAll(`localhost:${from}`, `127.0.0.1:${to}`);
  const dir = mkdtempSync(join(tmpdir(), 'pcl-ag-run-'));
  cpSync(join(FIXTURES, 'jwt'), join(dir, 'jwt'), { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, yaml);
  const logs = new LogCapture();
  const logger = createLogger({ level: 'debug', destination: logs.stream });
  const running = await startPortcullis({
    configFile: file,
    policies: builtinPolicies,
    backends: builtinBackends,
    watch: false,
    logger,
    transform: (loaded) => ({ ...loaded, config: { ...loaded.config, admin: { address: false }, readiness: { address: false }, telemetry: { ...loaded.config.telemetry, stats: { address: false } }, shutdown: { drainTimeoutMs: 500 } } }),
  });
  const scheme = running.gateway.config.binds[0].protocol === 'HTTPS' ? 'https' : 'http';
  return {
    running,
    logs,
    url: `${scheme}://127.0.0.1:${running.gateway.ports()[0]}`,
    async close() {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const privateJwk = JSON.parse(readFileSync(join(FIXTURES, 'jwt/private-key.json'), 'utf8')) as JWK;
async function token(claims: Record<string, unknown>, issuer = 'agentgateway.dev', audience = 'test.agentgateway.dev'): Promise<string> {
  const key = await importJWK(privateJwk, 'ES256');
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'fixture' }).setIssuer(issuer).setAudience(audience).setIssuedAt().setExpirationTime('5m').sign(key);
}

async function clientWith(url: string, bearer: string): Promise<Client> {
  const client = new Client({ name: 'compat-test', version: '1.0.0' }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${bearer}` } } }));
  return client;
}

const toolNames = async (client: Client) => (await client.listTools()).tools.map((t) => t.name).sort();

describe('agentgateway fixtures run against real local backends', () => {
  let remote: RunningServer;
  let echo: Upstream;
  let mirror: Upstream;
  const mirrored: string[] = [];
  let flaky = 0;
  before(async () => {
    remote = await startHttpFixture('remote');
    echo = await startUpstream((req, res) => {
      // The first request to /api/flaky answers 503: retry.codes sends it again.
      if (req.url === '/api/flaky' && flaky++ === 0) {
        res.writeHead(503).end('busy');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: req.url, host: req.headers.host, authorization: req.headers.authorization }));
    });
    mirror = await startUpstream((req, res) => {
      mirrored.push(`${req.method} ${req.url}`);
      res.writeHead(204).end();
    });
  });
  after(async () => {
    await remote.close();
    await echo.close();
    await mirror.close();
  });

  it('basic: server-everything over stdio (npx), CORS with a duration maxAge', async () => {
    const gw = await startFixture('basic.yaml');
    try {
      const client = await connectClient(`${gw.url}/mcp`);
      assert.ok((await toolNames(client)).includes('echo'));
      await client.close();
      const preflight = await fetch(`${gw.url}/mcp`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
      assert.equal(preflight.headers.get('access-control-max-age'), '100');
    } finally {
      await gw.close();
    }
  });

  it('authorization: JWT, CEL mcpAuthorization rules (lists filtered, calls denied as unknown), token passed through', async () => {
    const gw = await startFixture('authorization.yaml', { 3001: remote.port });
    try {
      const anyone = await clientWith(`${gw.url}/mcp`, await token({ sub: 'someone' }));
      assert.deepEqual(await toolNames(anyone), ['echo']);
      const denied = await anyone.callTool({ name: 'whoami', arguments: {} }).then((r) => JSON.stringify(r), (e: Error) => e.message);
      assert.match(denied, /Unknown tool|not found/i);
      await anyone.close();

      const tester = await clientWith(`${gw.url}/mcp`, await token({ sub: 'test-user', nested: { key: 'value' } }));
      assert.deepEqual(await toolNames(tester), ['echo', 'headers', 'whoami']);
      const headers = JSON.parse(text(await tester.callTool({ name: 'headers', arguments: {} })));
      assert.match(headers.authorization, /^Bearer ey/);
      // The deny rule wins over nothing else allowing it: `crash` is neither listed nor callable.
      const crash = await tester.callTool({ name: 'crash', arguments: {} }).then((r) => JSON.stringify(r), (e: Error) => e.message);
      assert.match(crash, /Unknown tool|not found/i);
      await tester.close();

      const noToken = await fetch(`${gw.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
      assert.equal(noToken.status, 401);
    } finally {
      await gw.close();
    }
  });

  it('mcp-authentication: metadata served, 401 with the challenge, tokens for the resource accepted', async () => {
    const gw = await startFixture('mcp-authentication.yaml');
    try {
      const meta: any = await (await fetch(`${gw.url}/.well-known/oauth-protected-resource/stdio/mcp`)).json();
      assert.equal(meta.resource, 'http://localhost:3000/stdio/mcp');
      assert.deepEqual(meta.scopes_supported, ['read:all']);
      const refused = await fetch(`${gw.url}/stdio/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(refused.status, 401);
      assert.match(refused.headers.get('www-authenticate') ?? '', /resource_metadata="http:\/\/localhost:3000\/\.well-known\/oauth-protected-resource\/stdio\/mcp"/);
      const client = await clientWith(`${gw.url}/stdio/mcp`, await token({ sub: 'agent' }, 'http://localhost:9000', 'http://localhost:3000/stdio/mcp'));
      assert.ok((await toolNames(client)).includes('echo'));
      await client.close();
    } finally {
      await gw.close();
    }
  });

  it('tls: certificate paths written from the repository root are found there, and a line says so', async () => {
    const gw = await startFixture('tls.yaml', { 3002: echo.port });
    try {
      const notice = gw.logs.find((l) => typeof l.msg === 'string' && l.msg.includes('found from the working directory'));
      assert.ok(notice, gw.logs.raw());
      assert.match(notice!.msg, /^binds\[0\]\.listeners\[0\]\.tls\.cert: "test\/fixtures\/agentgateway\/tls\/cert\.pem" is not in the config file's folder/);
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(`${gw.url}/hello`, { rejectUnauthorized: false }, (res) => {
          let b = '';
          res.on('data', (c) => (b += c));
          res.on('end', () => resolve(b));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(JSON.parse(body).url, '/hello');
    } finally {
      await gw.close();
    }
  });

  it('multiplex: a stdio and a remote target (URL in host) behind one endpoint, names prefixed', async () => {
    const gw = await startFixture('multiplex.yaml', { 3001: remote.port });
    try {
      const client = await connectClient(`${gw.url}/mcp`);
      const names = await toolNames(client);
      assert.ok(names.includes('everything_echo') && names.includes('remote_echo'), names.join(', '));
      assert.match(text(await client.callTool({ name: 'remote_echo', arguments: { text: 'hi' } })), /hi/);
      await client.close();
    } finally {
      await gw.close();
    }
  });

  it('policies: CEL authorization rules, plain urlRewrite authority, backend key, retry codes, request mirror', async () => {
    const gw = await startFixture('policies.yaml', { 3002: echo.port, 3003: mirror.port });
    try {
      const ok = await fetch(`${gw.url}/api/x?q=1`, { headers: { 'x-team': 'blue' } });
      assert.equal(ok.status, 200);
      const seen = await ok.json();
      assert.deepEqual(seen, { url: '/api/x?q=1', host: 'internal.example.com', authorization: 'Bearer fixture-upstream-key' });
      assert.equal((await fetch(`${gw.url}/api/x`)).status, 403);
      assert.equal((await fetch(`${gw.url}/api/admin/x`, { headers: { 'x-team': 'blue' } })).status, 403);
      const retried = await fetch(`${gw.url}/api/flaky`, { headers: { 'x-team': 'blue' } });
      assert.equal(retried.status, 200);
      assert.equal(flaky, 2);
      const until = Date.now() + 5000;
      while (!mirrored.includes('GET /api/x?q=1') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.ok(mirrored.includes('GET /api/x?q=1'), mirrored.join(', '));
    } finally {
      await gw.close();
    }
  });
});
