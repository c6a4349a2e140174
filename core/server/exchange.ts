import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { ErrorCodes, GatewayError, toGatewayError } from '../errors.ts';
import { addForwardedHeaders, type GatewayResponse, type HeaderMap, type RequestContext, stripHopByHop } from '../pipeline/index.ts';
import { hostOf, normalizePath, type RouteHit } from '../routing/router.ts';
import { RequestVars } from '../state/index.ts';
import { LOG_VARIABLES, type Logger, requestChannel, type RequestEvent } from '../telemetry/index.ts';
import { readWhole } from '../protocol/read-body.ts';
import { bodyTooLarge, RequestBody } from './request-body.ts';
import type { ListenerRuntime, RouteRuntime, Runtime } from './runtime.ts';

/**
 * The transport-free core of serving one request: everything between "a request head arrived on a bind" and "here
 * is the response to write". The node:http adapter (handler.ts) and the web Request/Response adapter (web.ts) are
 * thin layers around it; neither routes, limits or builds a context itself.
 */

/** What the core needs to know about a request before reading its body. */
export interface RequestHead {
  method: string;
  /** The request target as sent: path and query. */
  url: string;
  /** Lower-case names, as node:http gives them. */
  headers: IncomingHttpHeaders;
  clientAddress: string;
  scheme: 'http' | 'https';
  /** Key of the bind the request arrived on (`ResolvedBind.key`). */
  bind: string;
}

/** A request head with its body: undefined when the request has none. */
export interface IncomingRequest extends RequestHead {
  body: Readable | undefined;
}

export interface ServeEnv {
  logger: Logger;
  /** The runtime serving new requests right now (swapped by reload). */
  current(): Runtime;
  /** True once shutdown began: responses then close their connection. */
  draining(): boolean;
  /** Names the gateway in request events, so that each gateway's subscribers see only its own requests. */
  gateway?: string;
  /** With workers: hands requests for a session another worker owns to that worker (core/cluster/handoff.ts). */
  handoff?: HandoffChannel;
  /** With replicas: forwards requests for a session bound to another replica to it (core/cluster/peer.ts). */
  peers?: PeerForwarder;
}

/** How a replica passes a request for a session only another replica can serve (a stdio target) to it. */
export interface PeerForwarder {
  /** The owning replica's peer address when it is another one, else undefined (serve it here). */
  ownerOf(req: import('node:http').IncomingMessage): string | undefined;
  forward(peer: string, req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, bindIndex: number, scheme: 'http' | 'https', expectContinue: boolean): Promise<void>;
  attach(env: ServeEnv): void;
}

/** The peer channel as a gateway runs it: opened after the binds, closed with the gateway (core/cluster/peer.ts). */
export interface PeerListener extends PeerForwarder {
  readonly settings: { readonly address: string };
  /** Opens the peer port when this replica has a peer address: its port, else undefined. */
  listen(): Promise<number | undefined>;
  close(): Promise<void>;
}

/** How a worker passes a request for a stateful session to the worker that owns it. */
export interface HandoffChannel {
  /** The owning worker when it is another one, else undefined (serve it here). */
  ownerOf(req: import('node:http').IncomingMessage): number | undefined;
  forward(owner: number, req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, bindKey: string, scheme: 'http' | 'https', expectContinue: boolean): Promise<void>;
  /** Called once by the gateway, so that requests handed to this worker are served by its runtime. */
  attach(env: ServeEnv): void;
}

/** How the response ended, as the adapter saw it. */
export interface ExchangeOutcome {
  /** Status sent, or 0 when none was. */
  status: number;
  bytesOut: number;
  /** Set when the response did not complete (client gone, stream broken). */
  errorCode?: string;
}

/**
 * One request from the arrival of its head until its response is done. Construction routes the request and
 * checks what can be checked from the head alone; `early` is then the answer when the body must not be read (no
 * route, body over the limit). `run` serves the rest; the adapter calls `finish` once when the response is done.
 */
export class Exchange {
  readonly runtime: Runtime;
  readonly id: string;
  readonly head: RequestHead;
  /** performance.now() at the start, read only when someone subscribes to request events. */
  private startedAt = 0;
  /** The answer decided from the head alone, when there is one: write it without reading the body. */
  readonly early: GatewayResponse | undefined;
  /** Present when someone subscribes to request events. */
  readonly event: RequestEvent | undefined;
  ctx: RequestContext | undefined;
  bytesIn = 0;
  /** The error code of the response being written (from the response, or set while streaming it). */
  errorCode: string | undefined;
  /** Set when the answer leaves the body unread, so the connection cannot carry another request. */
  closeConnection = false;
  private readonly env: ServeEnv;
  private listener: ListenerRuntime | undefined;
  private hit: RouteHit<RouteRuntime> | undefined;
  /** The routed path and query string, as the context starts with them. */
  routedPath = '';
  routedSearch = '';
  private finished = false;

