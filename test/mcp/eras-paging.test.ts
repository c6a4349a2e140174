import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { CallToolResultSchema, CancelTaskResultSchema, CreateTaskResultSchema, GetTaskPayloadResultSchema, GetTaskResultSchema, ListTasksResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, fixtureStdio, MCP_TEST_EXTRA, mcpRoute, postModern, text } from '../helpers/mcp.ts';

const PAGED = fileURLToPath(new URL('../fixtures/mcp/paged-server.ts', import.meta.url));
const V = '2026-07-28';
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': V,
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

function paged(name: string, count: number, size: number) {
  return { name, stdio: { cmd: process.execPath, args: [PAGED, name, String(count), String(size)], warmPool: 0 } };
}

/** One raw 2026-07-28 POST, headers mirroring the body. */
const post = (url: string, body: Record<string, any>) => postModern(url, body);

// Three targets on one prefixed route: "p1" lists 5 tools in pages of 2, "alpha" lists its tools on one page, "p2"
// lists 3 tools in pages of 2; p1 and p2 run tool calls as tasks (2025-11-25), with ids that clash (task-1 each).
describe('MCP lists paged with one gateway cursor across targets, tasks routed by task id', () => {
  let gw: TestGateway;
  let url: string;
  let other: string;
  let flat: string;
  let alphaTools: string[];

  before(async () => {
    gw = await startTestGateway(
      simpleConfig(
        [
          mcpRoute([paged('p1', 5, 2), fixtureStdio('alpha'), paged('p2', 3, 2)]),
          { ...mcpRoute([paged('p3', 3, 2)], {}, 'other'), matches: [{ path: { pathPrefix: '/other' } }] },
          { ...mcpRoute([paged('q1', 3, 2), paged('q2', 2, 1)], { prefixMode: 'never' }, 'flat'), matches: [{ path: { pathPrefix: '/flat' } }] },
          {
            ...mcpRoute([paged('f1', 5, 2)], {}, 'filtered'),
            matches: [{ path: { pathPrefix: '/filtered' } }],
            policies: { mcpAuthorization: { rules: ['mcp.tool.name == "t4"'] } },
          },
        ],
        MCP_TEST_EXTRA,
      ),
    );
    url = `${gw.url()}/mcp`;
    other = `${gw.url()}/other/mcp`;
    flat = `${gw.url()}/flat/mcp`;
    const v1 = await connectClient(url);
    alphaTools = (await v1.listTools()).tools.map((t) => t.name).filter((n) => n.startsWith('alpha_'));
    await v1.close();
  });
  after(async () => {
    await gw?.close();
  });

  it('a 2026-07-28 client walks the pages: each target page once, in target order, nextCursor until the last', async () => {
    const pages: string[][] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const r = await post(url, { id: i, method: 'tools/list', params: cursor === undefined ? {} : { cursor } });
      assert.equal(r.status, 200);
      assert.equal(r.body.result.resultType, 'complete');
      pages.push(r.body.result.tools.map((t: { name: string }) => t.name));
      cursor = r.body.result.nextCursor;
      if (cursor === undefined) break;
      assert.match(cursor, /^pcc1\./);
    }
    assert.deepEqual(pages, [['p1_t0', 'p1_t1'], ['p1_t2', 'p1_t3'], ['p1_t4', ...alphaTools, 'p2_t0', 'p2_t1'], ['p2_t2']]);
  });

  it('the SDK v2 client (pinned to 2026-07-28) follows the cursor to the whole list and calls a tool of the last page', async () => {
    const client = new ClientV2({ name: 'v2', version: '1.0.0' }, { versionNegotiation: { mode: { pin: V } } });
    await client.connect(new HttpV2(new URL(url)));
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      assert.deepEqual(names, ['p1_t0', 'p1_t1', 'p1_t2', 'p1_t3', 'p1_t4', ...alphaTools, 'p2_t0', 'p2_t1', 'p2_t2']);
      assert.equal(text(await client.callTool({ name: 'p2_t2', arguments: {} })), 'p2 ran t2');
    } finally {
      await client.close();
    }
  });

  it('an SDK v1 (2025) client still gets every target\'s whole list on one page, and a cursor it sends is ignored as before', async () => {
    const client = await connectClient(url);
    try {
      const all = await client.listTools();
      assert.equal(all.nextCursor, undefined);
      assert.deepEqual(all.tools.map((t) => t.name), ['p1_t0', 'p1_t1', 'p1_t2', 'p1_t3', 'p1_t4', ...alphaTools, 'p2_t0', 'p2_t1', 'p2_t2']);
      const again = await client.listTools({ cursor: 'anything' });
      assert.equal(again.tools.length, all.tools.length);
    } finally {
      await client.close();
    }
  });

  it('without prefixes on several targets (names may collide across pages) a 2026-07-28 client gets the whole list', async () => {
    const r = await post(flat, { id: 1, method: 'tools/list', params: {} });
    assert.equal(r.body.result.nextCursor, undefined);
    // q1 and q2 both have t0 and t1: the collision leaves them out, as on one page before.
    assert.deepEqual(r.body.result.tools.map((t: { name: string }) => t.name), ['t2']);
    // It never issues a cursor there, so one sent is not the gateway's.
    const forged = await post(flat, { id: 2, method: 'tools/list', params: { cursor: 'at:2' } });
    assert.equal(forged.body.error.code, -32602);
    assert.equal(forged.body.error.message, 'Invalid params: cursor refused: it was not issued by this gateway');
  });

  it('policies filter each page per caller: pages come out short, even empty, and the cursor still leads on', async () => {
    const pages: string[][] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const r = await post(`${gw.url()}/filtered/mcp`, { id: i, method: 'tools/list', params: cursor === undefined ? {} : { cursor } });
      pages.push(r.body.result.tools.map((t: { name: string }) => t.name));
      cursor = r.body.result.nextCursor;
      if (cursor === undefined) break;
    }
    assert.deepEqual(pages, [[], [], ['t4']]);
    const client = new ClientV2({ name: 'v2', version: '1.0.0' }, { versionNegotiation: { mode: { pin: V } } });
    await client.connect(new HttpV2(new URL(`${gw.url()}/filtered/mcp`)));
    try {
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ['t4']);
    } finally {
      await client.close();
    }
  });

  describe('bad cursors: -32602 with PCL_ERR_MCP_CURSOR_INVALID, logged, nothing else disturbed', () => {
    async function firstCursor(): Promise<string> {
      const r = await post(url, { id: 1, method: 'tools/list', params: {} });
      return r.body.result.nextCursor;
    }

    it('garbled, forged, tampered', async () => {
      const good = await firstCursor();
      const [, body, mac] = /^pcc1\.([^.]+)\.(.+)$/.exec(good)!;
      const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
      const tampered = `pcc1.${Buffer.from(JSON.stringify({ ...payload, c: 'at:0' })).toString('base64url')}.${mac}`;
      const cases: Array<[unknown, string]> = [
        ['at:2', 'it was not issued by this gateway'],
        [`pcc1.${body}.${Buffer.alloc(32).toString('base64url')}`, 'its integrity check failed'],
        [tampered, 'its integrity check failed'],
        [42, 'it was not issued by this gateway'],
      ];
      for (const [cursor, reason] of cases) {
        const r = await post(url, { id: 2, method: 'tools/list', params: { cursor } });
        assert.equal(r.status, 200);
        assert.equal(r.body.error.code, -32602, String(cursor));
        assert.equal(r.body.error.message, `Invalid params: cursor refused: ${reason}`);
        assert.equal(r.body.error.data.code, 'PCL_ERR_MCP_CURSOR_INVALID');
      }
      await gw.logs.waitFor((l) => l.code === 'PCL_ERR_MCP_CURSOR_INVALID' && l.reason === 'its integrity check failed');
    });

    it('a cursor of another list or another route', async () => {
      const good = await firstCursor();
      const prompts = await post(url, { id: 3, method: 'prompts/list', params: { cursor: good } });
      assert.equal(prompts.body.error.message, 'Invalid params: cursor refused: it was issued for another route or list');
      const elsewhere = await post(other, { id: 4, method: 'tools/list', params: { cursor: good } });
      assert.equal(elsewhere.body.error.code, -32602);
      assert.equal(elsewhere.body.error.message, 'Invalid params: cursor refused: it was issued for another route or list');
      // The route's own cursor still pages.
      const ok = await post(other, { id: 5, method: 'tools/list', params: {} });
      const next = await post(other, { id: 6, method: 'tools/list', params: { cursor: ok.body.result.nextCursor } });
      assert.deepEqual(next.body.result.tools.map((t: { name: string }) => t.name), ['t2']);
    });
  });

  it('tasks on several targets (SDK v1 client): ids carry their target, each tasks/* call reaches the task\'s owner', async () => {
    const client = await connectClient(url);
    try {
      assert.ok(client.getServerCapabilities()?.tasks, JSON.stringify(client.getServerCapabilities()));
      const a = await client.request({ method: 'tools/call', params: { name: 'p1_t0', arguments: {}, task: { ttl: 60_000 } } }, CreateTaskResultSchema);
      const b = await client.request({ method: 'tools/call', params: { name: 'p2_t1', arguments: {}, task: { ttl: 60_000 } } }, CreateTaskResultSchema);
      // Both targets numbered their task "task-1": the gateway's ids tell them apart.
      assert.equal(a.task.taskId, 'p1_task-1');
      assert.equal(b.task.taskId, 'p2_task-1');
      const got = await client.request({ method: 'tasks/get', params: { taskId: 'p2_task-1' } }, GetTaskResultSchema);
      assert.equal(got.taskId, 'p2_task-1');
      assert.equal(got.status, 'working');
      const result = await client.request({ method: 'tasks/result', params: { taskId: 'p2_task-1' } }, GetTaskPayloadResultSchema);
      assert.equal((result as any).content[0].text, 'p2 ran t1 as task-1');
      assert.deepEqual((result as any)._meta['io.modelcontextprotocol/related-task'], { taskId: 'p2_task-1' });
      const statuses: unknown[] = [];
      client.fallbackNotificationHandler = async (n) => void statuses.push(n);
      const cancelled = await client.request({ method: 'tasks/cancel', params: { taskId: 'p1_task-1' } }, CancelTaskResultSchema);
      assert.equal(cancelled.taskId, 'p1_task-1');
      assert.equal(cancelled.status, 'cancelled');
      const listed = await client.request({ method: 'tasks/list', params: {} }, ListTasksResultSchema);
      assert.deepEqual(listed.tasks.map((t) => [t.taskId, t.status]), [['p1_task-1', 'cancelled'], ['p2_task-1', 'completed']]);
      assert.deepEqual(statuses.map((n: any) => [n.method, n.params.taskId]), [['notifications/tasks/status', 'p1_task-1']]);
      // A plain call on the same route is unchanged.
      const plain = await client.request({ method: 'tools/call', params: { name: 'p1_t3', arguments: {} } }, CallToolResultSchema);
      assert.equal(text(plain), 'p1 ran t3');
    } finally {
      await client.close();
    }
  });

  it('a task id of no target of the route: -32602 with PCL_ERR_MCP_TASK_UNKNOWN, logged', async () => {
    const client = await connectClient(url);
    try {
      for (const taskId of ['nobody_task-1', 'task-1', 'p1_']) {
        const e = await client.request({ method: 'tasks/get', params: { taskId } }, GetTaskResultSchema).then(
          () => assert.fail('accepted'),
          (err: { code: number; message: string; data: { code: string } }) => err,
        );
        assert.equal(e.code, -32602);
        assert.equal(e.data.code, 'PCL_ERR_MCP_TASK_UNKNOWN');
        assert.match(e.message, new RegExp(`unknown task "${taskId}": it names none of this route's targets`));
      }
      await gw.logs.waitFor((l) => l.code === 'PCL_ERR_MCP_TASK_UNKNOWN' && l.method === 'tasks/get');
      // The target's own refusal of a task it does not know passes through.
      const missing = await client.request({ method: 'tasks/get', params: { taskId: 'p2_task-99' } }, GetTaskResultSchema).then(
        () => assert.fail('accepted'),
        (err: { code: number; message: string }) => err,
      );
      assert.equal(missing.code, -32602);
      assert.match(missing.message, /p2: unknown task task-99/);
    } finally {
      await client.close();
    }
  });

  it('a 2026-07-28 client: tasks/get by the prefixed id (Mcp-Name mirrors it), unknown ids refused', async () => {
    const created = await post(url, { id: 1, method: 'tools/call', params: { name: 'p2_t0', arguments: {}, task: { ttl: 1000 } } });
    const taskId = created.body.result.task.taskId;
    assert.match(taskId, /^p2_task-\d+$/);
    const got = await post(url, { id: 2, method: 'tasks/get', params: { taskId } });
    assert.equal(got.body.result.taskId, taskId);
    assert.equal(got.body.result.resultType, 'complete');
    const unknown = await post(url, { id: 3, method: 'tasks/get', params: { taskId: 'zz_task-1' } });
    assert.equal(unknown.body.error.code, -32602);
    assert.equal(unknown.body.error.data.code, 'PCL_ERR_MCP_TASK_UNKNOWN');
  });
});

