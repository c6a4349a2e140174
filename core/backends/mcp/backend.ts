import type { McpBackendConfig } from '../../../sdk-types/config.ts';
import type { BackendDefinition } from '../types.ts';
import { createMcpBackend } from './index.ts';
import { mcpBackendSchema } from './schema.ts';
import { attachOpenApiTargets } from './upstream/openapi/index.ts';
import { checkKnownTools, createToolGovernance } from './tools/index.ts';

/** `{ mcp: { targets: [...] } }`: MCP servers multiplexed into one, served over streamable HTTP and SSE. */
export const mcpBackendDefinition: BackendDefinition<McpBackendConfig> = {
  kind: 'mcp',
  title: 'MCP',
  schema: mcpBackendSchema,
  exclusive: true,
  capabilities: ['http-upstream', 'message-protocol', 'mcp', 'sessions'],
  protocol: 'mcp',
  name: (_config, routeName, index) => `${routeName}/mcp${index}`,
  async create(backends, build) {
    // OpenAPI targets' specs load (and fail the load) here, before anything else of the backend starts.
    const openapi = await attachOpenApiTargets(backends[0].config.targets, {
      baseDir: build.config.baseDir,
      where: `${build.route.path}.backends[0].mcp`,
      state: build.state,
      scope: build.scope,
      logger: build.logger,
      route: build.route.name,
    });
    const where = `${build.route.path}.backends[0].mcp`;
    // Tools known at load (OpenAPI targets) are checked against their tool settings now: a mistake fails the load.
    if (openapi) {
      try {
        checkKnownTools(backends[0].config, where, new Map([...openapi.services].map(([name, s]) => [name, s.current?.list ?? []])));
      } catch (err) {
        openapi.release();
        throw err;
      }
    }
    const backend = createMcpBackend({
      route: build.route,
      config: backends[0].config,
      scope: build.scope,
      messages: build.messages,
      upstream: build.upstream,
      bindAddress: build.bind.address,
      logger: build.logger,
      state: build.state,
      baseDir: build.config.baseDir,
      openapi: openapi?.services,
      tools: createToolGovernance(backends[0].config, where, build.logger, build.route.name),
    });
    if (!openapi) return backend;
    return {
      step: backend.step,
      drain: () => backend.drain(),
      files: openapi.files,
      async close() {
        await backend.close();
        openapi.release();
      },
    };
  },
};
