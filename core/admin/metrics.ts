import type { RateLimitEvent, SessionEvent } from '../telemetry/index.ts';
import type { DecisionLine, MessageLine, ReloadLine } from './observer.ts';

const BUCKET_MS = 5_000;
const BUCKETS_KEPT = 180;
/** Latency samples kept per bucket: enough for percentiles, bounded under load. */
const SAMPLES_PER_BUCKET = 500;

interface Bucket {
  t: number;
  requests: number;
  errors: number;
  denials: number;
  rateLimited: number;
  messages: number;
  durations: number[];
}

export interface SeriesPoint {
  /** Start of the bucket, ms since the epoch. */
  t: number;
  requests: number;
  errors: number;
  denials: number;
  rateLimited: number;
  messages: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface MetricsSnapshot {
  bucketMs: number;
  series: SeriesPoint[];
  totals: {
    requests: number;
    errors: number;
    denials: number;
    rateLimited: number;
    sessionsOpen: number;
    sessionsOpened: number;
    reloadsOk: number;
    reloadsFailed: number;
  };
  latency: { p50: number; p90: number; p99: number };
  byStatusClass: Record<string, number>;
  byRoute: Record<string, number>;
  mcpByMethod: Record<string, { ok: number; error: number }>;
}

/** Status class names by hundreds, made once rather than a new string per request. */
const STATUS_CLASSES: readonly string[] = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'];

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[i] * 100) / 100;
}

/**
 * The key series of the Metrics page, aggregated from the telemetry events in 5-second buckets over the last
 * 15 minutes. It needs no metrics library: the gateway's Prometheus registry, when present, is shown beside it.
 */
export class MetricsWindow {
  private readonly buckets: Bucket[] = [];
  private readonly totals = { requests: 0, errors: 0, denials: 0, rateLimited: 0, sessionsOpen: 0, sessionsOpened: 0, reloadsOk: 0, reloadsFailed: 0 };
  private readonly byStatusClass: Record<string, number> = {};
  private readonly byRoute: Record<string, number> = {};
  private readonly mcpByMethod: Record<string, { ok: number; error: number }> = {};
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  private bucket(): Bucket {
    const now = this.now();
    const current = this.buckets[this.buckets.length - 1];
    // Within the current bucket (nearly every call): no division.
    if (current !== undefined && now >= current.t && now < current.t + BUCKET_MS) return current;
    const t = Math.floor(now / BUCKET_MS) * BUCKET_MS;
    let last = current;
    if (!last || last.t !== t) {
      last = { t, requests: 0, errors: 0, denials: 0, rateLimited: 0, messages: 0, durations: [] };
      this.buckets.push(last);
      if (this.buckets.length > BUCKETS_KEPT) this.buckets.shift();
    }
    return last;
  }

  /** A request's line: its `status` and `durationMs` as the line shows them. */
  request(status: number, durationMs: number, route: string | undefined): void {
    const b = this.bucket();
    b.requests++;
    this.totals.requests++;
    if (b.durations.length < SAMPLES_PER_BUCKET) b.durations.push(durationMs);
    const error = status >= 500 || status === 0;
    if (error) {
      b.errors++;
      this.totals.errors++;
    }
    const cls = status === 0 ? 'none' : (STATUS_CLASSES[Math.floor(status / 100)] ?? `${Math.floor(status / 100)}xx`);
    this.byStatusClass[cls] = (this.byStatusClass[cls] ?? 0) + 1;
    // Route names come from the config, so this map is bounded by it.
    const key = route ?? '(no route)';
    this.byRoute[key] = (this.byRoute[key] ?? 0) + 1;
  }

  message(line: MessageLine): void {
    this.bucket().messages++;
    // Methods are client input: only the ones a protocol defines get their own entry.
    const method = /^[a-z]+(\/[a-zA-Z]+)*$/.test(line.method) && line.method.length <= 40 ? line.method : '(other)';
    const key = `${line.protocol} ${method}`;
    const m = (this.mcpByMethod[key] ??= { ok: 0, error: 0 });
    if (line.outcome === 'error') m.error++;
    else m.ok++;
  }

  decision(d: DecisionLine): void {
    if (d.outcome !== 'deny') return;
    this.bucket().denials++;
    this.totals.denials++;
  }

  rateLimit(e: Pick<RateLimitEvent, 'kind' | 'outcome'>): void {
    if (e.kind !== 'decision' || e.outcome !== 'limited') return;
    this.bucket().rateLimited++;
    this.totals.rateLimited++;
  }

  session(e: Pick<SessionEvent, 'event'>): void {
    if (e.event === 'open') {
      this.totals.sessionsOpen++;
      this.totals.sessionsOpened++;
    } else this.totals.sessionsOpen = Math.max(0, this.totals.sessionsOpen - 1);
  }

  reload(line: ReloadLine): void {
    if (line.ok) this.totals.reloadsOk++;
    else this.totals.reloadsFailed++;
  }

  snapshot(): MetricsSnapshot {
    this.bucket();
    const all: number[] = [];
    const series = this.buckets.map((b) => {
      const sorted = [...b.durations].sort((x, y) => x - y);
      all.push(...b.durations);
      return {
        t: b.t,
        requests: b.requests,
        errors: b.errors,
        denials: b.denials,
        rateLimited: b.rateLimited,
        messages: b.messages,
        p50: percentile(sorted, 50),
        p90: percentile(sorted, 90),
        p99: percentile(sorted, 99),
      };
    });
    all.sort((x, y) => x - y);
    return {
      bucketMs: BUCKET_MS,
      series,
      totals: { ...this.totals },
      latency: { p50: percentile(all, 50), p90: percentile(all, 90), p99: percentile(all, 99) },
      byStatusClass: { ...this.byStatusClass },
      byRoute: { ...this.byRoute },
      mcpByMethod: structuredClone(this.mcpByMethod),
    };
  }
}
