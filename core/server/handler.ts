import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable, Transform } from 'node:stream';
import { ErrorCodes, GatewayError, toGatewayError } from '../errors.ts';
import type { GatewayResponse, HeaderMap, RequestContext } from '../pipeline/types.ts';
import { hostOf, normalizePath } from '../routing/router.ts';
import { RequestVars } from '../state/index.ts';
import type { Logger } from '../telemetry/logger.ts';
import { addForwardedHeaders, stripHopByHop } from './headers.ts';
import type { BindRuntime, Runtime } from './runtime.ts';

export interface HandlerEnv {
  logger: Logger;
  /** The runtime serving new requests right now (swapped by reload). */
  current(): Runtime;
  /** True once shutdown began: responses then close their connection. */
  draining(): boolean;
}

/** Serves one request on one bind: route, run the policy chain, write the response, log it. */
export async function handleRequest(env: HandlerEnv, bindKey: string, scheme: 'http' | 'https', req: IncomingMessage, res: ServerResponse): Promise<void> {
  const runtime = env.current();
  const bind = runtime.binds.get(bindKey);
  const startedAt = performance.now();
  runtime.inflight++;
  const log = new AccessLog(env.logger, runtime.config.logging.accessLog, req, startedAt);
  res.once('close', () => {
    runtime.inflight--;
    log.write(res);
  });
  if (env.draining()) res.setHeader('connection', 'close');
  if (!bind) return sendError(res, new GatewayError(ErrorCodes.SHUTTING_DOWN, 'this port is being closed'), log);

  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = normalizePath(q === -1 ? url : url.slice(0, q));
  const search = q === -1 ? '' : url.slice(q);
  if (path === undefined) {
    return sendError(res, new GatewayError(ErrorCodes.BAD_REQUEST, `request target must be an absolute path, got ${JSON.stringify(url.slice(0, 100))}`), log);
  }
  const host = hostOf(req.headers.host);
  const listener = bind.selectListener(host);
  log.listener = listener?.listener.name;
  const hit = listener?.match({ host, method: req.method ?? 'GET', path, search, headers: req.headers });
  if (!listener || !hit) {
    return sendError(res, new GatewayError(ErrorCodes.NO_ROUTE, `no route for ${req.method} ${path} on host "${host}"`), log);
  }
  log.route = hit.route.route.name;

  const limit = runtime.config.limits.maxRequestBodyBytes;
  const length = req.headers['content-length'];
  if (length !== undefined && Number(length) > limit) {
    res.setHeader('connection', 'close');
    return sendError(res, bodyTooLarge(limit), log);
  }

  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('client closed the connection'));
  });
  const ctx = createContext(req, {
    id: (req.headers['x-request-id'] as string | undefined) ?? randomUUID(),
    scheme,
    path,
    search,
    bind,
    listenerName: listener.listener.name,
    routeName: hit.route.route.name,
    matchedPrefix: hit.matchedPrefix,
    logger: env.logger,
    controller,
    limit,
    onBytesIn: (n) => {
      log.bytesIn += n;
    },
  });
  try {
    await hit.route.run(ctx);
  } catch (err) {
    if (!ctx.response) ctx.respondError(err);
  }
  log.backend = ctx.backendName;
  await writeResponse(res, ctx.response!, log, ctx.log);
}

interface ContextInit {
  id: string;
  scheme: 'http' | 'https';
  path: string;
  search: string;
  bind: BindRuntime;
  listenerName: string;
  routeName: string;
  matchedPrefix: string | undefined;
  logger: Logger;
  controller: AbortController;
  limit: number;
  onBytesIn: (n: number) => void;
}

function createContext(req: IncomingMessage, init: ContextInit): RequestContext {
  const clientAddress = req.socket.remoteAddress ?? '';
  const headers = stripHopByHop(req.headers);
  addForwardedHeaders(headers, clientAddress, init.scheme, req.headers.host);
  headers['x-request-id'] = init.id;
  const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
  const ctx: RequestContext = {
    id: init.id,
    clientHeaders: req.headers,
    vars: new RequestVars(),
    startedAt: Date.now(),
    scheme: init.scheme,
    clientAddress,
    listenerName: init.listenerName,
    routeName: init.routeName,
    matchedPrefix: init.matchedPrefix,
    log: init.logger,
    signal: init.controller.signal,
    method: req.method ?? 'GET',
    path: init.path,
    search: init.search,
    authority: req.headers.host ?? '',
    body: hasBody ? limitBody(req, init.limit, init.onBytesIn) : undefined,
    requestHeaders: headers,
    abort(reason) {
      if (!init.controller.signal.aborted) init.controller.abort(reason);
    },
    respond(response) {
      if (ctx.response) throw new Error(`a response was already set for route "${init.routeName}"`);
      ctx.response = response;
    },
    respondError(err) {
      ctx.response = errorResponse(toGatewayError(err));
      if (!(err instanceof GatewayError)) init.logger.error({ err, route: init.routeName }, 'unexpected error while serving a request');
    },
  };
  return ctx;
}

