import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { ErrorCodes } from '../errors.ts';
import type { GatewayResponse } from '../pipeline/index.ts';
import type { Logger } from '../telemetry/index.ts';
import { announcesBody, clientClosed, errorResponse, Exchange, type ServeEnv } from './exchange.ts';
import { frameResponse, invalidResponseError, type FramedResponse } from './framing.ts';

/**
 * The node:http adapter: serves one request on one bind through the transport-free core (exchange.ts) and writes
 * the response with backpressure. With `expectContinue` (node's 'checkContinue' event) it answers
 * `100 Continue` only when something reads the body, so a request refused from its head or by a policy (404, 413,
 * 401, ...) is answered without the client sending the body. Never rejects: a failure of its own is logged and
 * answered with 500.
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
  try {
    // A request another replica forwarded (`clientAddress` set) is this replica's to serve: never sent on again.
    if (env.peers && clientAddress === undefined) {
      const peer = env.peers.ownerOf(req);
      if (peer !== undefined) {
        const index = env.current().config.binds.findIndex((b) => b.key === bindKey);
        return await env.peers.forward(peer, req, res, index, scheme, expectContinue);
      }
    }
    if (env.handoff) {
      const owner = env.handoff.ownerOf(req);
      if (owner !== undefined) return await env.handoff.forward(owner, req, res, bindKey, scheme, expectContinue);
    }
    const method = req.method ?? 'GET';
    const headers = req.headers;
    const exchange = new Exchange(env, {
      method,
      url: req.url ?? '/',
      headers,
      clientAddress: clientAddress ?? req.socket.remoteAddress ?? '',
      scheme,
      bind: bindKey,
    });
    const hasBody = announcesBody(headers);
    // Without a body to wait for, an `Expect: 100-continue` needs no answer before the response.
    const reply = new Reply(res, exchange, env.logger, !expectContinue || !hasBody, env.draining());
    // One listener for both: the end of the exchange, and (when the response did not complete) the abort of the
    // upstream call, since the client is gone.
    res.on('close', reply.onClose);
    let response = exchange.early;
    if (response !== undefined) {
      // A 413 leaves a body too large to read on the connection: it cannot carry another request.
      if (exchange.closeConnection) reply.closeConnection = true;
    } else {
      try {
        await exchange.start(hasBody ? req : undefined, expectContinue ? reply.onBodyRead : undefined);
        response = exchange.settled();
      } catch (err) {
        response = exchange.failed(err);
      }
    }
    reply.write(method, response);
  } catch (err) {
    env.logger.error({ err }, 'request handler failed');
    try {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    } catch {
      res.destroy();
    }
  }
}

/** Writing one response: its state, from the head to the last byte. */
class Reply {
  private readonly res: ServerResponse;
  private readonly exchange: Exchange;
  private readonly logger: Logger;
  bytesOut = 0;
  /** False while the client waits for `100 Continue` that was never sent. */
  continued: boolean;
  closeConnection: boolean;

  constructor(res: ServerResponse, exchange: Exchange, logger: Logger, continued: boolean, closeConnection: boolean) {
    this.res = res;
    this.exchange = exchange;
    this.logger = logger;
    this.continued = continued;
    this.closeConnection = closeConnection;
  }

  readonly onClose = (): void => {
    const res = this.res;
    const complete = res.writableFinished;
    if (!complete) this.exchange.abort(clientClosed());
    this.exchange.finish({
      status: res.headersSent ? res.statusCode : 0,
      bytesOut: this.bytesOut,
      errorCode: complete ? undefined : ErrorCodes.CLIENT_CLOSED,
    });
  };

  readonly onBodyRead = (): void => {
    if (!this.res.headersSent) this.res.writeContinue();
    this.continued = true;
  };

