import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCodes, GatewayError } from '../errors.ts';
import type { Logger } from '../telemetry/logger.ts';
import { redactSecrets } from './redact.ts';

export { redactSecrets } from './redact.ts';

export interface AdminSource {
  /** The resolved config now being served. */
  config(): unknown;
  isReady(): boolean;
}

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

function json(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(text);
}

async function serve(address: string, what: string, logger: Logger, handler: Parameters<typeof createServer>[1]): Promise<AdminServer> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(colon + 1));
  const server: Server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new GatewayError(ErrorCodes.BIND_FAILED, `${what}.address: cannot listen on ${address}: ${err.code ?? err.message}`, { cause: err })),
    );
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  logger.info({ address: host, port: actual }, `${what} server listening`);
  return {
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The admin server: `/config_dump` shows the resolved config with secrets redacted. Loopback unless configured. */
export function startAdminServer(address: string, source: AdminSource, logger: Logger): Promise<AdminServer> {
  return serve(address, 'admin', logger, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') return json(res, 405, { error: { code: ErrorCodes.BAD_REQUEST, message: 'admin endpoints are read-only: use GET' } });
    if (path === '/config_dump') return json(res, 200, redactSecrets(source.config()));
    if (path === '/healthz/ready') return json(res, source.isReady() ? 200 : 503, { ready: source.isReady() });
    if (path === '/') return json(res, 200, { endpoints: ['/config_dump', '/healthz/ready'] });
    json(res, 404, { error: { code: ErrorCodes.NO_ROUTE, message: `no admin endpoint ${path}` } });
  });
}

/** The readiness server: `/healthz/ready` is 200 only once every listener is bound, and 503 while draining. */
export function startReadinessServer(address: string, source: AdminSource, logger: Logger): Promise<AdminServer> {
  return serve(address, 'readiness', logger, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/healthz/ready') return json(res, 404, { error: { code: ErrorCodes.NO_ROUTE, message: `no endpoint ${path}` } });
    const ready = source.isReady();
    res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(ready ? 'ready\n' : 'not ready\n');
  });
}
