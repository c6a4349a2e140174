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

export async function startStatsServer(address: string, registry: () => Registry, logger: Logger): Promise<StatsServer> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  const wantedPort = Number(address.slice(colon + 1));
  // The registry's format is switched per scrape: scrapes are serialized so that two never interleave.
  let queue: Promise<unknown> = Promise.resolve();
  const render = (openMetrics: boolean) => {
    const run = async () => {
      const reg = registry();
      (reg as { setContentType(t: never): void }).setContentType((openMetrics ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE) as never);
      return { type: reg.contentType as string, body: await reg.metrics() };
    };
    const next = queue.then(run, run);
    queue = next.catch(() => undefined);
    return next;
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