  constructor(env: ServeEnv, head: RequestHead) {
    this.env = env;
    this.head = head;
    const runtime = (this.runtime = env.current());
    runtime.inflight++;
    this.id = (head.headers['x-request-id'] as string | undefined) ?? randomUUID();
    // Once, for the event and the routing both.
    const host = hostOf(head.headers.host);
    if (requestChannel.hasSubscribers) {
      this.startedAt = performance.now();
      this.event = {
        id: this.id,
        method: head.method,
        path: pathOf(head.url),
        host,
        clientAddress: head.clientAddress,
        scheme: head.scheme,
        bind: head.bind,
        startedAt: this.startedAt,
        gateway: env.gateway,
        headers: head.headers,
      };
      requestChannel.start.publish(this.event);
    }
    this.early = this.route(host);
  }

  private route(host: string): GatewayResponse | undefined {
    const { head, runtime } = this;
    const bind = runtime.binds.get(head.bind);
    if (!bind) return errorResponse(new GatewayError(ErrorCodes.SHUTTING_DOWN, 'this port is being closed'));
    const url = head.url;
    const q = url.indexOf('?');
    const path = normalizePath(q === -1 ? url : url.slice(0, q));
    if (path === undefined) {
      return errorResponse(new GatewayError(ErrorCodes.BAD_REQUEST, `request target must be an absolute path, got ${JSON.stringify(url.slice(0, 100))}`));
    }
    this.routedPath = path;
    this.routedSearch = q === -1 ? '' : url.slice(q);
    if (this.event) this.event.path = path;
    const listener = (this.listener = bind.selectListener(host));
    if (this.event) this.event.listener = listener?.listener.name;
    const hit = (this.hit = listener?.match({ host, method: head.method, path, search: this.routedSearch, headers: head.headers }));
    if (!listener || !hit) {
      return errorResponse(new GatewayError(ErrorCodes.NO_ROUTE, `no route for ${head.method} ${path} on host "${host}"`));
    }
    if (this.event) this.event.route = hit.route.route.name;
    const limit = runtime.config.limits.maxRequestBodyBytes;
    const length = head.headers['content-length'];
    if (length !== undefined && Number(length) > limit) {
      // The body is not read: the connection cannot be reused.
      this.closeConnection = true;
      return errorResponse(bodyTooLarge(limit));
    }
    return undefined;
  }

  /**
   * Runs the route's policy chain and backend; resolves with the response to write (never rejects). The adapter
   * aborts `controller` when the client leaves, which aborts the upstream call. `onBodyRead` runs when something
   * first reads the body (the node adapter sends `100 Continue` then).
   */
  async run(body: Readable | undefined, controller?: AbortController, onBodyRead?: () => void): Promise<GatewayResponse> {
    if (this.early) return this.early;
    const hit = this.hit!;
    const ctx = (this.ctx = this.createContext(hit, body, onBodyRead));
    // A caller's own controller (the web adapter's) aborts the request like a client that leaves.
    if (controller) {
      if (controller.signal.aborted) ctx.abort(controller.signal.reason);
      else controller.signal.addEventListener('abort', () => ctx.abort(controller.signal.reason), { once: true });
    }
    try {
      await hit.route.run(ctx);
    } catch (err) {
      return this.failed(err);
    }
    return this.settled();
  }

  /**
   * Starts the route's policy chain and backend (when there is no `early` answer); the promise settles when the
   * chain is done, and `settled` then gives the response. The node adapter's path: no promise of its own.
   */
  start(body: Readable | undefined, onBodyRead?: () => void): Promise<void> {
    const hit = this.hit!;
    const ctx = (this.ctx = this.createContext(hit, body, onBodyRead));
    return hit.route.run(ctx);
  }

  /** The response once the chain is done. */
  settled(): GatewayResponse {
    return this.ctx!.response!;
  }

  /** The response once the chain failed with `err`: its own, when it set one before failing. */
  failed(err: unknown): GatewayResponse {
    const ctx = this.ctx!;
    if (!ctx.response) ctx.respondError(err);
    return ctx.response!;
  }

  /** Aborts the request being served (the client left): the upstream call and every stream of it end. */
  abort(reason: Error): void {
    this.ctx?.abort(reason);
  }

  get listenerName(): string {
    return this.listener!.listener.name;
  }

  get logger(): Logger {
    return this.env.logger;
  }

  /** Publishes the end of the request and releases the runtime; once only, whatever the adapter calls. */
  finish(outcome: ExchangeOutcome): void {
    if (this.finished) return;
    this.finished = true;
    this.runtime.inflight--;
    const event = this.event;
    if (!event) return;
    event.status = outcome.status;
    event.errorCode = this.errorCode ?? outcome.errorCode;
    event.bytesIn = this.bytesIn;
    event.bytesOut = outcome.bytesOut;
    event.durationMs = performance.now() - this.startedAt;
    if (this.ctx) {
      event.backend = this.ctx.backendName;
      event.subject = this.ctx.identity?.subject;
      event.identity = this.ctx.identity;
      event.logVariables = this.ctx.vars.get(LOG_VARIABLES);
    }
    requestChannel.end.publish(event);
  }

