import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestGateway, simpleConfig, send, type TestGateway } from '../helpers/gateway.ts';
import { startAgent, type RunningAgent } from '../fixtures/a2a/agent.ts';
import { heapAfterGc, MiB } from '../helpers/memory.ts';
import { CARD_CACHE_MAX_ENTRIES, normalA2aVersion } from '../../core/backends/a2a/card.ts';

describe('A2A agent-card cache: keyed by a normalised A2A-Version and bounded (issue 25, finding 2)', () => {
  let agent: RunningAgent;
  let gw: TestGateway;
  const cardHits = () => agent.hits.filter((h) => h.includes('/.well-known/')).length;
  const card = (version: string) => send(`${gw.url()}/a/.well-known/agent-card.json`, { headers: { 'a2a-version': version } });

  before(async () => {
    agent = await startAgent({ name: 'cards' });
    gw = await startTestGateway(simpleConfig([{ name: 'a', matches: [{ path: { pathPrefix: '/a' } }], backends: [{ a2a: { url: agent.url } }] }]));
  });
  after(async () => {
    await gw?.close();
    await agent?.close();
  });

  it('normalises versions: a patch, spaces and a v prefix are one version; anything else is no version', () => {
    assert.deepEqual(['1.0', ' 1.0 ', '1.0.7', 'v1.0', '01.00', '0.3', 'garbage', '1', '1.0-x', ''].map(normalA2aVersion), ['1.0', '1.0', '1.0', '1.0', '1.0', '0.3', '', '', '', '']);
  });

  it('300 distinct junk A2A-Version values make one agent fetch, not 300', async () => {
    const before = cardHits();
    for (let i = 0; i < 300; i++) assert.equal((await card(`junk-${i}-${'x'.repeat(200)}`)).status, 200);
    assert.equal(cardHits() - before, 1);
  });

  it('a flood of distinct well-formed versions keeps at most the bound, evicting the least recently used, in bounded memory', async () => {
    const heap0 = heapAfterGc();
    const n = 1500;
    for (let i = 0; i < n; i++) assert.equal((await card(`${100 + Math.floor(i / 1000)}.${i % 1000}`)).status, 200);
    const grown = heapAfterGc() - heap0;
    assert.ok(grown < 16 * MiB, `the heap grew by ${(grown / MiB).toFixed(1)} MiB`);
    // The most recent version is still cached; the first was evicted long ago.
    const hits = cardHits();
    await card(`101.${(n - 1) % 1000}`);
    assert.equal(cardHits(), hits, 'the most recent version is served from the cache');
    await card('100.0');
    assert.equal(cardHits(), hits + 1, 'the oldest was evicted');
    assert.ok(CARD_CACHE_MAX_ENTRIES < n);
  });
});
