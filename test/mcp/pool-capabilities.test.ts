import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import { CHANNELS, type ProcessEvent } from '../../core/telemetry/events.ts';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, EVERYTHING, MCP_TEST_EXTRA, mcpRoute, waitUntil } from '../helpers/mcp.ts';

/**
 * server-everything offers its sampling, elicitation and roots tools only to clients that declare those
 * capabilities. A session that takes a warm-pool process must see exactly what a session that started its own
 * process sees, whatever the client declared.
 */
describe('MCP warm pool: a pooled session sees the same tools as a fresh one', () => {
  let gw: TestGateway;
  const events: ProcessEvent[] = [];
  const onProcess = (m: unknown) => void events.push(m as ProcessEvent);
  // A fixed-size pool (warmPoolMax = warmPool): the subject is what a pooled process serves, and an adaptive pool would
  // grow on each miss, starting server-everything processes no session takes.
  const everything = (warmPool: number) => [{ name: 'everything', stdio: { cmd: 'node', args: [EVERYTHING, 'stdio'], warmPool, warmPoolMax: warmPool } }];

  before(async () => {
    subscribe(CHANNELS.process, onProcess);
    gw = await startTestGateway(
      simpleConfig(
        [
          { ...mcpRoute(everything(1), {}, 'pooled'), matches: [{ path: { pathPrefix: '/pooled' } }] },
          { ...mcpRoute(everything(0), {}, 'fresh'), matches: [{ path: { pathPrefix: '/fresh' } }] },
        ],
        MCP_TEST_EXTRA,
      ),
    );
  });
  after(async () => {
    await gw?.close();
    unsubscribe(CHANNELS.process, onProcess);
  });

  async function tools(path: string, capabilities: Record<string, unknown>): Promise<string[]> {
    const client = await connectClient(`${gw.url()}${path}`, { capabilities });
    try {
      return (await client.listTools()).tools.map((t) => t.name).sort();
    } finally {
      await client.close();
    }
  }

  /** Tools of a session on the pooled route that started no process of its own (it took a pooled one). */
  async function pooledTools(capabilities: Record<string, unknown>): Promise<string[]> {
    for (let attempt = 0; attempt < 6; attempt++) {
      // The pool learns what clients declare: after a miss it refills for this client; wait for that process.
      const pooledStarts = () => events.filter((e) => e.route === 'pooled' && e.event === 'start' && e.pooled).length;
      const before = events.length;
      const starts = pooledStarts();
      const names = await tools('/pooled', capabilities);
      const freshStart = events.slice(before).some((e) => e.route === 'pooled' && e.event === 'start' && !e.pooled);
      if (!freshStart) return names;
      // Under load the refill may already have started before `starts` was read, or be slower than this wait: the
      // next attempt then finds it (or misses and asks again); only six misses in a row fail the test.
      await waitUntil(() => pooledStarts() > starts, 20_000, 'the pool to refill for this client').catch(() => {});
      // The start event comes once the process is initialized; its tools/list prefetch follows.
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error('no session took a pooled process');
  }

  it('with and without sampling, elicitation and roots', async () => {
    const sets: Array<Record<string, unknown>> = [{}, { sampling: {} }, { elicitation: {} }, { sampling: {}, elicitation: {}, roots: { listChanged: true } }, {}];
    const seen: string[][] = [];
    for (const capabilities of sets) {
      const fresh = await tools('/fresh', capabilities);
      const pooled = await pooledTools(capabilities);
      assert.deepEqual(pooled, fresh, `capabilities ${JSON.stringify(capabilities)}`);
      seen.push(fresh);
    }
    // The capabilities matter to this server, so the comparison above could fail.
    assert.ok(seen[3].length > seen[0].length, `${seen[3].length} tools with every capability, ${seen[0].length} without`);
    process.stdout.write(`server-everything tools: ${seen.map((s, i) => `${JSON.stringify(sets[i])}=${s.length}`).join(', ')}\n`);
  });
});
