import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ObservedItem } from '../../core/admin/index.ts';
import { AdminObserver } from '../../core/admin/index.ts';
import { ClusterMetrics } from '../../core/cluster/metrics.ts';
import { ObservedForwarder, WorkerLedger } from '../../core/cluster/observed.ts';
import type { MetricJson, WorkerMessage } from '../../core/cluster/protocol.ts';
import { publish, reloadChannel, sessionChannel } from '../../core/telemetry/events.ts';
import { createLogger } from '../../core/telemetry/logger.ts';
import { createMetrics } from '../../core/telemetry/metrics.ts';
import type { CellCounter } from '../../core/telemetry/cells.ts';
import { until } from '../helpers/replica.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const logger = createLogger({ level: 'silent' });

async function value(metrics: ClusterMetrics, targets: Parameters<ClusterMetrics['collect']>[0], name: string, labels: Record<string, string> = {}, timeoutMs = 100): Promise<number | undefined> {
  const registry = await metrics.collect(targets, timeoutMs);
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

describe('the supervisor sums its workers\' registries', () => {
  // Two real worker registries in this process, told apart by their gateway id.
  const a = createMetrics({ gateway: 'a', version: '1.2.3' });
  const b = createMetrics({ gateway: 'b', version: '1.2.3' });
  const cluster = new ClusterMetrics(3, '1.2.3', logger);
  const answering = (index: number, m: typeof a) => ({ index, ask: async () => (await m.registry.getMetricsAsJSON()) as MetricJson[] });
  const silent = (index: number) => ({ index, ask: (timeoutMs: number) => sleep(timeoutMs).then(() => 'timeout' as const) });
  const exited = (index: number) => ({ index, ask: async () => 'exited' as const });

  after(() => {
    a.close();
    b.close();
    cluster.close();
  });

  it('sums counters, takes a shared store as up only when every worker reaches it, and leaves out a silent worker', async () => {
    const labels = { bind: '127.0.0.1:1', listener: 'l', route: 'r', backend_kind: 'direct', method: 'GET', status_class: '2xx' };
    (a.registry.getSingleMetric('portcullis_requests_total') as unknown as CellCounter<string>).cell('r', () => labels).value += 3;
    (b.registry.getSingleMetric('portcullis_requests_total') as unknown as CellCounter<string>).cell('r', () => labels).value += 4;
    (a.registry.getSingleMetric('portcullis_rate_limit_store_up') as { set(l: object, n: number): void }).set({ store: 'redis' }, 1);
    (b.registry.getSingleMetric('portcullis_rate_limit_store_up') as { set(l: object, n: number): void }).set({ store: 'redis' }, 0);
    const targets = [answering(0, a), answering(1, b), silent(2)];
    assert.equal(await value(cluster, targets, 'portcullis_requests_total', { route: 'r' }), 7);
    assert.equal(await value(cluster, targets, 'portcullis_rate_limit_store_up', { store: 'redis' }), 0);
    assert.equal(await value(cluster, targets, 'portcullis_workers'), 3);
    assert.equal(await value(cluster, targets, 'portcullis_workers_scraped'), 2);
    // Five scrapes so far (this one included), each missing worker 2.
    assert.equal(await value(cluster, targets, 'portcullis_worker_scrape_failures_total', { worker: '2' }), 5);
    assert.equal(await value(cluster, targets, 'portcullis_worker_scrape_failures_total', { worker: '0' }), 0);
  });

  it('counts a reload once for the gateway, not once per worker', async () => {
    // Every registry in this process hears it, as each worker and the supervisor do in theirs.
    publish(reloadChannel, () => ({ ok: true, durationMs: 1 }));
    const targets = [answering(0, a), answering(1, b)];
    assert.equal(await value(cluster, targets, 'portcullis_reloads_total', { outcome: 'ok' }), 1);
    assert.equal(await value(cluster, targets, 'portcullis_config_generation'), 2);
    assert.equal(await value(cluster, targets, 'portcullis_build_info', { version: '1.2.3' }), 1);
  });

  it('counts restarts by worker; a worker that exited during a scrape is left out, not counted as a failure', async () => {
    cluster.restarted(1);
    assert.equal(await value(cluster, [answering(0, a), exited(1)], 'portcullis_workers_scraped'), 1);
    assert.equal(await value(cluster, [], 'portcullis_worker_scrape_failures_total', { worker: '1' }), 0);
    assert.equal(await value(cluster, [], 'portcullis_worker_restarts_total', { worker: '1' }), 1);
    assert.equal(await value(cluster, [], 'portcullis_workers_scraped'), 0);
  });
});

describe('a worker forwards its admin lines in bounded batches', () => {
  const line = (n: number): ObservedItem => ({ t: 'session', e: { event: 'open', protocol: 'mcp', route: `r${n}` } });

  it('batches, keeps order, and drops rather than waits when the supervisor does not take them', async () => {
    const sent: Array<{ m: Extract<WorkerMessage, { pcl: 'observed' }>; done: (err: Error | null) => void }> = [];
    const forwarder = new ObservedForwarder((m, done) => sent.push({ m: m as Extract<WorkerMessage, { pcl: 'observed' }>, done }));
    forwarder.push(line(0));
    forwarder.push(line(1));
    await until(() => sent.length > 0, { intervalMs: 5, what: 'the first batch' });
    assert.equal(sent.length, 1, 'one batch for items pushed together');
    assert.deepEqual(sent[0].m, { pcl: 'observed', items: [line(0), line(1)], dropped: 0 });
    // Nothing is acknowledged: three more batches go out, then the worker stops sending.
    for (let i = 0; i < 1500; i++) forwarder.push(line(i));
    await until(() => sent.length >= 4, { intervalMs: 5, what: 'three more batches' });
    assert.deepEqual(
      sent.map((s) => s.m.items.length),
      [2, 500, 500, 500],
    );
    for (let i = 0; i < 5_007; i++) forwarder.push(line(i));
    await sleep(40); // time passing: four flush intervals in which a fifth batch could have gone
    assert.equal(sent.length, 4, 'no fifth batch while four are in flight');
    // The supervisor takes one: the next batch goes, with the count of what was dropped.
    sent[0].done(null);
    await until(() => sent.length >= 5, { intervalMs: 5, what: 'the fifth batch' });
    assert.equal(sent.length, 5);
    assert.equal(sent[4].m.items.length, 500);
    assert.equal(sent[4].m.dropped, 7);
    // A batch the channel could not carry is counted as dropped too.
    sent[1].done(new Error('channel closed'));
    await until(() => sent.length >= 6, { intervalMs: 5, what: 'the batch after the failed one' });
    assert.equal(sent.at(-1)!.m.dropped, 500);
    forwarder.close();
  });

  it('the supervisor\'s observer shows what a worker\'s observer recorded', () => {
    const items: ObservedItem[] = [];
    const worker = new AdminObserver('gw-worker', { forward: (item) => items.push(structuredClone(item)) });
    const supervisor = new AdminObserver(undefined, { settleMs: 100 });
    try {
      const traffic: ObservedItem = {
        t: 'access',
        line: { id: 'x1', time: '2026-01-01T00:00:00.000Z', method: 'POST', path: '/mcp', host: 'h', route: 'r', backend: 'b', status: 200, durationMs: 1, bytesIn: 1, bytesOut: 1, client: '127.0.0.1', messages: [{ protocol: 'mcp', method: 'tools/call', target: 't', tool: 'echo', outcome: 'ok' }], decisions: [] },
      };
      const decision: ObservedItem = { t: 'decision', line: { time: '2026-01-01T00:00:00.000Z', requestId: 'x1', route: 'r', policy: 'authz', level: 'message', outcome: 'deny' } };
      supervisor.ingest([traffic, decision, { t: 'process', e: { event: 'start', route: 'r', target: 't', pooled: true } }, { t: 'session', e: { event: 'open', protocol: 'mcp', route: 'r' } }]);
      assert.equal(supervisor.line('x1')?.status, 200);
      // A decision taken after its request's line came attaches to it.
      assert.deepEqual(supervisor.decisionsOf('x1'), [(decision as { line: object }).line]);
      const totals = supervisor.metrics.snapshot().totals;
      assert.equal(totals.requests, 1);
      assert.equal(totals.denials, 1);
      assert.equal(totals.sessionsOpen, 1);
      assert.equal(supervisor.metrics.snapshot().mcpByMethod['mcp tools/call']?.ok, 1);
      assert.deepEqual(supervisor.health.of('r', 't', true), { status: 'up', running: 1, pooled: 1, starts: 1, lastOkAt: supervisor.health.of('r', 't', true).lastOkAt });
      // A worker's observer forwards what its windows count, without the fields they do not need; not its reloads
      // (the supervisor records each reload once itself).
      publish(sessionChannel, () => ({ event: 'open' as const, protocol: 'mcp' as const, route: 'r', sessionId: 's1', subject: 'agent' }));
      publish(reloadChannel, () => ({ ok: true, durationMs: 1 }));
      assert.deepEqual(items, [{ t: 'session', e: { event: 'open', protocol: 'mcp', route: 'r' } }]);
    } finally {
      worker.close();
      supervisor.close();
    }
  });

  it('a decision taken after its request ended reaches the supervisor once', async () => {
    const { policyChannel, requestChannel } = await import('../../core/telemetry/events.ts');
    const items: ObservedItem[] = [];
    const worker = new AdminObserver('gw', { forward: (item) => items.push(item) });
    const supervisor = new AdminObserver(undefined);
    try {
      const e = { id: 'late-1', gateway: 'gw', method: 'GET', path: '/', host: 'h', route: 'r', status: 200, durationMs: 1, clientAddress: '127.0.0.1' } as never;
      requestChannel.start.publish(e);
      requestChannel.end.publish(e);
      policyChannel.publish({ requestId: 'late-1', route: 'r', policy: 'p', level: 'http', outcome: 'allow' } as never);
      // What the channel carries: the batch serialized after both were recorded.
      supervisor.ingest(JSON.parse(JSON.stringify(items)) as ObservedItem[]);
      assert.equal(supervisor.decisionsOf('late-1').length, 1);
      assert.equal(worker.decisionsOf('late-1').length, 1);
    } finally {
      worker.close();
      supervisor.close();
    }
  });

  it('closes, in the supervisor\'s view, the processes and sessions of a worker that died', () => {
    const supervisor = new AdminObserver(undefined);
    const ledger = new WorkerLedger();
    try {
      const items: ObservedItem[] = [
        { t: 'process', e: { event: 'start', route: 'r', target: 't', pooled: true } },
        { t: 'process', e: { event: 'start', route: 'r', target: 't', pooled: true } },
        { t: 'process', e: { event: 'exit', route: 'r', target: 't', pooled: true, code: 0 } },
        { t: 'session', e: { event: 'open', protocol: 'mcp', route: 'r' } },
      ];
      supervisor.ingest(items);
      ledger.record(items);
      assert.equal(supervisor.health.of('r', 't', true).running, 1);
      assert.equal(supervisor.metrics.snapshot().totals.sessionsOpen, 1);
      supervisor.ingest(ledger.closeAll());
      const health = supervisor.health.of('r', 't', true);
      assert.equal(health.running, 0);
      assert.equal(health.status, 'failed', 'its processes went with it');
      assert.equal(supervisor.metrics.snapshot().totals.sessionsOpen, 0);
      assert.deepEqual(ledger.closeAll(), []);
    } finally {
      supervisor.close();
    }
  });
});