  private createContext(hit: RouteHit<RouteRuntime>, source: Readable | undefined, onBodyRead?: () => void): RequestContext {
    const head = this.head;
    const headers = stripHopByHop(head.headers);
    // The gateway answers `Expect: 100-continue` itself (the node adapter); undici refuses to send it upstream.
    if (headers.expect !== undefined) delete headers.expect;
    addForwardedHeaders(headers, head.clientAddress, head.scheme, head.headers.host);
    headers['x-request-id'] = this.id;
    const limit = this.runtime.config.limits.maxRequestBodyBytes;
    return new ExchangeContext(this, hit, headers, source && new RequestBody(source, limit, this, onBodyRead));
  }
}

/**
 * The request context of one exchange. A class rather than an object literal so that its methods live on the
 * prototype instead of being three new closures per request, and its AbortSignal is made only when something
 * asks for it: an AbortController with an event listener costs microseconds per request, and a route that only
 * proxies never needs one (the HTTP backend listens through `onAbort`, a plain callback list).
 */
class ExchangeContext implements RequestContext {
  readonly id: string;
  readonly clientHeaders: Readonly<IncomingHttpHeaders>;
  readonly startedAt = Date.now();
  readonly scheme: 'http' | 'https';
  readonly clientAddress: string;
  readonly listenerName: string;
  readonly routeName: string;
  readonly matchedPrefix: string | undefined;
  readonly log: Logger;
  method: string;
  path: string;
  search: string;
  authority: string;
  requestHeaders: HeaderMap;
  identity?: RequestContext['identity'];
  backendName?: string;
  response?: GatewayResponse;
  private controller: AbortController | undefined;
  private ownVars: RequestVars | undefined;
  private abortReason: Error | undefined;
  private abortListeners: Array<(reason: Error) => void> | undefined;
  /** The client's body; undefined when it has none. */
  private readonly clientBody: RequestBody | undefined;
  /** The body a policy put in place of the client's (undefined when it removed it). */
  private replacedBody: Readable | undefined;
  private bodyReplaced = false;

  constructor(exchange: Exchange, hit: RouteHit<RouteRuntime>, headers: HeaderMap, body: RequestBody | undefined) {
    const head = exchange.head;
    this.id = exchange.id;
    this.clientHeaders = head.headers;
    this.scheme = head.scheme;
    this.clientAddress = head.clientAddress;
    this.listenerName = exchange.listenerName;
    this.routeName = hit.route.route.name;
    this.matchedPrefix = hit.matchedPrefix;
    this.log = exchange.logger;
    this.method = head.method;
    this.path = exchange.routedPath;
    this.search = exchange.routedSearch;
    this.authority = head.headers.host ?? '';
    this.clientBody = body;
    this.requestHeaders = headers;
  }

  /** The body as a stream: made only when something asks (a streaming backend, a policy reading or replacing it). */
  get body(): Readable | undefined {
    return this.bodyReplaced ? this.replacedBody : this.clientBody?.stream;
  }

  set body(body: Readable | undefined) {
    this.bodyReplaced = true;
    this.replacedBody = body;
  }

  readBody(): Promise<Buffer> {
    if (this.bodyReplaced || !this.clientBody) return readWhole(this.replacedBody);
    return this.clientBody.readWhole();
  }

  /** Made when a policy first uses it: a route without policies never does. */
  get vars(): RequestVars {
    return (this.ownVars ??= new RequestVars());
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.abortReason !== undefined;
  }

  onAbort(listener: (reason: Error) => void): void {
    if (this.abortReason) listener(this.abortReason);
    else (this.abortListeners ??= []).push(listener);
  }

  abort(reason: GatewayError | Error): void {
    if (this.abortReason) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
    const listeners = this.abortListeners;
    this.abortListeners = undefined;
    if (listeners) for (const l of listeners) l(reason);
  }

  respond(response: GatewayResponse): void {
    if (this.response) throw new Error(`a response was already set for route "${this.routeName}"`);
    this.response = response;
  }

  respondError(err: unknown): void {
    this.response = errorResponse(toGatewayError(err));
    if (!(err instanceof GatewayError)) this.log.error({ err, route: this.routeName }, 'unexpected error while serving a request');
  }
}

/** Whether a request head announces a body (node:http gives an empty stream for body-less requests). */
export function announcesBody(headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}


/** The JSON error response for a gateway error. */
export function errorResponse(err: GatewayError): GatewayResponse {
  const body = JSON.stringify(err.toJSON());
  return {
    status: err.status,
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
    body,
    errorCode: err.code,
  };
}

/**
 * The reason a request is aborted when its client goes away: an expected event, answered (to nobody) with its own
 * code, never logged as an unexpected error.
 */
export function clientClosed(): GatewayError {
  return new GatewayError(ErrorCodes.CLIENT_CLOSED, 'the client closed the connection before the response was complete');
}
