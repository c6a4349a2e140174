import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CreateMessageRequestSchema, ResourceUpdatedNotificationSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { ConfigValidationError, validateConfig } from '../../core/config/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, countTagged, fixtureStdio, MCP_TEST_EXTRA, mcpRoute, text, waitUntil } from '../helpers/mcp.ts';

type Message = Record<string, any>;

/** A session spoken to with raw HTTP, so that the test picks every request id and progress token itself. */
class RawSession {
  id = '';
  private readonly url: string;
  constructor(url: string) {
    this.url = url;
  }

  async open(capabilities: Record<string, unknown> = {}): Promise<Message> {
    const res = await this.post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities, clientInfo: { name: 'raw', version: '1' } } });
    await this.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    return res[0];
  }

  /** Every message of the answer: one JSON body, or each event of an SSE stream. */
  async post(body: unknown, signal?: AbortSignal): Promise<Message[]> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    if (this.id) Object.assign(headers, { 'mcp-session-id': this.id, 'mcp-protocol-version': '2025-06-18' });
    const res = await fetch(this.url, { method: 'POST', headers, body: JSON.stringify(body), signal });
    this.id ||= res.headers.get('mcp-session-id') ?? '';
    const raw = await res.text();
    if (res.status === 202) return [];
    assert.ok(res.status < 300, `${res.status} ${raw}`);
    if (!String(res.headers.get('content-type')).includes('text/event-stream')) return [JSON.parse(raw)].flat();
    return raw.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
  }

  async call(id: number, name: string, args: Record<string, unknown> = {}, meta?: Record<string, unknown>): Promise<Message[]> {
    return this.post({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) } });
  }

  async close(): Promise<void> {
    if (this.id) await fetch(this.url, { method: 'DELETE', headers: { 'mcp-session-id': this.id } }).then((r) => r.text());
  }
}

function answerOf(messages: Message[], id: number): Message {
  const found = messages.find((m) => m.id === id && ('result' in m || 'error' in m));
  assert.ok(found, `no answer to ${id} in ${JSON.stringify(messages)}`);
  return found;
}

const resultText = (m: Message): string => m.result?.content?.[0]?.text ?? '';

/** Calls of the fixture's `slow` tool that began in the process behind `ask` (its `cancelled` tool reports them). */
async function slowStarted(ask: (args: Record<string, unknown>) => Promise<string>): Promise<number> {
  return Number(await ask({ which: 'started' }));
}

/** Waits until the process has begun `n` calls of `slow`: a call is in flight there, not just sent. */
async function untilSlowStarted(ask: (args: Record<string, unknown>) => Promise<string>, n: number): Promise<void> {
  await waitUntil(async () => (await slowStarted(ask)) >= n, 5000, `${n} calls of slow to reach the process`);
}

/** Asks a raw session's process through its `cancelled` tool, with request ids of its own (from 1000 up). */
function rawAsk(s: RawSession): (args: Record<string, unknown>) => Promise<string> {
  let id = 1000;
  return async (args) => {
    const n = id++;
    return resultText(answerOf(await s.call(n, 'cancelled', args), n));
  };
}

const clientAsk = (c: Client) => async (args: Record<string, unknown>) => text(await c.callTool({ name: 'cancelled', arguments: args }));

