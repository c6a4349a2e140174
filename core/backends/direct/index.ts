import { ErrorCodes, GatewayError } from '../../errors.ts';
import type { BackendDefinition } from '../types.ts';

/**
 * The backend of a route with none: its policies answer (`directResponse`, `requestRedirect`). A request that gets
 * past them is a configuration bug, answered with 500 and a message naming the route.
 */
export const directBackendDefinition: BackendDefinition = {
  kind: 'direct',
  capabilities: [],
  create(_backends, build) {
    const route = build.route.name;
    return {
      step() {
        throw new GatewayError(ErrorCodes.INTERNAL, `route "${route}" has no backend and its policies did not answer`);
      },
    };
  },
};
