// A composition root: where the core meets the built-in policies and backend kinds (beside core/cli/main.ts).
import { builtinPolicies } from '../../policies/index.ts';
import type { GatewayConfig } from '../../sdk-types/config.ts';
import type { CreateGatewayOptions } from '../../sdk-types/gateway.ts';
import { backendKinds } from '../backends/registry.ts';
import { createPeerChannel } from '../cluster/peer-setup.ts';
import type { BackendDefinition } from '../backends/types.ts';
import type { McpTargetKind } from '../backends/mcp/index.ts';
import type { PolicyDefinition } from '../pipeline/index.ts';
import { builtinBackendsWith } from './backends.ts';
import { createGatewayWith, type CreatedGateway, type GatewayParts } from '../server/create.ts';
import { registerTelemetrySink, type TelemetrySinkDefinition } from '../telemetry/index.ts';

export { builtinBackends } from './backends.ts';

/** What a gateway can be extended with, each item one definition from its own folder. */
export interface GatewayExtensions {
  /** Policies beside the built-in ones. */
  policies?: readonly PolicyDefinition<any>[];
  /** Backend kinds beside the built-in ones (`builtinBackends`), for this gateway only. */
  backends?: readonly BackendDefinition<any>[];
  /**
   * MCP target kinds beside the built-in ones (stdio, sse, mcp, openapi), for this gateway only: a target entry
   * `{ name, <key>: options }` of an `mcp` backend is then served by the kind's transport.
   */
  mcpTargetKinds?: readonly McpTargetKind[];
  /** Telemetry sinks (see `registerTelemetrySink`). */
  sinks?: readonly TelemetrySinkDefinition<any>[];
}

/**
 * `createGateway` of the package root, with the built-in policies and backend kinds and any extensions: policies,
 * backend kinds and MCP target kinds are this gateway's own (handed in, a taken key refused); sinks are registered
 * for the gateway's life and removed when it closes (or fails to start).
 *
 * @example
 * const gateway = await createGateway('./gateway.config.ts');
 * const res = await gateway.handle(new Request('http://localhost/api'));
 * await gateway.close();
 */
export async function createGateway(
  config: GatewayConfig | string,
  options: CreateGatewayOptions & GatewayExtensions & Pick<GatewayParts, 'logger' | 'transform'> = {},
): Promise<CreatedGateway> {
  const { policies = [], backends = [], mcpTargetKinds = [], sinks = [], ...rest } = options;
  const unregister: Array<() => void> = [];
  const release = () => {
    for (const undo of unregister.reverse()) undo();
  };
  try {
    for (const sink of sinks) unregister.push(registerTelemetrySink(sink));
    const created = await createGatewayWith(config, {
      ...rest,
      policies: [...builtinPolicies, ...policies],
      backends: backendKinds([...builtinBackendsWith(mcpTargetKinds), ...backends]),
      peers: createPeerChannel,
    });
    const close = created.close;
    return Object.assign(created, {
      async close() {
        await close();
        release();
      },
    });
  } catch (err) {
    release();
    throw err;
  }
}