// The 2026-07-28 Tasks extension end to end: two 2026-only targets that both number their first task "task-1".
describe('MCP tasks extension (2026-07-28) on several 2026-only targets', () => {
  const MODERN_TASKS = fileURLToPath(new URL('../fixtures/mcp/modern-tasks-server.ts', import.meta.url));
  let gw: TestGateway;
  let url: string;
  const withTasks = { ...ENVELOPE, 'io.modelcontextprotocol/clientCapabilities': { extensions: { 'io.modelcontextprotocol/tasks': {} } } };

  /** A raw 2026-07-28 POST whose client declares the Tasks extension. */
  async function postTasks(body: Record<string, any>) {
    const name = body.params?.name ?? body.params?.taskId;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'mcp-protocol-version': V, 'mcp-method': String(body.method), ...(typeof name === 'string' ? { 'mcp-name': name } : {}) },
      body: JSON.stringify({ jsonrpc: '2.0', ...body, params: { ...body.params, _meta: withTasks } }),
    });
    return (await res.json()) as any;
  }

  before(async () => {
    const target = (name: string) => ({ name, stdio: { cmd: process.execPath, args: [MODERN_TASKS, name], warmPool: 0 } });
    gw = await startTestGateway(simpleConfig([mcpRoute([target('m1'), target('m2')])], MCP_TEST_EXTRA));
    url = `${gw.url()}/mcp`;
  });
  after(async () => {
    await gw?.close();
  });

  it('server/discover names the extension; a CreateTaskResult\'s id names its target; get, update, cancel reach the owner', async () => {
    const discover = await postTasks({ id: 1, method: 'server/discover', params: {} });
    assert.ok('io.modelcontextprotocol/tasks' in discover.result.capabilities.extensions);
    const a = await postTasks({ id: 2, method: 'tools/call', params: { name: 'm1_work', arguments: {} } });
    const b = await postTasks({ id: 3, method: 'tools/call', params: { name: 'm2_work', arguments: {} } });
    assert.equal(a.result.resultType, 'task');
    assert.equal(a.result.taskId, 'm1_task-1');
    assert.equal(b.result.taskId, 'm2_task-1');
    const working = await postTasks({ id: 4, method: 'tasks/get', params: { taskId: 'm2_task-1' } });
    assert.deepEqual([working.result.taskId, working.result.status, working.result.resultType], ['m2_task-1', 'working', 'complete']);
    const ack = await postTasks({ id: 5, method: 'tasks/update', params: { taskId: 'm2_task-1', inputResponses: { q: { action: 'accept' } } } });
    assert.equal(ack.result.resultType, 'complete');
    const done = await postTasks({ id: 6, method: 'tasks/get', params: { taskId: 'm2_task-1' } });
    assert.equal(done.result.status, 'completed');
    assert.equal(done.result.result.content[0].text, 'm2 worked');
    await postTasks({ id: 7, method: 'tasks/cancel', params: { taskId: 'm1_task-1' } });
    const cancelled = await postTasks({ id: 8, method: 'tasks/get', params: { taskId: 'm1_task-1' } });
    assert.deepEqual([cancelled.result.taskId, cancelled.result.status], ['m1_task-1', 'cancelled']);
    // m2's own task-1 was untouched by m1's cancellation.
    assert.equal((await postTasks({ id: 9, method: 'tasks/get', params: { taskId: 'm2_task-1' } })).result.status, 'completed');
  });

  it('an unknown target\'s task id is -32602; a client without the extension gets the plain result', async () => {
    for (const method of ['tasks/get', 'tasks/update', 'tasks/cancel']) {
      const r = await postTasks({ id: 10, method, params: { taskId: 'm3_task-1', inputResponses: {} } });
      assert.equal(r.error.code, -32602, method);
      assert.equal(r.error.data.code, 'PCL_ERR_MCP_TASK_UNKNOWN', method);
    }
    const plain = await post(url, { id: 11, method: 'tools/call', params: { name: 'm1_work', arguments: {} } });
    assert.equal(plain.body.result.resultType, 'complete');
    assert.equal(plain.body.result.content[0].text, 'm1 worked');
  });
});
