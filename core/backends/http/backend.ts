import { hostPortSchema } from '../../config/schema-common.ts';
import type { BackendDefinition } from '../types.ts';
import { createHttpBackend } from './index.ts';

/** `{ host: 'host:port', weight }`: HTTP services, load-balanced by weight. */
export const hostBackendDefinition: BackendDefinition<string> = {
  kind: 'host',
  schema: hostPortSchema,
  name: (host) => host,
  create(backends, build) {
    return {
      step: createHttpBackend({
        targets: backends.map((b) => ({ name: b.name, host: b.config, weight: b.weight })),
        dispatcher: build.dispatcher,
        bodyIdleTimeoutMs: build.config.upstream.bodyIdleTimeoutMs,
        ejectionMs: build.config.upstream.ejectionMs,
      }),
    };
  },
};
