import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ErrorCodes } from '../errors.ts';
import type { Logger } from '../telemetry/index.ts';
import { clientClosed, errorResponse, Exchange, type ServeEnv } from './exchange.ts';
import { frameResponse, invalidResponseError, type FramedResponse } from './framing.ts';
import type { Runtime } from './runtime.ts';

/** Options of `runtime.handle`. */
export interface HandleOptions {
  /** Key of the bind the request is served as arriving on (`ResolvedBind.key`). @default the first bind */
  bind?: string;
  /** The client's address, as policies and `X-Forwarded-For` see it. @default '127.0.0.1' */
  clientAddress?: string;
}

/**
 * The web-standard adapter: a `Request` in, a `Response` out, through the same core as the node:http adapter,
 * without sockets. Bodies stream both ways. Cancelling the response body (or aborting the request's signal)
 * aborts the upstream call, as a client closing its connection does.
 */
export async function handleWebRequest(runtime: Runtime, logger: Logger, request: Request, options: HandleOptions = {}): Promise<Response> {
  const bind = options.bind ?? runtime.config.binds[0]?.key;
  if (bind === undefined || !runtime.binds.has(bind)) {
    throw new TypeError(`runtime.handle: no bind ${JSON.stringify(bind)}; this runtime has ${[...runtime.binds.keys()].map((k) => JSON.stringify(k)).join(', ')}`);
  }
  const url = new URL(request.url);
  const headers = toNodeHeaders(request.headers, url.host);
  const env: ServeEnv = { logger, current: () => runtime, draining: () => false };
  const exchange = new Exchange(env, {
    method: request.method,
    url: url.pathname + url.search,
    headers,
    clientAddress: options.clientAddress ?? '127.0.0.1',
    scheme: url.protocol === 'https:' ? 'https' : 'http',
    bind,
  });
  const controller = new AbortController();
  // Aborting the request's signal, even while the response streams, aborts the upstream call.
  const onAbort = () => controller.abort(clientClosed());
  if (request.signal.aborted) onAbort();
  else request.signal.addEventListener('abort', onAbort, { once: true });
  const body = request.body ? Readable.fromWeb(request.body as WebReadableStream<Uint8Array>) : undefined;
  const response = await exchange.run(body, controller);
  exchange.errorCode = response.errorCode;
  let framed = frameResponse(request.method, response);
  if (request.method === 'HEAD' && framed.body instanceof Readable) {
    // A HEAD response has no body; the backend's empty stream is released here, the length header kept.
    framed.body.destroy();
    framed = { ...framed, body: undefined };
  }
  let web: Response;
  try {
    web = toWebResponse(framed, exchange, controller);
  } catch (err) {
    if (framed.body instanceof Readable) framed.body.destroy();
    const e = invalidResponseError(framed, err);
    logger.error({ err: e.message, route: exchange.ctx?.routeName }, 'invalid response from a policy');
    exchange.errorCode = e.code;
    framed = frameResponse(request.method, errorResponse(e));
    web = toWebResponse(framed, exchange, controller);
  }
  if (!(framed.body instanceof Readable)) exchange.finish({ status: framed.status, bytesOut: framed.body === undefined ? 0 : Buffer.byteLength(framed.body) });
  return web;
}

/** A web Headers as node:http would have parsed it: lower-case names, `set-cookie` a list, `host` always present. */
function toNodeHeaders(source: Headers, host: string): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of source) {
    if (name === 'set-cookie') continue;
    headers[name] = value;
  }
  const cookies = source.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  headers.host ??= host;
  return headers;
}

function toWebResponse(framed: FramedResponse, exchange: Exchange, controller: AbortController): Response {
  const headers = new Headers();
  for (const name in framed.headers) {
    const value = framed.headers[name];
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.append(name, value);
  }
  const body = framed.body;
  const status = framed.status;
  // The Response constructor only takes final statuses; 1xx cannot be answered this way.
  if (!Number.isInteger(status) || status < 200 || status > 599) throw new RangeError(`invalid status ${status}`);
  if (body === undefined) return new Response(null, { status, headers });
  return new Response(body instanceof Readable ? toWebStream(body, framed.status, exchange, controller) : body, { status, headers });
}

/**
 * The node stream as a web stream, pulled chunk by chunk (backpressure reaches the backend), counting bytes and
 * finishing the exchange when it ends, fails or is cancelled. Cancelling aborts the upstream call.
 */
function toWebStream(body: Readable, status: number, exchange: Exchange, controller: AbortController): ReadableStream<Uint8Array> {
  const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  let bytesOut = 0;
  const done = (errorCode?: string) => exchange.finish({ status, bytesOut, errorCode });
  return new ReadableStream<Uint8Array>(
    {
      async pull(web) {
        let next: IteratorResult<Buffer | string>;
        try {
          next = await chunks.next();
        } catch (err) {
          exchange.errorCode ??= ErrorCodes.STREAM_ABORTED;
          done();
          web.error(err);
          return;
        }
        if (next.done) {
          done();
          web.close();
          return;
        }
        const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
        bytesOut += chunk.length;
        web.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      },
      async cancel() {
        controller.abort(clientClosed());
        done(ErrorCodes.CLIENT_CLOSED);
        await chunks.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}
