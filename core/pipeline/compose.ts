import { ErrorCodes, GatewayError } from '../errors.ts';
import type { RequestContext, Step } from './types.ts';

/**
 * Chains steps onion-style. `next()` may be called once per step; once a step has set a response no later step
 * runs; a chain that ends without a response is a configuration bug and fails loudly.
 */
export function compose(steps: readonly Step[]): (ctx: RequestContext) => Promise<void> {
  // A route without policies is its backend alone: no dispatch closures, one call.
  if (steps.length === 1) {
    const only = steps[0];
    return function runOne(ctx) {
      if (ctx.response) return Promise.resolve();
      try {
        return Promise.resolve(only(ctx, () => Promise.reject(new GatewayError(ErrorCodes.INTERNAL, `route "${ctx.routeName}" ended its policy chain without a response`))));
      } catch (err) {
        return Promise.reject(err);
      }
    };
  }
  return function run(ctx) {
    let index = -1;
    function dispatch(i: number): Promise<void> {
      if (i <= index) return Promise.reject(new Error('next() called more than once in one policy step'));
      index = i;
      if (ctx.response) return Promise.resolve();
      const step = steps[i];
      if (step === undefined) {
        return Promise.reject(
          new GatewayError(ErrorCodes.INTERNAL, `route "${ctx.routeName}" ended its policy chain without a response`),
        );
      }
      try {
        return Promise.resolve(step(ctx, () => dispatch(i + 1)));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return dispatch(0);
  };
}
