import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { ErrorCodes, GatewayError } from '../../errors.ts';
import type { HeaderMap, RequestContext } from '../../pipeline/index.ts';
import { callWhole, type AbortSource, type UpstreamDispatchOptions } from '../../upstream/index.ts';

/** One agent behind the route: where it is, and where the gateway serves it. */
export interface AgentEndpoint {
  name: string;
  /** `http://host:port` of the agent. */
  origin: string;
  /** The path of the agent's base URL, without a trailing slash ('' at the root). */
  basePath: string;
  /** The path under the route where the gateway serves it ('' for a single-agent route, `/<name>` otherwise). */
  mount: string;
}

export interface AgentResponse {
  status: number;
  headers: HeaderMap;
  body: Readable;
}

/** An answer read whole (see `AgentCaller.callWhole`). */
export interface AgentAnswer {
  status: number;
  headers: HeaderMap;
  text: string;
}

export interface AgentRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path on the agent, with the query string. */
  path: string;
  headers: Record<string, string | string[]>;
  body?: string | Buffer;
  /** Cancels the call; without it, the request's own abort (client gone) does. */
  signal?: AbortSignal;
}

/** Headers of the client's request that are the gateway's business, not the agent's. */
const NOT_FORWARDED = new Set(['host', 'content-length', 'accept-encoding', 'content-type']);

/**
 * Calls agents through the route's composed upstream (retries, timeouts, backend TLS, credentials), one dispatch
 * per call; an abort of the request's signal (client gone) aborts the call, and a stream's upstream with it.
 */
export class AgentCaller {
  private readonly dispatcher: Dispatcher;
  constructor(dispatcher: Dispatcher) {
    this.dispatcher = dispatcher;
  }

  /** The client's headers as they go to the agent (credentials already removed by authentication policies). */
  forwardHeaders(ctx: RequestContext, contentType?: string): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(ctx.requestHeaders)) {
      if (value === undefined || NOT_FORWARDED.has(name)) continue;
      out[name] = value;
    }
    if (contentType) out['content-type'] = contentType;
    out['x-request-id'] = ctx.id;
    return out;
  }

  async call(ctx: RequestContext, agent: AgentEndpoint, req: AgentRequest & { signal: AbortSignal }): Promise<AgentResponse> {
    const options = { ...dispatchOptions(ctx, agent, req), signal: req.signal };
    try {
      const res = await this.dispatcher.request(options as Dispatcher.RequestOptions);
      return { status: res.statusCode, headers: res.headers as HeaderMap, body: res.body };
    } catch (err) {
      throw callFailure(ctx, agent, err);
    }
  }

  /**
   * One call whose answer is read whole, up to `limit` bytes (more is an error: the gateway does not hold unbounded
   * bodies), pushed into one buffer by the dispatch handler: no body stream, no async iteration. For answers that
   * are parsed whole; an answer that may be an event stream passed on as it comes goes through `call`. The
   * request's abort (client gone) cancels it, through the context's plain callback where it has one.
   */
  async callWhole(ctx: RequestContext, agent: AgentEndpoint, req: AgentRequest, limit: number): Promise<AgentAnswer> {
    const abort: AbortSource = req.signal ?? (ctx.onAbort ? (ctx as Required<Pick<RequestContext, 'onAbort'>>) : ctx.signal);
    try {
      const res = await callWhole(this.dispatcher, dispatchOptions(ctx, agent, req), { limit, tooLarge: () => answerTooLarge(limit), abort });
      return { status: res.status, headers: res.headers, text: res.body.toString('utf8') };
    } catch (err) {
      throw callFailure(ctx, agent, err);
    }
  }

  /** Reads a body whole, up to `limit` bytes (more is an error: the gateway does not hold unbounded bodies). */
  async readText(body: Readable, limit: number): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        body.destroy();
        throw answerTooLarge(limit);
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}

function dispatchOptions(ctx: RequestContext, agent: AgentEndpoint, req: AgentRequest): UpstreamDispatchOptions {
  return {
    origin: agent.origin,
    path: req.path,
    method: req.method,
    headers: req.headers,
    body: req.body,
    clientHeaders: ctx.clientHeaders,
    requestId: ctx.id,
    route: ctx.routeName,
    backend: agent.name,
  };
}

/** Whether the request was aborted, without making a context create its AbortSignal for the question. */
function aborted(ctx: RequestContext): boolean {
  const own = (ctx as { aborted?: boolean }).aborted;
  return own ?? ctx.signal.aborted;
}

/** What a failed call throws: the request's abort reason when it was aborted, else a gateway error naming the agent. */
function callFailure(ctx: RequestContext, agent: AgentEndpoint, err: unknown): unknown {
  if (aborted(ctx)) return ctx.signal.reason;
  if (err instanceof GatewayError) return err;
  return new GatewayError(ErrorCodes.BACKEND_UNREACHABLE, `agent "${agent.name}" could not be reached: ${(err as Error).message}`, { cause: err });
}

const answerTooLarge = (limit: number) => new GatewayError(ErrorCodes.BACKEND_UNREACHABLE, `the agent's answer is larger than ${limit} bytes`);
