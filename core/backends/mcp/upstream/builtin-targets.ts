// The built-in MCP target kinds, one definition each beside its transport; a gateway adds its own with
// `createGateway(config, { mcpTargetKinds })`.
import { openApiTargetKind } from './openapi/target.ts';
import { sseTargetKind, streamableHttpTargetKind } from './remote-targets.ts';
import { stdioTargetKind } from './stdio-target.ts';
import { mcpTargetKinds, type McpTargetKind } from './target-kind.ts';

/** In the order the target schema lists them (`expected exactly one of stdio, sse, mcp, openapi`). */
export const builtinMcpTargetKinds: readonly McpTargetKind[] = mcpTargetKinds([stdioTargetKind, sseTargetKind, streamableHttpTargetKind, openApiTargetKind]);
