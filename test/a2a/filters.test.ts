import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { testFilter } from '../../core/filters/testing.ts';
import { startTestGateway, simpleConfig, send, type TestGateway } from '../helpers/gateway.ts';
import { startAgent, type RunningAgent } from '../fixtures/a2a/agent.ts';
import { READER_KEY, securedPolicies } from './helpers.ts';

const FILTER = fileURLToPath(new URL('../fixtures/a2a/a2a-filter.ts', import.meta.url));
const rpc = (method: string, params: unknown) => JSON.stringify({ jsonrpc: '2.0', id: 7, method, params });

describe('A2A filters: onA2aRequest / onA2aResponse', () => {
  it('runs in the test harness', async () => {
    const f = await testFilter(FILTER);
    try {
      assert.deepEqual(f.hooks, ['onA2aRequest', 'onA2aResponse']);
      const denied = await f.a2aRequest({ method: 'SendMessage', agent: 'a', parts: [{ kind: 'file', bytes: 10 }] });
      assert.deepEqual(denied.decision, { action: 'deny', message: 'files are not accepted here', code: undefined });
      const tagged = await f.a2aRequest(
        { method: 'SendMessage', agent: 'a', skill: 's', parts: [{ kind: 'text', bytes: 2 }], params: { message: { parts: [{ text: 'hi' }] } } },
        { identity: { kind: 'apiKey', subject: 'bob', roles: [], claims: {} } },
      );
      assert.deepEqual(tagged.decision, { action: 'continue', params: { message: { parts: [{ text: '[bob] hi' }] } } });
      assert.deepEqual(tagged.logs, [{ message: 'a2a message', fields: { method: 'SendMessage', skill: 's' } }]);
      const result = await f.a2aResponse({ method: 'SendMessage', agent: 'a' }, { message: { parts: [{ text: 'ok' }] } });
      assert.deepEqual(result.decision, { action: 'continue', result: { message: { parts: [{ text: 'ok (checked)' }] } } });
    } finally {
      await f.close();
    }
  });

  describe('through the gateway', () => {
    let agent: RunningAgent;
    let gw: TestGateway;
    before(async () => {
      agent = await startAgent({ name: 'research' });
      gw = await startTestGateway(
        simpleConfig([{ name: 'research', matches: [{ path: { pathPrefix: '/r' } }], policies: { ...securedPolicies(), filters: [{ file: FILTER, typeCheck: false }] }, backends: [{ a2a: { url: agent.url } }] }]),
      );
    });
    after(async () => {
      await gw?.close();
      await agent?.close();
    });
    const post = (body: string) => send(`${gw.url()}/r/a2a/jsonrpc`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-api-key': READER_KEY, 'a2a-version': '1.0' } });

    it('rewrites the message the agent receives and the result the client gets', async () => {
      const res = (await post(rpc('SendMessage', { message: { messageId: 'm1', role: 'ROLE_USER', parts: [{ text: 'hello' }] } }))).json();
      assert.equal(res.result.message.parts[0].text, 'research echo: [reader] hello (checked)');
    });

    it('denies with a JSON-RPC error before the agent sees the message', async () => {
      const hits = agent.hits.length;
      const res = (await post(rpc('SendMessage', { message: { messageId: 'm2', role: 'ROLE_USER', parts: [{ raw: 'aGVsbG8=', mediaType: 'text/plain' }] } }))).json();
      assert.deepEqual(res.error, { code: -32082, message: 'files are not accepted here' });
      assert.equal(agent.hits.length, hits);
    });
  });
});
