import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgents } from '../../examples/a2a/agents.ts';
import { startExample } from '../helpers/examples.ts';
import { send } from '../helpers/gateway.ts';
import { sdkClient, userMessage } from '../a2a/helpers.ts';

const READER = { 'x-api-key': 'a2a-reader-demo-key' };
const ADMIN = { 'x-api-key': 'a2a-admin-demo-key' };

describe('examples/a2a: two agents, a read-only and a privileged caller', () => {
  let agents: Awaited<ReturnType<typeof startAgents>>;
  let gw: Awaited<ReturnType<typeof startExample>>;
  before(async () => {
    // Free ports: test/examples/side-by-side.test.ts may run the example on its own ports at the same time.
    agents = await startAgents({ research: 0, ops: 0 });
    gw = await startExample('a2a', { a2aAgents: Object.fromEntries(Object.entries(agents.ports).map(([name, port]) => [name, `http://127.0.0.1:${port}`])) });
  });
  after(async () => {
    await gw?.running.close();
    await agents?.close();
  });

  const skills = async (agent: string, key: Record<string, string>) =>
    (await send(`${gw.url()}/agents/${agent}/.well-known/agent-card.json`, { headers: { ...key, 'a2a-version': '1.0' } })).json().skills.map((s: any) => s.id);

  it('shows each caller the card it may use', async () => {
    assert.deepEqual(await skills('research', READER), ['summarize', 'search']);
    assert.deepEqual(await skills('research', ADMIN), ['summarize', 'search', 'delete-notes']);
    assert.deepEqual(await skills('ops', READER), ['status']);
    assert.deepEqual(await skills('ops', ADMIN), ['status', 'deploy']);
    const listing = (await send(`${gw.url()}/agents`, { headers: { ...READER, 'a2a-version': '1.0' } })).json();
    assert.deepEqual(listing.agents.map((a: any) => a.name), ['research', 'ops']);
    // The card is public: it names the scheme to use, and an anonymous caller may use no skill.
    const anonymous = await send(`${gw.url()}/agents/research/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } });
    assert.equal(anonymous.status, 200);
    assert.deepEqual(anonymous.json().skills, []);
  });

  it('sends, streams and denies as the README shows', async () => {
    const reader = await sdkClient(`${gw.url()}/agents/research`, READER);
    const sent = (await reader.sendMessage(userMessage('summarize the release notes', 'summarize'))) as any;
    assert.equal(sent.parts[0].content.value, 'research: summarize the release notes');
    await assert.rejects(reader.sendMessage(userMessage('wipe', 'delete-notes')), /forbidden: SendMessage \(skill delete-notes\)/);
    const admin = await sdkClient(`${gw.url()}/agents/research`, ADMIN);
    assert.equal(((await admin.sendMessage(userMessage('wipe', 'delete-notes'))) as any).parts[0].content.value, 'research: wipe');
    const ops = await sdkClient(`${gw.url()}/agents/ops`, READER);
    const states: string[] = [];
    for await (const e of ops.sendMessageStream(userMessage('stream status', 'status'))) states.push((e as any).payload.$case);
    assert.deepEqual(states, ['task', 'statusUpdate', 'statusUpdate', 'statusUpdate']);
    const push = await send(`${gw.url()}/agents/research/a2a/jsonrpc`, {
      method: 'POST',
      headers: { ...ADMIN, 'a2a-version': '1.0', 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'SendMessage', params: { message: { messageId: 'm4', role: 'ROLE_USER', parts: [{ text: 'hi' }] }, configuration: { taskPushNotificationConfig: { url: 'http://169.254.169.254/' } } } }),
    });
    assert.equal(push.json().error.data.code, 'PCL_ERR_A2A_PUSH_URL_DENIED');
  });
});
