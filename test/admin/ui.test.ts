import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startEchoAgent } from './a2a-agent.ts';
import { startAgents } from '../../examples/a2a/agents.ts';
import { EVERYTHING, waitUntil } from '../helpers/mcp.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { adminConfig, ensureUiBuilt, INGEST_KEY, READONLY_KEY } from './setup.ts';

/** Debian's chromium, as .ci/run installs it. */
const CHROMIUM = process.env.PORTCULLIS_CHROMIUM ?? '/usr/bin/chromium';
/** Each run's screenshots (gitignored); docs/ shows copies under docs/ui/. */
const SHOTS = fileURLToPath(new URL('./.screenshots/', import.meta.url));
/** The checkout, without its trailing slash. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');

describe('admin UI in a real browser', () => {
  let gw: TestGateway;
  let browser: Browser;
  let page: Page;
  let base: string;
  let agent: Awaited<ReturnType<typeof startEchoAgent>>;
  /** The two agents of examples/a2a (v1.0 SDK agents serving both card versions, JSON-RPC and REST), on free ports. */
  let agents: Awaited<ReturnType<typeof startAgents>>;
  const consoleErrors: string[] = [];
  /** The test config plus an A2A agent behind a plain HTTP route (the A2A playground speaks to it over HTTP). */
  const config = (broken = false) =>
    adminConfig({
      broken,
      // The default warm pool: the Overview test stops a server-everything process that must be running then.
      warmPool: true,
      extraRoutes: [
        { name: 'agent', matches: [{ path: { pathPrefix: '/agent' } }], backends: [{ host: agent.host }] },
        {
          name: 'agents',
          matches: [{ path: { pathPrefix: '/agents' } }],
          backends: [{ a2a: { agents: Object.entries(agents.ports).map(([name, port]) => ({ name, url: `http://127.0.0.1:${port}` })) } }],
        },
      ],
    });

  before(async () => {
    ensureUiBuilt();
    mkdirSync(SHOTS, { recursive: true });
    agent = await startEchoAgent();
    agents = await startAgents({ research: 0, ops: 0 });
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
    await agents?.close();
  });

  const open = async (id: string) => {
    await page.goto(`${base}/ui#/${id}`);
    await page.locator(`nav a[data-page="${id}"].active`).waitFor();
    await page.locator('main h2').waitFor();
  };
  /**
   * Screenshots are copied into docs/ui/, so they show paths as a user reads them in their own project: the test's
   * checkout and temporary config folder are written relative (`node_modules/...`, `gateway.config.ts`). The
   * assertions above each shot read the page as the gateway rendered it.
   */
  const shot = async (name: string) => {
    await page.evaluate((prefixes) => {
      const doc = (globalThis as any).document; // the page's, in the browser (this project's types have no DOM)
      const walker = doc.createTreeWalker(doc.body, 4 /* NodeFilter.SHOW_TEXT */);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        let text = node.nodeValue ?? '';
        for (const prefix of prefixes) text = text.split(prefix).join('');
        if (text !== node.nodeValue) node.nodeValue = text;
      }
    }, [`${gw.dir}/`, `${ROOT}/`]);
    await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
  };

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
    // Until the filtered tail replaces the unfiltered one, the data-ingest agent's echo line may be the first echo
    // line shown: wait for the filter to take effect (the readonly agent's line, and no other identity's).
    const rows = (text: string) => page.locator('tr.traffic-line', { hasText: text }).count();
    await waitUntil(async () => (await rows('readonly-agent')) > 0 && (await rows('data-ingest-agent')) === 0, 20_000, 'the identity filter to apply');
    const line = page.locator('tr.traffic-line', { hasText: 'tools/call echo' }).first();
    await line.waitFor();
    assert.match(await line.innerText(), /readonly-agent/);
    await line.click();
    const detail = page.locator('aside.line-detail');
    await detail.waitFor();
    assert.match(await detail.locator('table.decisions').innerText(), /apiKey[\s\S]*allow[\s\S]*authorization/);
    assert.match(await detail.locator('.trace-id').innerText(), /none \(tracing off\)|[0-9a-f]{32}/);
    // Rows keep their own height beside a tall detail, and the decisions table stays inside the detail panel.
    const detailBox = (await detail.boundingBox())!;
    for (const row of await page.locator('tr.traffic-line').all()) assert.ok((await row.boundingBox())!.height < 60, 'a traffic row stretched');
    const decisionsBox = (await detail.locator('table.decisions').boundingBox())!;
    assert.ok(decisionsBox.x + decisionsBox.width <= detailBox.x + detailBox.width + 1, `decisions table ${decisionsBox.x + decisionsBox.width} spills past the detail ${detailBox.x + detailBox.width}`);
    await shot('traffic');
    // A live line: a request made now appears without reloading the page.
    await page.fill('input[name="filter-tool"]', '');
    await page.fill('input[name="filter-identity"]', '');
    await page.fill('input[name="filter-route"]', 'welcome');
    await page.click('text=Apply');
    await page.locator('.stream-state', { hasText: 'live' }).waitFor();
    await fetch(`${gw.url()}/`);
    await page.locator('tr.traffic-line', { hasText: 'welcome' }).first().waitFor();
    // An empty result says why and what to do.
    await page.fill('input[name="filter-route"]', 'no-such-route');
    await page.click('text=Apply');
    await page.locator('.traffic-empty', { hasText: 'No request matches these filters yet' }).waitFor();
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
    assert.ok(Number(await page.locator('.stat[data-key="denials"]').locator('b').innerText()) >= 1);
    // Human labels, not the API's camelCase keys.
    assert.equal(await page.locator('.stat[data-key="denials"] span').innerText(), 'denied by a policy');
    assert.equal(await page.locator('.stat[data-key="rateLimited"] span').innerText(), 'rate-limited (429)');
    assert.doesNotMatch(await page.locator('.stats').innerText(), /rateLimited|sessionsOpen|reloadsOk/);
    await page.locator('figure.chart svg polyline').first().waitFor();
    // A time axis: clock times under each chart, first before last.
    const times = await page.locator('figure.chart').first().locator('text.time').allTextContents();
    assert.ok(times.length >= 2, `time ticks: ${times.join(', ')}`);
    for (const t of times) assert.match(t, /^\d{2}:\d{2}:\d{2}$/);
    assert.ok(times[0] < times[times.length - 1], times.join(' < '));
    assert.match(await page.locator('figure.chart').first().locator('.legend').innerText(), /HTTP requests[\s\S]*MCP\/A2A messages/);
    await shot('metrics');
  });

  it('A2A playground: the card as the caller sees it, a message sent, a stream watched event by event', async () => {
    await open('a2a');
    await page.locator('select[name="route"] option[value="agent"]').waitFor({ state: 'attached' });
    await page.selectOption('select[name="route"]', 'agent');
    // An A2A v0.3 agent behind a plain HTTP route: its card names its own address, so the route's path is used.
    await page.selectOption('select[name="version"]', '0.3');
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

  it('Policies: a recent request prefills the input the gateway built (roles, arguments), and evaluating it gives the gateway\'s decision', async () => {
    await open('policies');
    await page.locator('details.policy', { hasText: 'authorization' }).waitFor();
    const prefill = async (identity: string) => {
      const option = page.locator('select[name="prefill"] option', { hasText: new RegExp(`POST /mcp ${identity} tools/call|POST /mcp ${identity} echo`) }).first();
      await option.waitFor({ state: 'attached' });
      await page.selectOption('select[name="prefill"]', (await option.getAttribute('value'))!);
      await page.locator('.input-origin', { hasText: 'The input the gateway built' }).waitFor();
      return JSON.parse(await page.locator('textarea[name="policy-input"]').inputValue());
    };
    // The call the gateway allowed (MCP playground, readonly-agent): its roles and arguments are there, and it evaluates to allow.
    const allowed = await prefill('readonly-agent');
    assert.deepEqual(allowed.identity.roles, ['readonly']);
    assert.equal(allowed.mcp.tool, 'echo');
    assert.deepEqual(allowed.mcp.arguments, { message: 'hello from the browser' });
    assert.ok(!JSON.stringify(allowed).includes(READONLY_KEY), 'the API key is not in the input');
    await page.click('button:text-is("Evaluate")');
    await page.locator('.decision pre', { hasText: '"allow": true' }).waitFor();
    await shot('policies-prefilled');
    // The call it denied (data-ingest-agent): evaluates to deny.
    const denied = await prefill('data-ingest-agent');
    assert.deepEqual(denied.identity.roles, ['ingest']);
    await page.click('button:text-is("Evaluate")');
    await page.locator('.decision pre', { hasText: '"allow": false' }).waitFor();
  });

  it('A2A playground against the examples/a2a agents: both card versions, endpoints from the card, the skill in metadata.skill, JSON-RPC and REST', async () => {
    await open('a2a');
    await page.locator('select[name="route"] option[value="agents"]').waitFor({ state: 'attached' });
    assert.equal(await page.locator('.a2a-empty').count(), 0);
    await page.selectOption('select[name="route"]', 'agents');
    assert.equal(await page.inputValue('input[name="path"]'), '/agents/research');
    assert.deepEqual(await page.locator('select[name="agent"] option').allInnerTexts(), ['research', 'ops']);
    // v1.0 card: supportedInterfaces, rewritten to the gateway; the endpoints come from it.
    await page.selectOption('select[name="version"]', '1.0');
    await page.click('text=Get card');
    await page.locator('.a2a-card h4', { hasText: 'A2A 1.0 (HTTP 200)' }).waitFor();
    const v10 = await page.locator('.a2a-card pre').innerText();
    assert.match(v10, /"supportedInterfaces"/);
    assert.doesNotMatch(v10, /^ {2}"url":/m, 'a v1.0 card has no top-level url');
    assert.equal(await page.locator('.endpoint-jsonrpc').innerText(), '/agents/research/a2a/jsonrpc');
    assert.equal(await page.locator('.endpoint-rest').innerText(), '/agents/research/a2a/rest');
    // v0.3 card: the same agent in the older shape (url, no supportedInterfaces).
    await page.selectOption('select[name="version"]', '0.3');
    await page.click('text=Get card');
    await page.locator('.a2a-card h4', { hasText: 'A2A 0.3 (HTTP 200)' }).waitFor();
    const v03 = await page.locator('.a2a-card pre').innerText();
    assert.notEqual(v03, v10);
    // v0.3's shape: the main interface as a top-level url, rewritten to the gateway.
    assert.match(v03, /^ {2}"url": "http:\/\/[^"]+\/agents\/research\/a2a\/jsonrpc"/m);
    await shot('a2a-card-v03');
    // A JSON-RPC send with the skill, in v1.0.
    await page.selectOption('select[name="version"]', '1.0');
    await page.fill('input[name="message"]', 'summarize the notes');
    await page.fill('input[name="skill"]', 'summarize');
    await page.click('button:text-is("Send")');
    await page.locator('.a2a-send h4', { hasText: 'Answer (HTTP 200)' }).waitFor();
    await page.locator('.a2a-send pre', { hasText: 'research: summarize the notes' }).first().waitFor();
    await page.locator('.a2a-send .exchange summary').click();
    const sent = await page.locator('.a2a-send .exchange').innerText();
    assert.match(sent, /POST http:\/\/[^\s]+\/agents\/research\/a2a\/jsonrpc/);
    assert.match(sent, /"metadata":\s*\{\s*"skill":\s*"summarize"/);
    await shot('a2a-send-jsonrpc');
    // The same through the REST binding.
    await page.selectOption('select[name="binding"]', 'rest');
    await page.fill('input[name="message"]', 'search by rest');
    await page.click('button:text-is("Send")');
    await page.locator('.a2a-send pre', { hasText: 'research: search by rest' }).first().waitFor();
    assert.match(await page.locator('.a2a-send .exchange').innerText(), /POST http:\/\/[^\s]+\/agents\/research\/a2a\/rest\/message:send/);
    // A stream from the other agent, event by event.
    await page.selectOption('select[name="binding"]', 'jsonrpc');
    await page.selectOption('select[name="agent"]', '/agents/ops');
    await page.fill('input[name="skill"]', 'status');
    await page.fill('input[name="message"]', 'stream status');
    await page.click('button:text-is("Stream")');
    await page.locator('.a2a-stream', { hasText: /ops step 3\/3[\s\S]*end/ }).waitFor({ timeout: 15_000 });
    await shot('a2a-stream-examples');
  });

  it('Overview: a target\'s last exit names its code or signal, never "undefined"', async () => {
    // Stop one of this gateway's server-everything processes from outside: its exit has a signal and no code.
    const mine = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(EVERYTHING) && readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(process.pid);
      } catch {
        return false;
      }
    });
    assert.ok(mine, 'a server-everything process of this gateway');
    process.kill(Number(mine), 'SIGKILL');
    await open('overview');
    // The page refreshes every 5 s; earlier sessions' processes ended by SIGTERM (the gateway closing them).
    const target = page.locator('.target-node', { hasText: 'last exit: signal SIGKILL' });
    await target.waitFor({ timeout: 15_000 });
    const text = await target.innerText();
    assert.doesNotMatch(text, /undefined|null/);
    await shot('overview-last-exit');
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

describe('admin UI empty states', () => {
  it('the MCP and A2A playgrounds and the Traffic page say what is missing and how to add it', async () => {
    ensureUiBuilt();
    const config = {
      admin: { address: '127.0.0.1:0' },
      readiness: { address: false },
      stats: { address: false },
      binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ name: 'welcome', policies: { directResponse: { status: 200, body: 'hi' } } }] }] }],
    };
    const gw = await startTestGateway(`import { defineConfig } from 'portcullis';\nexport default defineConfig(${JSON.stringify(config)});\n`);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 700 } });
      page.setDefaultTimeout(20_000);
      const base = `http://127.0.0.1:${gw.running.admin!.port}/ui#/`;
      await page.goto(`${base}mcp`);
      assert.match(await page.locator('.mcp-empty').innerText(), /^No MCP route in the running config\. Add a route with an mcp backend, for example backends: \[\{ mcp: .*examples\/basic/);
      await page.goto(`${base}a2a`);
      assert.match(await page.locator('.a2a-empty').innerText(), /^No A2A route in the running config\. Add a route with an a2a backend, for example backends: \[\{ a2a: .*examples\/a2a/);
      await page.screenshot({ path: `${SHOTS}a2a-empty.png`, fullPage: true });
      await page.goto(`${base}traffic`);
      assert.match(await page.locator('.traffic-empty').innerText(), /^No requests yet: send one through the gateway/);
    } finally {
      await browser.close();
      await gw.close();
    }
  });
});
