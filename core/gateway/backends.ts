// The built-in backend kinds, listed here at the composition root: nothing below it names a kind.
import { a2aBackendDefinition, a2aTelemetry } from '../backends/a2a/index.ts';
import { directBackendDefinition } from '../backends/direct/index.ts';
import { hostBackendDefinition } from '../backends/http/index.ts';
import { builtinMcpTargetKinds, createMcpBackendDefinition, mcpBackendDefinition, mcpTelemetry, type McpTargetKind } from '../backends/mcp/index.ts';
import type { BackendDefinition } from '../backends/types.ts';
import { registerProtocolTelemetry } from '../telemetry/index.ts';

/**
 * The backend kinds every gateway serves, in the order messages list them; a plugged-in kind comes after them
 * (`createGateway(config, { backends })`). `direct` is the kind of a route with no backend entry.
 */
export const builtinBackends: readonly BackendDefinition<any>[] = Object.freeze([hostBackendDefinition, mcpBackendDefinition, a2aBackendDefinition, directBackendDefinition]);

// The telemetry of the built-in message protocols (what spans, metrics and the access log add for their messages),
// in this order: the metrics subscriber creates their series in it. A plugged-in protocol brings its own with
// `registerMessageProtocol({ name, stepOf, telemetry })`.
for (const descriptor of [mcpTelemetry, a2aTelemetry]) registerProtocolTelemetry(descriptor);

/**
 * The built-in backend kinds of a gateway that adds MCP target kinds (`createGateway(config, { mcpTargetKinds })`):
 * its `mcp` kind accepts them beside the built-in target kinds, for this gateway only.
 */
export function builtinBackendsWith(mcpTargetKinds: readonly McpTargetKind[]): readonly BackendDefinition<any>[] {
  if (mcpTargetKinds.length === 0) return builtinBackends;
  const mcp = createMcpBackendDefinition([...builtinMcpTargetKinds, ...mcpTargetKinds]);
  return Object.freeze(builtinBackends.map((b) => (b === mcpBackendDefinition ? mcp : b)));
}
