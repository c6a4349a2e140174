import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jwtVerify } from 'jose';
import { parse as parseYaml } from 'yaml';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { decodeJwt } from 'jose';
import { createGateway } from '../../core/gateway/index.ts';
import { echoUpstream, send, type Upstream } from '../helpers/gateway.ts';
import { startRateLimitService } from '../helpers/ratelimit-service.ts';
import { startRedis } from '../helpers/redis.ts';
import { startTokenServer, type TokenServer } from '../identity/creds-helpers.ts';

/**
 * agentgateway's own example configs (test/fixtures/agentgateway-examples, copied unchanged: see PROVENANCE.md),
 * run as its users run them: from its repository root, `portcullis validate -c examples/<name>/config.yaml`, then
 * `portcullis start`. Only the copy that is started differs: port 3000 becomes 0 and the backends' addresses are
 * this test's servers.
 */
const ROOT = new URL('../../', import.meta.url).pathname;
const AG_ROOT = join(ROOT, 'test/fixtures/agentgateway-examples');
const BIN = join(ROOT, 'core/cli/bin.mjs');

/**
 * Every in-scope example (MCP and traffic; LLM and cloud-specific ones left out) and what stops the ones that do not
 * run yet. docs/agentgateway-extensions.md has the same table.
 */
export const EXAMPLES: Record<string, { runs: true } | { runs: false; missing: string }> = {
  'fault-injection/config.yaml': { runs: true },
  'mcp-apps/config.yaml': { runs: true },
  'mcp-apps/config-multiplex.yaml': { runs: true },
  'mcp-authentication/config.yaml': { runs: true },
  'mcp-authorization/config.yaml': { runs: true },
  'mcp-basic/config.yaml': { runs: true },
  'mcp-multiplex/config.yaml': { runs: true },
  'mcp-openapi/config.yaml': { runs: true },
  'mcp-tls/config.yaml': { runs: true },
  'traffic-http/config.yaml': { runs: true },
  'traffic-jwt-sign/config.yaml': { runs: true },
  'mcp-telemetry/config.yaml': { runs: true },
  'traffic-a2a/config.yaml': { runs: true },
  'traffic-oidc/config.yaml': { runs: true },
  'traffic-oauth2-proxy/config.yaml': { runs: true },
  'traffic-ratelimiting-local/config.yaml': { runs: true },
  'traffic-ratelimiting-global/config.yaml': { runs: true },
  'traffic-token-exchange/oauth-rfc8693/config.yaml': { runs: true },
  'traffic-token-exchange/jwt-authz-grant/config.yaml': { runs: true },
  'traffic-token-exchange/extauthz/config.yaml': { runs: false, missing: 'transformations, transformations' },
  'traffic-cross-app-access/keycloak/gateway.yaml': { runs: true },
  'traffic-cross-app-access/xaa-dev/gateway.yaml': { runs: true },
  'traffic-cross-app-access/okta-auth0/gateway.yaml': { runs: true },
};

/**
 * The environment variables an example's README has its users export: agentgateway (and Portcullis) expand `$VAR`
 * and `${VAR}` in the config at load time, and refuse one that is unset.
 */
const EXAMPLE_ENV: Record<string, Record<string, string>> = {
  'traffic-cross-app-access/keycloak/gateway.yaml': { KC_AGENT_SECRET: 'agent-secret', KC_RESOURCE_SECRET: 'resource-secret' },
  'traffic-cross-app-access/xaa-dev/gateway.yaml': { XAA_CLIENT_ID: 'client_demo', XAA_IDP_SECRET: 'secret_idp', XAA_RESOURCE_SECRET: 'secret_resource' },
  'traffic-cross-app-access/okta-auth0/gateway.yaml': {
    OKTA_DOMAIN: 'dev-12345.okta.com',
    OKTA_CLIENT_ID: '0oa-demo',
    OKTA_CLIENT_SECRET: 'okta-secret',
    AUTH0_DOMAIN: 'your-tenant.us.auth0.com',
    AUTH0_CLIENT_ID: 'auth0-demo',
    AUTH0_CLIENT_SECRET: 'auth0-secret',
    AUTH0_API: 'https://api.example.com',
    SCOPE: 'todos.read',
    RESOURCE_API_HOST: 'api.example.com',
  },
};
const envOf = (name: string) => ({ ...process.env, ...EXAMPLE_ENV[name] });

