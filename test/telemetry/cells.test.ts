import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { CellCounter, CellHistogram } from '../../core/telemetry/cells.ts';
import { formatOpenMetrics } from '../../core/telemetry/stats.ts';

/** The per-request series write exactly what prom-client's own Counter and Histogram write for the same samples. */
describe('cell counters and histograms', () => {
  const buckets = [0.001, 0.01, 0.1, 1];
  const samples: Array<[string, string, number]> = [];
  for (let i = 0; i < 500; i++) samples.push([`r${i % 3}`, i % 7 === 0 ? '5xx' : '2xx', ((i * 7919) % 2000) / 1000]);
  // Values on and around each bound: `le` is inclusive.
  for (const b of buckets) samples.push(['r0', '2xx', b], ['r0', '2xx', b + 1e-9]);

  it('expose the same Prometheus text and OpenMetrics as prom-client given the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const labelNames = ['route', 'status_class'] as const;
    const cellCount = new CellCounter({ name: 'x_requests_total', help: 'Requests.', labelNames, registers: [ours] });
    const cellHist = new CellHistogram({ name: 'x_duration_seconds', help: 'Duration.', labelNames, buckets, registers: [ours] });
    const count = new Counter({ name: 'x_requests_total', help: 'Requests.', labelNames, registers: [theirs] });
    const hist = new Histogram({ name: 'x_duration_seconds', help: 'Duration.', labelNames, buckets, registers: [theirs] });
    for (const [route, status, v] of samples) {
      const key = `${route}\0${status}`;
      const labels = () => ({ route, status_class: status });
      cellCount.cell(key, labels).value++;
      cellHist.observe(cellHist.cell(key, labels), v);
      count.inc({ route, status_class: status });
      hist.observe({ route, status_class: status }, v);
    }
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.equal(formatOpenMetrics(await ours.getMetricsAsJSON()), formatOpenMetrics(await theirs.getMetricsAsJSON()));
  });

  it('start again empty after a registry reset, and refuse a second metric of the same name', async () => {
    const registry = new Registry();
    const c = new CellCounter({ name: 'y_total', help: 'y', labelNames: ['a'] as const, registers: [registry] });
    c.cell('1', () => ({ a: '1' })).value += 2;
    assert.match(await registry.metrics(), /^y_total\{a="1"\} 2$/m);
    registry.resetMetrics();
    assert.doesNotMatch(await registry.metrics(), /y_total\{/);
    assert.throws(() => new CellCounter({ name: 'y_total', help: 'y', labelNames: ['a'] as const, registers: [registry] }), /already been registered/);
  });
});
