import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LegacyJsonRpcTransport, LegacyRestTransport } from '@a2a-js/sdk/compat/v0_3/client';
import { startTestGateway, simpleConfig, send, type TestGateway } from '../helpers/gateway.ts';
import { startAgent, type RunningAgent } from '../fixtures/a2a/agent.ts';
import { ADMIN_KEY, READER_KEY, sdkClient, securedPolicies, userMessage } from './helpers.ts';

describe('A2A through the gateway: the SDK client against real SDK agents', () => {
  let research: RunningAgent;
  let ops: RunningAgent;
  let gw: TestGateway;
  const seenHeaders: Array<Record<string, unknown>> = [];

  before(async () => {
    research = await startAgent({ name: 'research', skills: [{ id: 'summarize' }, { id: 'delete' }], onRequest: (r) => seenHeaders.push(r.headers) });
    ops = await startAgent({ name: 'ops', skills: [{ id: 'status' }, { id: 'deploy' }] });
    gw = await startTestGateway(
      simpleConfig([
        { name: 'research', matches: [{ path: { pathPrefix: '/agents/research' } }], policies: securedPolicies(), backends: [{ a2a: { url: research.url } }] },
        {
          name: 'fleet',
          matches: [{ path: { pathPrefix: '/fleet' } }],
          policies: securedPolicies(),
          backends: [{ a2a: { agents: [{ name: 'research', url: research.url }, { name: 'ops', url: ops.url }] } }],
        },
      ]),
    );
  });
  after(async () => {
    await gw?.close();
    await research?.close();
    await ops?.close();
  });

  it('serves the v1.0 card with every URL on the gateway, its own security scheme, and only the skills the caller may use', async () => {
    const res = await send(`${gw.url()}/agents/research/.well-known/agent-card.json`, { headers: { 'x-api-key': READER_KEY, 'a2a-version': '1.0' } });
    assert.equal(res.status, 200);
    const card = res.json();
    const base = `${gw.url()}/agents/research`;
    assert.deepEqual(
      card.supportedInterfaces.map((i: any) => [i.url, i.protocolBinding, i.protocolVersion]),
      [
        [`${base}/a2a/jsonrpc`, 'JSONRPC', '1.0'],
        [`${base}/a2a/rest`, 'HTTP+JSON', '1.0'],
        [`${base}/a2a/jsonrpc`, 'JSONRPC', '0.3'],
        [`${base}/a2a/rest`, 'HTTP+JSON', '0.3'],
      ],
    );
    assert.deepEqual(card.securitySchemes, { gatewayApiKey: { apiKeySecurityScheme: { location: 'header', name: 'x-api-key', description: 'an API key the gateway validates' } } });
    assert.deepEqual(card.securityRequirements, [{ schemes: { gatewayApiKey: { list: [] } } }]);
    assert.deepEqual(card.skills.map((s: any) => s.id), ['summarize']);
    assert.equal(card.signatures, undefined);
    const admin = (await send(`${gw.url()}/agents/research/.well-known/agent-card.json`, { headers: { 'x-api-key': ADMIN_KEY, 'a2a-version': '1.0' } })).json();
    assert.deepEqual(admin.skills.map((s: any) => s.id), ['summarize', 'delete']);
  });

  it('serves the v0.3 card (url, additionalInterfaces, legacy path agent.json) rewritten the same way', async () => {
    for (const path of ['agent-card.json', 'agent.json']) {
      const res = await send(`${gw.url()}/agents/research/.well-known/${path}`, { headers: { 'x-api-key': READER_KEY, 'a2a-version': '0.3' } });
      assert.equal(res.status, 200, res.text);
      const card = res.json();
      assert.equal(card.protocolVersion, '0.3');
      assert.equal(card.url, `${gw.url()}/agents/research/a2a/jsonrpc`);
      assert.deepEqual(card.additionalInterfaces, [{ url: `${gw.url()}/agents/research/a2a/rest`, transport: 'HTTP+JSON' }]);
      assert.deepEqual(card.securitySchemes, { gatewayApiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'an API key the gateway validates' } });
      assert.deepEqual(card.security, [{ gatewayApiKey: [] }]);
      assert.deepEqual(card.skills.map((s: any) => s.id), ['summarize']);
    }
  });

  it('sends a message with the SDK client (JSON-RPC and REST); the agent never sees the caller key', async () => {
    for (const transport of ['JSONRPC', 'HTTP+JSON'] as const) {
      const client = await sdkClient(`${gw.url()}/agents/research`, { 'x-api-key': READER_KEY }, transport);
      const result = (await client.sendMessage(userMessage('hello', 'summarize'))) as any;
      assert.equal(result.parts[0].content.value, 'research echo: hello', transport);
    }
    assert.ok(seenHeaders.length > 0);
    for (const h of seenHeaders) assert.equal(h['x-api-key'], undefined);
  });

  it('serves v0.3 clients: the SDK legacy transports (message/send, message/stream, tasks/get; REST under /v1) on the URLs of the v0.3 card', async () => {
    const card = (await send(`${gw.url()}/agents/research/.well-known/agent.json`, { headers: { 'x-api-key': READER_KEY, 'a2a-version': '0.3' } })).json();
    const fetchImpl: typeof fetch = (input, init) => fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), 'x-api-key': READER_KEY } });
    const rpc = new LegacyJsonRpcTransport({ endpoint: card.url, fetchImpl });
    const sent = (await rpc.sendMessage(userMessage('old', 'summarize'))) as any;
    assert.equal(sent.parts[0].content.value, 'research echo: old');
    let taskId = '';
    let events = 0;
    for await (const e of rpc.sendMessageStream(userMessage('stream 2'))) {
      events++;
      const p = (e as any).payload;
      if (p.$case === 'task') taskId = p.value.id;
    }
    assert.ok(events >= 3 && taskId);
    assert.equal(((await rpc.getTask({ id: taskId, tenant: '' } as never)) as any).id, taskId);
    await assert.rejects(rpc.sendMessage(userMessage('x', 'delete')), /forbidden: message\/send \(skill delete\)/);
    const rest = new LegacyRestTransport({ endpoint: card.additionalInterfaces[0].url, fetchImpl });
    assert.equal(((await rest.sendMessage(userMessage('via rest'))) as any).parts[0].content.value, 'research echo: via rest');
  });

  it('streams events one by one, as the agent sends them (no buffering)', async () => {
    const client = await sdkClient(`${gw.url()}/agents/research`, { 'x-api-key': READER_KEY });
    const arrivals: number[] = [];
    const kinds: string[] = [];
    const started = performance.now();
    for await (const event of client.sendMessageStream(userMessage('stream 4'))) {
      arrivals.push(performance.now() - started);
      kinds.push((event as any).payload.$case);
    }
    assert.deepEqual(kinds, ['task', 'statusUpdate', 'statusUpdate', 'statusUpdate', 'statusUpdate', 'statusUpdate']);
    // The agent spaces its steps 50 ms apart: they must arrive spread out, not all at the end.
    const gaps = arrivals.slice(2).map((t, i) => t - arrivals[i + 1]);
    assert.ok(gaps.filter((g) => g >= 25).length >= 3, `events arrived bunched: ${arrivals.map((a) => a.toFixed(0)).join(', ')}`);
  });

  it('gets, cancels and resubscribes to a task', async () => {
    const client = await sdkClient(`${gw.url()}/agents/research`, { 'x-api-key': READER_KEY });
    let taskId = '';
    const stream = client.sendMessageStream(userMessage('slow 1'));
    for await (const event of stream) {
      const e = event as any;
      if (e.payload.$case === 'task') taskId = e.payload.value.id;
      if (e.payload.$case === 'statusUpdate') break;
    }
    assert.ok(taskId);
    const task = await client.getTask({ id: taskId, tenant: '', historyLength: undefined } as never);
    assert.equal((task as any).id, taskId);
    const resub = client.resubscribeTask({ id: taskId, tenant: '' } as never);
    const first = await resub.next();
    assert.equal(first.done, false);
    assert.equal((first.value as any).payload.value.id ?? (first.value as any).payload.value.taskId, taskId);
    const cancelled = await client.cancelTask({ id: taskId, tenant: '', metadata: undefined } as never);
    assert.equal((cancelled as any).id, taskId);
    await resub.return(undefined);
    // The agent's own error (a finished task cannot be subscribed to) reaches the client untouched.
    await assert.rejects(
      async () => {
        for await (const _ of client.resubscribeTask({ id: taskId, tenant: '' } as never)) break;
      },
      (err: any) => err.envelopeCode === -32004,
    );
  });

  it('lists the agents of a multi-agent route with the cards the caller may see', async () => {
    const res = await send(`${gw.url()}/fleet`, { headers: { 'x-api-key': READER_KEY, 'a2a-version': '1.0' } });
    assert.equal(res.status, 200, res.text);
    const { agents } = res.json();
    assert.deepEqual(agents.map((a: any) => [a.name, a.url, a.card.skills.map((s: any) => s.id)]), [
      ['research', `${gw.url()}/fleet/research/.well-known/agent-card.json`, ['summarize']],
      ['ops', `${gw.url()}/fleet/ops/.well-known/agent-card.json`, ['status']],
    ]);
    const client = await sdkClient(`${gw.url()}/fleet/ops`, { 'x-api-key': ADMIN_KEY });
    const result = (await client.sendMessage(userMessage('hi', 'deploy'))) as any;
    assert.equal(result.parts[0].content.value, 'ops echo: hi');
  });
});
