import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Provider from 'oidc-provider';
import { loadConfig } from '../../core/config/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import { configSource, echoUpstream, simpleConfig, startTestGateway, type TestGateway, type Upstream } from '../helpers/gateway.ts';

/** A real OpenID provider (oidc-provider, with its development login and consent pages) on a loopback port. */
async function startProvider(): Promise<{ issuer: string; server: Server; setRedirect(uri: string): void; close(): Promise<void> }> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => (handler ? handler(req, res) : res.writeHead(503).end()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    server,
    setRedirect(uri: string) {
      const provider = new Provider(issuer, {
        clients: [{ client_id: 'gw', client_secret: 'gw-secret', redirect_uris: [uri], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' }],
        claims: { openid: ['sub'], email: ['email', 'email_verified'] },
        findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id, email: `${id}@example.com`, email_verified: true }) }),
        pkce: { required: () => true },
        // Scope claims (email) in the ID token itself, as Keycloak and most providers put them by default.
        conformIdTokenClaims: false,
      });
      handler = provider.callback();
    },
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** The test plays the browser: a cookie jar, redirects followed by hand, the provider's login and consent forms posted. */
class Browser {
  readonly jar = new Map<string, string>();
  private cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  private keep(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }
  async request(url: string, init: { method?: string; body?: string } = {}): Promise<Response> {
    const res = await fetch(url, { method: init.method ?? 'GET', redirect: 'manual', headers: { cookie: this.cookieHeader(), ...(init.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) }, body: init.body });
    this.keep(res);
    return res;
  }
  /** Follows redirects and fills the provider's forms (login as `user`, then consent) until a page that is not a form. */
  async visit(url: string, user: string): Promise<{ res: Response; url: string; visited: string[] }> {
    const visited: string[] = [];
    let res = await this.request(url);
    for (let step = 0; step < 20; step++) {
      visited.push(url);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        url = new URL(location, url).href;
        res = await this.request(url);
        continue;
      }
      const type = res.headers.get('content-type') ?? '';
      if (res.status === 200 && type.includes('text/html')) {
        const html = await res.text();
        const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
        const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
        if (action && prompt) {
          const body = prompt === 'login' ? `prompt=login&login=${encodeURIComponent(user)}&password=x` : `prompt=${prompt}`;
          url = new URL(action.replaceAll('&amp;', '&'), url).href;
          res = await this.request(url, { method: 'POST', body });
          continue;
        }
        return { res: new Response(html, { status: res.status, headers: res.headers }), url, visited };
      }
      return { res, url, visited };
    }
    throw new Error(`no page after 20 redirects: ${visited.join(' -> ')}`);
  }
}

