import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fromAgentgateway } from '../../core/config/agentgateway.ts';
import { startTestGateway, send, type TestGateway } from '../helpers/gateway.ts';
import { startAgent, type RunningAgent } from '../fixtures/a2a/agent.ts';

describe("agentgateway's A2A spelling: policies.a2a on a host route", () => {
  it('maps to the a2a backend, and leaves anything else for validation', () => {
    const route = (policies: Record<string, unknown>, backends: unknown[]) => ({ binds: [{ port: 1, listeners: [{ routes: [{ policies, backends }] }] }] });
    const routeOf = (cfg: unknown) => (cfg as any).binds[0].listeners[0].routes[0];
    assert.deepEqual(routeOf(fromAgentgateway(route({ a2a: {} }, [{ host: 'agent:9999' }]))), { policies: {}, backends: [{ a2a: { url: 'http://agent:9999' } }] });
    assert.deepEqual(routeOf(fromAgentgateway(route({ a2a: {}, backendTLS: {} }, [{ host: 'agent:443' }]))).backends, [{ a2a: { url: 'https://agent:443' } }]);
    // Two hosts, or a2a settings we do not know: unchanged, so validation names the field.
    assert.deepEqual(routeOf(fromAgentgateway(route({ a2a: {} }, [{ host: 'a:1' }, { host: 'b:2' }]))).policies, { a2a: {} });
    assert.deepEqual(routeOf(fromAgentgateway(route({ a2a: { x: 1 } }, [{ host: 'a:1' }]))).policies, { a2a: { x: 1 } });
  });

  describe('an agentgateway YAML config served', () => {
    let agent: RunningAgent;
    let gw: TestGateway;
    before(async () => {
      agent = await startAgent({ name: 'yaml-agent' });
      const yaml = `binds:
- port: 0
  address: 127.0.0.1
  listeners:
  - routes:
    - name: agent
      policies:
        a2a: {}
      backends:
      - host: 127.0.0.1:${agent.port}
`;
      gw = await startTestGateway(yaml, { fileName: 'config.yaml' });
    });
    after(async () => {
      await gw?.close();
      await agent?.close();
    });
    it('serves the rewritten card and forwards messages', async () => {
      const card = (await send(`${gw.url()}/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } })).json();
      assert.equal(card.supportedInterfaces[0].url, `${gw.url()}/a2a/jsonrpc`);
      const res = await send(`${gw.url()}/a2a/jsonrpc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'a2a-version': '1.0' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'yo' }] } } }),
      });
      assert.equal(res.json().result.message.parts[0].text, 'yaml-agent echo: yo');
    });
  });
});
