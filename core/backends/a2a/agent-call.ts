import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { ErrorCodes, GatewayError } from '../../errors.ts';
import type { HeaderMap, RequestContext } from '../../pipeline/index.ts';
import type { UpstreamDispatchOptions } from '../../upstream/index.ts';

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

export interface AgentRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path on the agent, with the query string. */
  path: string;
  headers: Record<string, string | string[]>;
  body?: string | Buffer;
  signal: AbortSignal;
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

  async call(ctx: RequestContext, agent: AgentEndpoint, req: AgentRequest): Promise<AgentResponse> {
    const options: UpstreamDispatchOptions & { signal: AbortSignal } = {
      origin: agent.origin,
      path: req.path,
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: req.signal,
      clientHeaders: ctx.clientHeaders,
      requestId: ctx.id,
      route: ctx.routeName,
      backend: agent.name,
    };
    try {
      const res = await this.dispatcher.request(options as Dispatcher.RequestOptions);
      return { status: res.statusCode, headers: res.headers as HeaderMap, body: res.body };
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (err instanceof GatewayError) throw err;
      throw new GatewayError(ErrorCodes.BACKEND_UNREACHABLE, `agent "${agent.name}" could not be reached: ${(err as Error).message}`, { cause: err });
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
        throw new GatewayError(ErrorCodes.BACKEND_UNREACHABLE, `the agent's answer is larger than ${limit} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}
