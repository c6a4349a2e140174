import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { startTestGateway, simpleConfig, type TestGateway } from '../helpers/gateway.ts';
import { ensureUiBuilt } from '../admin/setup.ts';
import { sha256Hex } from '../../policies/api-key/index.ts';
import { browserLogin, startCredsUpstream, startUpstreamAs, type CredsUpstream, type Proc } from './creds-helpers.ts';

const CHROMIUM = process.env.PORTCULLIS_CHROMIUM ?? '/usr/bin/chromium';

describe('admin UI: the Credentials page lists linked upstream accounts and revokes one', () => {
  let authServer: Proc;
  let up: CredsUpstream;
  let gw: TestGateway;
  let browser: Browser;
  before(async () => {
    ensureUiBuilt();
    authServer = await startUpstreamAs(600);
    up = await startCredsUpstream({ jwks: `${authServer.url}/jwks`, audience: 'urn:upstream:oauth' });
    const apiKey = { header: 'x-api-key', keys: [{ name: 'alice', sha256: sha256Hex('alice-ui-key') }] };
    const oauth = {
      name: 'tools',
      authorizationEndpoint: `${authServer.url}/auth`,
      tokenEndpoint: `${authServer.url}/token`,
      clientId: 'gateway-oauth-client',
      clientSecret: { secret: 'gateway-oauth-secret' },
      scopes: ['openid', 'offline_access', 'tools'],
      redirectUri: '/oauth/callback',
    };
    gw = await startTestGateway(
      simpleConfig(
        [
          { name: 'oauth-callback', matches: [{ path: { exact: '/oauth/callback' } }], policies: { upstreamOAuthCallback: {} } },
          { name: 'rest', matches: [{ path: { pathPrefix: '/api' } }], policies: { apiKey, backendAuth: { oauth } }, backends: [{ host: `127.0.0.1:${up.port}` }] },
        ] as any,
        { admin: { address: '127.0.0.1:0' } } as any,
      ),
    );
    await fetch(`${authServer.url}/configure`, { method: 'POST', body: JSON.stringify({ redirectUri: `${gw.url()}/oauth/callback` }) });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await up?.close();
    await authServer?.close();
  });

  it('shows alice once she linked, never a token, and the revoke button drops the link', async () => {
    const first = (await (await fetch(`${gw.url()}/api/whoami`, { headers: { 'x-api-key': 'alice-ui-key' } })).json()) as any;
    assert.equal((await fetch(await browserLogin(first.error.loginUrl, 'alice'))).status, 200);
    assert.equal((await fetch(`${gw.url()}/api/whoami`, { headers: { 'x-api-key': 'alice-ui-key' } })).status, 200);

    const page = await browser.newPage();
    page.setDefaultTimeout(20_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${gw.running.admin!.port}/ui#/credentials`);
    const row = page.locator('tr.credential-link[data-link="tools"][data-subject="alice"]');
    await row.waitFor();
    const shown = await page.locator('main').innerText();
    assert.ok(!/eyJ/.test(shown), 'the page shows a token');
    assert.match(await row.innerText(), /tools\s+alice/);
    await row.locator('button.revoke').click();
    await page.locator('p.notice', { hasText: 'Revoked the tools link of alice' }).waitFor();
    await page.locator('main', { hasText: 'No linked accounts yet.' }).waitFor();
    assert.equal((await fetch(`${gw.url()}/api/whoami`, { headers: { 'x-api-key': 'alice-ui-key' } })).status, 403);
    assert.deepEqual(errors, []);
  });
});
