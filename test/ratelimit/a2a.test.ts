import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sha256Hex } from '../../policies/api-key/index.ts';
import { startAgent, type RunningAgent } from '../fixtures/a2a/agent.ts';
import { send, simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

// Rate limits on A2A messages through the real a2a backend: keyed by caller and skill, counting only the method
// they name, answered with the JSON-RPC error and retry hint, and never reaching the agent once limited.
const KEYS = { alice: 'alice-key-1234', bob: 'bob-key-5678' };

describe('rateLimit on A2A messages', () => {
  let agent: RunningAgent;
  let gw: TestGateway;
  before(async () => {
    agent = await startAgent({ name: 'research', skills: [{ id: 'summarize' }, { id: 'translate' }] });
    gw = await startTestGateway(
      simpleConfig([
        {
          name: 'research',
          matches: [{ path: { pathPrefix: '/r' } }],
          policies: {
            apiKey: { header: 'x-api-key', keys: Object.entries(KEYS).map(([name, key]) => ({ name, sha256: sha256Hex(key) })) },
            rateLimit: {
              limits: [{ name: 'summaries', scope: 'message', methods: ['SendMessage', 'message/send'], skills: ['summarize'], key: ['subject', 'skill'], rate: { limit: 2, windowMs: 3_600_000 } }],
            },
          },
          backends: [{ a2a: { url: agent.url } }],
        },
      ]),
    );
  });
  after(async () => {
    await gw?.close();
    await agent?.close();
  });

  let id = 0;
  const sendMessage = async (key: string, skill: string) => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: ++id,
      method: 'SendMessage',
      params: { message: { messageId: `m${id}`, role: 'ROLE_USER', parts: [{ text: 'hello' }], metadata: { skill } } },
    });
    const res = await send(`${gw.url()}/r/a2a/jsonrpc`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-api-key': key, 'a2a-version': '1.0' } });
    assert.equal(res.status, 200, res.text);
    return res.json();
  };

  it('limits one skill per caller with a JSON-RPC error and retryAfterMs; other skills and callers are not counted', async () => {
    for (let i = 0; i < 2; i++) assert.ok((await sendMessage(KEYS.alice, 'summarize')).result, 'within the limit');
    const hits = agent.hits.length;
    const limited = await sendMessage(KEYS.alice, 'summarize');
    assert.equal(limited.error?.code, -32083, JSON.stringify(limited));
    assert.equal(limited.error.data.code, 'PCL_ERR_RATE_LIMITED');
    assert.ok(limited.error.data.retryAfterMs > 0);
    assert.equal(agent.hits.length, hits, 'a limited message never reaches the agent');
    // Another skill of the same caller, and the same skill of another caller, have their own counts.
    assert.ok((await sendMessage(KEYS.alice, 'translate')).result);
    assert.ok((await sendMessage(KEYS.bob, 'summarize')).result);
  });

  it('reading the agent card is not a message and is never limited', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await send(`${gw.url()}/r/.well-known/agent-card.json`, { headers: { 'x-api-key': KEYS.alice } });
      assert.equal(res.status, 200);
    }
  });
});