describe('oidc: browser login with a real OpenID provider', () => {
  let provider: Awaited<ReturnType<typeof startProvider>>;
  let upstream: Upstream;
  let gw: TestGateway;
  let base: string;

  before(async () => {
    provider = await startProvider();
    upstream = await echoUpstream('app');
    // The gateway's port is only known once it listens: the redirect URI names it, so the config is written twice.
    const config = (redirectURI: string) =>
      simpleConfig([
        { name: 'public', matches: [{ path: { pathPrefix: '/public' } }], backends: [{ host: upstream.host }] },
        {
          name: 'app',
          policies: { oidc: { issuer: provider.issuer, clientId: 'gw', clientSecret: 'gw-secret', redirectURI, scopes: ['email'] }, authorization: { rules: ['jwt.email.endsWith("@example.com") && jwt.sub != "mallory"'] } },
          backends: [{ host: upstream.host }],
        },
      ] as never);
    // The redirect URI names the gateway's port, known once it listens on port 0: start, read the port back, and
    // write the real redirect URI (a hot reload keeps the bind and its port).
    gw = await startTestGateway(config('http://127.0.0.1:1/oauth/callback'), { watch: true });
    base = gw.url();
    await gw.write(config(`${base}/oauth/callback`));
    await gw.logs.waitFor((l) => l.msg === 'reloaded');
    assert.equal(gw.url(), base);
    provider.setRedirect(`${base}/oauth/callback`);
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
    await provider?.close();
  });

  it('an unauthenticated request is sent to the provider with PKCE S256, state and nonce; no backend is reached', async () => {
    const before = upstream.seen.length;
    const res = await new Browser().request(`${base}/app/page?x=1`);
    assert.equal(res.status, 302);
    const location = new URL(res.headers.get('location')!);
    assert.equal(location.origin + location.pathname, `${provider.issuer}/auth`);
    assert.equal(location.searchParams.get('client_id'), 'gw');
    assert.equal(location.searchParams.get('redirect_uri'), `${base}/oauth/callback`);
    assert.equal(location.searchParams.get('scope'), 'openid email');
    assert.equal(location.searchParams.get('code_challenge_method'), 'S256');
    for (const p of ['state', 'nonce', 'code_challenge']) assert.ok(location.searchParams.get(p), p);
    assert.match(res.headers.get('set-cookie') ?? '', /^pcl_oidc_tx=[\w-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=600$/);
    assert.equal(upstream.seen.length, before);
  });

  it('login, callback, session: the browser comes back to the page it asked for, and policies see the ID token claims as jwt', async () => {
    const browser = new Browser();
    const { res, visited } = await browser.visit(`${base}/app/page?x=1`, 'alice');
    assert.equal(res.status, 200, `${res.status} after ${visited.join(' -> ')}`);
    const seen = (await res.json()) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/app/page?x=1');
    assert.ok(visited.some((u) => u.startsWith(`${base}/oauth/callback?code=`)), visited.join(' -> '));
    // The gateway's cookies stay between the browser and the gateway.
    assert.ok(!(seen.headers.cookie ?? '').includes('pcl_oidc'), seen.headers.cookie);
    assert.ok(browser.jar.has('pcl_oidc_session'));
    assert.ok(!browser.jar.has('pcl_oidc_tx'), 'the transaction cookie is cleared');
    // The session holds: a second request goes straight through.
    const again = await browser.request(`${base}/app/other`);
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as { url: string }).url, '/app/other');
  });

  it('claims decide: a CEL rule on jwt.sub denies another user after the same login', async () => {
    const { res } = await new Browser().visit(`${base}/app/`, 'mallory');
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'PCL_ERR_FORBIDDEN');
  });

  it('logout ends the session here: the next request goes to the provider again', async () => {
    const browser = new Browser();
    assert.equal((await browser.visit(`${base}/app/`, 'alice')).res.status, 200);
    const out = await browser.request(`${base}/oauth/logout`);
    assert.equal(out.status, 302);
    assert.equal(out.headers.get('location'), '/');
    assert.ok(!browser.jar.has('pcl_oidc_session'));
    const next = await browser.request(`${base}/app/`);
    assert.equal(next.status, 302);
    assert.ok(next.headers.get('location')!.startsWith(`${provider.issuer}/auth`));
  });

  it('a tampered or foreign session cookie is no session (login again), never an error or a crash', async () => {
    const browser = new Browser();
    await browser.visit(`${base}/app/`, 'alice');
    const sealed = browser.jar.get('pcl_oidc_session')!;
    browser.jar.set('pcl_oidc_session', `${sealed.slice(0, -4)}AAAA`);
    assert.equal((await browser.request(`${base}/app/`)).status, 302);
    browser.jar.set('pcl_oidc_session', 'garbage');
    assert.equal((await browser.request(`${base}/app/`)).status, 302);
  });

  it('a callback without this browser\'s transaction, or with another state, is a 400 with a stable code', async () => {
    const stranger = await new Browser().request(`${base}/oauth/callback?code=abc&state=xyz`);
    assert.equal(stranger.status, 400);
    assert.deepEqual(await stranger.json(), { error: { code: 'PCL_ERR_OIDC_CALLBACK_INVALID', message: 'login callback without a login in progress in this browser (no valid transaction cookie): start again from the page you wanted' } });
    const browser = new Browser();
    await browser.request(`${base}/app/`);
    const wrong = await browser.request(`${base}/oauth/callback?code=abc&state=not-the-state`);
    assert.equal(wrong.status, 400);
    assert.equal(((await wrong.json()) as { error: { message: string } }).error.message, 'login callback whose state is not the one this browser was sent with');
  });

  it('the provider\'s error answer and a code it does not know are clear errors', async () => {
    const browser = new Browser();
    const start = await browser.request(`${base}/app/`);
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const denied = await browser.request(`${base}/oauth/callback?error=access_denied&state=${state}`);
    assert.equal(denied.status, 400);
    assert.equal(((await denied.json()) as { error: { message: string } }).error.message, 'the OpenID provider refused the login: access_denied');
    const forged = await browser.request(`${base}/oauth/callback?code=forged&state=${state}&iss=${encodeURIComponent(provider.issuer)}`);
    assert.equal(forged.status, 502);
    const body = (await forged.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'PCL_ERR_OIDC_PROVIDER_FAILED');
    assert.match(body.error.message, /^the OpenID provider's answer to the code exchange was refused: /);
  });
});

describe('oidc: a provider that cannot be reached, and bad config', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcl-oidc-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the config loads while the provider is down; a login then answers 502 with a stable code', async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const issuer = 'http://127.0.0.1:1';
    const gw = await startTestGateway(simpleConfig([{ policies: { oidc: { issuer, clientId: 'gw', clientSecret: 's', redirectURI: 'http://127.0.0.1:1/cb' } }, backends: [{ host: '127.0.0.1:1' }] }] as never));
    try {
      const res = await fetch(`${gw.url()}/x`, { redirect: 'manual' });
      assert.equal(res.status, 502);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'PCL_ERR_OIDC_PROVIDER_FAILED');
      assert.ok(body.error.message.startsWith(`cannot reach the OpenID provider ${issuer}: `), body.error.message);
    } finally {
      await gw.close();
    }
  });

  it('missing settings, a redirect URI that is not a URL, a logout path equal to the callback path', async () => {
    const file = join(dir, 'gateway.config.ts');
    const p = 'binds[0].listeners[0].routes[0].policies.oidc';
    const errors = async (oidc: Record<string, unknown>) => {
      await writeFile(file, configSource(simpleConfig([{ policies: { oidc }, backends: [{ host: '127.0.0.1:1' }] }] as never)));
      const err = await loadConfig(file, builtinPolicies, builtinBackends).then(() => undefined, (e: Error & { code?: string }) => e);
      assert.equal(err?.code, 'PCL_ERR_CONFIG_INVALID');
      return err!.message.split('\n').slice(1);
    };
    assert.deepEqual(await errors({ issuer: 'http://idp', redirectURI: 'http://gw/cb' }), [`${p}.clientId: is required (string)`, `${p}.clientSecret: is required (string or { secret | env | file })`]);
    assert.deepEqual(await errors({ issuer: 'idp', clientId: 'c', clientSecret: 's', redirectURI: '/cb' }), [
      `${p}.issuer: expected an absolute http(s) URL, got "idp"`,
      `${p}.redirectURI: expected an absolute http(s) URL, got "/cb"`,
    ]);
    assert.deepEqual(await errors({ issuer: 'http://idp', clientId: 'c', clientSecret: 's', redirectURI: 'http://gw/oauth/callback', logoutPath: '/oauth/callback' }), [`${p}.logoutPath: must differ from the callback path /oauth/callback (redirectURI)`]);
  });
});
