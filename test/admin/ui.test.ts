import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startEchoAgent } from './a2a-agent.ts';
import { adminConfig, ensureUiBuilt, INGEST_KEY, READONLY_KEY } from './setup.ts';

/** Debian's chromium, as .ci/run installs it. */
const CHROMIUM = process.env.PORTCULLIS_CHROMIUM ?? '/usr/bin/chromium';
/** Each run's screenshots (gitignored); the README shows copies under docs/ui/. */
const SHOTS = fileURLToPath(new URL('./.screenshots/', import.meta.url));

describe('admin UI in a real browser', () => {
  let gw: TestGateway;
  let browser: Browser;
  let page: Page;
  let base: string;
  let agent: Awaited<ReturnType<typeof startEchoAgent>>;
  const consoleErrors: string[] = [];
  /** The test config plus an A2A agent behind a plain HTTP route (the A2A playground speaks to it over HTTP). */
  const config = (broken = false) => adminConfig({ broken, extraRoutes: [{ name: 'agent', matches: [{ path: { pathPrefix: '/agent' } }], backends: [{ host: agent.host }] }] });

  before(async () => {
    ensureUiBuilt();
    mkdirSync(SHOTS, { recursive: true });
    agent = await startEchoAgent();
    gw = await startTestGateway(config(), { watch: true });
    base = `http://127.0.0.1:${gw.running.admin!.port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(20_000);
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await agent?.close();
  });

  const open = async (id: string) => {
    await page.goto(`${base}/ui#/${id}`);
    await page.locator(`nav a[data-page="${id}"].active`).waitFor();
    await page.locator('main h2').waitFor();
  };
  const shot = (name: string) => page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });

  it('Overview: binds, listeners, routes, the MCP target with its warm pool, and a node\'s redacted config', async () => {
    await open('overview');
    await page.locator('.route-node', { hasText: 'mcp' }).first().waitFor();
    const target = page.locator('.target-node', { hasText: 'everything' });
    await target.waitFor();
    assert.match(await target.innerText(), /warm pool 1/);
    await target.click();
    await page.locator('aside.detail h3', { hasText: 'targets[0]' }).waitFor();
    const config = await page.locator('aside.detail pre.json').innerText();
    assert.match(config, /"SECRET_VALUE": "\[redacted\]"/);
    assert.ok(!config.includes('never-shown-9f8e'));
    await shot('overview');
  });

  it('MCP playground: lists the tools a caller may see, calls one, and shows a denied call as denied', async () => {
    await open('mcp');
    await page.selectOption('select[name="route"]', 'mcp');
    await page.selectOption('select[name="credential-kind"]', 'apiKey');
    await page.fill('input[name="credential-value"]', READONLY_KEY);
    await page.click('text=List tools, prompts, resources');
    const tools = page.locator('.listing-tools');
    await tools.locator('button[data-tool="echo"]').waitFor();
    assert.equal(await tools.locator('button[data-tool="gzip-file-as-resource"]').count(), 0);
    await tools.locator('button[data-tool="echo"]').click();
    await page.fill('input[name="arg-message"]', 'hello from the browser');
    await page.click('text=Call echo');
    const result = page.locator('.call-result');
    await result.locator('.badge-allow', { hasText: 'ok' }).waitFor();
    assert.match(await result.locator('pre[aria-label="result"]').innerText(), /Echo: hello from the browser/);
    assert.match(await result.locator('table.decisions').innerText(), /authorization[\s\S]*tools\/call[\s\S]*allow/);
    await shot('mcp-playground');

    // The same call as the data-ingest agent: its rules do not allow echo.
    await page.fill('input[name="credential-value"]', INGEST_KEY);
    await page.click('text=Call echo');
    await result.locator('.badge-deny', { hasText: 'denied' }).waitFor();
    assert.match(await result.innerText(), /Unknown tool: echo/);
    assert.match(await result.locator('table.decisions').innerText(), /authorization[\s\S]*tools\/call[\s\S]*deny/);
    await shot('mcp-playground-denied');
  });

  it('Traffic: the tail shows the call, filtered by tool, and a line shows its decisions', async () => {
    await open('traffic');
    await page.fill('input[name="filter-tool"]', 'echo');
    await page.fill('input[name="filter-identity"]', 'readonly-agent');
    await page.click('text=Apply');
    const line = page.locator('tr.traffic-line', { hasText: 'tools/call echo' }).first();
    await line.waitFor();
    assert.match(await line.innerText(), /readonly-agent/);
    await line.click();
    const detail = page.locator('aside.line-detail');
    await detail.waitFor();
    assert.match(await detail.locator('table.decisions').innerText(), /apiKey[\s\S]*allow[\s\S]*authorization/);
    assert.match(await detail.locator('.trace-id').innerText(), /none \(tracing off\)|[0-9a-f]{32}/);
    await shot('traffic');
    // A live line: a request made now appears without reloading the page.
    await page.fill('input[name="filter-tool"]', '');
    await page.fill('input[name="filter-identity"]', '');
    await page.fill('input[name="filter-route"]', 'welcome');
    await page.click('text=Apply');
    await page.locator('.stream-state', { hasText: 'live' }).waitFor();
    await fetch(`${gw.url()}/`);
    await page.locator('tr.traffic-line', { hasText: 'welcome' }).first().waitFor();
  });

  it('Policies: shows the Rego policy, evaluates an edited input, runs policy test', async () => {
    await open('policies');
    await page.locator('details.policy', { hasText: 'authorization' }).waitFor();
    await page.selectOption('select[name="eval-route"]', 'mcp');
    await page.click('button:text-is("Evaluate")');
    await page.locator('.decision pre', { hasText: '"allow": true' }).waitFor();
    await page.fill('textarea[name="policy-input"]', JSON.stringify({ identity: { kind: 'apiKey', subject: 'data-ingest-agent', roles: ['ingest'], claims: {} }, mcp: { method: 'tools/call', tool: 'echo', listing: false } }));
    await page.click('button:text-is("Evaluate")');
    await page.locator('.decision pre', { hasText: '"allow": false' }).waitFor();
    await page.click('text=Run policy test');
    await page.locator('.policy-test .badge', { hasText: 'passed' }).waitFor({ timeout: 120_000 });
    assert.match(await page.locator('.policy-test pre').innerText(), /PASS/);
    await page.locator('details.policy', { hasText: 'authorization' }).locator('summary').click();
    await shot('policies');
  });

  it('Metrics: the key series from the gateway\'s own events', async () => {
    await open('metrics');
    await page.locator('.stat', { hasText: 'requests' }).first().waitFor();
    const requests = Number(await page.locator('.stat', { hasText: /^\d+requests$/ }).locator('b').innerText());
    assert.ok(requests >= 3, `requests shown: ${requests}`);
    assert.ok(Number(await page.locator('.stat', { hasText: /^\d+denials$/ }).locator('b').innerText()) >= 1);
    await page.locator('figure.chart svg polyline').first().waitFor();
    await shot('metrics');
  });

  it('A2A playground: the card as the caller sees it, a message sent, a stream watched event by event', async () => {
    await open('a2a');
    await page.locator('select[name="route"] option[value="agent"]').waitFor({ state: 'attached' });
    await page.selectOption('select[name="route"]', 'agent');
    await page.click('text=Get card');
    await page.locator('.a2a-card pre', { hasText: '"name": "echo-agent"' }).waitFor();
    await page.fill('input[name="message"]', 'hi agent');
    await page.click('button:text-is("Send")');
    await page.locator('.a2a-send pre', { hasText: 'echo: hi agent' }).first().waitFor();
    await page.click('button:text-is("Stream")');
    await page.locator('.a2a-stream h4', { hasText: 'Stream (4 events)' }).waitFor();
    // The agent ends its stream a moment after the last event: wait for the end line, not just the events.
    await page.locator('.a2a-stream', { hasText: /"state":"completed"[\s\S]*end/ }).waitFor({ timeout: 10_000 });
    const stream = await page.locator('.a2a-stream').innerText();
    assert.match(stream, /"state":"working"[\s\S]*"echo: hi agent"[\s\S]*"state":"completed"[\s\S]*end/);
    await shot('a2a-playground');
  });

  it('Reloads: a broken config edit appears with its file and line, and the fix after it', async () => {
    await open('reloads');
    await page.locator('.stream-state', { hasText: 'live' }).waitFor();
    await gw.write(config(true));
    const failed = page.locator('tr.reload-line.failed').first();
    await failed.waitFor({ timeout: 15_000 });
    assert.match(await failed.locator('.reload-location').innerText(), /gateway\.config\.ts:\d+/);
    await gw.write(config());
    await page.locator('tr.reload-line.ok').first().waitFor({ timeout: 15_000 });
    await shot('reloads');
  });

  it('no page logged a console error', () => {
    assert.deepEqual(consoleErrors, []);
  });
});

describe('admin UI with a token', () => {
  it('asks for the token, refuses a wrong one, and works with the right one', async () => {
    ensureUiBuilt();
    const gw = await startTestGateway(adminConfig({ admin: { token: { secret: 'ui-test-token-7' } } }));
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(20_000);
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));
      await page.goto(`http://127.0.0.1:${gw.running.admin!.port}/ui#/overview`);
      const prompt = page.locator('.token-prompt');
      await prompt.waitFor();
      assert.match(await prompt.innerText(), /the admin API needs its token/);
      await page.fill('input[name="admin-token"]', 'wrong');
      await page.click('text=Continue');
      await prompt.locator('text=wrong admin token').waitFor();
      await page.fill('input[name="admin-token"]', 'ui-test-token-7');
      await page.click('text=Continue');
      await page.locator('.route-node', { hasText: 'mcp' }).first().waitFor();
      assert.equal(await prompt.count(), 0);
      assert.deepEqual(pageErrors, []);
    } finally {
      await browser.close();
      await gw.close();
    }
  });
});
