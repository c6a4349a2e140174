import assert from 'node:assert/strict';
import { request } from 'undici';
import { after, before, describe, it } from 'node:test';
import { startTestGateway, simpleConfig, eventually, type TestGateway } from '../helpers/gateway.ts';
import { startAgent, type RunningAgent } from '../fixtures/a2a/agent.ts';

describe('A2A: shutdown with a stream open', () => {
  let agent: RunningAgent;
  let gw: TestGateway;
  before(async () => {
    agent = await startAgent({ name: 'research' });
    gw = await startTestGateway(simpleConfig([{ name: 'r', backends: [{ a2a: { url: agent.url } }] }]));
  });
  after(async () => {
    await agent?.close();
  });

  it('ends the streams it passes through instead of waiting for a silent agent', async () => {
    const res = await request(`${gw.url()}/a2a/jsonrpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'a2a-version': '1.0' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendStreamingMessage', params: { message: { messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'hang' }] } } }),
    });
    let text = '';
    const reading = (async () => {
      try {
        for await (const chunk of res.body) text += chunk;
      } catch {
        // cut off: what matters is that it ends
      }
    })();
    await eventually(async () => text.includes('step 1'), 5000);
    const before = agent.aborted;
    const started = Date.now();
    await gw.close();
    await reading;
    assert.ok(Date.now() - started < 5000, `shutdown took ${Date.now() - started} ms`);
    await eventually(async () => agent.aborted > before, 3000);
  });
});
