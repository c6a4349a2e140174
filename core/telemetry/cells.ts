import type { Registry } from 'prom-client';

/**
 * Counters and histograms for the per-request path. prom-client's `inc` and `observe` validate and hash their
 * label object on every call (several µs each, four to six of them per proxied request); here the request path
 * looks its series up once by a key it builds from already-folded label values and adds to plain numbers, and
 * the registry reads the series when scraped. They register as prom-client metrics (same `get()` shape as its
 * Counter and Histogram), so the stats server, OpenMetrics and the cluster aggregation treat them alike.
 */

interface CellConfig<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  registers: readonly Registry[];
}

/** Series are few (every label is folded to a bounded set); past this many the least useful guard is a reset. */
const MAX_SERIES = 10_000;

type Labels<L extends string> = Readonly<Record<L, string>>;

/** What both kinds share: registration, and series kept by key, each made once with its labels. */
abstract class CellMetric<L extends string, C extends object> {
  readonly name: string;
  readonly help: string;
  readonly aggregator = 'sum';
  protected readonly cells = new Map<string, C & { labels: Labels<L> }>();
  /** Bumped when the series are dropped: a caller holding a cell of an older generation must look it up again. */
  generation = 0;

  constructor(config: CellConfig<L>) {
    this.name = config.name;
    this.help = config.help;
    for (const r of config.registers) r.registerMetric(this as never);
  }

  /** The series of `key` (a string that names the label values), made with `labels()` the first time. */
  cell(key: string, labels: () => Labels<L>): C {
    let c = this.cells.get(key);
    if (c === undefined) {
      if (this.cells.size >= MAX_SERIES) this.reset();
      c = { ...this.empty(), labels: labels() };
      this.cells.set(key, c);
    }
    return c;
  }

  protected abstract empty(): C;

  reset(): void {
    this.cells.clear();
    this.generation++;
  }
}

export interface CounterCell {
  value: number;
}

export class CellCounter<L extends string> extends CellMetric<L, CounterCell> {
  readonly type = 'counter';

  protected empty(): CounterCell {
    return { value: 0 };
  }

  async get() {
    const values = [...this.cells.values()].map((c) => ({ labels: { ...c.labels }, value: c.value }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export interface HistogramCell {
  /** Observations per bucket (not cumulative), the last one past every bound. */
  readonly buckets: number[];
  sum: number;
  count: number;
}

export class CellHistogram<L extends string> extends CellMetric<L, HistogramCell> {
  readonly type = 'histogram';
  private readonly bounds: readonly number[];

  constructor(config: CellConfig<L> & { buckets: readonly number[] }) {
    super(config);
    this.bounds = [...config.buckets].sort((a, b) => a - b);
  }

  protected empty(): HistogramCell {
    return { buckets: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
  }

  /** Adds one observation (in the histogram's unit) to a series. */
  observe(cell: HistogramCell, value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    cell.buckets[i]++;
    cell.sum += value;
    cell.count++;
  }

  /** In prom-client's Histogram form: cumulative `_bucket` lines with `le`, then `+Inf`, `_sum` and `_count`. */
  async getForPromString() {
    const values: Array<{ labels: Record<string, string | number>; sharedLabels: Labels<L>; value: number; metricName: string }> = [];
    for (const c of this.cells.values()) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += c.buckets[i];
        values.push({ labels: { le: this.bounds[i] }, sharedLabels: c.labels, value: acc, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: c.labels, value: c.count, metricName: `${this.name}_bucket` });
      values.push({ labels: {}, sharedLabels: c.labels, value: c.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: c.labels, value: c.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  async get() {
    const data = await this.getForPromString();
    return { ...data, values: data.values.map(({ labels, sharedLabels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } })) };
  }
}
