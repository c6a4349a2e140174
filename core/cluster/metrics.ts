import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { type Logger, reloadChannel } from '../telemetry/index.ts';
import { GATEWAY_WIDE_METRICS, gatewayMetrics } from '../telemetry/metrics.ts';
import type { MetricJson } from './protocol.ts';

/** How long a scrape waits for a worker's registry before leaving that worker out. */
export const SCRAPE_TIMEOUT_MS = 2_000;

/** A worker the supervisor can ask for its registry: its metrics, or why it gave none. */
export interface ScrapeTarget {
  index: number;
  ask(timeoutMs: number): Promise<MetricJson[] | 'timeout' | 'exited'>;
}

/**
 * The metrics of a supervisor of `workers: n`, served on the stats address for the whole gateway. A scrape asks
 * every live worker for its registry over the cluster channel and sums them the way prom-client's
 * `AggregatorRegistry.aggregate` does: by each metric's `aggregator` (counters, histograms and most gauges summed;
 * a rate-limit store is up only if every worker reaches it; event-loop lag averaged; versions taken from the first
 * worker; process start time left out). The gateway-wide metrics (reloads, config generation, build) are the
 * supervisor's own, since it runs the reloads; beside them it counts its workers, the workers a scrape gathered,
 * the workers that did not answer in time, worker restarts and admin lines the workers had to drop.
 */
export class ClusterMetrics {
  /** The supervisor's own metrics. */
  readonly registry = new Registry();
  private readonly scraped: Gauge;
  private readonly scrapeFailures: Counter<'worker'>;
  private readonly restarts: Counter<'worker'>;
  private readonly linesDropped: Counter;
  private readonly onReload: (m: unknown) => void;
  private readonly logger: Logger;

  constructor(workers: number, version: string, logger: Logger) {
    this.logger = logger;
    const registers = [this.registry];
    this.onReload = gatewayMetrics(this.registry, version);
    reloadChannel.subscribe(this.onReload);
    new Gauge({ name: 'portcullis_workers', help: 'Worker processes the supervisor runs (the workers setting).', registers }).set(workers);
    this.scraped = new Gauge({ name: 'portcullis_workers_scraped', help: 'Workers whose metrics this scrape includes (a worker that did not answer in time, or is restarting, is left out).', registers });
    this.scrapeFailures = new Counter({ name: 'portcullis_worker_scrape_failures_total', help: 'Scrapes a worker did not answer in time (its metrics were left out of that scrape).', labelNames: ['worker'], registers });
    this.restarts = new Counter({ name: 'portcullis_worker_restarts_total', help: 'Workers that exited unexpectedly and were started again.', labelNames: ['worker'], registers });
    this.linesDropped = new Counter({ name: 'portcullis_admin_lines_dropped_total', help: 'Admin lines (traffic, decisions) workers dropped because the supervisor did not take them fast enough.', registers });
    for (let i = 0; i < workers; i++) {
      this.scrapeFailures.inc({ worker: String(i) }, 0);
      this.restarts.inc({ worker: String(i) }, 0);
    }
  }

  restarted(worker: number): void {
    this.restarts.inc({ worker: String(worker) });
  }

  dropped(count: number): void {
    if (count > 0) this.linesDropped.inc(count);
  }

  /** One registry for the whole gateway: the supervisor's own metrics and the sum of every worker that answered. */
  async collect(targets: readonly ScrapeTarget[], timeoutMs: number = SCRAPE_TIMEOUT_MS): Promise<Registry> {
    const answers = await Promise.all(targets.map((t) => t.ask(timeoutMs)));
    const workers: MetricJson[][] = [];
    answers.forEach((metrics, i) => {
      if (Array.isArray(metrics)) workers.push(metrics.filter((m) => !GATEWAY_WIDE_METRICS.has(m.name)));
      // A worker that exited meanwhile is being restarted: `portcullis_worker_restarts_total` says so.
      else if (metrics === 'timeout') {
        this.scrapeFailures.inc({ worker: String(targets[i].index) });
        this.logger.warn({ worker: targets[i].index, timeoutMs }, 'stats: a worker did not answer the scrape in time; its metrics are left out of this one');
      }
    });
    this.scraped.set(workers.length);
    return AggregatorRegistry.aggregate([await this.registry.getMetricsAsJSON(), ...workers]);
  }

  close(): void {
    reloadChannel.unsubscribe(this.onReload);
    this.registry.clear();
  }
}