function issues(stdio: unknown): string[] {
  try {
    validateConfig({ binds: [{ port: 1, listeners: [{ routes: [{ backends: [{ mcp: { targets: [{ name: 'a', stdio }] } }] }] }] }] }, builtinPolicies, builtinBackends);
  } catch (err) {
    assert.ok(err instanceof ConfigValidationError);
    assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}

describe('stdio.shared: settings', () => {
  const P = 'binds[0].listeners[0].routes[0].backends[0].mcp.targets[0].stdio';
  it('accepts true and false, with maxProcesses', () => {
    assert.deepEqual(issues({ cmd: 'x', shared: true, maxProcesses: 2 }), []);
    assert.deepEqual(issues({ cmd: 'x', shared: false, warmPool: 2, warmPoolMax: 4 }), []);
  });
  it('rejects a value that is not a boolean, with its path', () => {
    assert.deepEqual(issues({ cmd: 'x', shared: 'yes' }), [`${P}.shared: expected boolean, got string`]);
    assert.deepEqual(issues({ cmd: 'x', shared: 1 }), [`${P}.shared: expected boolean, got number`]);
  });
  it('rejects warm-pool settings beside it (the shared process is the warm one)', () => {
    assert.deepEqual(issues({ cmd: 'x', shared: true, warmPool: 2, warmPoolMax: 4 }), [
      `${P}.warmPool: warmPool has no effect with shared: true (sessions share one process, started at load): remove warmPool, or set shared: false`,
      `${P}.warmPoolMax: warmPoolMax has no effect with shared: true (sessions share one process, started at load): remove warmPoolMax, or set shared: false`,
    ]);
    assert.deepEqual(issues({ cmd: 'x', shared: true, warmPool: 0 }).length, 1);
  });
});

describe('stdio.shared: many sessions, one process, isolated', () => {
  const tag = randomUUID();
  let gw: TestGateway;
  let url: string;
  const sessions: RawSession[] = [];
  const clients: Client[] = [];

  async function raw(capabilities: Record<string, unknown> = {}): Promise<RawSession> {
    const s = new RawSession(url);
    sessions.push(s);
    await s.open(capabilities);
    return s;
  }

  async function client(capabilities: Record<string, unknown> = {}): Promise<Client> {
    const c = await connectClient(url, { capabilities });
    clients.push(c);
    return c;
  }

  before(async () => {
    gw = await startTestGateway(simpleConfig([mcpRoute([fixtureStdio('solo', tag, { shared: true })], { requestTimeoutMs: 8000 })], MCP_TEST_EXTRA));
    url = `${gw.url()}/mcp`;
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => {});
    for (const s of sessions) await s.close().catch(() => {});
    await gw?.close();
    await waitUntil(() => countTagged(tag) === 0, 10_000, 'the shared process to stop with the gateway');
  });

  it('answers every session from one process; closing sessions never stops it', async () => {
    const a = await raw();
    const b = await raw();
    const init = await new RawSession(url).open();
    assert.equal(init.result.instructions, 'fixture solo');
    const pidA = JSON.parse(resultText(answerOf(await a.call(1, 'whoami'), 1))).pid;
    const pidB = JSON.parse(resultText(answerOf(await b.call(1, 'whoami'), 1))).pid;
    assert.equal(pidA, pidB);
    // The process started at load is for the newest protocol version; these clients ask 2025-06-18: a second kind.
    assert.equal(countTagged(tag), 2);
    await a.close();
    await b.close();
    const c = await raw();
    assert.equal(JSON.parse(resultText(answerOf(await c.call(3, 'whoami'), 3))).pid, pidA);
  });

  it('two sessions sending the same request ids at once each get only their own answers', async () => {
    const a = await raw();
    const b = await raw();
    for (let round = 0; round < 10; round++) {
      const [ra, rb] = await Promise.all([a.call(7, 'echo', { text: `A${round}` }), b.call(7, 'echo', { text: `B${round}` })]);
      assert.equal(resultText(answerOf(ra, 7)), `solo: A${round}`);
      assert.equal(resultText(answerOf(rb, 7)), `solo: B${round}`);
      assert.equal(ra.length, 1);
      assert.equal(rb.length, 1);
    }
    // A batch of the same ids in both sessions at once.
    const batch = (who: string) => [1, 2, 3].map((id) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text: `${who}${id}` } } }));
    const [ba, bb] = await Promise.all([a.post(batch('A')), b.post(batch('B'))]);
    for (const id of [1, 2, 3]) {
      assert.equal(resultText(answerOf(ba, id)), `solo: A${id}`);
      assert.equal(resultText(answerOf(bb, id)), `solo: B${id}`);
    }
  });

  it('progress with the same token in two sessions goes only to its own session, with its own token', async () => {
    const a = await raw();
    const b = await raw();
    const [ra, rb] = await Promise.all([a.call(5, 'progress', { steps: 3 }, { progressToken: 'tok' }), b.call(5, 'progress', { steps: 5 }, { progressToken: 'tok' })]);
    const progress = (ms: Message[]) => ms.filter((m) => m.method === 'notifications/progress').map((m) => m.params);
    assert.deepEqual(progress(ra), [1, 2, 3].map((i) => ({ progressToken: 'tok', progress: i, total: 3 })));
    assert.deepEqual(progress(rb), [1, 2, 3, 4, 5].map((i) => ({ progressToken: 'tok', progress: i, total: 5 })));
    assert.equal(resultText(answerOf(ra, 5)), 'done 3');
    assert.equal(resultText(answerOf(rb, 5)), 'done 5');
  });

  it("a session's cancellation reaches only its own call, though the other session used the same id", async () => {
    const a = await raw();
    const b = await raw();
    const before = Number(resultText(answerOf(await a.call(1, 'cancelled'), 1)));
    const askA = rawAsk(a);
    const started = await slowStarted(askA);
    const callA = a.call(9, 'slow', { ms: 1500 });
    const callB = b.call(9, 'slow', { ms: 1500 }).catch(() => []);
    await untilSlowStarted(askA, started + 2);
    await b.post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 9, reason: 'test' } });
    assert.equal(resultText(answerOf(await callA, 9)), 'slept');
    await waitUntil(async () => Number(resultText(answerOf(await a.call(2, 'cancelled'), 2))) === before + 1, 5000, 'the cancellation to reach the process');
    // B's cancelled call is never answered by the server; its POST ends with the request time limit.
    void callB;
  });

  it('a server request goes to the session whose call caused it; with two sessions in flight it is refused', async () => {
    const asked: string[] = [];
    const a = await client({ sampling: {} });
    const b = await client({ sampling: {} });
    a.setRequestHandler(CreateMessageRequestSchema, async () => {
      asked.push('a');
      return { model: 'm', role: 'assistant', content: { type: 'text', text: 'from a' } };
    });
    b.setRequestHandler(CreateMessageRequestSchema, async () => {
      asked.push('b');
      return { model: 'm', role: 'assistant', content: { type: 'text', text: 'from b' } };
    });
    assert.equal(text(await a.callTool({ name: 'ask', arguments: {} })), 'sampled: from a');
    assert.equal(text(await b.callTool({ name: 'ask', arguments: {} })), 'sampled: from b');
    assert.deepEqual(asked, ['a', 'b']);
    // A call of a is in flight: whose is the server's question? The gateway cannot know, so it refuses it.
    const started = await slowStarted(clientAsk(a));
    const slow = a.callTool({ name: 'slow', arguments: { ms: 1500 } });
    await untilSlowStarted(clientAsk(a), started + 1);
    await assert.rejects(b.callTool({ name: 'ask', arguments: {} }), /sampling\/createMessage refused: this process is shared by several client sessions \(stdio\.shared\)/);
    assert.equal(text(await slow), 'slept');
    assert.deepEqual(asked, ['a', 'b']);
  });

  it('resource updates go only to subscribers; list_changed goes to every session and refreshes the list', async () => {
    const a = await client();
    const b = await client();
    const updates = { a: 0, b: 0 };
    const changed = { a: 0, b: 0 };
    a.setNotificationHandler(ResourceUpdatedNotificationSchema, () => void updates.a++);
    b.setNotificationHandler(ResourceUpdatedNotificationSchema, () => void updates.b++);
    a.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed.a++);
    b.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed.b++);
    // Both list first: the second is served from the process's cached list.
    assert.ok(!(await a.listTools()).tools.some((t) => t.name === 'extra'));
    assert.ok(!(await b.listTools()).tools.some((t) => t.name === 'extra'));
    await a.subscribeResource({ uri: 'fixture://solo/info' });
    await waitUntil(() => updates.a === 1, 5000, 'a to get its update');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(updates.b, 0);
    // b subscribes too: the server's next update reaches both; a's unsubscribe leaves b subscribed.
    await b.subscribeResource({ uri: 'fixture://solo/info' });
    await waitUntil(() => updates.a === 2 && updates.b === 1, 5000, 'both to get the update');
    await a.unsubscribeResource({ uri: 'fixture://solo/info' });
    await b.subscribeResource({ uri: 'fixture://solo/info' });
    await waitUntil(() => updates.b === 2, 5000, 'b to get its update');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(updates.a, 2);

    assert.equal(text(await a.callTool({ name: 'add-tool', arguments: {} })), 'added');
    await waitUntil(() => changed.a === 1 && changed.b === 1, 5000, 'both sessions to hear the list changed');
    assert.ok((await b.listTools()).tools.some((t) => t.name === 'extra'), 'b lists the new tool (the cached list was dropped)');
    const late = await client();
    assert.ok((await late.listTools()).tools.some((t) => t.name === 'extra'), 'a new session lists the new tool');
  });

  it('a crash fails the calls in flight of every session with a clear error; the next request restarts it', async () => {
    const a = await raw();
    const b = await raw();
    const pid = JSON.parse(resultText(answerOf(await a.call(1, 'whoami'), 1))).pid;
    const askA = rawAsk(a);
    const started = await slowStarted(askA);
    const slow = a.call(2, 'slow', { ms: 5000 });
    await untilSlowStarted(askA, started + 1);
    const crash = answerOf(await b.call(2, 'crash'), 2);
    const lost = answerOf(await slow, 2);
    for (const m of [crash, lost]) {
      assert.equal(m.error?.code, -32080);
      assert.equal(m.error?.message, 'target "solo" is unavailable: its shared process ended (it is started again for the next request)');
    }
    let next = 0;
    await waitUntil(
      async () => {
        const r = answerOf(await b.call(10 + next++, 'whoami'), 10 + next - 1);
        return !r.error && JSON.parse(resultText(r)).pid !== pid;
      },
      10_000,
      'the shared process to be started again',
    );
    const pidA = JSON.parse(resultText(answerOf(await a.call(3, 'whoami'), 3))).pid;
    const pidB = JSON.parse(resultText(answerOf(await b.call(99, 'whoami'), 99))).pid;
    assert.equal(pidA, pidB);
    assert.notEqual(pidA, pid);
  });
});

