import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { ErrorCodes, GatewayError } from '../../errors.ts';
import type { RequestContext, Step } from '../../pipeline/types.ts';
import { forward } from './forward.ts';
import { stripHopByHop } from '../../server/headers.ts';
import { isConnectFailure, mapUpstreamError } from './errors.ts';
import { createBalancer, type HostTarget } from './balancer.ts';

export { isConnectFailure, mapUpstreamError } from './errors.ts';
export { createBalancer } from './balancer.ts';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export interface HttpBackendOptions {
  targets: HostTarget[];
  /** The runtime's shared dispatcher, used when no policy supplied one. */
  dispatcher: Dispatcher;
  bodyIdleTimeoutMs: number;
  ejectionMs: number;
}

/**
 * The terminal step for HTTP backends: picks a backend by weight among the healthy ones, forwards the request
 * with bodies streamed both ways, retries idempotent body-less requests whose connection failed (on another
 * backend when there is one), and ejects a backend that refused a connection for `ejectionMs`.
 */
export function createHttpBackend(options: HttpBackendOptions): Step {
  const balancer = createBalancer(options.targets, options.ejectionMs);
  return async function httpBackend(ctx: RequestContext) {
    const body = ctx.body;
    const retryable = body === undefined && IDEMPOTENT.has(ctx.method);
    const attempts = 1 + (retryable ? ctx.upstream.retryAttempts : 0);
    let lastError: unknown;
    let tried: HostTarget | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      // A retry may go back to an ejected backend when it is the only one: better a second try than none.
      const target = balancer.pick(tried) ?? (attempt > 0 ? tried : undefined);
      if (target === undefined) {
        throw new GatewayError(
          ErrorCodes.NO_HEALTHY_BACKEND,
          `no healthy backend for route "${ctx.routeName}": every backend failed within the last ${options.ejectionMs} ms`,
        );
      }
      tried = target;
      ctx.backendName = target.name;
      if (attempt > 0 && ctx.upstream.retryBackoffMs > 0) await sleep(ctx.upstream.retryBackoffMs, undefined, { signal: ctx.signal }).catch(() => {});
      if (ctx.signal.aborted) throw ctx.signal.reason;
      try {
        const res = await forward(
          ctx.upstream.dispatcher ?? options.dispatcher,
          {
            origin: `${ctx.upstream.tls ? 'https' : 'http'}://${target.host}`,
            path: ctx.path + ctx.search,
            method: ctx.method as Dispatcher.HttpMethod,
            headers: ctx.requestHeaders as Record<string, string | string[]>,
            body,
            headersTimeout: ctx.upstream.attemptTimeoutMs ?? 300_000,
            bodyTimeout: options.bodyIdleTimeoutMs,
            reset: false,
          },
          ctx.signal,
        );
        if (ctx.signal.aborted) {
          res.body.destroy();
          throw ctx.signal.reason;
        }
        balancer.succeeded(target);
        ctx.respond({ status: res.status, headers: stripHopByHop(res.headers), body: res.body });
        return;
      } catch (err) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        lastError = err;
        if (!isConnectFailure(err)) break;
        balancer.failed(target);
        ctx.log.debug({ backend: target.name, attempt, err: (err as Error).message }, 'backend connection failed');
      }
    }
    throw mapUpstreamError(lastError, ctx.backendName ?? 'unknown', ctx.upstream.attemptTimeoutMs);
  };
}

