import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, fixtureStdio, MCP_TEST_EXTRA, mcpRoute, startHttpFixture, text, waitUntil, type RunningServer } from '../helpers/mcp.ts';

describe('MCP multiplexing: three targets as one server', () => {
  let c: RunningServer;
  let gw: TestGateway;
  let client: Client;

  before(async () => {
    c = await startHttpFixture('c');
    gw = await startTestGateway(
      simpleConfig(
        [
          { ...mcpRoute([fixtureStdio('a'), fixtureStdio('b'), { name: 'c', mcp: { url: c.url } }], {}, 'three'), matches: [{ path: { pathPrefix: '/three' } }] },
          { ...mcpRoute([fixtureStdio('a'), fixtureStdio('b')], { prefixMode: 'never' }, 'never'), matches: [{ path: { pathPrefix: '/never' } }] },
          { ...mcpRoute([fixtureStdio('solo')], { prefixMode: 'always' }, 'always'), matches: [{ path: { pathPrefix: '/always' } }] },
          { ...mcpRoute([fixtureStdio('solo')], {}, 'single'), matches: [{ path: { pathPrefix: '/single' } }] },
        ],
        MCP_TEST_EXTRA,
      ),
    );
    client = await connectClient(`${gw.url()}/three/mcp`, { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } });
  });
  after(async () => {
    await client?.close();
    await gw?.close();
    await c?.close();
  });

  it('merges tools under <target>_<name> and routes each call to its owner', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    for (const t of ['a', 'b', 'c']) assert.ok(names.includes(`${t}_echo`), names.join(','));
    assert.equal(tools.find((t) => t.name === 'b_echo')?.description, 'echo from b');
    assert.equal(text(await client.callTool({ name: 'a_echo', arguments: { text: 'x' } })), 'a: x');
    assert.equal(text(await client.callTool({ name: 'b_echo', arguments: { text: 'y' } })), 'b: y');
    assert.equal(text(await client.callTool({ name: 'c_echo', arguments: { text: 'z' } })), 'c: z');
  });

  it('answers an unknown tool with the JSON-RPC error a server would give, and keeps serving', async () => {
    await assert.rejects(client.callTool({ name: 'nope_echo', arguments: {} }), /Unknown tool: nope_echo/);
    assert.equal(text(await client.callTool({ name: 'a_echo', arguments: { text: 'still' } })), 'a: still');
  });

  it('merges prompts and routes prompts/get and completion/complete', async () => {
    const { prompts } = await client.listPrompts();
    assert.deepEqual(prompts.map((p) => p.name).sort(), ['a_greet', 'b_greet', 'c_greet']);
    const got = await client.getPrompt({ name: 'c_greet', arguments: { who: 'you' } });
    assert.equal((got.messages[0].content as { text: string }).text, 'c greets you');
    const done = await client.complete({ ref: { type: 'ref/prompt', name: 'b_greet' }, argument: { name: 'who', value: 'bo' } });
    assert.deepEqual(done.completion.values, ['b-bo']);
  });

  it('rewrites resource URIs so reads, templates, links and subscriptions reach the owner', async () => {
    const { resources } = await client.listResources();
    const uris = resources.map((r) => r.uri);
    assert.ok(uris.includes('portcullis://a/fixture://a/info'), uris.join(','));
    assert.ok(uris.includes('portcullis://c/shared://same'));
    const read = await client.readResource({ uri: 'portcullis://b/fixture://b/info' });
    assert.equal(read.contents[0].uri, 'portcullis://b/fixture://b/info');
    assert.equal((read.contents[0] as { text: string }).text, 'b read fixture://b/info');
    const { resourceTemplates } = await client.listResourceTemplates();
    assert.ok(resourceTemplates.some((t) => t.uriTemplate === 'portcullis://c/fixture://c/items/{id}'));
    const item = await client.readResource({ uri: 'portcullis://c/fixture://c/items/7' });
    assert.equal((item.contents[0] as { text: string }).text, 'c read fixture://c/items/7');
    const link = await client.callTool({ name: 'a_link', arguments: {} });
    assert.equal((link.content as Array<{ uri: string }>)[0].uri, 'portcullis://a/fixture://a/info');
    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    await client.subscribeResource({ uri: 'portcullis://b/fixture://b/info' });
    await waitUntil(() => updated.length > 0, 5000, 'resources/updated');
    assert.deepEqual(updated, ['portcullis://b/fixture://b/info']);
    await client.unsubscribeResource({ uri: 'portcullis://b/fixture://b/info' });
  });

  it('fans logging/setLevel out to every target and forwards their log messages', async () => {
    const logs: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(String(n.params.data)));
    await client.setLoggingLevel('warning');
    await waitUntil(() => logs.length >= 3, 5000, 'three log messages');
    assert.deepEqual(logs.sort(), ['level set to warning', 'level set to warning', 'level set to warning']);
  });

  it('forwards list_changed and shows the new tool', async () => {
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
    await client.callTool({ name: 'b_add-tool', arguments: {} });
    await waitUntil(() => changed > 0, 5000, 'tools/list_changed');
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'b_extra'));
    assert.ok(!tools.some((t) => t.name === 'a_extra'));
  });

  it('delivers progress notifications for the right call', async () => {
    const seen: number[] = [];
    const r = await client.callTool({ name: 'c_progress', arguments: { steps: 3 } }, undefined, { onprogress: (p) => void seen.push(p.progress) });
    assert.equal(text(r), 'done 3');
    assert.deepEqual(seen, [1, 2, 3]);
    const seenA: number[] = [];
    assert.equal(text(await client.callTool({ name: 'a_progress', arguments: { steps: 2 } }, undefined, { onprogress: (p) => void seenA.push(p.progress) })), 'done 2');
    assert.deepEqual(seenA, [1, 2]);
  });

  it('forwards sampling, elicitation and roots requests from a target to the client and the replies back', async () => {
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
      role: 'assistant',
      model: 'test',
      content: { type: 'text', text: `answer to ${(req.params.messages[0].content as { text: string }).text}` },
    }));
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { who: 'ada' } }));
    client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: 'file:///work', name: 'work' }] }));
    assert.equal(text(await client.callTool({ name: 'a_ask', arguments: {} })), 'sampled: answer to question from a');
    assert.equal(text(await client.callTool({ name: 'c_ask', arguments: {} })), 'sampled: answer to question from c');
    assert.equal(text(await client.callTool({ name: 'b_elicit', arguments: {} })), 'elicited: accept {"who":"ada"}');
    assert.equal(text(await client.callTool({ name: 'c_roots', arguments: {} })), 'roots: file:///work');
  });

  it('answers a target itself when the client lacks the capability its request needs', async () => {
    const plain = await connectClient(`${gw.url()}/three/mcp`);
    try {
      await assert.rejects(plain.callTool({ name: 'a_ask', arguments: {} }), /the client does not support sampling\/createMessage/);
      assert.equal(text(await plain.callTool({ name: 'a_echo', arguments: { text: 'ok' } })), 'a: ok');
    } finally {
      await plain.close();
    }
  });

  it('cancels a call: the client gets its abort and the session keeps serving', async () => {
    const controller = new AbortController();
    // Target a counts the calls of `slow` that began: abort once this one has, so there is a call to cancel there.
    const slowStarted = async () => Number(text(await client.callTool({ name: 'a_cancelled', arguments: { which: 'started' } })));
    const started = await slowStarted();
    const call = client.callTool({ name: 'a_slow', arguments: { ms: 5000 } }, undefined, { signal: controller.signal });
    await waitUntil(async () => (await slowStarted()) > started, 5000, 'the call to reach target a');
    controller.abort();
    await assert.rejects(call, /abort/i);
    assert.equal(text(await client.callTool({ name: 'a_echo', arguments: { text: 'after' } })), 'a: after');
    // notifications/cancelled reached target a (and only a), with a's own request id.
    await waitUntil(async () => text(await client.callTool({ name: 'a_cancelled', arguments: {} })) === '1', 5000, 'a to see the cancellation');
    assert.equal(text(await client.callTool({ name: 'b_cancelled', arguments: {} })), '0');
  });

  it('prefixMode never: names unchanged, collisions logged and left out', async () => {
    const never = await connectClient(`${gw.url()}/never/mcp`);
    try {
      const { tools } = await never.listTools();
      assert.equal(tools.length, 0, 'both targets have the same tools: every one collides');
      const line = await gw.logs.waitFor((l) => l.msg?.startsWith('MCP name collision') && l.name === 'echo');
      assert.deepEqual(line.targets, ['a', 'b']);
      const { resources } = await never.listResources();
      assert.deepEqual(resources.map((r) => r.uri).sort(), ['fixture://a/info', 'fixture://b/info']);
      const read = await never.readResource({ uri: 'fixture://b/info' });
      assert.equal((read.contents[0] as { text: string }).text, 'b read fixture://b/info');
    } finally {
      await never.close();
    }
  });

  it('prefixMode always prefixes a single target; conditional does not', async () => {
    const always = await connectClient(`${gw.url()}/always/mcp`);
    const single = await connectClient(`${gw.url()}/single/mcp`);
    try {
      assert.ok((await always.listTools()).tools.some((t) => t.name === 'solo_echo'));
      assert.equal(text(await always.callTool({ name: 'solo_echo', arguments: { text: '1' } })), 'solo: 1');
      assert.ok((await single.listTools()).tools.some((t) => t.name === 'echo'));
      assert.equal(text(await single.callTool({ name: 'echo', arguments: { text: '2' } })), 'solo: 2');
      assert.equal((await single.listResources()).resources[0].uri, 'fixture://solo/info');
    } finally {
      await always.close();
      await single.close();
    }
  });
});