describe('stdio.shared: reloads and stateless routes', () => {
  const tag = randomUUID();
  let gw: TestGateway;
  const sessions: RawSession[] = [];

  before(async () => {
    gw = await startTestGateway(
      simpleConfig(
        [
          { ...mcpRoute([fixtureStdio('kept', tag, { shared: true })], {}, 'kept'), matches: [{ path: { pathPrefix: '/kept' } }] },
          { ...mcpRoute([fixtureStdio('nostate', tag, { shared: true })], { statefulMode: 'stateless' }, 'nostate'), matches: [{ path: { pathPrefix: '/nostate' } }] },
        ],
        MCP_TEST_EXTRA,
      ),
    );
  });
  after(async () => {
    for (const s of sessions) await s.close().catch(() => {});
    await gw?.close();
    await waitUntil(() => countTagged(tag) === 0, 10_000, 'the shared processes to stop with the gateway');
  });

  it('stateless requests, each its own session, all use one process', async () => {
    const pids = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const s = new RawSession(`${gw.url()}/nostate/mcp`);
      pids.add(JSON.parse(resultText(answerOf(await s.call(i, 'whoami'), i))).pid);
    }
    assert.equal(pids.size, 1);
  });

  it('after a reload open sessions keep their process, which stops with the last of them', async () => {
    const old = new RawSession(`${gw.url()}/kept/mcp`);
    sessions.push(old);
    await old.open();
    const pid = JSON.parse(resultText(answerOf(await old.call(1, 'whoami'), 1))).pid;
    const result = await gw.running.reload();
    assert.equal(result.ok, true, String(result.error));
    assert.equal(JSON.parse(resultText(answerOf(await old.call(2, 'whoami'), 2))).pid, pid);
    // New sessions get the new runtime's process.
    const fresh = new RawSession(`${gw.url()}/kept/mcp`);
    sessions.push(fresh);
    await fresh.open();
    assert.notEqual(JSON.parse(resultText(answerOf(await fresh.call(1, 'whoami'), 1))).pid, pid);
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    assert.ok(alive());
    await old.close();
    await waitUntil(() => !alive(), 10_000, "the old runtime's shared process to stop with its last session");
  });
});

