import type { McpBackendConfig } from '../../../sdk-types/config.ts';
import type { BackendDefinition } from '../types.ts';
import { createMcpBackend } from './index.ts';
import { mcpBackendSchema } from './schema.ts';

/** `{ mcp: { targets: [...] } }`: MCP servers multiplexed into one, served over streamable HTTP and SSE. */
export const mcpBackendDefinition: BackendDefinition<McpBackendConfig> = {
  kind: 'mcp',
  title: 'MCP',
  schema: mcpBackendSchema,
  exclusive: true,
  protocol: 'mcp',
  name: (_config, routeName, index) => `${routeName}/mcp${index}`,
  create(backends, build) {
    return createMcpBackend({
      route: build.route,
      config: backends[0].config,
      scope: build.scope,
      messages: build.messages,
      upstream: build.upstream,
      bindAddress: build.bind.address,
      logger: build.logger,
      state: build.state,
      baseDir: build.config.baseDir,
    });
  },
};
