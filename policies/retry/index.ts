import type { RetryPolicy } from '../../sdk-types/config.ts';
import { s } from '../../core/config/index.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';

/** Retries of body-less idempotent requests whose connection failed; each retry prefers another backend. */
export const retry: PolicyDefinition<RetryPolicy> = {
  name: 'retry',
  phase: 'upstream',
  backends: ['host'],
  schema: s.object({ attempts: s.number({ integer: true, min: 0, max: 10 }), backoffMs: s.number({ integer: true, min: 0 }) }),
  create(config) {
    const attempts = config.attempts ?? 1;
    const backoff = config.backoffMs ?? 25;
    return {
      step(ctx, next) {
        ctx.upstream.retryAttempts = attempts;
        ctx.upstream.retryBackoffMs = backoff;
        return next();
      },
    };
  },
};
