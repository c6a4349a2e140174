import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LATEST_PROTOCOL_VERSION, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, countTagged, MCP_TEST_EXTRA, mcpRoute, text, TINY, waitUntil } from '../helpers/mcp.ts';

// A session that finds no pooled process is answered from what a fresh process of its target answered before (its
// initialize result and first tools list) while its own process starts; whatever needs the process waits for it.
// What the SDK client declares: the same kind of client (snapshots are per protocol version and capabilities).
const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 't', version: '1' } } };

describe('MCP sessions answered from a target snapshot while their process starts', () => {
  const tag = `snapshot-${randomUUID()}`;
  let gw: TestGateway;
  let dir: string;
  const counters: Record<string, string> = {};
  const clients: Client[] = [];

  /** A stdio target of the tiny fixture in its numbered mode, counting its starts in its own directory. */
  function numbered(route: string, flags: string[], stdio: Record<string, unknown>) {
    counters[route] = join(dir, route);
    return { name: 'a', stdio: { cmd: process.execPath, args: [TINY, 'a', `--counter=${counters[route]}`, ...flags, `--tag=${tag}`], ...stdio } };
  }
  const route = (name: string, target: unknown, extra: Record<string, unknown> = {}) => ({ ...mcpRoute([target], extra, name), matches: [{ path: { pathPrefix: `/${name}` } }] });
  const starts = (route: string) => readdirSync(counters[route]).filter((f) => /^\d+$/.test(f)).length;
  const release = (route: string) => writeFileSync(join(counters[route], 'go'), '');
  const snapshotTaken = (route: string) => gw.logs.waitFor((l) => l.msg.startsWith('MCP target snapshot taken') && l.route === route, 20_000);
  async function client(route: string): Promise<Client> {
    const c = await connectClient(`${gw.url()}/${route}/mcp`);
    clients.push(c);
    return c;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcl-snapshot-'));
    gw = await startTestGateway(
      simpleConfig(
        [
          // Every process after the pool's first waits for the test's go: a session answered meanwhile was answered
          // from the snapshot.
          route('burst', numbered('burst', ['--hold-from=2'], { warmPool: 1, warmPoolMax: 2 })),
          route('vary', numbered('vary', ['--vary-tools', '--hold-from=2'], { warmPool: 1, warmPoolMax: 1 })),
          route('broken', numbered('broken', ['--hold-from=2', '--fail-from=2'], { warmPool: 1, warmPoolMax: 1 })),
          route('broken-open', numbered('broken-open', ['--hold-from=2', '--fail-from=2'], { warmPool: 1, warmPoolMax: 1 }), { failureMode: 'failOpen' }),
          route('cancel', numbered('cancel', ['--hold-from=2'], { warmPool: 1, warmPoolMax: 1 })),
          // No pool: the first session's own process is the one whose answers are recorded.
          route('reload', numbered('reload', ['--hold-from=2'], { warmPool: 0 })),
        ],
        MCP_TEST_EXTRA,
      ),
    );
  });
  after(async () => {
    for (const r of Object.keys(counters)) if (existsSync(counters[r])) release(r);
    await Promise.allSettled(clients.map((c) => c.close()));
    await gw?.close();
    await waitUntil(() => countTagged(tag) === 0, 10_000, 'every tagged process to exit');
    await rm(dir, { recursive: true, force: true });
  });

  it('a burst of sessions is answered while their processes start; each call is served by the session\'s own process', async () => {
    await snapshotTaken('burst');
    const first = await client('burst');
    const burst: Client[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await client('burst');
      // initialize and tools/list answered: no process past the first can have answered anything yet.
      assert.deepEqual((await c.listTools()).tools.map((t) => t.name), ['echo']);
      burst.push(c);
    }
    assert.equal(existsSync(join(counters.burst, 'go')), false);
    // The calls wait for the processes, which come up now.
    const calls = burst.map((c, i) => c.callTool({ name: 'echo', arguments: { text: String(i) } }));
    release('burst');
    const answers = (await Promise.all(calls)).map(text);
    const served = answers.map((a, i) => {
      const m = /^a#(\d+): (\d+)$/.exec(a);
      assert.ok(m && m[2] === String(i), a);
      return Number(m[1]);
    });
    assert.equal(new Set(served).size, 4, `each session has its own process: ${answers.join(', ')}`);
    assert.ok(served.every((n) => n >= 2), 'none is the pooled first process');
    assert.equal(text(await first.callTool({ name: 'echo', arguments: { text: 'x' } })), 'a#1: x');
    // A session's later calls stay on its own process.
    assert.equal(text(await burst[0].callTool({ name: 'echo', arguments: { text: '0' } })), answers[0]);
  });

  it('a process that lists other tools than the snapshot: the client gets list_changed, then the real list', async () => {
    await snapshotTaken('vary');
    await client('vary'); // takes the pooled process #1, whose list is the snapshot
    const c = await client('vary');
    let changed = 0;
    c.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed++;
    });
    assert.deepEqual((await c.listTools()).tools.map((t) => t.name), ['echo', 'only_1'], 'answered from the snapshot');
    release('vary');
    const call = text(await c.callTool({ name: 'echo', arguments: { text: 'hi' } }));
    const own = /^a#(\d+): hi$/.exec(call)?.[1];
    assert.ok(own && own !== '1', call);
    await waitUntil(() => changed === 1, 10_000, 'notifications/tools/list_changed');
    assert.deepEqual((await c.listTools()).tools.map((t) => t.name), ['echo', `only_${own}`], 'the list of its own process');
    assert.equal(text(await c.callTool({ name: `only_${own}`, arguments: {} })), `a#${own}: `);
  });

  it('a target broken after its snapshot: the request that needs it fails naming why; the next session fails initialize', async () => {
    await snapshotTaken('broken');
    const healthy = await client('broken'); // the pooled process #1
    const c = await client('broken'); // answered from the snapshot; its process will fail
    assert.deepEqual((await c.listTools()).tools.map((t) => t.name), ['echo']);
    release('broken');
    await assert.rejects(c.callTool({ name: 'echo', arguments: { text: 'x' } }), (err: Error) => {
      assert.match(err.message, /^MCP error -32080: target "a" is unavailable: the process exited \(code 3\)/);
      assert.match(err.message, /the server is broken now/, 'the process\'s own reason (its stderr)');
      return true;
    });
    await gw.logs.waitFor((l) => l.msg === 'MCP target failed to start' && l.route === 'broken' && l.session !== undefined);
    // Nothing else broken: the session on the healthy process goes on.
    assert.equal(text(await healthy.callTool({ name: 'echo', arguments: { text: 'ok' } })), 'a#1: ok');
    // The snapshot is gone: a new session connects before answering, and fails visibly as without snapshots.
    const res = await fetch(`${gw.url()}/broken/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(INITIALIZE) });
    assert.equal(res.status, 502);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'PCL_ERR_MCP_UPSTREAM_FAILED');
    assert.match(body.error.message, /^route "broken": the MCP session could not start: target "a": /);
  });

  it('failOpen: a target broken after its snapshot is left out of the session, as a target that failed to start', async () => {
    await snapshotTaken('broken-open');
    await client('broken-open');
    const c = await client('broken-open');
    release('broken-open');
    await assert.rejects(c.callTool({ name: 'echo', arguments: {} }), /target "a" is unavailable/);
    // Left out of lists from then on, like a target that failed to start under failOpen.
    assert.deepEqual((await c.listTools()).tools, []);
  });

  it('a session deleted while its process starts ends at once; the process started for it joins the pool', async () => {
    await snapshotTaken('cancel');
    await client('cancel'); // the pooled process #1
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const res = await fetch(`${gw.url()}/cancel/mcp`, { method: 'POST', headers, body: JSON.stringify(INITIALIZE) });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const id = res.headers.get('mcp-session-id')!;
    // Its process is held: closing the session does not wait for it.
    const del = await fetch(`${gw.url()}/cancel/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': id } });
    assert.equal(del.status, 200);
    assert.equal(existsSync(join(counters.cancel, 'go')), false);
    release('cancel');
    // The next session is served from the pool, by one of the processes started meanwhile, and nothing more starts.
    const c = await client('cancel');
    assert.match(text(await c.callTool({ name: 'echo', arguments: { text: 'c' } })), /^a#[23]: c$/);
    assert.ok(starts('cancel') <= 3, `${starts('cancel')} starts`);
  });

  it('a reload drops the snapshot: the first session after it waits for its process', async () => {
    const first = await client('reload'); // no pool: its own process #1, recorded
    assert.equal(text(await first.callTool({ name: 'echo', arguments: { text: '1' } })), 'a#1: 1');
    await snapshotTaken('reload');
    // Before the reload, a new session is answered from the snapshot while its process (#2) is held.
    const early = await client('reload');
    assert.deepEqual((await early.listTools()).tools.map((t) => t.name), ['echo']);
    assert.equal(existsSync(join(counters.reload, 'go')), false);
    const result = await gw.running.reload();
    assert.equal(result.ok, true, String(result.error));
    // After it, a new session connects first: its initialize waits for its process (#3), held until the go.
    let connected = false;
    const late = client('reload').then((c) => {
      connected = true;
      return c;
    });
    // Answered from a snapshot, initialize would be done before a Node process even starts.
    await waitUntil(() => starts('reload') === 3, 10_000, 'the third process to start');
    assert.equal(connected, false, 'initialize waited for the process');
    release('reload');
    assert.match(text(await (await late).callTool({ name: 'echo', arguments: { text: 'late' } })), /^a#\d+: late$/);
    assert.match(text(await early.callTool({ name: 'echo', arguments: { text: 'early' } })), /^a#\d+: early$/);
  });
});