const validateWithCli = (name: string) =>
  spawnSync(process.execPath, [BIN, 'validate', '-c', `examples/${name}`], { cwd: AG_ROOT, encoding: 'utf8', timeout: 60_000, env: envOf(name) });

/**
 * `portcullis validate` of every example, run by the CLI's own `main` in one process (test/compat/cli-batch.ts):
 * loading the gateway once rather than once per example. `validateWithCli` proves the bin.mjs wiring once.
 */
let validated: Map<string, { status: number; stdout: string; stderr: string }> | undefined;
function validate(name: string): { status: number; stdout: string; stderr: string } {
  if (!validated) {
    const names = Object.keys(EXAMPLES);
    const jobs = names.map((n) => ({ args: ['validate', '-c', `examples/${n}`], cwd: AG_ROOT, env: EXAMPLE_ENV[n] ?? {} }));
    const r = spawnSync(process.execPath, ['--no-node-snapshot', join(ROOT, 'test/compat/cli-batch.ts'), JSON.stringify(jobs)], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr);
    const results = JSON.parse(r.stdout) as Array<{ status: number; stdout: string; stderr: string }>;
    validated = new Map(names.map((n, i) => [n, results[i]]));
  }
  return validated.get(name)!;
}

interface Started {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a copy of the example with port 0 and `from` → `to` backend addresses; resolves once it listens. */
async function startExample(name: string, backends: Record<string, string> = {}): Promise<Started> {
  let text = readFileSync(join(AG_ROOT, 'examples', name), 'utf8').replaceAll('port: 3000', 'port: 0');
  for (const [from, to] of Object.entries(backends)) text = text.replaceAll(from, to);
  // Inside the fixture root, so that the example's relative paths and `npx` resolve as from agentgateway's root.
  const dir = mkdtempSync(join(AG_ROOT, '.run-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, text);
  const child = spawn(process.execPath, ['--no-node-snapshot', BIN, 'start', '--no-watch', '-c', relative(AG_ROOT, file), '--admin', 'off', '--readiness', 'off', '--stats', 'off'], { cwd: AG_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: envOf(name) });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      let err = '';
      child.stderr!.on('data', (c) => (err += c));
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        for (const line of out.split('\n')) {
          if (!line.startsWith('{')) continue;
          try {
            const entry = JSON.parse(line);
            if (entry.msg === 'listening') resolve(entry.port);
          } catch {
            // a partial line: wait for the rest
          }
        }
      });
      child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before listening:\n${err}\n${out}`)));
    });
    const https = parseYaml(text)?.binds?.[0]?.listeners?.[0]?.protocol === 'HTTPS';
    return { url: `${https ? 'https' : 'http'}://127.0.0.1:${port}`, child, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * Starts the example as `portcullis start` would (the same createGateway, from its file with `port: 3000` made 0,
 * from agentgateway's root, the example's variables in the environment while it loads) in this process, listens and closes: for the examples
 * that are only started. The CLI's own start is proven by the examples used below, each started by bin.mjs.
 */
async function startAndCloseInProcess(name: string): Promise<void> {
  const text = readFileSync(join(AG_ROOT, 'examples', name), 'utf8').replaceAll('port: 3000', 'port: 0');
  const dir = mkdtempSync(join(AG_ROOT, '.run-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, text);
  const saved = Object.fromEntries(Object.keys(EXAMPLE_ENV[name] ?? {}).map((k) => [k, process.env[k]]));
  Object.assign(process.env, EXAMPLE_ENV[name]);
  // From agentgateway's root, as the CLI is run below: a relative path not found beside the file is read from there.
  const cwd = process.cwd();
  process.chdir(AG_ROOT);
  try {
    const gateway = await createGateway(file, {
      logLevel: 'silent',
      transform: (loaded) => ({ ...loaded, config: { ...loaded.config, admin: { address: false }, readiness: { address: false }, telemetry: { ...loaded.config.telemetry, stats: { address: false } } } }),
    });
    try {
      const { ports } = await gateway.listen();
      assert.ok(ports.length > 0 && ports.every((p) => p > 0), `${name} listens: ${JSON.stringify(ports)}`);
    } finally {
      await gateway.close();
    }
  } finally {
    process.chdir(cwd);
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("agentgateway's example configs (its repository, 2026-08-21), unchanged", () => {
  it('validates an example through the real CLI (bin.mjs), as the batch below does through its main', () => {
    const r = validateWithCli('mcp-basic/config.yaml');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'examples/mcp-basic/config.yaml: valid (1 bind(s), 1 route(s))\n');
    assert.deepEqual(validate('mcp-basic/config.yaml'), { status: 0, stdout: r.stdout, stderr: r.stderr });
  });

  for (const [name, status] of Object.entries(EXAMPLES)) {
    if (!status.runs) continue;
    it(`validates examples/${name}`, () => {
      const r = validate(name);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /: valid \(/);
    });
  }

  it('the examples that do not run yet are refused for the features the table names, and only those', () => {
    const refused = Object.entries(EXAMPLES).filter(([, status]) => !status.runs);
    assert.ok(refused.length > 0, 'no example is refused any more: delete this test');
    for (const [name, status] of refused) {
      if (status.runs) continue;
      const r = validate(name);
      assert.equal(r.status, 1, name);
      const named = [...r.stderr.matchAll(/agentgateway feature `([^`]+)`/g)].map((m) => m[1]);
      assert.deepEqual(named, status.missing.split(', '), `${name}: ${r.stderr}`);
    }
  });

  // The others are started and used below. Their stdio servers and remote targets are reached lazily.
  for (const [name, status] of Object.entries(EXAMPLES)) {
    if (!status.runs || ['fault-injection/config.yaml', 'traffic-http/config.yaml', 'traffic-jwt-sign/config.yaml', 'mcp-basic/config.yaml'].includes(name)) continue;
    it(`starts examples/${name}`, async () => {
      await startAndCloseInProcess(name);
    });
  }

  describe('the examples, started, do what their READMEs say', () => {
    let upstream: Upstream;
    let mirror: Upstream;
    before(async () => {
      upstream = await echoUpstream('app');
      mirror = await echoUpstream('mirror');
    });
    after(async () => {
      await upstream?.close();
      await mirror?.close();
    });

    it("traffic-http: matches on path, method, query and header; direct responses; the ip rule cidr(...).containsIP(source.address)", async () => {
      const gw = await startExample('traffic-http/config.yaml', { '127.0.0.1:8080': upstream.host, '127.0.0.1:8081': mirror.host });
      try {
        const matched = await send(`${gw.url}/match?param=hello`, { headers: { 'x-header': 'test-0' } });
        assert.equal(matched.status, 200);
        assert.equal(matched.json().upstream, 'app');
        assert.equal((await send(`${gw.url}/direct`)).text, 'hello!');
        const ips = await send(`${gw.url}/ips`);
        assert.equal(ips.status, 200);
        assert.equal(ips.text, 'hello!');
      } finally {
        await gw.stop();
      }
    });

    it('fault-injection: the opt-in header delays by 500 ms; aborted requests answer 503 "injected fault"', async () => {
      const gw = await startExample('fault-injection/config.yaml', { '127.0.0.1:8080': upstream.host });
      try {
        let started = performance.now();
        assert.equal((await send(`${gw.url}/header`, { headers: { 'x-chaos': '1' } })).status, 200);
        assert.ok(performance.now() - started >= 490, `took ${performance.now() - started} ms`);
        started = performance.now();
        assert.equal((await send(`${gw.url}/header`)).status, 200);
        assert.ok(performance.now() - started < 490);
        const outcomes = new Set<string>();
        for (let i = 0; i < 100; i++) {
          const r = await send(`${gw.url}/abort`);
          outcomes.add(r.status === 503 ? `503 ${r.text}` : String(r.status));
        }
        // 10 % of 100 requests: both outcomes, practically always (0.9^100 and 0.1^100 are negligible).
        assert.deepEqual([...outcomes].sort(), ['200', '503 injected fault']);
      } finally {
        await gw.stop();
      }
    });

    it('traffic-jwt-sign: the backend gets an ES256 JWT signed with the demo key, with its claims, and the companion header', async () => {
      const gw = await startExample('traffic-jwt-sign/config.yaml', { '127.0.0.1:8080': upstream.host });
      try {
        const seen = (await send(`${gw.url}/`)).json().headers as Record<string, string>;
        assert.equal(seen['x-demo-authorization-token-type'], 'KEYPAIR_JWT');
        const config = parseYaml(readFileSync(join(AG_ROOT, 'examples/traffic-jwt-sign/config.yaml'), 'utf8'));
        const jwtSign = config.binds[0].listeners[0].routes[0].policies.backendAuth.jwtSign;
        const { payload, protectedHeader } = await jwtVerify(seen.authorization.replace(/^Bearer /, ''), createPublicKey(jwtSign.signingKey), { algorithms: ['ES256'] });
        assert.equal(protectedHeader.kid, 'demo-key-1');
        assert.equal(payload.iss, 'MYACCOUNT.MYUSER.SHA256:public-key-fingerprint');
        assert.equal(payload.sub, 'MYACCOUNT.MYUSER');
        // The example's aud names its backend, 127.0.0.1:8080: this test's upstream stands in for it.
        assert.equal(payload.aud, `http://${upstream.host}`);
        assert.equal(payload.exp! - payload.iat!, 310);
      } finally {
        await gw.stop();
      }
    });

    it("traffic-ratelimiting-global: Envoy's rate-limit service with the example's ratelimit-config.yaml: 5 GET / a minute, then 429", async () => {
      const redis = await startRedis();
      const rls = await startRateLimitService(readFileSync(join(AG_ROOT, 'examples/traffic-ratelimiting-global/ratelimit-config.yaml'), 'utf8'), redis.port);
      const gw = await startExample('traffic-ratelimiting-global/config.yaml', { '127.0.0.1:8081': rls.host, 'localhost:8080': upstream.host }).catch(async (err) => {
        await rls.stop();
        await redis.stop();
        throw err;
      });
      try {
        // The service counts in fixed one-minute windows: start the six requests in a window with 15 s left at least,
        // so that no window boundary falls between them (bounded: at most 15 s).
        const left = 60_000 - (Date.now() % 60_000);
        if (left < 15_000) await new Promise((r) => setTimeout(r, left + 50));
        for (let i = 0; i < 5; i++) {
          const ok = await send(`${gw.url}/`);
          assert.equal(ok.status, 200);
          assert.equal(ok.json().upstream, 'app');
          assert.equal(ok.headers['x-ratelimit-limit'], '5');
          assert.equal(ok.headers['x-ratelimit-remaining'], String(4 - i));
        }
        const limited = await send(`${gw.url}/`);
        assert.equal(limited.status, 429);
        assert.equal(limited.headers['x-ratelimit-limit'], '5');
        assert.equal(limited.headers['x-ratelimit-remaining'], '0');
        assert.equal(limited.json().error.code, 'PCL_ERR_RATE_LIMITED');
        // The service limits GET only on "/". Its POST rule is keyed on the method alone, and the service applies a
        // rule only when it matches every entry of a descriptor: the example always sends method and path, so POST
        // is never limited (as with agentgateway itself).
        const other = await send(`${gw.url}/other`);
        assert.equal(other.status, 200);
        assert.equal(other.headers['x-ratelimit-limit'], undefined);
        for (let i = 0; i < 11; i++) assert.equal((await send(`${gw.url}/`, { method: 'POST', body: '{}' })).status, 200);
      } finally {
        await gw.stop();
        await rls.stop();
        await redis.stop();
      }
    });

    describe('traffic-token-exchange, against our RFC 8693 / RFC 7523 token server standing in for Keycloak and the mock', () => {
      let ts: TokenServer;
      before(async () => {
        ts = await startTokenServer(120, { TS_EXTRA_CLIENTS: 'requester-client:requester-secret,my-app-client-id:my-app-client-secret', TS_EXTRA_AUDIENCES: 'target-client', TS_PUBLIC_JWT_BEARER: '1' });
      });
      after(async () => {
        await ts?.close();
      });
      const tokenHost = () => ts.url.replace('http://', '');
      const upstreamToken = (seen: Record<string, string>) => decodeJwt(seen.authorization.replace(/^Bearer /, ''));

      it("oauth-rfc8693: the caller's bearer is exchanged (Basic requester-client, audience target-client) for the upstream's own token", async () => {
        const gw = await startExample('traffic-token-exchange/oauth-rfc8693/config.yaml', { 'localhost:7080': tokenHost(), 'localhost:18080': upstream.host });
        try {
          const { token } = await ts.mint('alice');
          const r = await send(`${gw.url}/exchange/anything`, { headers: { authorization: `Bearer ${token}` } });
          assert.equal(r.status, 200, r.text);
          const claims = upstreamToken(r.json().headers);
          assert.deepEqual([claims.sub, claims.aud, (claims.act as { sub: string }).sub], ['alice', 'target-client', 'requester-client']);
          assert.notEqual(r.json().headers.authorization, `Bearer ${token}`);
          const form = (await (await fetch(`${ts.url}/last-form`)).json()) as Record<string, string>;
          assert.equal(form.grant_type, 'urn:ietf:params:oauth:grant-type:token-exchange');
          assert.equal(form.client_secret, undefined, 'clientSecretBasic puts no secret in the body');
          const none = await send(`${gw.url}/exchange/anything`);
          assert.equal(none.status, 403);
          assert.equal(none.json().error.code, 'PCL_ERR_UPSTREAM_CREDENTIAL_MISSING');
        } finally {
          await gw.stop();
        }
      });

      it('jwt-authz-grant: RFC 7523 jwt-bearer, the Entra on-behalf-of shape (client_secret_post, scope, requested_token_use), public and Basic clients', async () => {
        const gw = await startExample('traffic-token-exchange/jwt-authz-grant/config.yaml', { 'localhost:7080': tokenHost(), 'localhost:7090': tokenHost(), 'localhost:18080': upstream.host });
        try {
          const { token } = await ts.mint('bob');
          const headers = { authorization: `Bearer ${token}` };
          const obo = await send(`${gw.url}/obo/me`, { headers });
          assert.equal(obo.status, 200, obo.text);
          assert.equal(upstreamToken(obo.json().headers).sub, 'bob');
          const form = (await (await fetch(`${ts.url}/last-form`)).json()) as Record<string, string>;
          assert.deepEqual(
            { grant: form.grant_type, client: form.client_id, secret: /^<\d+ chars>$/.test(form.client_secret), scope: form.scope, use: form.requested_token_use, assertion: /^<\d+ chars>$/.test(form.assertion) },
            { grant: 'urn:ietf:params:oauth:grant-type:jwt-bearer', client: 'my-app-client-id', secret: true, scope: 'https://graph.microsoft.com/.default', use: 'on_behalf_of', assertion: true },
          );
          for (const [prefix, act] of [['/jwt-bearer', 'public'], ['/jwt-bearer-kc', 'requester-client']]) {
            const r = await send(`${gw.url}${prefix}/x`, { headers });
            assert.equal(r.status, 200, `${prefix}: ${r.text}`);
            const claims = upstreamToken(r.json().headers);
            assert.deepEqual([claims.sub, claims.aud, (claims.act as { sub: string }).sub], ['bob', 'target-client', act], prefix);
          }
          // The caller's expired token is refused by the token endpoint: 403, nothing reaches the upstream.
          const expired = await ts.mint('bob', { ttl: -60 });
          const refused = await send(`${gw.url}/jwt-bearer/x`, { headers: { authorization: `Bearer ${expired.token}` } });
          assert.equal(refused.status, 403);
          assert.equal(refused.json().error.code, 'PCL_ERR_TOKEN_EXCHANGE_FAILED');
        } finally {
          await gw.stop();
        }
      });
    });

    it("traffic-cross-app-access/keycloak: alice's ID token becomes an ID-JAG (agent-client) and then the resource server's access token (resource-client)", async () => {
      const kc = await startTokenServer(120, {
        TS_REALM: 'idjag-demo',
        TS_EXTRA_CLIENTS: 'agent-client:agent-secret,resource-client:resource-secret',
        TS_EXTRA_AUDIENCES: 'https://resource.idjag.demo',
        TS_SUBJECT_AUDIENCES: 'agent-client',
      });
      // The example's `$KC_*` secrets come from the environment, expanded at load time (EXAMPLE_ENV).
      const gw = await startExample('traffic-cross-app-access/keycloak/gateway.yaml', {
        'port: 3030': 'port: 0',
        'localhost:8480': kc.url.replace('http://', ''),
        'localhost:9000': upstream.host,
      });
      try {
        const { token } = await kc.mint('alice', { iss: `${kc.url}/realms/idjag-demo`, aud: 'agent-client' });
        const r = await send(`${gw.url}/todos`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(r.status, 200, r.text);
        const claims = decodeJwt(String(r.json().headers.authorization).replace(/^Bearer /, ''));
        assert.deepEqual([claims.sub, claims.from_id_jag, (claims.act as { sub: string }).sub, claims.scope], ['alice', true, 'resource-client', 'todos.read']);
        const form = (await (await fetch(`${kc.url}/last-form`)).json()) as Record<string, string>;
        assert.equal(form.grant_type, 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'the last leg is the jwt-bearer grant');
        // A token for another audience (not agent-client) is refused by jwtAuth before any exchange.
        const other = await kc.mint('alice', { iss: `${kc.url}/realms/idjag-demo`, aud: 'someone-else' });
        assert.equal((await send(`${gw.url}/todos`, { headers: { authorization: `Bearer ${other.token}` } })).status, 401);
      } finally {
        await gw.stop();
        await kc.close();
      }
    });

    it('mcp-basic: server-everything over stdio (npx, no -y) lists its tools and answers echo', async () => {
      const gw = await startExample('mcp-basic/config.yaml');
      try {
        const client = new Client({ name: 'compat', version: '1.0.0' }, { capabilities: {} });
        await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`)));
        const tools = (await client.listTools()).tools.map((t) => t.name);
        assert.ok(tools.some((t) => /echo$/.test(t)), tools.join(', '));
        const echo = tools.find((t) => /echo$/.test(t))!;
        const result = (await client.callTool({ name: echo, arguments: { message: 'hi' } })) as { content: Array<{ text?: string }> };
        assert.match(result.content[0].text ?? '', /hi/);
        await client.close();
      } finally {
        await gw.stop();
      }
    });
  });
});
