import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ResolvedConfig } from '../config/index.ts';
import { ErrorCodes, GatewayError } from '../errors.ts';
import type { Logger } from '../telemetry/index.ts';
import { handleApi } from './api.ts';
import { errorJson, json } from './http.ts';
import { AdminObserver } from './observer.ts';
import type { PromSource } from './prom.ts';
import { redactSecrets } from './redact.ts';
import { createAdminGuard, type AdminGuard } from './security.ts';
import { serveUi } from './static.ts';
import type { CredentialLinkSource } from '../pipeline/index.ts';

export { redactSecrets } from './redact.ts';
export { AdminObserver, type ObservedItem } from './observer.ts';

export interface AdminSource {
  /** The resolved config now being served. */
  config(): unknown;
  isReady(): boolean;
  /** The port each bind actually listens on, in config order (the playgrounds call the data plane there). */
  ports?(): readonly number[];
  /** The config file, for `policy test`. */
  configFile?: string;
  /** The per-user upstream credential links (backendAuth `oauth`), when a route has them. */
  credentialLinks?(): CredentialLinkSource | undefined;
}

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface AdminOptions {
  /** The event subscriber, created before the gateway started; one is created (and closed) here otherwise. */
  observer?: AdminObserver;
  /** The gateway's metrics registry for the Metrics page (the supervisor's gathers every worker's). */
  prometheus?: () => PromSource | undefined | Promise<PromSource | undefined>;
}

/** What the API handlers need: the running gateway, its events, and the access rules. */
export interface AdminContext {
  source: AdminSource;
  config(): ResolvedConfig;
  ports(): readonly number[];
  observer: AdminObserver;
  guard: AdminGuard;
  logger: Logger;
  prometheus?: AdminOptions['prometheus'];
}

function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(address.slice(colon + 1)) };
}

async function serve(address: string, what: string, logger: Logger, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<AdminServer & { server: Server }> {
  const { host, port } = splitAddress(address);
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
    server,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The admin server: the admin API under `/api` (JSON, live streams as SSE), the UI at `/ui`, and `/config_dump`
 * (the resolved config with secrets redacted). Loopback unless configured; elsewhere every call needs the admin
 * token, and state-changing calls are POSTs with a CSRF token.
 */
export async function startAdminServer(address: string, source: AdminSource, logger: Logger, options: AdminOptions = {}): Promise<AdminServer> {
  const config = () => source.config() as ResolvedConfig;
  const resolved = config();
  const guard = createAdminGuard({ host: splitAddress(address).host, token: resolved.admin?.token, baseDir: resolved.baseDir });
  const ownObserver = options.observer === undefined;
  const observer = options.observer ?? new AdminObserver();
  const ctx: AdminContext = { source, config, ports: () => source.ports?.() ?? config().binds.map((b) => b.port), observer, guard, logger, prometheus: options.prometheus };
  let admin: AdminServer;
  try {
    admin = await serve(address, 'admin', logger, (req, res) => {
      void route(ctx, req, res).catch((err) => errorJson(res, err));
    });
  } catch (err) {
    if (ownObserver) observer.close();
    throw err;
  }
  if (guard.printable) {
    // Printed once, so whoever started the gateway can open the UI; never logged again.
    process.stderr.write(`[portcullis] admin server on ${address} is not loopback: admin token ${guard.printable}\n`);
    logger.warn({ address }, 'admin server is not on loopback: a token was generated and printed on stderr; set admin.token to choose it');
  }
  return {
    port: admin.port,
    async close() {
      if (ownObserver) observer.close();
      await admin.close();
    },
  };
}

async function route(ctx: AdminContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin');
  const path = url.pathname;
  if (path === '/healthz/ready') return json(res, ctx.source.isReady() ? 200 : 503, { ready: ctx.source.isReady() });
  // The UI's own files carry nothing secret: the page loads, then asks for the token when the API says 401.
  if (path === '/ui' || path.startsWith('/ui/')) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: { code: ErrorCodes.BAD_REQUEST, message: 'the UI is read with GET' } });
    return serveUi(path, res);
  }
  ctx.guard.authorize(req);
  if (path === '/config_dump') {
    if (req.method !== 'GET') return json(res, 405, { error: { code: ErrorCodes.BAD_REQUEST, message: 'admin endpoints are read-only: use GET' } });
    return json(res, 200, redactSecrets(ctx.source.config()));
  }
  if (path === '/') {
    return json(res, 200, { ui: '/ui', endpoints: ['/config_dump', '/healthz/ready', '/api (see docs/operations.md, "Admin UI")'] });
  }
  if (path.startsWith('/api/')) return handleApi(ctx, req, res, url);
  json(res, 404, { error: { code: ErrorCodes.NO_ROUTE, message: `no admin endpoint ${path}` } });
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
