import { hostPortSchema } from '../../schema/index.ts';
import type { BackendDefinition } from '../types.ts';
import { createHttpBackend } from './index.ts';

/** `{ host: 'host:port', weight }`: HTTP services, load-balanced by weight. */
export const hostBackendDefinition: BackendDefinition<string> = {
  kind: 'host',
  capabilities: ['http-upstream', 'http-forward'],
  schema: hostPortSchema,
  name: (host) => host,
  create(backends, build) {
    return {
      step: createHttpBackend({
        routeName: build.route.name,
        targets: backends.map((b) => ({ name: b.name, host: b.config, weight: b.weight })),
        upstream: build.upstream,
        dispatcher: build.dispatcher,
        ejectionMs: build.config.upstream.ejectionMs,
      }),
    };
  },
};
