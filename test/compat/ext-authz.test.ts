import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../core/config/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import { configSource, echoUpstream, send, simpleConfig, startTestGateway, startUpstream, type TestGateway, type Upstream } from '../helpers/gateway.ts';

const EXAMPLE = new URL('../fixtures/agentgateway-examples/examples/traffic-oauth2-proxy/config.yaml', import.meta.url);

/**
 * An authorizer answering as oauth2-proxy's `/oauth2/auth` does: 202 with `X-Auth-Request-User`/`-Email` for a
 * browser whose `_oauth2_proxy` cookie is a session, 401 otherwise; `/oauth2/start` is its sign-in entry.
 */
function startProxyLike(): Promise<Upstream> {
  return startUpstream((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/oauth2/auth') {
      const session = /(?:^|;\s*)_oauth2_proxy=valid-(\w+)/.exec(req.headers.cookie ?? '')?.[1];
      if (/_oauth2_proxy=broken/.test(req.headers.cookie ?? '')) return void res.writeHead(500, { 'content-type': 'text/plain' }).end('proxy broke');
      if (!session) return void res.writeHead(401).end();
      res.writeHead(202, { 'x-auth-request-user': session, 'x-auth-request-email': `${session}@example.com` }).end();
      return;
    }
    if (url.pathname === '/oauth2/start') return void res.writeHead(302, { location: 'https://github.com/login/oauth/authorize?x=1' }).end();
    res.writeHead(404).end();
  });
}

describe("extAuthz over HTTP: agentgateway's oauth2-proxy pattern", () => {
  let proxy: Upstream;
  let app: Upstream;
  let gw: TestGateway;
  before(async () => {
    proxy = await startProxyLike();
    app = await echoUpstream('app');
    // The example as written (its access log block included), but for its addresses.
    const yaml = readFileSync(EXAMPLE, 'utf8')
      .replace('- port: 3000', '- port: 0\n  address: 127.0.0.1')
      .replaceAll('localhost:4180', proxy.host)
      .replaceAll('localhost:8080', app.host);
    gw = await startTestGateway(`${yaml}\nconfig:\n  adminAddr: false\n  readinessAddr: false\n  statsAddr: false\n`, { fileName: 'config.yaml' });
  });
  after(async () => {
    await gw?.close();
    await proxy?.close();
    await app?.close();
  });

  it('a browser without a session is sent to the sign-in page, with the page it wanted', async () => {
    const res = await send(`${gw.url()}/reports/q3`);
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, '/oauth2/start?rd=/reports/q3');
    const check = proxy.seen.at(-1)!;
    assert.equal(check.url, '/oauth2/auth');
    assert.equal(check.headers['x-forwarded-host'], '127.0.0.1');
    assert.ok(!app.seen.some((r) => r.url === '/reports/q3'));
  });

  it('a browser with a session reaches the application, which gets the user from the authorizer\'s answer', async () => {
    const res = await send(`${gw.url()}/reports/q3`, { headers: { cookie: '_oauth2_proxy=valid-alice; theme=dark' } });
    assert.equal(res.status, 200);
    const seen = res.json();
    assert.equal(seen.upstream, 'app');
    assert.equal(seen.headers['x-auth-request-user'], 'alice');
    assert.equal(seen.headers['x-auth-request-email'], undefined, 'only the headers named in includeResponseHeaders');
    assert.equal(proxy.seen.at(-1)!.headers.cookie, '_oauth2_proxy=valid-alice; theme=dark', 'the cookie went to the authorizer');
    // The example's access log adds what the authorizer's answer said, through its extAuthz metadata.
    const line = await gw.logs.waitFor((l) => l.type === 'access' && l.path === '/reports/q3' && l.status === 200);
    assert.equal(line['github.user'], 'alice');
    assert.equal(line['github.email'], 'alice@example.com');
  });

  it('/oauth2/* goes to the proxy itself (sign-in), with the client\'s Host (authority: none)', async () => {
    const res = await send(`${gw.url()}/oauth2/start?rd=/x`);
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, 'https://github.com/login/oauth/authorize?x=1');
  });

  it('any other answer of the authorizer is passed to the client as it came', async () => {
    const res = await send(`${gw.url()}/x`, { headers: { cookie: '_oauth2_proxy=broken' } });
    assert.equal(res.status, 500);
    assert.equal(res.text, 'proxy broke');
  });
});

describe('extAuthz: an authorizer that is down, and bad config', () => {
  let dir: string;
  let app: Upstream;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcl-extauthz-'));
    app = await echoUpstream('app');
  });
  after(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('down: 403 PCL_ERR_EXT_AUTHZ_FAILED by default; failureMode: allow lets the request through', async () => {
    const route = (prefix: string, extra: Record<string, unknown>) => ({ matches: [{ path: { pathPrefix: prefix } }], policies: { extAuthz: { host: '127.0.0.1:1', protocol: { http: {} }, ...extra } }, backends: [{ host: app.host }] });
    const gw = await startTestGateway(simpleConfig([route('/deny', {}), route('/allow', { failureMode: 'allow' })] as never));
    try {
      const denied = await send(`${gw.url()}/deny`);
      assert.equal(denied.status, 403);
      assert.equal(denied.json().error.code, 'PCL_ERR_EXT_AUTHZ_FAILED');
      assert.match(denied.json().error.message, /^the external authorizer 127\.0\.0\.1:1 could not decide: /);
      assert.equal((await send(`${gw.url()}/allow`)).status, 200);
    } finally {
      await gw.close();
    }
  });

  it('CEL that does not compile or is not a string, a gRPC authorizer in agentgateway YAML', async () => {
    const p = 'binds[0].listeners[0].routes[0].policies.extAuthz';
    const errorsOf = async (file: string) => {
      const err = await loadConfig(file, builtinPolicies, builtinBackends).then(() => undefined, (e: Error & { code?: string }) => e);
      assert.equal(err?.code, 'PCL_ERR_CONFIG_INVALID');
      return err!.message.split('\n').slice(1);
    };
    const ts = join(dir, 'gateway.config.ts');
    await writeFile(ts, configSource(simpleConfig([{ policies: { extAuthz: { host: 'authz:1', protocol: { http: { path: '1 + 1', redirect: 'request.nope(', metadata: { user: 'response.headers["x"]' } } } } }, backends: [{ host: '127.0.0.1:1' }] }] as never)));
    assert.deepEqual(await errorsOf(ts), [
      `${p}.protocol.http.path: invalid CEL expression "1 + 1": the expression must be of type string, it is of type int`,
      `${p}.protocol.http.redirect: invalid CEL expression "request.nope(": Unexpected token: EOF (column 14)`,
    ]);
    const yaml = join(dir, 'grpc.yaml');
    await writeFile(yaml, 'binds:\n- port: 3000\n  listeners:\n  - routes:\n    - policies:\n        extAuthz:\n          host: localhost:9001\n      backends:\n      - host: 127.0.0.1:1\n');
    assert.deepEqual(await errorsOf(yaml), [`${p}: agentgateway feature \`extAuthz over gRPC\` is not supported by Portcullis (give protocol: { http: {} } for an HTTP authorizer, or use \`authorization\` with Rego or CEL \`rules\`)`]);
  });
});