describe('stdio.shared: the process limit', () => {
  const tag = randomUUID();
  let gw: TestGateway;
  const sessions: RawSession[] = [];

  before(async () => {
    gw = await startTestGateway(simpleConfig([mcpRoute([fixtureStdio('one', tag, { shared: true, maxProcesses: 1 })])], MCP_TEST_EXTRA));
  });
  after(async () => {
    for (const s of sessions) await s.close().catch(() => {});
    await gw?.close();
    await waitUntil(() => countTagged(tag) === 0, 10_000, 'the shared process to stop with the gateway');
  });

  it('an unused process of another kind of client gives its place up; one in use does not', async () => {
    // The process started at load (newest protocol version) is unused: it makes room for this kind of client.
    await waitUntil(() => countTagged(tag) === 1, 10_000, 'the process started at load');
    const a = new RawSession(`${gw.url()}/mcp`);
    sessions.push(a);
    await a.open();
    assert.equal(resultText(answerOf(await a.call(1, 'echo', { text: 'x' }), 1)), 'one: x');
    assert.equal(countTagged(tag), 1);
    // Another kind of client while the only process serves a session: refused with the process-limit error.
    const res = await fetch(`${gw.url()}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'other', version: '1' } } }),
    });
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(res.status, 503);
    assert.equal(body.error.code, 'PCL_ERR_MCP_PROCESS_LIMIT');
    assert.equal(resultText(answerOf(await a.call(2, 'echo', { text: 'y' }), 2)), 'one: y');
  });
});
