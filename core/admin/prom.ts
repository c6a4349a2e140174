import type { Registry } from 'prom-client';

/** One metric of the gateway's Prometheus registry, as the Metrics page lists it. */
export interface PromMetric {
  name: string;
  help: string;
  type: string;
  /** Up to 50 samples: labels and value. */
  values: Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>;
}

/** What the Metrics page reads: a prom-client registry (only its JSON view is used). */
export type PromSource = Pick<Registry, 'getMetricsAsJSON'>;

const MAX_VALUES = 50;

/**
 * The metrics of `registry` (the gateway's own, or, under `workers: n`, the sum of its workers' that the
 * supervisor gathers), else of prom-client's default registry; an empty list when there is none. Read on request,
 * never scraped in the background.
 */
export async function promSummary(registry?: () => PromSource | undefined | Promise<PromSource | undefined>): Promise<PromMetric[]> {
  let register: PromSource | undefined;
  if (registry) register = await registry();
  else {
    try {
      ({ register } = (await import('prom-client')) as unknown as { register: PromSource });
    } catch {
      return [];
    }
  }
  if (!register) return [];
  const metrics = await register.getMetricsAsJSON();
  return metrics.map((m) => ({
    name: m.name,
    help: m.help,
    type: String(m.type),
    values: (m.values ?? []).slice(0, MAX_VALUES).map((v: { labels: object; value: number; metricName?: string }) => ({ labels: v.labels as PromMetric['values'][number]['labels'], value: v.value, ...(v.metricName ? { metricName: v.metricName } : {}) })),
  }));
}
