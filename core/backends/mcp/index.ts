import type { ResolvedRoute } from '../../config/resolve.ts';
import { ErrorCodes, GatewayError } from '../../errors.ts';
import type { McpPolicyHooks, Step } from '../../pipeline/types.ts';
import type { Logger } from '../../telemetry/logger.ts';

export interface McpBackendOptions {
  route: ResolvedRoute;
  /** MCP hooks of the route's policies, in phase order. */
  hooks: readonly McpPolicyHooks[];
  logger: Logger;
  /** State that outlives a reload (open sessions, warm pools), shared by every runtime of one gateway. */
  persistent: Map<string, unknown>;
}

export interface McpBackend {
  step: Step;
  close(): Promise<void>;
}

/** Serves an MCP route. (Placeholder until the MCP gateway lands: answers 501.) */
export function createMcpBackend(options: McpBackendOptions): McpBackend {
  return {
    step() {
      throw new GatewayError(ErrorCodes.BACKEND_UNSUPPORTED, `route "${options.route.name}": MCP backends are not served by this build yet`);
    },
    async close() {},
  };
}
