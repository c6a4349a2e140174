import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestGateway, simpleConfig, send, type TestGateway } from '../helpers/gateway.ts';
import { startAgent, type RunningAgent } from '../fixtures/a2a/agent.ts';
import { GATEWAY_RPC_CODE_RANGE, RpcErrors } from '../../core/protocol/jsonrpc.ts';
import { READER_KEY, sdkClient, securedPolicies } from '../a2a/helpers.ts';

const rpc = (method: string, params: unknown, id: number | string = 1) => JSON.stringify({ jsonrpc: '2.0', id, method, params });
const message = { messageId: 'm-1', role: 'ROLE_USER', parts: [{ text: 'hi' }] };

describe('A2A protocol details the TCK found (issue 25, finding 7)', () => {
  let agent: RunningAgent;
  let gw: TestGateway;
  let yamlGw: TestGateway;
  const post = (route: string, body: string, headers: Record<string, string> = {}) =>
    send(`${gw.url()}/${route}/a2a/jsonrpc`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'a2a-version': '1.0', ...headers } });
  const card = (base: string, headers: Record<string, string> = {}) => send(`${base}/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0', ...headers } });

  before(async () => {
    agent = await startAgent({ name: 'tck', skills: [{ id: 'summarize' }, { id: 'delete' }] });
    gw = await startTestGateway(
      simpleConfig([
        { name: 'nopush', matches: [{ path: { pathPrefix: '/nopush' } }], backends: [{ a2a: { url: agent.url } }] },
        { name: 'push', matches: [{ path: { pathPrefix: '/push' } }], backends: [{ a2a: { url: agent.url, pushNotifications: { allowedUrls: ['https://hooks.example.com/'] } } }] },
        { name: 'secured', matches: [{ path: { pathPrefix: '/secured' } }], policies: securedPolicies(), backends: [{ a2a: { url: agent.url } }] },
        { name: 'hidden', matches: [{ path: { pathPrefix: '/hidden' } }], policies: securedPolicies(), backends: [{ a2a: { url: agent.url, cardVisibility: 'authenticated' } }] },
      ]),
    );
    const yaml = `binds:
- port: 0
  address: 127.0.0.1
  listeners:
  - routes:
    - name: agent
      policies:
        a2a:
          pushNotifications:
            allowedUrls: ['https://hooks.example.com/a2a/']
      backends:
      - host: 127.0.0.1:${agent.port}
`;
    yamlGw = await startTestGateway(yaml, { fileName: 'config.yaml' });
  });
  after(async () => {
    await gw?.close();
    await yamlGw?.close();
    await agent?.close();
  });

  it('the card says pushNotifications: false when the route refuses every push URL, true when it allows some', async () => {
    assert.equal(agent.card.capabilities?.pushNotifications, true, 'the agent itself offers them');
    assert.equal((await card(`${gw.url()}/nopush`)).json().capabilities.pushNotifications, false);
    assert.equal((await card(`${gw.url()}/push`)).json().capabilities.pushNotifications, true);
  });

  it('answers the request id whenever it can be read, even for an invalid request', async () => {
    assert.deepEqual((await post('nopush', JSON.stringify({ jsonrpc: '1.0', id: 7, method: 'SendMessage', params: { message } }))).json(), {
      jsonrpc: '2.0',
      id: 7,
      error: { code: -32600, message: 'Invalid Request: expected one JSON-RPC 2.0 request with an id (A2A has no batches or notifications)' },
    });
    assert.equal((await post('nopush', JSON.stringify({ jsonrpc: '2.0', id: 'abc', method: 'SendMessage', params: [1] }))).json().id, 'abc');
    assert.equal((await post('nopush', JSON.stringify({ jsonrpc: '2.0', id: { no: 1 }, method: 'SendMessage' }))).json().id, null);
    assert.equal((await post('nopush', '{"jsonrpc":')).json().id, null);
  });

  it("agentgateway's a2a policy sets the push allowlist", async () => {
    const yamlPost = (body: string) => send(`${yamlGw.url()}/a2a/jsonrpc`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'a2a-version': '1.0' } });
    const refused = (await yamlPost(rpc('CreateTaskPushNotificationConfig', { taskId: 't', url: 'http://169.254.169.254/' }))).json();
    assert.equal(refused.error.data.code, 'PCL_ERR_A2A_PUSH_URL_DENIED');
    const allowed = (await yamlPost(rpc('CreateTaskPushNotificationConfig', { taskId: 'no-such-task', url: 'https://hooks.example.com/a2a/cb' }))).json();
    assert.notEqual(allowed.error?.data?.code, 'PCL_ERR_A2A_PUSH_URL_DENIED', JSON.stringify(allowed));
    assert.equal((await card(yamlGw.url())).json().capabilities.pushNotifications, true);
  });

  it('a route with authentication serves its card publicly, naming the scheme a client must use; authenticated callers see their skills', async () => {
    const anonymous = await card(`${gw.url()}/secured`);
    assert.equal(anonymous.status, 200, anonymous.text);
    assert.deepEqual(anonymous.json().securitySchemes, { gatewayApiKey: { apiKeySecurityScheme: { location: 'header', name: 'x-api-key', description: 'an API key the gateway validates' } } });
    assert.deepEqual(anonymous.json().skills, []);
    // A wrong key is not refused on the public card: the caller is anonymous there, and refused everywhere else.
    assert.equal((await card(`${gw.url()}/secured`, { 'x-api-key': 'wrong' })).status, 200);
    assert.equal((await post('secured', rpc('SendMessage', { message }), { 'x-api-key': 'wrong' })).status, 401);
    const reader = (await card(`${gw.url()}/secured`, { 'x-api-key': READER_KEY })).json();
    assert.deepEqual(reader.skills.map((s: { id: string }) => s.id), ['summarize']);
    // The SDK's own client discovers the card without credentials, then calls with them.
    const client = await sdkClient(`${gw.url()}/secured`, { 'x-api-key': READER_KEY });
    assert.ok(client);
  });

  it("cardVisibility: 'authenticated' keeps the card behind the route's authentication", async () => {
    assert.equal((await card(`${gw.url()}/hidden`)).status, 401);
    assert.equal((await card(`${gw.url()}/hidden`, { 'x-api-key': READER_KEY })).status, 200);
  });

  it("the gateway's own error codes are in a range of their own: an agent's TaskNotFound (-32001) is never mistaken for them", async () => {
    for (const code of [RpcErrors.TARGET_UNAVAILABLE, RpcErrors.REQUEST_TIMEOUT, RpcErrors.DENIED, RpcErrors.RATE_LIMITED]) {
      assert.ok(code >= GATEWAY_RPC_CODE_RANGE.first && code <= GATEWAY_RPC_CODE_RANGE.last, String(code));
      assert.ok(code < -32009 || code > -32001, `${code} collides with A2A's -32001..-32009`);
      assert.ok(![-32000, -32001, -32002, -32042].includes(code), `${code} collides with MCP's`);
    }
    const notFound = (await post('nopush', rpc('GetTask', { id: 'no-such-task' }))).json();
    assert.equal(notFound.error.code, -32001, JSON.stringify(notFound));
    assert.equal(notFound.error.data?.code, undefined, 'the agent error passes through untouched');
    const denied = (await post('nopush', rpc('SendMessage', { message, configuration: { taskPushNotificationConfig: { url: 'https://x.example/' } } }))).json();
    assert.equal(denied.error.code, RpcErrors.DENIED);
    assert.equal(denied.error.code, -32082);
  });
});
