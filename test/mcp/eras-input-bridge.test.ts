import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { fixtureStdio, MCP_TEST_EXTRA, mcpRoute, postModern, text, waitUntil } from '../helpers/mcp.ts';

const V = '2026-07-28';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const SHORT_TIMEOUT_MS = 1500;

/** One 2026-07-28 request by hand, as `key`, declaring `capabilities`. */
const post = (url: string, key: string, body: Record<string, any>, capabilities: Record<string, unknown> = { sampling: {} }, signal?: AbortSignal) =>
  postModern(url, body, { key, capabilities, signal });

const sampled = (answer: string) => ({ role: 'assistant', content: { type: 'text', text: answer }, model: 'm' });

// A 2026-07-28 client (no server-to-client requests in its era) in front of a 2025-era stdio target whose tools
// ask the client for sampling, elicitation or roots during the call: the gateway answers the call with an
// input-required result, keeps the target's request open, and answers it from the client's retry.
describe('MCP eras: a 2025 target\'s requests to a 2026-07-28 client become input-required rounds', () => {
  let gw: TestGateway;
  let url: string;
  let shortUrl: string;

  before(async () => {
    const keys = { apiKey: { keys: [{ name: 'agent-a', sha256: sha('key-a') }, { name: 'agent-b', sha256: sha('key-b') }] } };
    gw = await startTestGateway(
      simpleConfig(
        [
          { ...mcpRoute([fixtureStdio('alpha', 'eras-input-bridge')]), policies: keys },
          {
            ...mcpRoute([fixtureStdio('beta', 'eras-input-bridge')], { requestTimeoutMs: SHORT_TIMEOUT_MS }, 'short'),
            matches: [{ path: { pathPrefix: '/short' } }],
            policies: keys,
          },
        ],
        MCP_TEST_EXTRA,
      ),
    );
    url = `${gw.url()}/mcp`;
    shortUrl = `${gw.url()}/short/mcp`;
  });
  after(async () => {
    await gw?.close();
  });

  async function v2Client(capabilities: Record<string, unknown>) {
    const client = new ClientV2({ name: 'v2', version: '1' }, { versionNegotiation: { mode: { pin: V } }, capabilities });
    await client.connect(new HttpV2(new URL(url), { requestInit: { headers: { authorization: 'Bearer key-a' } } }));
    return client;
  }

  it('an SDK v2 client answers sampling, elicitation, roots, and two questions in a row, through input-required rounds', async () => {
    const client = await v2Client({ sampling: {}, elicitation: { form: {} }, roots: {} });
    const questions: string[] = [];
    let n = 0;
    client.setRequestHandler('sampling/createMessage', async (req) => {
      questions.push(String((req.params.messages[0].content as { text: string }).text));
      return sampled(`answer ${++n}`) as any;
    });
    client.setRequestHandler('elicitation/create', async (req) => {
      questions.push(req.params.message);
      return { action: 'accept', content: { who: 'v2' } };
    });
    client.setRequestHandler('roots/list', async () => ({ roots: [{ uri: 'file:///work', name: 'work' }] }));
    try {
      assert.equal(text(await client.callTool({ name: 'ask', arguments: {} })), 'sampled: answer 1');
      assert.equal(text(await client.callTool({ name: 'elicit', arguments: {} })), 'elicited: accept {"who":"v2"}');
      assert.equal(text(await client.callTool({ name: 'roots', arguments: {} })), 'roots: file:///work');
      assert.equal(text(await client.callTool({ name: 'ask', arguments: { rounds: 2 } })), 'sampled: answer 2 | answer 3');
      assert.deepEqual(questions, ['question from alpha', 'your name?', 'question from alpha', 'question from alpha']);
      // Nothing is left waiting once the calls completed.
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'after' } })), 'alpha: after');
    } finally {
      await client.close();
    }
  });

  it('the wire: input-required with the target\'s request, a sealed state, and the retry completes the same call', async () => {
    const first = await post(url, 'key-a', { id: 1, method: 'tools/call', params: { name: 'ask', arguments: { rounds: 2 } } });
    assert.equal(first.status, 200);
    const r1 = first.body.result;
    assert.equal(r1.resultType, 'input_required');
    const [[key1, asked1]] = Object.entries(r1.inputRequests) as [string, any][];
    assert.equal(asked1.method, 'sampling/createMessage');
    assert.equal(asked1.params.messages[0].content.text, 'question from alpha');
    assert.match(r1.requestState, /^pcl1\./);
    const second = await post(url, 'key-a', { id: 2, method: 'tools/call', params: { name: 'ask', arguments: { rounds: 2 }, inputResponses: { [key1]: sampled('one') }, requestState: r1.requestState } });
    const r2 = second.body.result;
    assert.equal(r2.resultType, 'input_required', JSON.stringify(second.body));
    const [key2] = Object.keys(r2.inputRequests);
    assert.notEqual(key2, key1);
    assert.notEqual(r2.requestState, r1.requestState);
    const third = await post(url, 'key-a', { id: 3, method: 'tools/call', params: { name: 'ask', arguments: { rounds: 2 }, inputResponses: { [key2]: sampled('two') }, requestState: r2.requestState } });
    assert.equal(third.status, 200);
    assert.equal(third.body.id, 3);
    assert.equal(third.body.result.resultType, 'complete');
    assert.equal(third.body.result.content[0].text, 'sampled: one | two');
  });

  it('a client that did not declare sampling is not asked: the target\'s request is refused as before', async () => {
    const r = await post(url, 'key-a', { id: 1, method: 'tools/call', params: { name: 'ask', arguments: {} } }, { elicitation: {} });
    const blob = JSON.stringify(r.body);
    assert.ok(!('result' in r.body) || r.body.result.resultType !== 'input_required', blob);
    assert.match(blob, /does not support sampling\/createMessage/);
  });

  it('bad retries: a forged state, another caller\'s retry, a replayed state: -32602 with a stable code, and the call stays usable', async () => {
    const first = await post(url, 'key-a', { id: 1, method: 'tools/call', params: { name: 'ask', arguments: {} } });
    const { inputRequests, requestState } = first.body.result;
    const [key] = Object.keys(inputRequests);
    const retry = (state: string) => ({ id: 2, method: 'tools/call', params: { name: 'ask', arguments: {}, inputResponses: { [key]: sampled('ok') }, requestState: state } });

    const dot = requestState.lastIndexOf('.');
    const forged = `${requestState.slice(0, dot)}.${Buffer.alloc(32, 7).toString('base64url')}`;
    const f = await post(url, 'key-a', retry(forged));
    assert.equal(f.status, 400);
    assert.equal(f.body.error.code, -32602);
    assert.match(f.body.error.message, /integrity check failed/);
    await gw.logs.waitFor((l) => l.code === 'PCL_ERR_MCP_REQUEST_STATE_INVALID' && l.reason === 'its integrity check failed');

    const other = await post(url, 'key-b', retry(requestState));
    assert.equal(other.status, 400);
    assert.equal(other.body.error.code, -32602);
    assert.match(other.body.error.message, /issued to another caller/);

    // The owner's retry still finds its call (the refusals took nothing), and completes it.
    const ok = await post(url, 'key-a', retry(requestState));
    assert.equal(ok.body.result.content[0].text, 'sampled: ok', JSON.stringify(ok.body));

    // The same state again: its call is gone.
    const again = await post(url, 'key-a', retry(requestState));
    assert.equal(again.status, 400);
    assert.equal(again.body.error.code, -32602);
    assert.equal(again.body.error.data.code, 'PCL_ERR_MCP_REQUEST_STATE_EXPIRED');
    assert.match(again.body.error.message, /the call it continues is gone/);
    await gw.logs.waitFor((l) => l.code === 'PCL_ERR_MCP_REQUEST_STATE_EXPIRED');
  });

  it('a retry after the route\'s request timeout: the target got an error, and the client a clear -32602, never a hang', async () => {
    const first = await post(shortUrl, 'key-a', { id: 1, method: 'tools/call', params: { name: 'ask', arguments: {} } });
    const { inputRequests, requestState } = first.body.result;
    const [key] = Object.keys(inputRequests);
    await gw.logs.waitFor((l) => l.route === 'short' && l.timeoutMs === SHORT_TIMEOUT_MS && /input-required call dropped/.test(String(l.msg)));
    const late = await post(shortUrl, 'key-a', { id: 2, method: 'tools/call', params: { name: 'ask', arguments: {}, inputResponses: { [key]: sampled('late') }, requestState } });
    assert.equal(late.status, 400);
    assert.equal(late.body.error.data.code, 'PCL_ERR_MCP_REQUEST_STATE_EXPIRED');
    // The route serves the caller as before.
    const echo = await post(shortUrl, 'key-a', { id: 3, method: 'tools/call', params: { name: 'echo', arguments: { text: 'still' } } });
    assert.equal(echo.body.result.content[0].text, 'beta: still');
  });

  it('a client that closes its request cancels the call on the 2025 target (this era\'s cancellation)', async () => {
    const count = async (which?: 'started') =>
      Number((await post(url, 'key-b', { id: 9, method: 'tools/call', params: { name: 'cancelled', arguments: which ? { which } : {} } })).body.result.content[0].text);
    const before = await count();
    const startedBefore = await count('started');
    const aborter = new AbortController();
    const call = post(url, 'key-b', { id: 1, method: 'tools/call', params: { name: 'slow', arguments: { ms: 60_000 } } }, { sampling: {} }, aborter.signal);
    // Closed once the call is at the target; a cancellation the gateway did not pass on leaves the count as it was.
    await waitUntil(async () => (await count('started')) > startedBefore, 10_000, 'the slow call to reach the target');
    aborter.abort();
    await assert.rejects(call);
    await waitUntil(async () => (await count()) === before + 1, 10_000, 'the target to see the cancellation');
  });

  it('the call\'s progress goes to whichever of its exchanges is open: the retry streams it before the next round', async () => {
    const params = { name: 'ask', arguments: { rounds: 2 }, _meta: { progressToken: 'tok' } };
    const first = await post(url, 'key-a', { id: 1, method: 'tools/call', params });
    assert.deepEqual(first.events.length, 1);
    const r1 = first.body.result;
    const second = await post(url, 'key-a', { id: 2, method: 'tools/call', params: { ...params, inputResponses: { [Object.keys(r1.inputRequests)[0]]: sampled('a') }, requestState: r1.requestState } });
    assert.deepEqual(second.events.map((e) => e.method ?? e.result?.resultType), ['notifications/progress', 'input_required']);
    assert.equal(second.events[0].params.progressToken, 'tok');
    assert.equal(second.events[0].params.progress, 1);
    const r2 = second.body.result;
    const third = await post(url, 'key-a', { id: 3, method: 'tools/call', params: { ...params, inputResponses: { [Object.keys(r2.inputRequests)[0]]: sampled('b') }, requestState: r2.requestState } });
    assert.deepEqual(third.events.map((e) => e.method ?? e.result?.resultType), ['notifications/progress', 'complete']);
    assert.equal(third.events[0].params.progress, 2);
    assert.equal(third.body.id, 3);
    assert.equal(third.body.result.content[0].text, 'sampled: a | b');
  });
});
