import type { Dispatcher } from 'undici';
import { type RequestContext, type Step, stripHopByHop } from '../../pipeline/index.ts';
import type { RouteUpstream, UpstreamDispatchOptions } from '../../upstream/index.ts';
import { createBalanceInterceptor, type HostTarget } from './balancer.ts';
import { UpstreamCall, type UpstreamBody } from './forward.ts';

export { createBalancer, createBalanceInterceptor } from './balancer.ts';
// The kind's definition, listed by the composition root (core/gateway/backends.ts).
export { hostBackendDefinition } from './backend.ts';

export interface HttpBackendOptions {
  routeName: string;
  targets: HostTarget[];
  /** The route's upstream, composed from its policies: retries, time limits, backend TLS, credentials. */
  upstream: RouteUpstream;
  /** The runtime's shared connection pool, used when the route has no backend TLS of its own. */
  dispatcher: Dispatcher;
  ejectionMs: number;
}

/**
 * The terminal step for HTTP backends: one dispatch through the route's composed dispatcher, which picks a backend
 * by weight among the healthy ones, retries what may be retried (on another backend when there is one), ejects a
 * backend that refused a connection and maps failures to the error catalogue. Bodies stream both ways. The call's
 * handler sets the response itself: one promise per request, no async layers around it.
 */
export function createHttpBackend(options: HttpBackendOptions): Step {
  const choose = createBalanceInterceptor(options.targets, {
    scheme: options.upstream.tls ? 'https' : 'http',
    routeName: options.routeName,
    ejectionMs: options.ejectionMs,
  });
  const dispatcher = options.upstream.compose({ shared: options.dispatcher, choose });
  return function httpBackend(ctx: RequestContext) {
    const call = new BackendCall(ctx);
    const dispatch: UpstreamDispatchOptions = {
      path: ctx.path + ctx.search,
      method: ctx.method as Dispatcher.HttpMethod,
      headers: ctx.requestHeaders as Record<string, string | string[]>,
      body: ctx.body,
      reset: false,
      clientHeaders: ctx.clientHeaders,
      requestId: ctx.id,
      route: ctx.routeName,
      onBackend: call.onBackend,
    };
    return call.send(dispatcher, dispatch, ctx.onAbort ? (ctx as Required<Pick<RequestContext, 'onAbort'>>) : ctx.signal);
  };
}

/** One request's call to its backend: the response it gets becomes the request's. */
class BackendCall extends UpstreamCall<void> {
  private readonly ctx: RequestContext;

  constructor(ctx: RequestContext) {
    super();
    this.ctx = ctx;
  }

  /** Told which backend each attempt goes to, so the request's log names the one that served it. */
  readonly onBackend = (name: string): void => {
    this.ctx.backendName = name;
  };

  protected started(status: number, headers: Record<string, string | string[]>, body: UpstreamBody): void {
    const ctx = this.ctx;
    if (aborted(ctx)) throw abortReason(ctx);
    ctx.respond({ status, headers: stripHopByHop(headers), body });
  }

  protected override failure(err: Error): unknown {
    return aborted(this.ctx) ? abortReason(this.ctx) : err;
  }
}

/** Whether the request was aborted, without making a context create its AbortSignal for the question. */
function aborted(ctx: RequestContext): boolean {
  const own = (ctx as { aborted?: boolean }).aborted;
  return own ?? ctx.signal.aborted;
}

function abortReason(ctx: RequestContext): unknown {
  return ctx.signal.reason;
}
