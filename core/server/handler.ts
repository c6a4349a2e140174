import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { ErrorCodes } from '../errors.ts';
import type { GatewayResponse } from '../pipeline/types.ts';
import type { Logger } from '../telemetry/logger.ts';
import { announcesBody, clientClosed, errorResponse, Exchange, type ServeEnv } from './exchange.ts';
import { frameResponse, invalidResponseError, type FramedResponse } from './framing.ts';

/**
 * The node:http adapter: serves one request on one bind through the transport-free core (exchange.ts) and writes
 * the response with backpressure. With `expectContinue` (node's 'checkContinue' event) it answers
 * `100 Continue` only when something reads the body, so a request refused from its head or by a policy (404, 413,
 * 401, ...) is answered without the client sending the body.
 */
export async function handleRequest(
  env: ServeEnv,
  bindKey: string,
  scheme: 'http' | 'https',
  req: IncomingMessage,
  res: ServerResponse,
  expectContinue = false,
  /** The client's address when the socket is not the client's (a request handed over by another worker). */
  clientAddress?: string,
): Promise<void> {
  if (env.handoff) {
    const owner = env.handoff.ownerOf(req);
    if (owner !== undefined) return env.handoff.forward(owner, req, res, bindKey, scheme, expectContinue);
  }
  const exchange = new Exchange(env, {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    headers: req.headers,
    clientAddress: clientAddress ?? req.socket.remoteAddress ?? '',
    scheme,
    bind: bindKey,
  });
  const hasBody = announcesBody(req.headers);
  // Without a body to wait for, an `Expect: 100-continue` needs no answer before the response.
  const out: WriteState = { bytesOut: 0, continued: !expectContinue || !hasBody, closeConnection: env.draining(), exchange };
  // One listener for both: the end of the exchange, and (when the response did not complete) the abort of the
  // upstream call, since the client is gone.
  res.once('close', () => {
    const complete = res.writableFinished;
    if (!complete) exchange.abort(clientClosed());
    exchange.finish({
      status: res.headersSent ? res.statusCode : 0,
      bytesOut: out.bytesOut,
      errorCode: complete ? undefined : ErrorCodes.CLIENT_CLOSED,
    });
  });
  if (exchange.early) {
    // A 413 leaves a body too large to read on the connection: it cannot carry another request.
    if (exchange.closeConnection) out.closeConnection = true;
    return writeResponse(res, req.method ?? 'GET', exchange.early, out, env.logger);
  }
  const onBodyRead = expectContinue
    ? () => {
        if (!res.headersSent) res.writeContinue();
        out.continued = true;
      }
    : undefined;
  const response = await exchange.run(hasBody ? req : undefined, undefined, onBodyRead);
  await writeResponse(res, req.method ?? 'GET', response, out, env.logger);
}

interface WriteState {
  bytesOut: number;
  /** False while the client waits for `100 Continue` that was never sent. */
  continued: boolean;
  closeConnection: boolean;
  exchange: Exchange;
}

async function writeResponse(res: ServerResponse, method: string, response: GatewayResponse, out: WriteState, logger: Logger): Promise<void> {
  out.exchange.errorCode = response.errorCode;
  if (res.destroyed) {
    if (response.body instanceof Readable) response.body.destroy();
    return;
  }
  // A client still waiting for `100 Continue` has not sent its body: the connection cannot be reused.
  if (!out.continued) out.closeConnection = true;
  let framed = frameResponse(method, response);
  try {
    writeHead(res, framed, out);
  } catch (err) {
    // Invalid status or header values: answer with an error instead of crashing the socket. Backend headers
    // were already checked by undici's parser, so this is a policy's doing.
    if (framed.body instanceof Readable) framed.body.destroy();
    const e = invalidResponseError(framed, err);
    logger.error({ err: e.message, route: out.exchange.ctx?.routeName }, 'invalid response from a policy');
    out.exchange.errorCode = e.code;
    framed = frameResponse(method, errorResponse(e));
    if (res.headersSent) return void res.destroy();
    writeHead(res, framed, out);
  }
  const body = framed.body;
  if (body === undefined) {
    res.end();
    return;
  }
  if (!(body instanceof Readable)) {
    out.bytesOut = Buffer.byteLength(body);
    res.end(body);
    return;
  }
  await pump(body, res, out, logger);
}

function writeHead(res: ServerResponse, framed: FramedResponse, out: WriteState): void {
  const headers = framed.headers as Record<string, string | string[]>;
  if (out.closeConnection) headers.connection = 'close';
  // A stream that does not match its content-length makes node throw, and the connection is cut, rather than
  // leaving the client waiting for missing bytes or reading extra ones as the next response.
  res.strictContentLength = true;
  res.writeHead(framed.status, headers);
}

/**
 * Copies a body stream to the client with backpressure, counting bytes. Hand-written rather than
 * stream.pipeline, which allocates an AbortController (and a DOMException on completion) per response.
 * Each chunk is written as it arrives, so SSE events pass with no added delay.
 */
function pump(body: Readable, res: ServerResponse, out: WriteState, logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      body.off('data', onData).off('end', onEnd).off('error', onError);
      res.off('drain', onDrain).off('close', onClose);
      if (err) {
        // The upstream broke off mid-body or the client left: the status is already sent, so the connection is cut.
        out.exchange.errorCode ??= res.writableFinished ? undefined : ErrorCodes.STREAM_ABORTED;
        body.destroy();
        res.destroy();
        logger.debug({ err: err.message }, 'response stream ended early');
      }
      resolve();
    };
    const onData = (chunk: Buffer) => {
      out.bytesOut += chunk.length;
      let ok: boolean;
      try {
        ok = res.write(chunk);
      } catch (err) {
        // More bytes than the stated content-length (strictContentLength): cut rather than desynchronize.
        finish(err as Error);
        return;
      }
      if (!ok) body.pause();
    };
    const onDrain = () => body.resume();
    const onEnd = () => {
      try {
        res.end();
      } catch (err) {
        // Fewer bytes than the stated content-length.
        finish(err as Error);
        return;
      }
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

