import type { TimeoutPolicy } from '../../sdk-types/config.ts';
import { s } from '../../core/config/index.ts';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';
import { createAttemptTimeoutInterceptor } from '../../core/upstream/index.ts';

/**
 * Bounds the time from this step to the response headers (backend attempts and retries included). On expiry the
 * upstream call is aborted and the client gets 504. A streaming body that has started is not cut by it.
 * `backendRequestTimeoutMs` (else `requestTimeoutMs`) bounds each attempt, to HTTP hosts and remote MCP targets
 * alike: an interceptor of the route's upstream, built once.
 */
export const timeout: PolicyDefinition<TimeoutPolicy> = {
  name: 'timeout',
  phase: 'timeout',
  schema: s.object({
    requestTimeoutMs: s.number({ integer: true, min: 1 }),
    backendRequestTimeoutMs: s.number({ integer: true, min: 1 }),
  }),
  create(config) {
    const total = config.requestTimeoutMs;
    const attempt = config.backendRequestTimeoutMs ?? total;
    return {
      upstream: attempt === undefined ? undefined : { attempt: createAttemptTimeoutInterceptor(attempt) },
      async step(ctx, next) {
        if (total === undefined) return next();
        let timer: NodeJS.Timeout | undefined;
        const expired = new Promise<'expired'>((resolve) => {
          timer = setTimeout(resolve, total, 'expired');
        });
        const running = next();
        try {
          const outcome = await Promise.race([running, expired]);
          if (outcome !== 'expired') return;
        } finally {
          clearTimeout(timer);
        }
        // Headers arrived just as the timer fired: the response stands.
        if (ctx.response) return;
        running.catch(() => {}); // settles after the abort below; its result no longer matters
        const err = new GatewayError(ErrorCodes.UPSTREAM_TIMEOUT, `route "${ctx.routeName}" timed out after ${total} ms`);
        ctx.abort(err);
        throw err;
      },
    };
  },
};
