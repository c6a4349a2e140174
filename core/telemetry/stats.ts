import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { Logger } from './logger.ts';

/**
 * The stats server: `GET /metrics` in the Prometheus text format, or OpenMetrics when the scraper's `Accept` asks
 * for `application/openmetrics-text` (Prometheus does). Loopback by default, like the admin server.
 */
export interface StatsServer {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Which format a scraper asked for: OpenMetrics only when it names it (with a quality above 0). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  if (!accept) return false;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.trim().split(';');
    if (type.trim().toLowerCase() !== 'application/openmetrics-text') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (!q || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

/**
 * `registry` is asked on every scrape: one process returns its own; the supervisor of `workers: n` gathers its
 * workers' registries into one (core/cluster/metrics.ts).
 */
export async function startStatsServer(address: string, registry: () => Registry | Promise<Registry>, logger: Logger): Promise<StatsServer> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  const wantedPort = Number(address.slice(colon + 1));
  // prom-client's registry can be switched to OpenMetrics, but switching renames its counters for good (their
  // `_total` is dropped from the Prometheus text afterwards): the registry stays in the Prometheus format, and
  // OpenMetrics is written here from the same values.
  const render = async (openMetrics: boolean) => {
    const reg = await registry();
    if (!openMetrics) return { type: Registry.PROMETHEUS_CONTENT_TYPE as string, body: await reg.metrics() };
    return { type: Registry.OPENMETRICS_CONTENT_TYPE as string, body: formatOpenMetrics(await reg.getMetricsAsJSON()) };
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/stats/prometheus') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the stats server serves /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    render(wantsOpenMetrics(req.headers.accept)).then(
      ({ type, body }) => {
        res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err) => {
        logger.error({ err }, 'stats server: could not render metrics');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('could not render metrics\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(wantedPort, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ address: `${host}:${port}`, path: '/metrics' }, 'stats server listening');
  return {
    address: `${host}:${port}`,
    port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

type MetricJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number];

const escapeLabel = (v: unknown) => String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** The OpenMetrics 1.0 text of prom-client's metrics: counter families without `_total`, samples with it. */
export function formatOpenMetrics(metrics: MetricJson[]): string {
  const lines: string[] = [];
  for (const m of metrics) {
    const kind = String(m.type);
    const family = kind === 'counter' ? m.name.replace(/_total$/, '') : m.name;
    const type = ['counter', 'gauge', 'histogram', 'summary'].includes(kind) ? kind : 'unknown';
    lines.push(`# TYPE ${family} ${type}`, `# HELP ${family} ${escapeHelp(m.help)}`);
    for (const v of m.values as Array<{ value: number; labels: Record<string, unknown>; metricName?: string }>) {
      const name = v.metricName ?? (kind === 'counter' ? `${family}_total` : m.name);
      const labels = Object.entries(v.labels ?? {})
        .filter(([, value]) => value !== undefined)
        .map(([k, value]) => `${k}="${escapeLabel(k === 'le' && typeof value === 'number' ? formatNumber(value) : value)}"`);
      lines.push(`${name}${labels.length ? `{${labels.join(',')}}` : ''} ${formatNumber(v.value)}`);
    }
  }
  lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}
