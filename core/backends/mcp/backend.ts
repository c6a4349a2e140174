import type { McpBackendConfig } from '../../../sdk-types/config.ts';
import type { BackendDefinition } from '../types.ts';
import { createMcpBackend } from './index.ts';
import { mcpBackendSchemaOf } from './schema.ts';
import { builtinMcpTargetKinds } from './upstream/builtin-targets.ts';
import { mcpTargetKinds, type McpTargetKind, type McpTargetsLoaded } from './upstream/target-kind.ts';
import { checkKnownTools, createToolGovernance } from './tools/index.ts';

/**
 * `{ mcp: { targets: [...] } }`: MCP servers multiplexed into one, served over streamable HTTP and SSE, each target
 * of one of `targetKinds` (their keys and option schemas make the target schema). A key taken twice is refused.
 *
 * @example
 * const mcp = createMcpBackendDefinition([...builtinMcpTargetKinds, echoTarget]);
 */
export function createMcpBackendDefinition(targetKinds: readonly McpTargetKind[]): BackendDefinition<McpBackendConfig> {
  const kinds = mcpTargetKinds(targetKinds);
  return {
    kind: 'mcp',
    title: 'MCP',
    schema: mcpBackendSchemaOf(kinds),
    exclusive: true,
    capabilities: ['http-upstream', 'message-protocol', 'mcp', 'sessions'],
    protocol: 'mcp',
    name: (_config, routeName, index) => `${routeName}/mcp${index}`,
    async create(backends, build) {
      const config = backends[0].config;
      const where = `${build.route.path}.backends[0].mcp`;
      // What target kinds load (OpenAPI specs) loads, and fails the load, here, before anything else of the backend starts.
      const loads: McpTargetsLoaded[] = [];
      const release = () => {
        for (const l of loads) l.release();
      };
      try {
        for (const kind of kinds) {
          const loaded = await kind.load?.(config.targets, { baseDir: build.config.baseDir, where, state: build.state, scope: build.scope, logger: build.logger, route: build.route.name });
          if (loaded) loads.push(loaded);
        }
        // Tools known at load are checked against their tool settings now: a mistake fails the load.
        const known = loads.flatMap((l) => [...(l.knownTools?.() ?? [])]);
        if (known.length > 0) checkKnownTools(config, where, new Map(known));
      } catch (err) {
        release();
        throw err;
      }
      const backend = createMcpBackend({
        route: build.route,
        config,
        scope: build.scope,
        messages: build.messages,
        upstream: build.upstream,
        bindAddress: build.bind.address,
        logger: build.logger,
        state: build.state,
        baseDir: build.config.baseDir,
        targetKinds: kinds,
        loaded: new Map(loads.flatMap((l) => [...l.loaded])),
        tools: createToolGovernance(config, where, build.logger, build.route.name),
      });
      if (loads.length === 0) return backend;
      return {
        step: backend.step,
        drain: () => backend.drain(),
        files: loads.flatMap((l) => l.files),
        async close() {
          await backend.close();
          release();
        },
      };
    },
  };
}

/** The MCP backend kind with the built-in target kinds (stdio, sse, mcp, openapi). */
export const mcpBackendDefinition = createMcpBackendDefinition(builtinMcpTargetKinds);