  write(method: string, response: GatewayResponse): void {
    const res = this.res;
    this.exchange.errorCode = response.errorCode;
    if (res.destroyed) {
      if (response.body instanceof Readable) response.body.destroy();
      return;
    }
    // A client still waiting for `100 Continue` has not sent its body: the connection cannot be reused.
    if (!this.continued) this.closeConnection = true;
    let framed = frameResponse(method, response);
    try {
      this.writeHead(framed);
    } catch (err) {
      // Invalid status or header values: answer with an error instead of crashing the socket. Backend headers
      // were already checked by undici's parser, so this is a policy's doing.
      if (framed.body instanceof Readable) framed.body.destroy();
      const e = invalidResponseError(framed, err);
      this.logger.error({ err: e.message, route: this.exchange.ctx?.routeName }, 'invalid response from a policy');
      this.exchange.errorCode = e.code;
      framed = frameResponse(method, errorResponse(e));
      if (res.headersSent) return void res.destroy();
      this.writeHead(framed);
    }
    const body = framed.body;
    if (body === undefined) {
      res.end();
      return;
    }
    if (!(body instanceof Readable)) {
      this.bytesOut = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
      res.end(body);
      return;
    }
    // An event stream's head goes out now: its first event (or keepalive) may be many seconds away, and a client
    // or proxy waiting for the head would take the stream for a hung request.
    if (String(framed.headers['content-type'] ?? '').startsWith('text/event-stream')) res.flushHeaders();
    new Pump(body, res, this, this.logger).start();
  }

  private writeHead(framed: FramedResponse): void {
    // The framed headers may be the response's own object: a change is made on a copy.
    const headers = (this.closeConnection ? { ...framed.headers, connection: 'close' } : framed.headers) as Record<string, string | string[]>;
    // A stream that does not match its content-length makes node throw, and the connection is cut, rather than
    // leaving the client waiting for missing bytes or reading extra ones as the next response.
    this.res.strictContentLength = true;
    this.res.writeHead(framed.status, headers);
  }

  /** The response stream broke off (upstream or client): the status is already sent, so the connection is cut. */
  streamFailed(): void {
    this.exchange.errorCode ??= this.res.writableFinished ? undefined : ErrorCodes.STREAM_ABORTED;
  }
}

/**
 * Copies a body stream to the client with backpressure, counting bytes. Hand-written rather than
 * stream.pipeline, which allocates an AbortController (and a DOMException on completion) per response.
 * Each chunk is written as it arrives, so SSE events pass with no added delay.
 */
class Pump {
  private readonly body: Readable;
  private readonly res: ServerResponse;
  private readonly reply: Reply;
  private readonly logger: Logger;
  private done = false;

  constructor(body: Readable, res: ServerResponse, reply: Reply, logger: Logger) {
    this.body = body;
    this.res = res;
    this.reply = reply;
    this.logger = logger;
  }

  start(): void {
    this.body.on('data', this.onData).once('end', this.onEnd).once('error', this.onError);
    this.res.on('drain', this.onDrain).once('close', this.onClose);
  }

  private finish(err?: Error): void {
    if (this.done) return;
    this.done = true;
    this.body.off('data', this.onData).off('end', this.onEnd).off('error', this.onError);
    this.res.off('drain', this.onDrain).off('close', this.onClose);
    if (err) {
      this.reply.streamFailed();
      this.body.destroy();
      this.res.destroy();
      this.logger.debug({ err: err.message }, 'response stream ended early');
    }
  }

  private readonly onData = (chunk: Buffer): void => {
    this.reply.bytesOut += chunk.length;
    let ok: boolean;
    try {
      ok = this.res.write(chunk);
    } catch (err) {
      // More bytes than the stated content-length (strictContentLength): cut rather than desynchronize.
      this.finish(err as Error);
      return;
    }
    if (!ok) this.body.pause();
  };

  private readonly onDrain = (): void => {
    this.body.resume();
  };

  private readonly onEnd = (): void => {
    try {
      this.res.end();
    } catch (err) {
      // Fewer bytes than the stated content-length.
      this.finish(err as Error);
      return;
    }
    this.finish();
  };

  private readonly onError = (err: Error): void => this.finish(err);

  private readonly onClose = (): void => {
    if (!this.res.writableFinished) this.finish(new Error('client closed the connection'));
  };
}
