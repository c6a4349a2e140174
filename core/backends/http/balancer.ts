import type { Dispatcher } from 'undici';
import { ErrorCodes, GatewayError } from '../../errors.ts';
import { failBeforeDispatch, ForwardingHandler, isConnectFailure, type UpstreamInterceptor } from '../../upstream/index.ts';

export interface HostTarget {
  name: string;
  /** `host:port`. */
  host: string;
  weight: number;
}

export interface Balancer {
  /** A healthy target by weight, preferring one other than `avoid`; undefined when all are ejected. */
  pick(avoid?: HostTarget): HostTarget | undefined;
  failed(target: HostTarget): void;
  succeeded(target: HostTarget): void;
}

/** Weighted random choice with passive ejection: a target whose connection failed sits out `ejectionMs`. */
export function createBalancer(targets: readonly HostTarget[], ejectionMs: number): Balancer {
  const live = targets.filter((t) => t.weight > 0);
  const ejectedUntil = new Map<HostTarget, number>();
  const single = live.length === 1 ? live[0] : undefined;

  function healthy(now: number): HostTarget[] {
    if (ejectedUntil.size === 0) return live;
    return live.filter((t) => (ejectedUntil.get(t) ?? 0) <= now);
  }

  return {
    pick(avoid) {
      if (single) return ejectedUntil.size === 0 || (ejectedUntil.get(single) ?? 0) <= Date.now() ? single : undefined;
      let pool = healthy(Date.now());
      if (avoid && pool.length > 1) pool = pool.filter((t) => t !== avoid);
      if (pool.length === 0) return undefined;
      if (pool.length === 1) return pool[0];
      let total = 0;
      for (const t of pool) total += t.weight;
      let r = Math.random() * total;
      for (const t of pool) {
        r -= t.weight;
        if (r < 0) return t;
      }
      return pool[pool.length - 1];
    },
    failed(target) {
      if (ejectionMs > 0) ejectedUntil.set(target, Date.now() + ejectionMs);
    },
    succeeded(target) {
      if (ejectedUntil.size > 0) ejectedUntil.delete(target);
    },
  };
}

export interface BalanceOptions {
  /** `https` when the route has backend TLS. */
  scheme: 'http' | 'https';
  routeName: string;
  ejectionMs: number;
}

/**
 * The HTTP backend's choice of origin as an interceptor, between the route's retries (outside) and its
 * per-attempt policies (inside): it picks a healthy backend by weight (another than `avoid` on a retry), ejects
 * one whose connection failed, and readmits it when it answers. A retry with every backend ejected goes back to
 * the one it avoids: better a second try than none.
 */
export function createBalanceInterceptor(targets: readonly HostTarget[], options: BalanceOptions): UpstreamInterceptor {
  const balancer = createBalancer(targets, options.ejectionMs);
  const byName = new Map(targets.map((t) => [t.name, t]));
  const fallback = targets.find((t) => t.weight > 0);
  return (dispatch) =>
    function balance(opts, handler) {
      const retry = (opts.attempt ?? 0) > 0;
      const avoid = opts.avoid === undefined ? undefined : byName.get(opts.avoid);
      const target = balancer.pick(avoid) ?? (retry ? (avoid ?? fallback) : undefined);
      if (target === undefined) {
        return failBeforeDispatch(
          handler,
          new GatewayError(ErrorCodes.NO_HEALTHY_BACKEND, `no healthy backend for route "${options.routeName}": every backend failed within the last ${options.ejectionMs} ms`),
        );
      }
      opts.onBackend?.(target.name);
      return dispatch({ ...opts, origin: `${options.scheme}://${target.host}`, backend: target.name }, new HealthHandler(handler, balancer, target));
    };
}

/** Tells the balancer how an attempt went: headers received readmit the backend, a connection failure ejects it. */
class HealthHandler extends ForwardingHandler {
  private readonly balancer: Balancer;
  private readonly target: HostTarget;
  constructor(inner: Dispatcher.DispatchHandler, balancer: Balancer, target: HostTarget) {
    super(inner);
    this.balancer = balancer;
    this.target = target;
  }
  override onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Parameters<ForwardingHandler['onResponseStart']>[2], statusMessage?: string): void {
    if (statusCode >= 200) this.balancer.succeeded(this.target);
    super.onResponseStart(controller, statusCode, headers, statusMessage);
  }
  override onResponseError(controller: Dispatcher.DispatchController, err: Error): void {
    if (isConnectFailure(err)) this.balancer.failed(this.target);
    super.onResponseError(controller, err);
  }
}
