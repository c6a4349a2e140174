import assert from 'node:assert/strict';
import { request } from 'undici';
import { after, before, describe, it } from 'node:test';
import { messageChannel, type MessageEvent } from '../../core/telemetry/events.ts';
import { startTestGateway, simpleConfig, send, startUpstream, eventually, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { startAgent, type RunningAgent } from '../fixtures/a2a/agent.ts';
import { ADMIN_KEY, READER_KEY, sdkClient, securedPolicies, userMessage } from './helpers.ts';

const rpc = (method: string, params: unknown = {}, id: number | string = 1) => JSON.stringify({ jsonrpc: '2.0', id, method, params });
const textMessage = (text: string, skill?: string) => ({
  message: { messageId: crypto.randomUUID(), role: 'ROLE_USER', parts: [{ text }], ...(skill ? { metadata: { skill } } : {}) },
});

describe('A2A: denials, bad input and failures', () => {
  let agent: RunningAgent;
  let elsewhere: RunningAgent;
  let notJson: Upstream;
  let gw: TestGateway;
  let jsonrpc: string;
  const post = (body: string, key: string | null = READER_KEY, path = '/agents/research/a2a/jsonrpc') =>
    send(`${gw.url()}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'a2a-version': '1.0', ...(key ? { 'x-api-key': key } : {}) } });

  before(async () => {
    agent = await startAgent({ name: 'research', skills: [{ id: 'summarize' }, { id: 'delete' }], stepMs: 40 });
    elsewhere = await startAgent({ name: 'elsewhere', cardUrl: 'http://192.0.2.10:8080' });
    notJson = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>not a card</html>');
    });
    const closed = await startUpstream(() => {});
    const downPort = closed.port;
    await closed.close();
    gw = await startTestGateway(
      simpleConfig(
        [
          {
            name: 'research',
            matches: [{ path: { pathPrefix: '/agents/research' } }],
            policies: securedPolicies(),
            backends: [{ a2a: { url: agent.url, pushNotifications: { allowedUrls: ['https://hooks.example.com/a2a/'] } } }],
          },
          { name: 'down', matches: [{ path: { pathPrefix: '/agents/down' } }], backends: [{ a2a: { url: `http://127.0.0.1:${downPort}` } }] },
          { name: 'elsewhere', matches: [{ path: { pathPrefix: '/agents/elsewhere' } }], backends: [{ a2a: { url: elsewhere.url } }] },
          { name: 'notjson', matches: [{ path: { pathPrefix: '/agents/notjson' } }], backends: [{ a2a: { url: `http://${notJson.host}` } }] },
        ],
        { upstream: { bodyIdleTimeoutMs: 400 } },
      ),
    );
    jsonrpc = `${gw.url()}/agents/research/a2a/jsonrpc`;
  });
  after(async () => {
    await gw?.close();
    await agent?.close();
    await elsewhere?.close();
    await notJson?.close();
  });

  it('denies a skill the caller may not use, with the JSON-RPC error an A2A client expects, before the agent sees it', async () => {
    const hits = agent.hits.length;
    const res = await post(rpc('SendMessage', textMessage('wipe it', 'delete')));
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { jsonrpc: '2.0', id: 1, error: { code: -32082, message: 'forbidden: SendMessage (skill delete)' } });
    const legacy = await post(rpc('message/send', { message: { kind: 'message', messageId: 'm', role: 'user', parts: [{ kind: 'text', text: 'x' }], metadata: { skill: 'delete' } } }, 'a'));
    assert.deepEqual(legacy.json().error, { code: -32082, message: 'forbidden: message/send (skill delete)' });
    assert.equal(agent.hits.length, hits);
    const client = await sdkClient(`${gw.url()}/agents/research`, { 'x-api-key': READER_KEY });
    await assert.rejects(client.sendMessage(userMessage('wipe', 'delete')), /forbidden: SendMessage \(skill delete\)/);
    const rest = await send(`${gw.url()}/agents/research/a2a/rest/message:send`, { method: 'POST', body: JSON.stringify(textMessage('x', 'delete')), headers: { 'content-type': 'application/json', 'x-api-key': READER_KEY, 'a2a-version': '1.0' } });
    assert.equal(rest.status, 403);
    assert.equal(rest.json().error.message, 'forbidden: SendMessage (skill delete)');
    // The admin may.
    const ok = await post(rpc('SendMessage', textMessage('wipe it', 'delete')), ADMIN_KEY);
    assert.equal(ok.json().result.message.parts[0].text, 'research echo: wipe it');
  });

  it('never lets an unauthenticated caller reach the agent: JSON-RPC, REST and stream; the public card names the scheme and no skill', async () => {
    // The card is public (cardVisibility defaults to 'public'): it tells the client which scheme to use, and lists
    // only the skills an anonymous caller may use (none here).
    const card = await send(`${gw.url()}/agents/research/.well-known/agent-card.json`);
    assert.equal(card.status, 200, card.text);
    assert.deepEqual(card.json().securitySchemes, { gatewayApiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'an API key the gateway validates' } });
    assert.deepEqual(card.json().skills, []);
    const hits = agent.hits.length;
    assert.equal((await post(rpc('SendMessage', textMessage('hi')), null)).status, 401);
    assert.equal((await post(rpc('SendStreamingMessage', textMessage('stream 2')), null)).status, 401);
    assert.equal((await send(`${gw.url()}/agents/research/a2a/rest/tasks/abc`)).status, 401);
    assert.equal((await post(rpc('SendMessage', textMessage('hi')), 'wrong-key')).status, 401);
    assert.equal(agent.hits.length, hits);
  });

  it('answers malformed JSON-RPC, batches, notifications and unknown methods itself', async () => {
    const hits = agent.hits.length;
    const parse = (await post('{"jsonrpc":')).json();
    assert.equal(parse.error.code, -32700);
    assert.equal(parse.id, null);
    assert.deepEqual((await post('[' + rpc('SendMessage', textMessage('a')) + ']')).json().error.code, -32600);
    assert.deepEqual((await post(JSON.stringify({ jsonrpc: '2.0', method: 'SendMessage', params: {} }))).json().error.code, -32600);
    assert.deepEqual((await post(JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'SendMessage' }))).json().error.code, -32600);
    assert.deepEqual((await post(rpc('tasks/delete', {}, 9))).json(), { jsonrpc: '2.0', id: 9, error: { code: -32601, message: 'Method not found: tasks/delete' } });
    assert.equal(agent.hits.length, hits);
    const restBad = await send(`${gw.url()}/agents/research/a2a/rest/message:send`, { method: 'POST', body: '{nope', headers: { 'content-type': 'application/json', 'x-api-key': READER_KEY } });
    assert.equal(restBad.status, 400);
    assert.equal(restBad.json().error.code, 'PCL_ERR_BAD_REQUEST');
    const restArray = await send(`${gw.url()}/agents/research/a2a/rest/message:send`, { method: 'POST', body: '[1]', headers: { 'content-type': 'application/json', 'x-api-key': READER_KEY } });
    assert.deepEqual(restArray.json(), { error: { code: 'PCL_ERR_BAD_REQUEST', message: 'the request body must be a JSON object' } });
    const postCard = await send(`${gw.url()}/agents/research/.well-known/agent-card.json`, { method: 'POST', body: '{}', headers: { 'x-api-key': READER_KEY } });
    assert.deepEqual([postCard.status, postCard.json().error.message], [404, 'the agent card is read with GET, not POST']);
    const unknown = await send(`${gw.url()}/agents/research/nothing/here`, { headers: { 'x-api-key': READER_KEY } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json().error.code, 'PCL_ERR_A2A_UNKNOWN_ENDPOINT');
  });

  it('refuses gRPC cleanly', async () => {
    const res = await send(jsonrpc, { method: 'POST', body: Buffer.alloc(5), headers: { 'content-type': 'application/grpc', 'x-api-key': READER_KEY } });
    assert.equal(res.status, 415);
    assert.deepEqual(res.json(), { error: { code: 'PCL_ERR_A2A_GRPC_UNSUPPORTED', message: 'gRPC is not served by this gateway: use the JSON-RPC or HTTP+JSON interface of the agent card' } });
  });

  it('refuses push-notification URLs outside the allowlist, on send, on the push-config methods and over REST', async () => {
    const hits = agent.hits.length;
    const evil = 'http://169.254.169.254/latest/meta-data';
    const onSend = (await post(rpc('SendMessage', { ...textMessage('hi'), configuration: { taskPushNotificationConfig: { url: evil } } }))).json();
    assert.deepEqual(onSend.error, { code: -32082, message: `push notification URL "${evil}" is not allowed on this route (a2a.pushNotifications.allowedUrls): it is not in the allowlist`, data: { code: 'PCL_ERR_A2A_PUSH_URL_DENIED' } });
    const legacy = (await post(rpc('tasks/pushNotificationConfig/set', { taskId: 't', pushNotificationConfig: { url: 'https://hooks.example.com@evil.test/a2a/' } }))).json();
    assert.equal(legacy.error.data.code, 'PCL_ERR_A2A_PUSH_URL_DENIED');
    const v1 = (await post(rpc('CreateTaskPushNotificationConfig', { taskId: 't', url: 'https://hooks.example.com/other' }))).json();
    assert.equal(v1.error.data.code, 'PCL_ERR_A2A_PUSH_URL_DENIED');
    const rest = await send(`${gw.url()}/agents/research/a2a/rest/tasks/t1/pushNotificationConfigs`, { method: 'POST', body: JSON.stringify({ url: evil }), headers: { 'content-type': 'application/json', 'x-api-key': READER_KEY, 'a2a-version': '1.0' } });
    assert.equal(rest.status, 403);
    assert.equal(rest.json().error.code, 'PCL_ERR_A2A_PUSH_URL_DENIED');
    assert.equal(agent.hits.length, hits);
    // An allowed URL goes through to the agent (which answers for the unknown task itself).
    const allowed = (await post(rpc('CreateTaskPushNotificationConfig', { taskId: 'no-such-task', url: 'https://hooks.example.com/a2a/cb' }))).json();
    assert.notEqual(allowed.error?.data?.code, 'PCL_ERR_A2A_PUSH_URL_DENIED');
    assert.equal(agent.hits.length, hits + 1);
  });

  it('answers an agent that is down with a JSON-RPC error and a 502 card', async () => {
    const res = await send(`${gw.url()}/agents/down/rpc`, { method: 'POST', body: rpc('SendMessage', textMessage('hi')), headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200);
    assert.equal(res.json().error.code, -32080);
    assert.equal(res.json().error.data.code, 'PCL_ERR_BACKEND_UNREACHABLE');
    const card = await send(`${gw.url()}/agents/down/.well-known/agent-card.json`);
    assert.equal(card.status, 502);
  });

  it('refuses a card that is not JSON, or whose URLs point away from the agent', async () => {
    const bad = await send(`${gw.url()}/agents/notjson/.well-known/agent-card.json`);
    assert.equal(bad.status, 502);
    assert.equal(bad.json().error.code, 'PCL_ERR_A2A_CARD_INVALID');
    assert.match(bad.json().error.message, /its card at \/\.well-known\/agent-card\.json is not JSON/);
    for (const version of ['1.0', '0.3']) {
      const away = await send(`${gw.url()}/agents/elsewhere/.well-known/agent-card.json`, { headers: { 'a2a-version': version } });
      assert.equal(away.status, 502, version);
      assert.equal(away.json().error.code, 'PCL_ERR_A2A_CARD_INVALID');
      assert.doesNotMatch(away.text, /192\.0\.2\.10:8080\/a2a\/rest/);
    }
  });

  it('ends the stream of an agent that hangs mid-stream (body idle timeout), after the events it did send', async () => {
    const res = await request(jsonrpc, { method: 'POST', body: rpc('SendStreamingMessage', textMessage('hang')), headers: { 'content-type': 'application/json', 'x-api-key': READER_KEY, 'a2a-version': '1.0' } });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/event-stream/);
    const started = Date.now();
    let text = '';
    await assert.rejects(async () => {
      for await (const chunk of res.body) text += chunk;
    });
    assert.ok(Date.now() - started < 5000);
    assert.match(text, /step 1/);
  });

  it('aborts the agent stream when the client disconnects mid-stream', async () => {
    const before = agent.aborted;
    const controller = new AbortController();
    const res = await request(jsonrpc, { method: 'POST', body: rpc('SendStreamingMessage', textMessage('stream 50')), headers: { 'content-type': 'application/json', 'x-api-key': READER_KEY, 'a2a-version': '1.0' }, signal: controller.signal });
    for await (const chunk of res.body) {
      if (String(chunk).includes('step 1')) break;
    }
    controller.abort();
    await eventually(async () => agent.aborted > before, 3000);
  });

  it('aborts the agent call when the client disconnects while a SendMessage waits for its answer', async () => {
    const before = agent.aborted;
    const hits = agent.hits.length;
    const controller = new AbortController();
    const pending = request(jsonrpc, { method: 'POST', body: rpc('SendMessage', textMessage('slow 1')), headers: { 'content-type': 'application/json', 'x-api-key': READER_KEY, 'a2a-version': '1.0' }, signal: controller.signal });
    await eventually(async () => agent.hits.length > hits, 3000);
    controller.abort();
    await assert.rejects(pending);
    await eventually(async () => agent.aborted > before, 3000);
  });

  it('publishes one message event per A2A message, a stream ending when the stream does', async () => {
    const events: MessageEvent[] = [];
    const onEnd = (e: unknown) => events.push(e as MessageEvent);
    messageChannel.subscribe({ start() {}, end() {}, asyncStart() {}, asyncEnd: onEnd, error() {} });
    try {
      await post(rpc('SendMessage', textMessage('hi', 'summarize')));
      await post(rpc('SendMessage', textMessage('no', 'delete')));
      const res = await post(rpc('SendStreamingMessage', textMessage('stream 2')));
      assert.match(res.text, /done/);
      await eventually(async () => events.length >= 3, 3000);
    } finally {
      messageChannel.unsubscribe({ start() {}, end() {}, asyncStart() {}, asyncEnd: onEnd, error() {} });
    }
    const [ok, denied, stream] = events;
    assert.deepEqual([ok.protocol, ok.method, ok.skill, ok.outcome, ok.streaming], ['a2a', 'SendMessage', 'summarize', 'ok', undefined]);
    assert.deepEqual([denied.method, denied.skill, denied.outcome, denied.rpcErrorCode], ['SendMessage', 'delete', 'error', -32082]);
    assert.deepEqual([stream.method, stream.outcome, stream.streaming], ['SendStreamingMessage', 'ok', true]);
  });
});
