import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestGateway, simpleConfig, send, type TestGateway } from '../helpers/gateway.ts';
import { startAgent, type RunningAgent } from '../fixtures/a2a/agent.ts';
import { createOutboundGuard, isNonPublicAddress } from '../../core/upstream/outbound-guard.ts';

const rpc = (method: string, params: unknown, id: number | string = 1) => JSON.stringify({ jsonrpc: '2.0', id, method, params });
const message = { messageId: 'm-1', role: 'ROLE_USER', parts: [{ text: 'hi' }] };
const EVIL = 'http://169.254.169.254/latest/meta-data';

describe('A2A push-notification URLs: every spelling goes through the one outbound-URL guard (issue 25, finding 1)', () => {
  let agent: RunningAgent;
  let gw: TestGateway;
  const post = (body: string) => send(`${gw.url()}/a/a2a/jsonrpc`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'a2a-version': '1.0' } });

  before(async () => {
    agent = await startAgent({ name: 'pushy' });
    gw = await startTestGateway(
      simpleConfig([
        { name: 'a', matches: [{ path: { pathPrefix: '/a' } }], backends: [{ a2a: { url: agent.url, pushNotifications: { allowedUrls: ['https://hooks.example.com/a2a/', 'http://127.0.0.1:9/hook/'] } } }] },
      ]),
    );
  });
  after(async () => {
    await gw?.close();
    await agent?.close();
  });

  const refused = async (body: string) => {
    const hits = agent.hits.length;
    const res = (await post(body)).json();
    assert.equal(res.error?.data?.code, 'PCL_ERR_A2A_PUSH_URL_DENIED', JSON.stringify(res));
    assert.equal(agent.hits.length, hits, 'the agent never saw the request');
    return res;
  };

  it('refuses snake_case configuration.task_push_notification_config (which @a2a-js/sdk accepts) like the camelCase spelling', async () => {
    const res = await refused(rpc('SendMessage', { message, configuration: { task_push_notification_config: { url: EVIL } } }));
    assert.equal(res.error.message, `push notification URL "${EVIL}" is not allowed on this route (a2a.pushNotifications.allowedUrls): it is not in the allowlist`);
    assert.equal(res.id, 1);
    await refused(rpc('SendMessage', { message, configuration: { taskPushNotificationConfig: { url: 'https://hooks.example.com/a2a/' }, task_push_notification_config: { url: EVIL } } }));
    await refused(rpc('message/send', { message: { kind: 'message', messageId: 'x', role: 'user', parts: [{ kind: 'text', text: 'x' }] }, configuration: { push_notification_config: { url: EVIL } } }));
  });

  it('refuses top-level and nested snake_case on the push-config methods, and a non-string url', async () => {
    await refused(rpc('tasks/pushNotificationConfig/set', { task_id: 't', push_notification_config: { url: EVIL } }));
    await refused(rpc('CreateTaskPushNotificationConfig', { task_id: 't', config: { push_notification_config: { url: EVIL } } }));
    await refused(rpc('CreateTaskPushNotificationConfig', { taskId: 't', url: [EVIL] }));
    await refused(rpc('CreateTaskPushNotificationConfig', { taskId: 't', url: { toString: EVIL } }));
    const hits = agent.hits.length;
    const rest = await send(`${gw.url()}/a/a2a/rest/tasks/t1/pushNotificationConfigs`, { method: 'POST', body: JSON.stringify({ push_notification_config: { url: EVIL } }), headers: { 'content-type': 'application/json', 'a2a-version': '1.0' } });
    assert.equal(rest.status, 403, rest.text);
    assert.equal(rest.json().error.code, 'PCL_ERR_A2A_PUSH_URL_DENIED');
    assert.equal(agent.hits.length, hits);
  });

  it('refuses credentials, other schemes and address tricks on an allowed host; an allowed URL in snake_case still reaches the agent', async () => {
    await refused(rpc('SendMessage', { message, configuration: { task_push_notification_config: { url: 'https://user:pw@hooks.example.com/a2a/x' } } }));
    await refused(rpc('SendMessage', { message, configuration: { task_push_notification_config: { url: 'https://hooks.example.com/a2a/../admin' } } }));
    await refused(rpc('SendMessage', { message, configuration: { task_push_notification_config: { url: 'https://hooks.example.com/a2a-other/' } } }));
    await refused(rpc('SendMessage', { message, configuration: { task_push_notification_config: { url: 'ftp://hooks.example.com/a2a/' } } }));
    const hits = agent.hits.length;
    const ok = (await post(rpc('CreateTaskPushNotificationConfig', { task_id: 'no-such-task', url: 'https://hooks.example.com/a2a/cb' }))).json();
    assert.notEqual(ok.error?.data?.code, 'PCL_ERR_A2A_PUSH_URL_DENIED');
    // The allowlist entry names 127.0.0.1 itself: the operator allowed that loopback address.
    const literal = (await post(rpc('CreateTaskPushNotificationConfig', { task_id: 'no-such-task', url: 'http://127.0.0.1:9/hook/x' }))).json();
    assert.notEqual(literal.error?.data?.code, 'PCL_ERR_A2A_PUSH_URL_DENIED');
    assert.equal(agent.hits.length, hits + 2);
  });

  it('judges address classes the way the guard says (IPv4-mapped IPv6 and metadata included)', async () => {
    for (const ip of ['127.0.0.1', '10.1.2.3', '169.254.169.254', '::1', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe', 'fd00::1', 'fe80::1', '0.0.0.0', '100.64.0.1']) assert.equal(isNonPublicAddress(ip), true, ip);
    for (const ip of ['93.184.216.34', '2606:4700::1111', '8.8.8.8']) assert.equal(isNonPublicAddress(ip), false, ip);
    const open = createOutboundGuard();
    assert.deepEqual(await open.check('http://[::ffff:a9fe:a9fe]/'), { ok: false, reason: 'names a non-public address (::ffff:a9fe:a9fe)' });
    assert.deepEqual(await open.check('http://localhost:1/'), { ok: false, reason: 'names localhost' });
    assert.equal((await open.check('http://0x7f000001/')).ok, false, 'WHATWG URL reads hex IPv4 as 127.0.0.1');
    assert.deepEqual(await open.check('http://no-such-host.invalid/'), { ok: false, reason: 'cannot be resolved (getaddrinfo ENOTFOUND no-such-host.invalid)' });
  });
});
