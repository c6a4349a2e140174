import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestGateway, simpleConfig, send, startUpstream, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { startAgent, type RunningAgent } from '../fixtures/a2a/agent.ts';

const rpc = (method: string, params: unknown) => JSON.stringify({ jsonrpc: '2.0', id: 1, method, params });
const textMessage = (text: string) => ({ message: { messageId: crypto.randomUUID(), role: 'ROLE_USER', parts: [{ text }] } });

/**
 * The upstream policies on an A2A route: the A2A backend calls its agent through the route's composed upstream
 * (it has the `http-upstream` capability), so retries and backend credentials act on agent calls as they do on a
 * host route. Before capabilities, validation refused them on A2A routes although the agent calls used them.
 */
describe('A2A: retries and backend credentials act on agent calls', () => {
  let agent: RunningAgent;
  let flaky: Upstream;
  let gw: TestGateway;
  const agentKeys: (string | undefined)[] = [];
  let cardAnswers = 0;

  before(async () => {
    // In front of the agent: the first card request gets a 503, everything else is passed through.
    flaky = await startUpstream((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        if (req.url === '/.well-known/agent-card.json' && cardAnswers++ === 0) {
          res.writeHead(503, { 'content-type': 'text/plain' });
          res.end('warming up');
          return;
        }
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k))) as Record<string, string>;
        const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
        const answer = await fetch(`${agent.url}${req.url}`, { method: req.method, headers, body });
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
        res.end(Buffer.from(await answer.arrayBuffer()));
      });
    });
    // The card names the front as the agent's origin, as a card behind a load balancer does.
    agent = await startAgent({ name: 'research', cardUrl: `http://${flaky.host}`, onRequest: (req) => agentKeys.push(req.headers['x-agent-key'] as string | undefined) });
    gw = await startTestGateway(
      simpleConfig([
        {
          name: 'research',
          matches: [{ path: { pathPrefix: '/agents/research' } }],
          policies: {
            retry: { attempts: 2, backoffMs: 1, codes: [503] },
            backendAuth: { header: 'x-agent-key', credential: { secret: 'agent-secret-1' } },
          },
          backends: [{ a2a: { url: `http://${flaky.host}` } }],
        },
      ]),
    );
  });
  after(async () => {
    await gw?.close();
    await flaky?.close();
    await agent?.close();
  });

  it('retries the card fetch the agent answered 503, and the client gets the card', async () => {
    const card = await send(`${gw.url()}/agents/research/.well-known/agent-card.json`);
    assert.equal(card.status, 200, card.text);
    assert.equal(card.json().name, 'research');
    assert.equal(cardAnswers, 2, 'one 503, then the retried request');
  });

  it('sends the backend credential on every agent call, the card and the JSON-RPC message alike', async () => {
    const res = await send(`${gw.url()}/agents/research/a2a/jsonrpc`, {
      method: 'POST',
      body: rpc('SendMessage', textMessage('hello')),
      headers: { 'content-type': 'application/json', 'a2a-version': '1.0' },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json().result.message.parts[0].text, 'research echo: hello');
    assert.ok(agentKeys.length >= 2, `the agent saw ${agentKeys.length} calls`);
    assert.deepEqual(new Set(agentKeys), new Set(['agent-secret-1']));
  });
});