function limitBody(req: IncomingMessage, limit: number, onBytes: (n: number) => void): Readable {
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      onBytes(chunk.length);
      if (seen > limit) cb(bodyTooLarge(limit));
      else cb(null, chunk);
    },
  });
  req.on('error', (err) => counter.destroy(err));
  return req.pipe(counter);
}

function bodyTooLarge(limit: number): GatewayError {
  return new GatewayError(ErrorCodes.BODY_TOO_LARGE, `request body exceeds limits.maxRequestBodyBytes (${limit} bytes)`);
}

export function errorResponse(err: GatewayError): GatewayResponse {
  const body = JSON.stringify(err.toJSON());
  return {
    status: err.status,
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
    body,
    errorCode: err.code,
  };
}

function sendError(res: ServerResponse, err: GatewayError, log: AccessLog): void {
  const r = errorResponse(err);
  log.errorCode = err.code;
  res.writeHead(r.status, r.headers as Record<string, string>);
  res.end(r.body);
}

async function writeResponse(res: ServerResponse, response: GatewayResponse, log: AccessLog, logger: Logger): Promise<void> {
  log.errorCode = response.errorCode;
  if (res.destroyed) {
    if (response.body instanceof Readable) response.body.destroy();
    return;
  }
  const body = response.body;
  try {
    res.writeHead(response.status, response.headers as Record<string, string | string[]>);
  } catch (err) {
    // Invalid header values from an upstream or a policy: answer with an error instead of crashing the socket.
    if (body instanceof Readable) body.destroy();
    logger.warn({ err: (err as Error).message }, 'invalid response headers');
    const e = errorResponse(new GatewayError(ErrorCodes.BACKEND_UNREACHABLE, 'backend sent invalid response headers'));
    log.errorCode = e.errorCode;
    if (!res.headersSent) res.writeHead(e.status, e.headers as Record<string, string>);
    res.end(e.body);
    return;
  }
  if (body === undefined || body === null) {
    res.end();
    return;
  }
  if (!(body instanceof Readable)) {
    log.bytesOut = Buffer.byteLength(body);
    res.end(body);
    return;
  }
  await pump(body, res, log, logger);
}

/**
 * Copies a body stream to the client with backpressure, counting bytes. Hand-written rather than
 * stream.pipeline, which allocates an AbortController (and a DOMException on completion) per response.
 * Each chunk is written as it arrives, so SSE events pass with no added delay.
 */
function pump(body: Readable, res: ServerResponse, log: AccessLog, logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      body.off('data', onData).off('end', onEnd).off('error', onError);
      res.off('drain', onDrain).off('close', onClose);
      if (err) {
        // The upstream broke off mid-body or the client left: the status is already sent, so the connection is cut.
        log.errorCode ??= res.writableFinished ? undefined : ErrorCodes.STREAM_ABORTED;
        body.destroy();
        res.destroy();
        logger.debug({ err: err.message }, 'response stream ended early');
      }
      resolve();
    };
    const onData = (chunk: Buffer) => {
      log.bytesOut += chunk.length;
      if (!res.write(chunk)) body.pause();
    };
    const onDrain = () => body.resume();
    const onEnd = () => {
      res.end();
      finish();
    };
    const onError = (err: Error) => finish(err);
    const onClose = () => {
      if (!res.writableFinished) finish(new Error('client closed the connection'));
    };
    body.on('data', onData).once('end', onEnd).once('error', onError);
    res.on('drain', onDrain).once('close', onClose);
  });
}

/** Collects what the access-log line needs while the request runs; writes one line when the response closes. */
class AccessLog {
  listener?: string;
  route?: string;
  backend?: string;
  errorCode?: string;
  bytesIn = 0;
  bytesOut = 0;
  private readonly logger: Logger;
  private readonly enabled: boolean;
  private readonly req: IncomingMessage;
  private readonly startedAt: number;

  constructor(logger: Logger, enabled: boolean, req: IncomingMessage, startedAt: number) {
    this.logger = logger;
    this.enabled = enabled;
    this.req = req;
    this.startedAt = startedAt;
  }

  write(res: ServerResponse): void {
    if (!this.enabled) return;
    const url = this.req.url ?? '';
    const q = url.indexOf('?');
    this.logger.info(
      {
        type: 'access',
        listener: this.listener,
        route: this.route,
        backend: this.backend,
        method: this.req.method,
        path: q === -1 ? url : url.slice(0, q),
        status: res.writableFinished ? res.statusCode : res.headersSent ? res.statusCode : 0,
        durationMs: Math.round((performance.now() - this.startedAt) * 100) / 100,
        bytesIn: this.bytesIn,
        bytesOut: this.bytesOut,
        client: this.req.socket.remoteAddress,
        errorCode: this.errorCode ?? (res.writableFinished ? undefined : ErrorCodes.CLIENT_CLOSED),
      },
      'request',
    );
  }
}

export type { HeaderMap };
