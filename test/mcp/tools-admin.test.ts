import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { chromium } from 'playwright-core';
import { ensureUiBuilt } from '../admin/setup.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { EVERYTHING } from '../helpers/mcp.ts';

async function call(base: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<any> {
  const res = await request(`${base}${path}`, { method: (init.method ?? 'GET') as 'GET', headers: init.headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  return { status: res.statusCode, body: await res.body.json() };
}

// The admin UI's picture and MCP playground on a route with tool settings: the playground lists and calls through
// the data plane as a caller, so it shows the tools as clients see them.
describe('admin picture and MCP playground with tool settings', () => {
  let gw: TestGateway;
  let base: string;
  let csrf: string;
  const post = (path: string, body: unknown) => call(base, path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-portcullis-csrf': csrf }, body });

  before(async () => {
    gw = await startTestGateway({
      admin: { address: '127.0.0.1:0' },
      readiness: { address: false },
      stats: { address: false },
      shutdown: { drainTimeoutMs: 500 },
      binds: [
        {
          port: 0,
          address: '127.0.0.1',
          listeners: [
            {
              routes: [
                {
                  name: 'mcp',
                  matches: [{ path: { pathPrefix: '/mcp' } }],
                  backends: [
                    {
                      mcp: {
                        targets: [{ name: 'everything', stdio: { cmd: process.execPath, args: [EVERYTHING, 'stdio'], warmPool: 0 }, tools: { include: ['echo', 'get-sum'], overrides: { 'get-sum': { name: 'add', fixedArguments: { b: 2 } } } } }],
                        toolSearch: { list: 'all' },
                      },
                    },
                  ],
                },
              ],
            },
          ],
        },
      ],
    } as any);
    base = `http://127.0.0.1:${gw.running.admin!.port}`;
    csrf = (await call(base, '/api/session')).body.csrf;
  });
  after(() => gw?.close());

  it('labels the target and backend with what their tool settings change', async () => {
    const picture = (await call(base, '/api/picture')).body;
    const backend = picture.binds[0].listeners[0].routes[0].backends[0];
    assert.equal(backend.tools, 'tool search (all)');
    assert.equal(backend.targets[0].tools, '1 renamed, 1 with fixed/default arguments, include echo get-sum');
  });

  it('lists and calls the overridden tools in the playground', async () => {
    const list = await post('/api/mcp/list', { route: 'mcp' });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.tools.result.tools.map((t: any) => t.name), ['search_tools', 'call_tool', 'echo', 'add']);
    const add = list.body.tools.result.tools.find((t: any) => t.name === 'add');
    assert.deepEqual(Object.keys(add.inputSchema.properties), ['a']);
    const res = await post('/api/mcp/call', { route: 'mcp', tool: 'add', arguments: { a: 40 } });
    assert.deepEqual(res.body.reply.result.content, [{ type: 'text', text: 'The sum of 40 and 2 is 42.' }]);
  });

  it('shows the label and the overridden tools in a real browser, and calls one', async () => {
    ensureUiBuilt();
    const browser = await chromium.launch({ executablePath: process.env.PORTCULLIS_CHROMIUM ?? '/usr/bin/chromium', headless: true });
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(20_000);
      await page.goto(`${base}/ui#/overview`);
      const target = page.locator('.target-node', { hasText: 'everything' });
      await target.waitFor();
      assert.match(await target.innerText(), /tools: 1 renamed, 1 with fixed\/default arguments, include echo get-sum/);
      assert.match(await page.locator('.backend-node').innerText(), /tool search \(all\)/);
      await page.goto(`${base}/ui#/mcp`);
      await page.locator('nav a[data-page="mcp"].active').waitFor();
      await page.selectOption('select[name="route"]', 'mcp');
      await page.click('text=List tools, prompts, resources');
      const tools = page.locator('.listing-tools');
      await tools.locator('button[data-tool="add"]').waitFor();
      assert.equal(await tools.locator('button[data-tool="get-sum"]').count(), 0);
      await tools.locator('button[data-tool="add"]').click();
      assert.equal(await page.locator('input[name="arg-b"]').count(), 0, 'the fixed argument is not offered');
      await page.fill('input[name="arg-a"]', '5');
      await page.click('text=Call add');
      assert.match(await page.locator('.call-result pre[aria-label="result"]').innerText(), /The sum of 5 and 2 is 7/);
    } finally {
      await browser.close();
    }
  });
});
