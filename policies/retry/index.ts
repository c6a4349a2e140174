import type { RetryPolicy } from '../../sdk-types/config.ts';
import { s } from '../../core/config/index.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';
import { createRetryInterceptor, DEFAULT_RETRY } from '../../core/upstream/index.ts';

/**
 * Retries of body-less idempotent requests whose connection failed; each retry prefers another backend. An
 * interceptor around the route's choice of backend, built once when the config loads.
 */
export const retry: PolicyDefinition<RetryPolicy> = {
  name: 'retry',
  phase: 'upstream',
  requires: ['http-upstream'],
  schema: s.object({
    attempts: s.number({ integer: true, min: 0, max: 10 }),
    backoffMs: s.number({ integer: true, min: 0 }),
    codes: s.array(s.number({ integer: true, min: 200, max: 599 })),
  }),
  create(config) {
    const call = createRetryInterceptor({ attempts: config.attempts ?? DEFAULT_RETRY.attempts, backoffMs: config.backoffMs ?? DEFAULT_RETRY.backoffMs, codes: config.codes });
    return { step: (_ctx, next) => next(), upstream: { call } };
  },
};
