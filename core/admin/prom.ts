/** One metric of the gateway's Prometheus registry, as the Metrics page lists it. */
export interface PromMetric {
  name: string;
  help: string;
  type: string;
  /** Up to 50 samples: labels and value. */
  values: Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>;
}

const MAX_VALUES = 50;

/**
 * The metrics of prom-client's default registry, when the gateway registers any there (the metrics feature
 * does); an empty list otherwise. Read on request, never scraped in the background.
 */
export async function promSummary(): Promise<PromMetric[]> {
  let register: { getMetricsAsJSON(): Promise<Array<{ name: string; help: string; type: unknown; values?: Array<{ labels: Record<string, string | number>; value: number; metricName?: string }> }>> };
  try {
    ({ register } = (await import('prom-client')) as unknown as { register: typeof register });
  } catch {
    return [];
  }
  const metrics = await register.getMetricsAsJSON();
  return metrics.map((m) => ({
    name: m.name,
    help: m.help,
    type: String(m.type),
    values: (m.values ?? []).slice(0, MAX_VALUES).map((v) => ({ labels: v.labels, value: v.value, ...(v.metricName ? { metricName: v.metricName } : {}) })),
  }));
}
