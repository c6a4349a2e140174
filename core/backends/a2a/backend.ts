import type { A2aBackendConfig } from '../../../sdk-types/a2a.ts';
import type { BackendDefinition } from '../types.ts';
import { createA2aBackend } from './index.ts';
import { a2aBackendSchema } from './schema.ts';

/** `{ a2a: { url } }` or `{ a2a: { agents: [...] } }`: A2A agents, cards rewritten, every message decided. */
export const a2aBackendDefinition: BackendDefinition<A2aBackendConfig> = {
  kind: 'a2a',
  title: 'A2A',
  schema: a2aBackendSchema,
  exclusive: true,
  capabilities: ['http-upstream', 'message-protocol', 'a2a'],
  protocol: 'a2a',
  name: (config, routeName) => (config.url !== undefined ? routeName : `${routeName}/a2a`),
  create(backends, build) {
    return createA2aBackend({
        route: build.route,
        listener: build.listener,
        config: backends[0].config,
        messages: build.messages,
        upstream: build.upstream,
        dispatcher: build.dispatcher,
      });
  },
};
